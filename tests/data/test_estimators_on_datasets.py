"""The estimators on torch Datasets: the same results as arrays, read batch by batch."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from skorch.helper import SliceDataset
from torch.utils.data import TensorDataset

import sktune
from _datasets import Digits, Ragged, Stream
from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.data import DatasetView, GaussianNoise, ImageFolder, RandomShift
from sktune.modules import ConvNet


def convnet(**params):
    defaults = dict(module=ConvNet, module__channels=(4,), module__hidden_layer_sizes=(16,),
                    epochs=3, lr=3e-3, batch_size=32, random_state=0)
    return NeuralNetClassifier(**{**defaults, **params})


def test_a_dataset_trains_exactly_like_its_arrays(small_digits):
    X, y = small_digits
    ds = Digits(X, y)
    from_array = convnet().fit(X, y)
    from_dataset = convnet().fit(ds, y)
    assert_array_equal(from_dataset.history_[:, "train_loss"], from_array.history_[:, "train_loss"])
    assert_array_equal(from_dataset.predict_proba(ds), from_array.predict_proba(X))
    assert from_dataset.score(ds) == from_array.score(X, y)
    assert from_dataset.n_features_in_ == 64 and not hasattr(from_dataset, "feature_names_in_")


def test_y_none_reads_the_labels_and_y_given_is_used(small_digits):
    X, y = small_digits
    ds = Digits(X, y)
    assert_array_equal(convnet().fit(ds).predict(ds), convnet().fit(ds, y).predict(ds))
    unlabelled = Digits(X)
    clf = convnet().fit(unlabelled, y)
    assert clf.score(unlabelled, y) == clf.score(ds)
    with pytest.raises(ValueError, match="no label.*pass the labels as y"):
        convnet().fit(unlabelled)
    with pytest.raises(ValueError, match="requires y to be passed"):
        convnet().fit(X)


def test_samples_are_read_batch_by_batch_never_all_at_split_time(small_digits):
    X, y = small_digits
    ds = Digits(X, y)
    convnet(epochs=2, validation_fraction=0.2).fit(ds, y)
    # 2 epochs over the 240 training samples and 2 over the 60 validation ones, plus the
    # first sample read once to learn the input shape (and once more for each part)
    assert ds.reads == 2 * 300 + 3


def test_partial_fit_continues_like_one_fit(small_digits):
    X, y = small_digits
    ds = Digits(X, y)
    once = convnet(epochs=4).fit(ds)
    twice = convnet(epochs=2).fit(ds).partial_fit(ds, epochs=2)
    assert_allclose(twice.predict_proba(ds), once.predict_proba(ds), rtol=1e-5, atol=1e-6)


def test_regressor_on_a_dataset_of_targets(digits_data):
    X, _ = digits_data
    X = X[:200].astype(np.float32)
    target = 100 * X[:, :10].sum(axis=1) + 3
    ds = TensorDataset(torch.as_tensor(X), torch.as_tensor(target))
    reg = NeuralNetRegressor(hidden_layer_sizes=(16,), lr=1e-2, epochs=20, random_state=0)
    from_dataset = reg.fit(ds)
    from_array = clone(reg).fit(X, target)
    assert_allclose(from_dataset.predict(ds), from_array.predict(X), rtol=1e-5)
    assert from_dataset.target_scale_ is not None and from_dataset.score(ds) > 0.8


def test_flat_modules_read_images_as_rows_and_arrays_still_predict(small_digits):
    X, y = small_digits
    mlp = NeuralNetClassifier(hidden_layer_sizes=(16,), epochs=3, random_state=0)
    fitted = mlp.fit(Digits(X, y))
    assert_array_equal(fitted.predict(X.reshape(len(X), -1)), fitted.predict(Digits(X, y)))
    conv = convnet().fit(Digits(X, y))
    assert_array_equal(conv.predict(X.reshape(len(X), -1)), conv.predict(Digits(X, y)))


def test_skorch_slice_dataset_and_views_work_in_cross_validation(small_digits):
    X, y = small_digits
    ds = Digits(X, y)
    clf = convnet(epochs=10, lr=1e-2)
    expected = cross_val_score(clf, X, y, cv=3)
    view = DatasetView(ds)
    assert_array_equal(cross_val_score(clf, view, view.targets, cv=3), expected)
    sliced = cross_val_score(clf, SliceDataset(ds), SliceDataset(ds, idx=1), cv=3)
    assert_array_equal(sliced, expected)
    assert np.all(expected > 0.5)  # not NaN, and learnt something


def test_loader_workers_give_the_same_results(small_digits):
    X, y = small_digits
    ds = Digits(X, y)
    plain = convnet(train_transform=RandomShift(1)).fit(ds)
    workers = convnet(train_transform=RandomShift(1), num_workers=2).fit(ds)
    assert_array_equal(workers.history_[:, "train_loss"], plain.history_[:, "train_loss"])
    assert_array_equal(workers.predict(ds), plain.predict(ds))


def test_sample_weights_on_a_dataset_match_arrays(small_digits):
    X, y = small_digits
    w = np.where(y % 2 == 0, 3.0, 1.0)
    from_dataset = convnet().fit(Digits(X, y), sample_weight=w)
    from_array = convnet().fit(X, y, sample_weight=w)
    assert_array_equal(from_dataset.history_[:, "train_loss"], from_array.history_[:, "train_loss"])


def test_image_folder_trains_and_learns(digits_folder):
    root, X, y = digits_folder
    images = ImageFolder(root)
    clf = convnet(epochs=20, lr=1e-2, module__channels=(8,)).fit(images)
    assert clf.score(images) > 0.7
    assert_array_equal(clf.classes_, np.arange(10))


class RecordBatches:
    """A train_transform that records the batches it is given."""

    def __init__(self):
        self.sizes = []

    def __call__(self, X):
        self.sizes.append(len(X))
        return X


def test_train_transform_sees_training_batches_only(small_digits):
    X, y = small_digits
    record = RecordBatches()
    clf = convnet(epochs=2, batch_size=100, validation_fraction=0.2, train_transform=record)
    clf.fit(Digits(X, y))
    assert record.sizes == [80, 80, 80] * 2  # 240 training samples, 2 epochs, even batches
    clf.predict(X), clf.score(Digits(X, y)), clf.predict_proba(Digits(X, y))
    assert len(record.sizes) == 6  # nothing for validation, prediction or scoring
    arrays = RecordBatches()
    convnet(epochs=1, batch_size=100, train_transform=arrays).fit(X, y)
    assert arrays.sizes == [100, 100, 100]  # arrays are augmented too


def test_augmentation_changes_training_and_is_searchable(small_digits):
    X, y = small_digits
    clf = convnet(train_transform=RandomShift(0))
    plain = clone(clf).fit(X, y)
    assert_array_equal(plain.predict_proba(X), convnet().fit(X, y).predict_proba(X))
    shifted = clone(clf).set_params(train_transform__max_shift=2).fit(X, y)
    assert clf.get_params()["train_transform__max_shift"] == 0
    assert not np.array_equal(shifted.history_[:, "train_loss"], plain.history_[:, "train_loss"])
    again = clone(clf).set_params(train_transform__max_shift=2).fit(X, y)
    assert_array_equal(again.history_[:, "train_loss"], shifted.history_[:, "train_loss"])


def test_a_transform_that_changes_the_batch_size_is_refused(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match=r"changed the batch size from \d+ to 16"):
        convnet(train_transform=lambda x: x[:16]).fit(X, y)
    with pytest.raises(TypeError, match="must return the transformed batch as a tensor"):
        convnet(train_transform=lambda x: x.numpy()).fit(X, y)
    with pytest.raises(ValueError, match="train_transform"):
        convnet(train_transform="shift").fit(X, y)


def test_inconsistent_sample_shapes_name_the_sample(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match=r"sample 7 .*shape \(1, 7, 8\).*\(1, 8, 8\)"):
        convnet().fit(Ragged(X, y))
    with pytest.raises(ValueError, match=r"sample 7 .*shape \(1, 7, 8\)"):
        convnet(validation_fraction=0.2).fit(Ragged(X, y))  # the dataset's index, not the part's
    fitted = convnet().fit(Digits(X, y))
    with pytest.raises(ValueError, match=r"shape \(1, 4, 4\).*fitted on samples of shape"):
        fitted.predict(Digits(X[:, :, :4, :4]))


def test_labels_not_seen_in_training_are_an_error_not_a_nan(small_digits):
    X, y = small_digits
    fitted = convnet().fit(Digits(X[y < 5], y[y < 5]))
    with pytest.raises(ValueError, match=r"labels \[5, 6, 7, 8, 9\] not in classes_"):
        fitted.partial_fit(Digits(X, y))
    with pytest.raises(TypeError, match="iterable-style dataset"):
        convnet().fit(Stream(X), y)


def test_non_numeric_inputs_are_refused_clearly():
    class Words(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return "text", i % 2

    with pytest.raises(ValueError, match="sample 0 .*str that is not numeric"):
        NeuralNetClassifier().fit(Words())


def test_fitted_estimators_pickle_save_and_load_with_transforms(small_digits, tmp_path):
    X, y = small_digits
    ds = Digits(X, y)
    clf = convnet(train_transform=GaussianNoise(0.05)).fit(ds)
    again = pickle.loads(pickle.dumps(clf))
    assert_array_equal(again.predict(ds), clf.predict(ds))
    sktune.save(clf, tmp_path / "model.sktune")
    loaded = sktune.load(tmp_path / "model.sktune")
    assert_array_equal(loaded.predict(ds), clf.predict(ds))
    assert loaded.train_transform.std == 0.05


def test_loader_workers_are_skipped_with_a_warning_in_daemonic_processes(small_digits,
                                                                        monkeypatch):
    import multiprocessing

    X, y = small_digits
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    with pytest.warns(RuntimeWarning, match="num_workers=2 ignored: .*daemonic"):
        fitted = convnet(num_workers=2).fit(Digits(X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = convnet().fit(Digits(X, y))
    assert_array_equal(fitted.predict(X), plain.predict(X))


def test_batches_are_pinned_for_cuda_only(small_digits):
    from sktune.nets._data import LoaderBatches, SampleData

    X, y = small_digits
    data = SampleData(DatasetView(Digits(X, y)), y)
    assert not LoaderBatches(data, 32, device="cpu").loader.pin_memory
    assert LoaderBatches(data, 32, device="cuda").loader.pin_memory
