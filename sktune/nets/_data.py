"""Data held as tensors once, and mini-batches cut from them by slicing.

torch's ``DataLoader(TensorDataset)`` fetches every sample with ``__getitem__``
and collates them again, which costs several microseconds per sample. Here the
arrays are converted once and each batch is one index (or slice) operation.

Sample weights ride on the target batch (:func:`batch_weights` reads them), so
skorch's steps and callbacks still see plain ``(X, y)`` batches.
"""

import torch
from torch.utils.data import Dataset


def _as_tensor(array, device):
    # torch cannot share read-only memory (joblib memory-maps large inputs
    # read-only): copy those rather than warn.
    flags = getattr(array, "flags", None)
    if flags is None or flags.writeable:
        return torch.as_tensor(array, device=device)
    return torch.tensor(array, device=device)


_WEIGHT_ATTRIBUTE = "_sktune_sample_weight"


def batch_weights(y):
    """The sample weights of a target batch cut by :class:`SliceBatches`, or None."""
    return getattr(y, _WEIGHT_ATTRIBUTE, None)


def attach_weights(y, weights):
    """Let the target batch ``y`` carry ``weights`` (read back by :func:`batch_weights`)."""
    setattr(y, _WEIGHT_ATTRIBUTE, weights)
    return y


class TensorData(Dataset):
    """Inputs (and optional targets and sample weights) converted once to tensors.

    It is a regular torch ``Dataset`` (so any skorch helper or user
    ``DataLoader`` still works) that the sktune training loop batches by slicing.
    ``sample_weight`` needs targets; only :class:`SliceBatches` passes it on.
    """

    def __init__(self, X, y=None, device="cpu", sample_weight=None):
        self.X = _as_tensor(X, device)
        self.y = None if y is None else _as_tensor(y, device)
        if sample_weight is not None and y is None:
            raise ValueError("sample_weight needs targets y.")
        self.w = None if sample_weight is None else _as_tensor(sample_weight, device)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (torch.empty(0) if self.y is None else self.y[i])


class SliceBatches:
    """Iterable of ``(X_batch, y_batch)`` from a :class:`TensorData`.

    With sample weights, each ``y_batch`` carries its samples' weights (read
    them with :func:`batch_weights`).

    Parameters
    ----------
    data : TensorData
    batch_size : int
    shuffle : bool
        Draw a fresh permutation (from torch's current default generator,
        which the estimators seed) at the start of each pass.
    """

    def __init__(self, data, batch_size, shuffle=False):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __iter__(self):
        X, y, w = self.data.X, self.data.y, self.data.w
        n, bs = len(X), self.batch_size
        order = torch.randperm(n).to(X.device) if self.shuffle else None
        for start in range(0, n, bs):
            idx = slice(start, start + bs) if order is None else order[start:start + bs]
            yi = None if y is None else y[idx]
            if w is not None:
                attach_weights(yi, w[idx])
            yield X[idx], yi
