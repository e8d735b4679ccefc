"""Gradient accumulation: one optimiser step's batch run as micro-batches.

``batch_size`` is a hyperparameter (samples per optimiser step);
``micro_batch_size`` is a memory setting: each step's batch is cut into even
micro-batches of at most that many samples (:func:`micro_batches`), each
run forward and backward on its own, their gradients adding up to the whole
batch's (each micro-batch's loss weighted by its share of the batch for a
``reduction='mean'`` criterion). The training net
(:class:`~sktune.nets._training.TrainingNet`) steps the optimiser, clips and
records the loss once per batch, as without accumulation.

A device out of memory mid-step (``torch.OutOfMemoryError``, which CUDA
raises) is not the candidate's fault: :func:`halved` gives the next size to
retry the step with, and the training net warns which size worked.
"""

import gc

import torch

from ._data import attach_weights, batch_bounds, batch_weights


def batch_length(X):
    """Samples in a batch: a tensor, or a dict / tuple / list of tensors."""
    if torch.is_tensor(X):
        return len(X)
    if isinstance(X, dict) and X:
        return len(next(iter(X.values())))
    if isinstance(X, (tuple, list)) and X:
        return batch_length(X[0])
    raise TypeError(f"micro_batch_size cuts batches of tensors (or dicts, tuples or lists of "
                    f"them); got a batch of type {type(X).__name__}. Use micro_batch_size=None "
                    "with this data.")


def slice_batch(X, start, stop):
    """Samples ``start:stop`` of a batch, whatever holds them (see :func:`batch_length`)."""
    if X is None:
        return None
    if torch.is_tensor(X):
        part = X[start:stop]
        weights = batch_weights(X)
        return part if weights is None else attach_weights(part, weights[start:stop])
    if isinstance(X, dict):
        return type(X)((k, slice_batch(v, start, stop)) for k, v in X.items())
    if isinstance(X, (tuple, list)):
        return type(X)(slice_batch(v, start, stop) for v in X)
    return X  # anything else goes whole to every micro-batch (a constant, a flag)


def micro_batches(X, y, size):
    """``(X_part, y_part, share)`` for the even micro-batches of at most ``size``
    samples of the batch ``(X, y)``; ``share`` is the part's fraction of the batch."""
    n = batch_length(X)
    if size is None or size >= n:
        return [(X, y, 1.0)]
    return [(slice_batch(X, a, b), slice_batch(y, a, b), (b - a) / n)
            for a, b in batch_bounds(n, size)]


def mean_reduced(criterion):
    """Whether ``criterion`` averages over the batch (torch's losses by default;
    a criterion without a ``reduction`` attribute is taken to)."""
    return getattr(criterion, "reduction", "mean") != "sum"


def halved(size, n):
    """The micro-batch size to retry a step of ``n`` samples with after running
    out of memory at ``size`` (None: the whole batch), or None below one sample."""
    current = n if size is None else min(size, n)
    return None if current <= 1 else current // 2


def release(device):
    """Free what a failed step left: Python's garbage and the device's cache."""
    gc.collect()
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
