"""Named inputs: a mapping of arrays with one first dimension, as samples.

A Hugging Face tokenizer returns ``{"input_ids": ..., "attention_mask": ...}``
and a model's ``forward`` takes those names as keywords. :class:`InputDict`
holds such a mapping as ``n_samples`` samples scikit-learn can split: its
``len`` and ``shape[0]`` are the number of samples and ``inputs[rows]`` is
another :class:`InputDict` of those rows of every array (``inputs["name"]``
is still the array). The estimators accept any mapping (a plain ``dict``,
a tokenizer's ``BatchEncoding``) and turn it into one; scikit-learn's own
functions (``cross_validate``, ``GridSearchCV``, ``train_test_split``) need
the :class:`InputDict` itself, since they count a plain dict's keys as its
samples.
"""

from collections.abc import Mapping
from numbers import Integral

import numpy as np
import torch

from ._view import row_key

__all__ = ["InputDict", "as_inputs", "is_inputs"]


def is_inputs(X):
    """Whether ``X`` takes the named-inputs path: a mapping (``dict``,
    ``BatchEncoding``, :class:`InputDict`) of arrays; not a sparse matrix
    (scipy's DOK format is a dict too)."""
    from scipy.sparse import issparse

    return isinstance(X, Mapping) and not issparse(X)


def _array(name, value):
    """One input as an array or tensor with a first dimension (lists become arrays)."""
    if not (torch.is_tensor(value) or isinstance(value, np.ndarray)):
        try:
            value = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"input {name!r} cannot be read as an array ({exc}); give "
                             "arrays or tensors of one row per sample.") from None
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSUV":
        raise ValueError(
            f"input {name!r} is not numeric (dtype {value.dtype}: ragged lists or strings?); "
            "pad token ids to one length (a tokenizer's padding=True) or tokenize text "
            "first.")
    if value.ndim == 0:
        raise ValueError(f"input {name!r} is a scalar; every input needs one row per sample.")
    return value


class InputDict(dict):
    """Named inputs (arrays or tensors with one row per sample) as samples.

    The keys are the keyword arguments of the network's ``forward``; the
    values hold one row per sample (token ids, attention masks, pixel
    values, ...). ``len(inputs)`` and ``inputs.shape[0]`` count samples,
    ``inputs[rows]`` (an int array, a boolean mask or a slice) is an
    :class:`InputDict` of those rows, and ``inputs["input_ids"]`` the array,
    so scikit-learn's splitters, ``cross_validate`` and searches split it
    like an array. Iterating over it, ``keys()`` and ``items()`` are a
    dict's.

    Parameters
    ----------
    inputs : mapping, optional
        Names -> arrays, tensors or nested lists (read as arrays), each of
        ``n_samples`` rows. A tokenizer's output (``BatchEncoding``) goes in
        as it is.
    **more
        More inputs by name.

    Raises
    ------
    ValueError
        No input, inputs of different lengths, or an input that is not
        numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from sktune.data import InputDict
    >>> X = InputDict(input_ids=np.arange(12).reshape(4, 3),
    ...               attention_mask=np.ones((4, 3), dtype=int))
    >>> len(X), X.shape
    (4, (4,))
    >>> X[[0, 2]]["input_ids"]
    array([[0, 1, 2],
           [6, 7, 8]])
    >>> sorted(X)
    ['attention_mask', 'input_ids']
    """

    def __init__(self, inputs=None, **more):
        items = {**(dict(inputs.items()) if inputs is not None else {}), **more}
        if not items:
            raise ValueError("InputDict needs at least one input (a name -> array mapping).")
        for name in items:
            if not isinstance(name, str):
                raise ValueError(f"input names are the keyword arguments of forward, so they "
                                 f"must be strings; got {name!r}.")
        arrays = {name: _array(name, value) for name, value in items.items()}
        lengths = {name: int(value.shape[0]) for name, value in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"the inputs have different numbers of rows: {lengths}; each "
                             "input needs one row per sample.")
        super().__init__(arrays)
        self._n_samples = next(iter(lengths.values()))

    @property
    def shape(self):
        """``(n_samples,)``: what scikit-learn reads to count and split samples."""
        return (self._n_samples,)

    def __len__(self):
        return self._n_samples

    def __getitem__(self, key):
        if isinstance(key, str):
            return super().__getitem__(key)
        key = row_key(key, "an InputDict is indexed by an input's name or by samples "
                           "(inputs[rows]); it has no feature axis.")
        if isinstance(key, Integral):
            raise IndexError("inputs[i] would drop the sample axis; use inputs[[i]] for an "
                             "InputDict of one sample.")
        return InputDict({name: _rows(value, key) for name, value in self.items()})

    def __repr__(self):
        parts = ", ".join(f"{name}: {_describe(value)}" for name, value in self.items())
        return f"InputDict({parts}; {self._n_samples} samples)"

    def __reduce__(self):
        return (InputDict, (dict(self.items()),))


def _rows(value, key):
    if torch.is_tensor(value) and not isinstance(key, slice):
        key = torch.as_tensor(key, dtype=torch.long, device=value.device)
    return value[key]


def _describe(value):
    dtype = str(value.dtype).replace("torch.", "")
    return f"{dtype}{tuple(value.shape)}"


def as_inputs(X):
    """``X`` (a mapping) as an :class:`InputDict` (itself if it is one)."""
    return X if isinstance(X, InputDict) else InputDict(X)
