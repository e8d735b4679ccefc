"""A map-style torch ``Dataset`` seen by scikit-learn as indexable samples.

scikit-learn splits data by indexing it (``_safe_indexing(X, train)``): for an
object with a ``shape`` that is ``X[train]``. :class:`DatasetView` answers
that with another view (the same dataset, fewer indices), so a search splits
a dataset of images into folds without reading one image; the estimators read
the samples batch by batch when they train or predict.
"""

from collections.abc import Mapping
from numbers import Integral

import numpy as np
from torch.utils.data import IterableDataset

__all__ = ["DatasetView", "as_view", "is_dataset", "row_key"]


def _is_skorch_slice(obj):
    try:
        from skorch.helper import SliceDataset
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(obj, SliceDataset)


def is_dataset(X):
    """Whether ``X`` takes the dataset path: a torch ``Dataset``, a
    :class:`DatasetView` or skorch's ``SliceDataset`` (arrays do not)."""
    from torch.utils.data import Dataset

    return isinstance(X, (Dataset, DatasetView)) or _is_skorch_slice(X)


def _check_indexable(dataset):
    if isinstance(dataset, IterableDataset):
        raise TypeError(
            f"{type(dataset).__name__} is an iterable-style dataset: it cannot be indexed, so "
            "it cannot be split into training and validation folds or batched in a chosen "
            "order. Use a map-style dataset (one with __len__ and __getitem__), or read the "
            "samples into arrays first."
        )
    missing = [m for m in ("__len__", "__getitem__") if not hasattr(dataset, m)]
    if missing:
        raise TypeError(
            f"{type(dataset).__name__} has no {' or '.join(missing)}; a dataset given as X "
            "must be a map-style torch Dataset (len(dataset) samples, dataset[i] -> (x, y) "
            "or x)."
        )


def row_key(key, no_axis):
    """``key`` of ``X[key]`` as rows: an int, a slice or an int array (scikit-learn's
    ``X[rows, ...]`` unwrapped, a boolean mask as its indices); IndexError with
    ``no_axis`` for any other tuple."""
    if isinstance(key, tuple) and len(key) == 2 and key[1] is Ellipsis:
        key = key[0]
    elif isinstance(key, tuple):
        raise IndexError(no_axis)
    if isinstance(key, (Integral, slice)):
        return key
    key = np.asarray(key)
    return np.flatnonzero(key) if key.dtype == bool else key


def _split_sample(sample):
    """``(x, y)`` of one sample: a pair is input and label; anything else (or a
    1-tuple, as ``TensorDataset(X)`` returns) is an input without label."""
    if isinstance(sample, (tuple, list)):
        if len(sample) == 2:
            return sample[0], sample[1]
        if len(sample) == 1:
            return sample[0], None
        raise ValueError(
            f"a dataset sample is a {type(sample).__name__} of {len(sample)} items; sktune "
            "reads samples as (x, y) pairs or as x alone."
        )
    if isinstance(sample, Mapping):  # named inputs, the label (if any) under "labels"/"label"
        labels = [key for key in _LABEL_KEYS if key in sample]
        if len(labels) > 1:
            raise ValueError(f"a dataset sample has both {labels}; keep one label key.")
        if not labels:
            return dict(sample), None
        return {k: v for k, v in sample.items() if k != labels[0]}, sample[labels[0]]
    return sample, None


#: Keys of a dict sample that hold its label (Hugging Face's conventions); the
#: other keys are the named inputs that go to the module's forward.
_LABEL_KEYS = ("labels", "label")


def _label(value):
    """A label as a numpy scalar or row (tensors and arrays of one value included)."""
    value = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
    return value.item() if value.ndim == 0 else value


