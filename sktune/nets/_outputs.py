"""What a module's output means: the predictions (logits) read from it.

sktune's modules return a tensor. A Hugging Face model returns a
``ModelOutput`` (a dict: ``logits``, ``hidden_states``, ...), or a tuple with
the logits first when called with ``return_dict=False`` and no labels; many
other networks return a dict or a tuple. :func:`logits_of` reads one rule:

- a tensor is the predictions;
- a mapping (``ModelOutput``, ``dict``) gives the value under ``output_key``
  (default ``"logits"``);
- a tuple or list gives its first item.
"""

from collections.abc import Mapping

import torch


def logits_of(output, key="logits"):
    """The predictions in a module's ``output`` (see the module's docstring)."""
    if torch.is_tensor(output):
        return output
    if isinstance(output, Mapping):
        try:
            value = output[key]
        except KeyError:
            value = None
        if value is None:  # a ModelOutput leaves unset fields out
            raise ValueError(
                f"the module returned a {type(output).__name__} with keys {list(output.keys())} "
                f"and no {key!r}; set output_key to the key that holds its predictions.")
        return logits_of(value, key)
    if isinstance(output, (tuple, list)) and output:
        return logits_of(output[0], key)
    raise TypeError(
        f"the module returned a {type(output).__name__}; sktune reads predictions from a "
        "tensor, a mapping (its output_key, 'logits' by default: a Hugging Face ModelOutput) "
        "or a tuple (its first item). Return one of those from forward.")
