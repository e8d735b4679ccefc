"""Mixed precision: the estimators' ``precision`` parameter.

'32' trains in float32 as without the parameter. 'bf16' and '16' run the
forward pass and the loss under ``torch.autocast`` with bfloat16 or float16
(matrix products and convolutions in the low precision, reductions and
losses in float32; the weights and the optimiser stay float32). '16' also
scales the loss with a ``torch.amp.GradScaler`` so that small gradients do
not underflow float16; the gradients are unscaled before clipping
(``max_grad_norm``) and steps whose gradients overflowed are skipped, as
torch's recipe does. bfloat16 has float32's range and needs no scaler.

A precision the device cannot run raises a ValueError when the fit starts,
instead of an obscure error (or a silent fallback) in the first batch.
"""

import torch

_DTYPES = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


def autocast_dtype(precision, device):
    """The autocast dtype of ``precision`` on ``device`` (None for '32'), checked."""
    try:
        dtype = _DTYPES[precision]
    except KeyError:
        raise ValueError(f"precision must be one of {sorted(_DTYPES)}; got {precision!r}.") from None
    if dtype is None:
        return None
    dev = torch.device(device)
    if dev.type == "cuda" and dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise ValueError(f"precision='bf16' cannot run on {dev}: this GPU has no bfloat16 "
                         "support; use precision='16' (float16 with loss scaling) or '32'.")
    try:  # one small product under autocast: what the device cannot run fails here
        a = torch.ones(2, 2, device=dev)
        with torch.autocast(dev.type, dtype=dtype):
            (a @ a).sum().item()
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(f"precision={precision!r} cannot run on {dev} ({exc}); use "
                         "precision='32'.") from None
    return dtype


def grad_scaler(precision, device):
    """A ``GradScaler`` for '16' (float16 gradients underflow without one), else None."""
    if precision != "16":
        return None
    return torch.amp.GradScaler(torch.device(device).type)
