"""Named inputs (a tokenizer's ``{"input_ids": ..., "attention_mask": ...}``)
checked for a network: their dtypes, and the names its ``forward`` takes.

The inputs go to ``forward`` as keyword arguments, batch by batch
(:class:`~sktune.nets._data.TensorData` holds them as a dict of tensors).
Integer inputs (token ids, masks) stay integers, as int64; floating ones
(pixel values) become float32, as array inputs do.
"""

import inspect

import numpy as np
import torch

from ..data._inputs import InputDict, as_inputs


def _typed(value):
    if torch.is_tensor(value):
        if value.is_floating_point():
            return value.float()
        return value.long() if value.dtype != torch.bool else value
    kind = value.dtype.kind
    if kind == "f":
        return value.astype(np.float32, copy=False)
    if kind in "iu":
        return value.astype(np.int64, copy=False)
    if kind == "b":
        return value
    raise ValueError(f"named inputs must be numbers (token ids, masks, values); got dtype "
                     f"{value.dtype}.")


def typed_inputs(X):
    """``X`` (a mapping) as an :class:`InputDict` of int64, float32 or bool arrays."""
    X = as_inputs(X)
    try:
        return InputDict({name: _typed(value) for name, value in X.items()})
    except ValueError as exc:
        raise ValueError(f"{exc} (inputs {sorted(X)})") from None


def check_forward_takes(module, names):
    """Raise if ``module.forward`` takes neither the keyword ``names`` nor ``**kwargs``."""
    try:
        parameters = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):  # a builtin or C forward: nothing to check
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    takes = {name for name, p in parameters.items()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           inspect.Parameter.KEYWORD_ONLY)}
    unknown = sorted(set(names) - takes)
    if unknown:
        raise ValueError(
            f"X has inputs {unknown} that {type(module).__name__}.forward does not take (it "
            f"takes {sorted(takes)}): named inputs go to forward as keyword arguments. Drop "
            "those inputs, or give a module whose forward takes them.")
