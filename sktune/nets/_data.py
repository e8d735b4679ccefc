"""Data held as tensors once, and mini-batches cut from them by slicing.

torch's ``DataLoader(TensorDataset)`` fetches every sample with ``__getitem__``
and collates them again, which costs several microseconds per sample. Here the
arrays are converted once and each batch is one index (or slice) operation.

Datasets (a :class:`~sktune.data.DatasetView`) are read batch by batch instead:
:class:`SampleData` reads the samples a batch asks for, :class:`LoaderBatches`
runs torch's ``DataLoader`` over it (with loader workers), and
:class:`TransformedBatches` applies the training-time augmentation to either.

Sample weights ride on the target batch (:func:`batch_weights` reads them), so
skorch's steps and callbacks still see plain ``(X, y)`` batches.
"""

import numpy as np
import torch
from torch.utils.data import Dataset


def _as_tensor(array, device):
    if isinstance(array, dict):  # named inputs (InputDict): a dict of tensors
        return {name: _as_tensor(value, device) for name, value in array.items()}
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


def batch_bounds(n, batch_size):
    """``(start, stop)`` of each batch: ``n`` samples spread evenly over
    ``ceil(n / batch_size)`` batches, so sizes differ by at most one.

    Cutting 67 samples into batches of 64 and 3 makes the 3-sample batch a
    full step of noise for an adaptive optimiser (Adam's step barely depends
    on the gradient's size): measured on digits, a ConvNet trained on 65
    samples at batch size 64 reached 0.12-0.28 accuracy against 0.78-0.85 on
    64 samples. Even batches (33 and 32) take the same number of steps.

    >>> batch_bounds(67, 64)
    [(0, 34), (34, 67)]
    >>> batch_bounds(128, 64)
    [(0, 64), (64, 128)]
    """
    count = -(-n // batch_size)
    if count == 0:
        return []
    size, extra = divmod(n, count)
    bounds, start = [], 0
    for i in range(count):
        stop = start + size + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def _n_rows(X):
    return len(next(iter(X.values()))) if isinstance(X, dict) else len(X)


def _rows(X, index):
    """Rows ``index`` of a tensor or of each tensor of a dict (named inputs)."""
    return _each(X, lambda value: value[index])


class TensorData(Dataset):
    """Inputs (and optional targets and sample weights) converted once to tensors.

    The inputs are an array, or named inputs (a dict of arrays, e.g. an
    :class:`~sktune.data.InputDict`), held as a dict of tensors whose
    batches are dicts of rows.

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
        return _n_rows(self.X)

    def __getitem__(self, i):
        return _rows(self.X, i), (torch.empty(0) if self.y is None else self.y[i])


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
        n, bs = len(self.data), self.batch_size
        device = next(iter(X.values())).device if isinstance(X, dict) else X.device
        order = torch.randperm(n).to(device) if self.shuffle else None
        for start, stop in batch_bounds(n, bs):
            idx = slice(start, stop) if order is None else order[start:stop]
            yi = None if y is None else y[idx]
            if w is not None:
                attach_weights(yi, w[idx])
            yield _rows(X, idx), yi


# -- datasets: samples read batch by batch -------------------------------------

def _as_input_tensor(x, i, tokens=False):
    """One sample's input as a float32 tensor (int64 for token ids)."""
    if not torch.is_tensor(x):
        try:
            x = torch.as_tensor(np.asarray(x) if tokens else np.asarray(x, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sample {i} of the dataset has an input of type "
                             f"{type(x).__name__} that is not numeric ({exc}).") from None
    if not tokens:
        return x.float()
    if x.is_floating_point() or x.is_complex():
        raise ValueError(f"sample {i} of the dataset has {x.dtype} inputs, but the module "
                         "reads token ids (vocab_size is set): give integer ids.")
    return x.long()


def _named_sample(x, index):
    """One sample's named inputs as tensors: integers int64, floats float32."""
    out = {}
    for name, value in x.items():
        try:
            t = value if torch.is_tensor(value) else torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sample {index} of the dataset has an input {name!r} that is not "
                             f"numeric ({exc}).") from None
        out[name] = (t.float() if t.is_floating_point()
                     else t if t.dtype == torch.bool else t.long())
    return out


def sample_shape(view):
    """The shape of the first sample's input of a :class:`~sktune.data.DatasetView`;
    for named inputs (dict samples), a dict of each input's shape."""
    if len(view) == 0:
        raise ValueError("the dataset has no samples.")
    first, index = view.input(0), int(view.indices_[0])
    if isinstance(first, dict):
        return {name: tuple(t.shape) for name, t in _named_sample(first, index).items()}
    return tuple(_as_input_tensor(first, index).shape)


def _stack(inputs):
    """A batch from samples' inputs: tensors stacked, named inputs stacked per name."""
    if isinstance(inputs[0], dict):
        return {name: torch.stack([x[name] for x in inputs]) for name in inputs[0]}
    return torch.stack(inputs)


def _each(X, fn):
    """``fn`` applied to a batch's tensor, or to each of its named inputs."""
    return {name: fn(v) for name, v in X.items()} if isinstance(X, dict) else fn(X)


def _nbytes(X):
    return sum(v.nbytes for v in X.values()) if isinstance(X, dict) else X.nbytes


class SampleData(Dataset):
    """The samples of a :class:`~sktune.data.DatasetView`, with encoded targets,
    read when a batch asks for them.

    ``__getitems__`` returns a whole batch ``(X, y, weights)`` (torch's
    ``DataLoader`` calls it in its worker processes): the inputs are read one
    by one and stacked, the targets and weights sliced at once.

    Parameters
    ----------
    view : DatasetView
    y, sample_weight : ndarray or None
        Encoded targets and weights, one per sample of ``view``.
    shape : tuple of int or None
        The input shape every sample must have; None is the first sample's.
    flat : bool
        Give the module flat rows (``C*H*W`` values per sample).
    tokens : bool
        Inputs are integer token ids (int64), not float32 values.
    """

    def __init__(self, view, y=None, sample_weight=None, shape=None, flat=False, tokens=False):
        if sample_weight is not None and y is None:
            raise ValueError("sample_weight needs targets y.")
        self.view = view
        self.y = y
        self.w = sample_weight
        self.shape = sample_shape(view) if shape is None else shape
        self.named = isinstance(self.shape, dict)
        if not self.named:
            self.shape = tuple(self.shape)
            self._size = torch.Size(self.shape)
        self.flat = flat
        self.tokens = tokens
        self._dtype = torch.int64 if tokens else torch.float32

    def __len__(self):
        return len(self.view)

    def _checked_named(self, index, x):
        if not isinstance(x, dict) or set(x) != set(self.shape):
            got = sorted(x) if isinstance(x, dict) else type(x).__name__
            raise ValueError(f"sample {index} of the dataset has inputs {got}, but the first "
                             f"sample's are {sorted(self.shape)}: every sample needs the same.")
        x = _named_sample(x, index)
        for name, t in x.items():
            if tuple(t.shape) != self.shape[name]:
                raise ValueError(
                    f"sample {index} of the dataset has an input {name!r} of shape "
                    f"{tuple(t.shape)}, but the first sample's is {self.shape[name]}: pad "
                    "every sample to one length (a tokenizer's padding='max_length').")
        return x

    def _checked(self, index, x):
        """One input as a tensor of the expected shape and dtype (``index``: the dataset's)."""
        if self.named:
            return self._checked_named(index, x)
        if not (torch.is_tensor(x) and x.dtype == self._dtype):
            x = _as_input_tensor(x, index, self.tokens)
        if x.shape != self._size:
            raise ValueError(
                f"sample {index} of the dataset has an input of shape {tuple(x.shape)}, but the "
                f"first sample's is {self.shape}: every sample must have the same shape "
                "(resize images to one size, e.g. ImageFolder(size=(height, width)))."
            )
        return x.reshape(-1) if self.flat else x

    def __getitems__(self, indices):
        index = np.asarray(indices, dtype=np.intp)
        X = _stack([self._checked(j, x) for j, x in self.view.inputs(index)])
        y = None if self.y is None else self.y[index]
        w = None if self.w is None else self.w[index]
        if _in_loader_worker() and _nbytes(X) <= _PIPE_BYTES:
            # A small batch crosses to the training process faster pickled whole than
            # as tensors in shared memory (one shared-memory file per tensor).
            return _each(X, lambda t: t.numpy()), y, w
        return X, y, w

    def __getitem__(self, i):
        X, y, _ = self.__getitems__([i])
        return _each(X, lambda t: t[0]), (torch.empty(0) if y is None else y[0])


#: Batches up to this size leave a loader worker pickled, larger ones in shared memory.
_PIPE_BYTES = 1 << 20


def _in_loader_worker():
    from torch.utils.data import get_worker_info

    return get_worker_info() is not None


def _whole_batch(batch):
    """``collate_fn``: :meth:`SampleData.__getitems__` already returns a batch."""
    return batch


def _tensor(a):
    return a if a is None or torch.is_tensor(a) else torch.from_numpy(a)


def _worker_context():
    """The start method of loader workers: fork where there is one (what torch
    uses on Linux), spawn elsewhere, named explicitly because joblib's loky
    workers replace the process-wide default with a start method that cannot
    start plain multiprocessing processes."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _usable_workers(num_workers):
    """``num_workers``, or 0 in a daemonic process (a Dask worker), which may not
    start the loader's processes."""
    import multiprocessing
    import warnings

    if num_workers and multiprocessing.current_process().daemon:
        warnings.warn(
            f"num_workers={num_workers} ignored: this fit runs in a daemonic process (a "
            "Dask worker started with processes=True, for instance), which cannot start "
            "data-loader processes; samples are read in the fit's own process.",
            RuntimeWarning, stacklevel=3)
        return 0
    return num_workers


class _BatchOrder:
    """Batch sampler: the samples in order, or one ``torch.randperm`` per pass
    cut into batches, exactly the order :class:`SliceBatches` uses, so a dataset
    of the same tensors trains like the array itself."""

    def __init__(self, n, batch_size, shuffle):
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __iter__(self):
        order = torch.randperm(self.n) if self.shuffle else torch.arange(self.n)
        for start, stop in batch_bounds(self.n, self.batch_size):
            yield order[start:stop].tolist()


class LoaderBatches:
    """Iterable of ``(X_batch, y_batch)`` from a :class:`SampleData`, through a
    torch ``DataLoader`` (``num_workers`` processes; pinned memory for CUDA).

    Batches are moved to ``device`` and, with sample weights, ``y_batch``
    carries them (:func:`batch_weights`). The order is drawn from torch's
    default generator (which the estimators seed) as for arrays; the loader
    workers' seeds come from a generator of their own, seeded from the
    default generator's initial seed, so loading consumes none of the
    training's random stream.
    """

    def __init__(self, data, batch_size, shuffle=False, num_workers=0, device="cpu"):
        from torch.utils.data import DataLoader

        self.device = torch.device(device)
        self.pin = self.device.type == "cuda"
        workers = _usable_workers(num_workers)
        seeds = torch.Generator().manual_seed(torch.initial_seed() % 2**63)
        self.loader = DataLoader(data, batch_sampler=_BatchOrder(len(data), batch_size, shuffle),
                                 num_workers=workers, collate_fn=_whole_batch, generator=seeds,
                                 multiprocessing_context=_worker_context() if workers else None,
                                 pin_memory=self.pin,
                                 persistent_workers=workers > 0)  # across epochs

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        move = {"device": self.device, "non_blocking": self.pin}
        for X, y, w in self.loader:
            X, y, w = _each(X, _tensor), _tensor(y), _tensor(w)
            X = _each(X, lambda t: t.to(**move))
            y = None if y is None else y.to(**move)
            if w is not None:
                attach_weights(y, w.to(**move))
            yield X, y


class TransformedBatches:
    """Training batches with ``transform`` applied to each ``X_batch``.

    The transform must return a tensor with one row per input row.
    """

    def __init__(self, batches, transform):
        self.batches = batches
        self.transform = transform

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for X, y in self.batches:
            out = self.transform(X)
            if not torch.is_tensor(out):
                raise TypeError(
                    f"train_transform {self.transform!r} returned a {type(out).__name__}; it "
                    "must return the transformed batch as a tensor."
                )
            if len(out) != len(X):
                raise ValueError(
                    f"train_transform {self.transform!r} changed the batch size from "
                    f"{len(X)} to {len(out)}; it must return one sample per input sample."
                )
            yield out, y
