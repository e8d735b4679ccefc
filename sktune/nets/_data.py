"""Data held as tensors once, and mini-batches cut from them by slicing.

torch's ``DataLoader(TensorDataset)`` fetches every sample with ``__getitem__``
and collates them again, which costs several microseconds per sample. Here the
arrays are converted once and each batch is one index (or slice) operation.
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


class TensorData(Dataset):
    """Inputs (and optional targets) converted once to tensors on ``device``.

    It is a regular torch ``Dataset`` (so any skorch helper or user
    ``DataLoader`` still works) that the sktune training loop batches by slicing.
    """

    def __init__(self, X, y=None, device="cpu"):
        self.X = _as_tensor(X, device)
        self.y = None if y is None else _as_tensor(y, device)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (torch.empty(0) if self.y is None else self.y[i])


class SliceBatches:
    """Iterable of ``(X_batch, y_batch)`` from a :class:`TensorData`.

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
        X, y = self.data.X, self.data.y
        n, bs = len(X), self.batch_size
        if self.shuffle:
            order = torch.randperm(n).to(X.device)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                yield X[idx], (None if y is None else y[idx])
        else:
            for start in range(0, n, bs):
                yield X[start:start + bs], (None if y is None else y[start:start + bs])