class DatasetView:
    """A map-style torch ``Dataset`` as samples scikit-learn can split.

    Pass it (or the dataset itself) as ``X`` to the estimators, to
    ``cross_validate`` and to every search: ``view[train]`` is a view of the
    same dataset, so splitting reads no sample; the estimators read samples
    batch by batch (with ``num_workers`` loader processes) when they train,
    predict or score. ``targets`` are the labels, to give as ``y`` (so that
    classifiers' folds are stratified).

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style: ``len(dataset)`` samples, ``dataset[i]`` returning
        ``(x, y)`` or ``x`` (a tensor, array or number), or a dict of named
        inputs (``{"input_ids": ..., "attention_mask": ..., "labels": ...}``,
        as a Hugging Face dataset gives them: the label under ``"labels"``
        or ``"label"``, the other keys going to the module's ``forward``).
    indices : array-like of int or None, default=None
        The samples of ``dataset`` in the view, in order; None is all.

    Attributes
    ----------
    shape : tuple
        ``(n_samples,)``, how scikit-learn counts samples.

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> from sktune.data import DatasetView
    >>> ds = TensorDataset(torch.randn(6, 3), torch.tensor([0, 1, 0, 1, 0, 1]))
    >>> view = DatasetView(ds)
    >>> len(view[[0, 2, 4]]), view[[0, 2, 4]].targets.tolist()
    (3, [0, 0, 0])
    """

    def __init__(self, dataset, indices=None):
        if isinstance(dataset, DatasetView):
            base = dataset.indices_
            dataset = dataset.dataset
        else:
            _check_indexable(dataset)
            base = None
        self.dataset = dataset
        self.indices = indices
        n = len(dataset) if base is None else len(base)
        own = np.arange(n) if indices is None else np.asarray(indices)
        if own.ndim != 1 or (own.size and not np.issubdtype(own.dtype, np.integer)):
            raise IndexError(f"indices must be a 1-D array of ints; got {indices!r}.")
        if own.size and (own.min() < -n or own.max() >= n):
            raise IndexError(f"indices out of range for a dataset of {n} samples.")
        own = np.where(own < 0, own + n, own).astype(np.intp)
        self.indices_ = own if base is None else base[own]

    def __len__(self):
        return len(self.indices_)

    @property
    def shape(self):
        return (len(self.indices_),)

    @property
    def ndim(self):
        return 1

    def __getitem__(self, key):
        key = row_key(key, "a DatasetView is indexed by samples only (view[rows]); it has "
                           "no feature axis.")
        if isinstance(key, Integral):
            return self.input(int(key))
        return DatasetView(self.dataset, self.indices_[key])

    def sample(self, i):
        """``(x, y)`` of the ``i``-th sample of the view (``y`` None without label)."""
        return _split_sample(self.dataset[int(self.indices_[i])])

    def input(self, i):
        """The input ``x`` of the ``i``-th sample of the view."""
        return self.sample(i)[0]

    def inputs(self, positions):
        """``(index in the dataset, x)`` of the view's samples at ``positions``, in order."""
        dataset = self.dataset
        for j in self.indices_[positions].tolist():
            yield j, _split_sample(dataset[j])[0]

    @property
    def targets(self):
        """The labels of the view's samples, as a numpy array.

        Read from the dataset's ``targets`` attribute when it has one
        (:class:`~sktune.data.ImageFolder`, torchvision's datasets), which
        loads no sample; otherwise from each sample's ``y``, which loads every
        sample once.
        """
        stored = getattr(self.dataset, "targets", None)
        if stored is not None and len(stored) == len(self.dataset):
            return np.asarray(stored)[self.indices_]
        labels = []
        for i in range(len(self)):
            y = self.sample(i)[1]
            if y is None:
                raise ValueError(
                    f"sample {i} of {type(self.dataset).__name__} has no label (the dataset "
                    "returns x alone); pass the labels as y, or return (x, y) pairs."
                )
            labels.append(_label(y))
        return np.asarray(labels)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a DatasetView is read batch by batch and is not turned into an array; pass it "
            "to sktune's estimators and searches as X (or read its samples yourself)."
        )

    def __repr__(self):
        return f"DatasetView({type(self.dataset).__name__}, {len(self)} samples)"


def as_view(X):
    """``X`` (a dataset, a view or skorch's ``SliceDataset``) as a :class:`DatasetView`.

    A ``SliceDataset`` is viewed as it is: its items are the inputs (its
    ``transform`` applies) and its labels come as ``y``.
    """
    if isinstance(X, DatasetView):
        return X
    return DatasetView(X)
