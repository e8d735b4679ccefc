"""A pretrained module's frozen weights, shared by its fits instead of copied.

A fit of a pretrained ``module`` instance must not change the instance, so it
trains a copy. Only what trains needs copying, though: the frozen parameters
(``freeze``) and the running statistics of the normalisation layers that
stay in eval mode with them are never written by a fit. :func:`copy_for_fit`
copies the rest and shares those with the instance (new ``Parameter``
objects over the same storage, so the instance's ``requires_grad`` flags are
left alone): a search of 18 fits holds one copy of a frozen body, not 18.
:func:`own_shared` gives a fit its own copy of what it shared, the moment it
would start writing them (``unfreeze_at``).
"""

import copy

import torch
from torch import nn

from ._finetune import frozen_norms


def copy_for_fit(module, frozen):
    """A copy of ``module`` whose parameters named in ``frozen`` (and the buffers
    of normalisation layers frozen with them) share the instance's storage.

    Returns
    -------
    copy : torch.nn.Module
        The fit's module; its shared parameters have ``requires_grad=False``.
    """
    memo = {}
    for name, p in module.named_parameters():
        if name in frozen:
            memo[id(p)] = nn.Parameter(p.detach(), requires_grad=False)
    for norm in frozen_norms(module, frozen):
        for buffer in norm.buffers(recurse=False):
            memo[id(buffer)] = buffer
    return copy.deepcopy(module, memo)


def own_shared(module, frozen, norms):
    """Copy, in place, what :func:`copy_for_fit` shared: the ``frozen`` parameters
    (same ``Parameter`` objects, so an optimiser holding them still does) and the
    buffers of ``norms``."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name in frozen:
                p.data = p.data.clone()
        for norm in norms:
            for name, buffer in list(norm.named_buffers(recurse=False)):
                if buffer is not None:
                    setattr(norm, name, buffer.clone())
