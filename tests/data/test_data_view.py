"""DatasetView: a torch Dataset as samples scikit-learn splits without reading them."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.utils import _safe_indexing
from skorch.helper import SliceDataset
from torch.utils.data import TensorDataset

from _datasets import Digits, Stream
from sktune.data import DatasetView
from sktune.data._view import as_view, is_dataset


def test_indexing_composes_views_and_reads_nothing(digits_dataset):
    ds = Digits(digits_dataset.X, digits_dataset.y)
    view = DatasetView(ds)
    part = view[np.arange(10, 50)][[0, 5, -1]]
    assert isinstance(part, DatasetView) and part.dataset is ds
    assert_array_equal(part.indices_, [10, 15, 49])
    assert_array_equal(view[5:8].indices_, [5, 6, 7])
    mask = np.zeros(len(view), dtype=bool)
    mask[[3, 4]] = True
    assert_array_equal(view[mask].indices_, [3, 4])
    assert ds.reads == 0
    assert_array_equal(part[1], ds.X[15])  # an int reads one input
    assert ds.reads == 1


def test_sklearn_splits_a_view_by_index(digits_dataset):
    view = DatasetView(digits_dataset)
    train, test = train_test_split(view, test_size=0.25, random_state=0,
                                   stratify=view.targets)
    assert isinstance(train, DatasetView) and len(train) + len(test) == len(view)
    assert set(train.indices_).isdisjoint(test.indices_)
    fold = _safe_indexing(view, np.array([2, 9]))  # what cross-validation calls
    assert_array_equal(fold.indices_, [2, 9])
    for tr, _ in StratifiedKFold(3).split(view, view.targets):
        assert len(view[tr]) == len(tr)


def test_targets_come_from_the_targets_attribute_without_reading_samples(digits_dataset):
    ds = Digits(digits_dataset.X, digits_dataset.y)
    ds.targets = list(digits_dataset.y)
    assert_array_equal(DatasetView(ds)[[4, 1]].targets, digits_dataset.y[[4, 1]])
    assert ds.reads == 0


def test_targets_otherwise_read_from_the_samples(digits_dataset):
    ds = Digits(digits_dataset.X, digits_dataset.y)
    assert_array_equal(DatasetView(ds)[:20].targets, digits_dataset.y[:20])
    assert ds.reads == 20
    tensors = TensorDataset(torch.randn(4, 2), torch.tensor([[0.5], [1.0], [2.0], [3.0]]))
    assert DatasetView(tensors).targets.tolist() == [[0.5], [1.0], [2.0], [3.0]]


def test_a_dataset_without_labels_says_to_pass_y(digits_dataset):
    view = DatasetView(Digits(digits_dataset.X))
    with pytest.raises(ValueError, match="has no label.*pass the labels as y"):
        view.targets


def test_iterable_datasets_and_non_datasets_are_refused():
    with pytest.raises(TypeError, match="iterable-style dataset.*map-style"):
        DatasetView(Stream([1, 2]))
    with pytest.raises(TypeError, match="no __len__"):
        DatasetView(object())
    with pytest.raises(IndexError, match="out of range"):
        DatasetView(TensorDataset(torch.zeros(3, 1)), indices=[0, 3])


def test_a_view_is_never_materialised_silently(digits_dataset):
    with pytest.raises(TypeError, match="not turned into an array"):
        np.asarray(DatasetView(digits_dataset))
    with pytest.raises(IndexError, match="no feature axis"):
        DatasetView(digits_dataset)[:, 0]


def test_views_pickle_and_know_what_counts_as_a_dataset(digits_dataset):
    view = DatasetView(digits_dataset)[[1, 2, 3]]
    again = pickle.loads(pickle.dumps(view))
    assert_array_equal(again.indices_, [1, 2, 3])
    assert_array_equal(again.targets, view.targets)
    assert is_dataset(digits_dataset) and is_dataset(view) and is_dataset(SliceDataset(view))
    assert not is_dataset(np.zeros((3, 2))) and not is_dataset([[1, 2]])
    assert as_view(view) is view
    assert DatasetView(view, indices=[2]).indices_.tolist() == [3]  # a view of a view
