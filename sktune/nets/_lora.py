"""Low-rank adapters (LoRA, Hu et al. 2021) as estimator parameters.

``lora_rank=r > 0`` freezes the network's weights except its output layer
and gives each selected linear layer two trainable matrices, ``lora_A``
(``r x in``) and ``lora_B`` (``out x r``), registered on the layer itself
(so every other parameter keeps its name) and added by a forward hook:

    y = W x + b + (alpha / r) * B A dropout(x)

``B`` starts at zero, so training starts from the pretrained network's
outputs; ``A`` starts as a linear layer's weight does (Kaiming uniform, from
the fit's seeded stream). The frozen weights of a pretrained instance are
shared by every fit (see :mod:`._shared_weights`): a search over LoRA ranks
copies only the adapters and the head. The terms are peft's: ``r``,
``lora_alpha``, ``lora_dropout``, ``target_modules`` (here ``lora_targets``,
patterns of layer names).

Linear layers are ``nn.Linear`` and Hugging Face's ``Conv1D`` (GPT-2's
projections: a linear layer whose weight is stored ``in x out``).
"""

import math
from fnmatch import fnmatchcase

import torch
from torch import nn
from torch.nn import functional as F

from .._hf import is_conv1d
from ._finetune import find_head


def _features(layer):
    """``(in, out)`` of a linear layer, or None for any other module."""
    if isinstance(layer, nn.Linear):
        return layer.in_features, layer.out_features
    if is_conv1d(layer):
        n_in, n_out = layer.weight.shape
        return int(n_in), int(n_out)
    return None


class _LoRAHook:
    """Forward hook adding the low-rank update to a linear layer's output."""

    def __init__(self, scale, dropout):
        self.scale = scale
        self.dropout = dropout

    def __call__(self, layer, inputs, output):
        x = inputs[0]
        if self.dropout and layer.training:
            x = F.dropout(x, self.dropout, training=True)
        update = F.linear(F.linear(x, layer.lora_A), layer.lora_B)
        return output + update * self.scale


def target_layers(module, targets):
    """``[name]`` of the linear layers adapters go on: those ``targets`` (a pattern
    of layer names or a list of them, fnmatch) selects, or (None) every linear
    layer but the output layer. ValueError when a pattern selects none."""
    linears = [name for name, m in module.named_modules() if _features(m) is not None]
    if targets is None:
        head = find_head(module)
        chosen = [n for n in linears if head is None or n != head[0]]
        if not chosen:
            raise ValueError(f"lora_rank > 0, but {type(module).__name__} has no linear layer "
                             "besides its output layer to put adapters on.")
        return chosen
    patterns = [targets] if isinstance(targets, str) else list(targets)
    chosen = []
    for pattern in patterns:
        hits = [n for n in linears if fnmatchcase(n, pattern)]
        if not hits:
            shown = ", ".join(linears[:12]) + (f", ... ({len(linears)} in all)"
                                               if len(linears) > 12 else "")
            raise ValueError(f"lora_targets pattern {pattern!r} matches no linear layer of "
                             f"{type(module).__name__}; its linear layers are: {shown}. "
                             "Patterns match layer names (fnmatch, e.g. '*.query').")
        chosen += [n for n in hits if n not in chosen]
    return chosen


def base_frozen(module):
    """The parameter names LoRA freezes: all but the output layer's (the head
    trains whole)."""
    head = find_head(module)
    head_params = set() if head is None else {f"{head[0]}.{n}" for n, _ in
                                              head[1].named_parameters()}
    return {n for n, _ in module.named_parameters() if n not in head_params}


def add_adapters(module, layers, rank, alpha=None, dropout=0.0):
    """Give each of ``layers`` (names) of ``module`` its adapter: ``lora_A`` and
    ``lora_B`` parameters and the hook that adds ``alpha / rank * B A x``
    (alpha None: ``rank``, a scale of 1)."""
    scale = (rank if alpha is None else float(alpha)) / rank
    for name in layers:
        layer = module.get_submodule(name)
        n_in, n_out = _features(layer)
        weight = layer.weight
        a = torch.empty(rank, n_in, device=weight.device, dtype=weight.dtype)
        nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        layer.register_parameter("lora_A", nn.Parameter(a))
        layer.register_parameter("lora_B", nn.Parameter(
            torch.zeros(n_out, rank, device=weight.device, dtype=weight.dtype)))
        layer.register_forward_hook(_LoRAHook(scale, float(dropout)))
