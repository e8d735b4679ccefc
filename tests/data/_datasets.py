"""Datasets of the data tests, in a module that worker processes can import."""

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset


class Digits(Dataset):
    """A minimal map-style dataset, as a user writes one: ``(x, y)`` per sample,
    counting the samples it is asked for (in this process)."""

    def __init__(self, X, y=None):
        self.X, self.y = X, y
        self.reads = 0

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.reads += 1
        x = torch.as_tensor(self.X[i])
        return x if self.y is None else (x, self.y[i])


class Ragged(Digits):
    """Sample 7 has another shape than the others."""

    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return (x[:, :7] if i == 7 else x), y


class Stream(IterableDataset):
    def __init__(self, X):
        self.X = X

    def __iter__(self):
        return iter(self.X)


class Failing(Digits):
    """Reading a sample raises when the dataset was built with ``bad=True``."""

    def __init__(self, X, y, bad):
        super().__init__(X, y)
        self.bad = bad

    def __getitem__(self, i):
        if self.bad:
            raise OSError(f"sample {i} is on a disk that went away")
        return super().__getitem__(i)


def as_float(X):
    return np.asarray(X, dtype=np.float32)
