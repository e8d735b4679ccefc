"""sktune.persistence: save/load without pickle, exact predictions, tamper-proof."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from sktune import BayesSearchCV, NeuralNetClassifier, NeuralNetRegressor
from sktune.exceptions import PersistenceError
from sktune.modules import ConvNet
from sktune.persistence import FORMAT_VERSION, SavedSearch, load, save


def _rewrite(path, name, data):
    """Replace one member of the zip at ``path``."""
    with zipfile.ZipFile(path) as src:
        members = {n: src.read(n) for n in src.namelist()}
    members[name] = data
    with zipfile.ZipFile(path, "w") as dst:
        for n, d in members.items():
            dst.writestr(n, d)


@pytest.fixture
def fitted_clf(iris_data):
    X, y = iris_data
    return NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=3, optimizer="sgd",
                               lr_schedule="step", random_state=0).fit(X, y.astype(str))


def test_classifier_round_trip_exact(fitted_clf, iris_data, tmp_path):
    X, _ = iris_data
    save(fitted_clf, tmp_path / "clf.sktune")
    loaded = load(tmp_path / "clf.sktune")
    assert type(loaded) is NeuralNetClassifier
    assert loaded.get_params() == fitted_clf.get_params()
    np.testing.assert_array_equal(loaded.classes_, fitted_clf.classes_)
    assert np.array_equal(loaded.predict_proba(X), fitted_clf.predict_proba(X))
    assert np.array_equal(loaded.predict(X), fitted_clf.predict(X))
    assert loaded.history_[:, "train_loss"] == fitted_clf.history_[:, "train_loss"]
    assert loaded.n_iter_ == fitted_clf.n_iter_


def test_partial_fit_continues_identically(fitted_clf, iris_data, tmp_path):
    X, y = iris_data
    save(fitted_clf, tmp_path / "clf.sktune")
    loaded = load(tmp_path / "clf.sktune")
    fitted_clf.partial_fit(X, y.astype(str))
    loaded.partial_fit(X, y.astype(str))
    assert np.array_equal(loaded.predict_proba(X), fitted_clf.predict_proba(X))


def test_regressor_and_convnet_round_trip(multi_regression_data, tmp_path):
    X, y = multi_regression_data
    reg = NeuralNetRegressor(hidden_layer_sizes=(16,), epochs=2, random_state=0,
                             device=torch.device("cpu")).fit(X, y)
    save(reg, tmp_path / "reg")
    assert np.array_equal(load(tmp_path / "reg").predict(X), reg.predict(X))
    images = np.random.RandomState(0).rand(40, 1, 8, 8).astype(np.float32)
    labels = np.arange(40) % 2
    conv = NeuralNetClassifier(module=ConvNet, epochs=1, random_state=0).fit(images, labels)
    save(conv, tmp_path / "conv")
    assert np.array_equal(load(tmp_path / "conv").predict_proba(images),
                          conv.predict_proba(images))


def test_search_round_trip(iris_data, tmp_path):
    X, y = iris_data
    search = BayesSearchCV(
        NeuralNetClassifier(epochs=2, random_state=0),
        {"lr": (1e-3, 1e-1, "log-uniform"), "hidden_layer_sizes": [(4,), (8, 8)],
         "activation": ["relu", "tanh"]},
        n_iter=4, cv=2, random_state=0).fit(X, y)
    save(search, tmp_path / "search.sktune")
    loaded = load(tmp_path / "search.sktune")
    assert isinstance(loaded, SavedSearch)
    assert loaded.best_params_ == search.best_params_
    assert loaded.best_index_ == search.best_index_ and loaded.best_score_ == search.best_score_
    assert set(loaded.cv_results_) == set(search.cv_results_)
    for key, value in search.cv_results_.items():
        got = loaded.cv_results_[key]
        assert type(got) is type(value), key
        if isinstance(value, np.ndarray):
            assert got.dtype == value.dtype
            np.testing.assert_array_equal(got, value)
        else:
            assert got == value
    assert np.array_equal(loaded.predict_proba(X), search.predict_proba(X))
    from sktune.report import cv_report  # the report reads a loaded search too

    report = cv_report(loaded)
    assert "lr" in report.to_markdown()
    assert repr(report).startswith(f"<CVReport: {type(search).__name__} of ")


def test_unsaveable_parameter_named(iris_data, tmp_path):
    X, y = iris_data
    clf = NeuralNetClassifier(epochs=1, random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(PersistenceError, match="random_state.*cannot be saved without pickle"):
        save(clf, tmp_path / "x")
    with pytest.raises(PersistenceError, match="not fitted"):
        save(NeuralNetClassifier(), tmp_path / "x")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_pickle_in_weights_is_refused(fitted_clf, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "clf.sktune"
    save(fitted_clf, path)
    buffer = io.BytesIO()
    torch.save({"module": Payload()}, buffer, pickle_module=pickle)
    _rewrite(path, "weights.pt", buffer.getvalue())
    with pytest.raises(PersistenceError, match="refused without running it"):
        load(path)
    _rewrite(path, "weights.pt", pickle.dumps(Payload()))
    with pytest.raises(PersistenceError, match="refused"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("reference, message", [
    ({"$sktune": "import", "path": "os:system"}, "not a class or a Python function"),
    ({"$sktune": "import", "path": "posix:system"}, "not a class or a Python function"),
    ({"$sktune": "import", "path": "builtins:eval"}, "not a class or a Python function"),
    ({"$sktune": "import", "path": "no_such_module_xyz:f"}, "Cannot import"),
    ({"$sktune": "object", "class": "subprocess:Popen", "params": {"args": "true"}},
     "not a scikit-learn estimator or skorch callback"),
    # A Python function is importable, but validation refuses it as a module.
    ({"$sktune": "import", "path": "subprocess:getoutput"},
     "'module' parameter of NeuralNetClassifier must be"),
])
def test_tampered_params_cannot_execute(fitted_clf, tmp_path, reference, message):
    path = tmp_path / "clf.sktune"
    save(fitted_clf, path)
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("estimator.json"))
    document["params"]["module"] = reference
    _rewrite(path, "estimator.json", json.dumps(document).encode())
    with pytest.raises(ValueError, match=message):  # nothing named is ever called
        load(path)


def test_class_must_be_sktune_estimator(fitted_clf, tmp_path):
    path = tmp_path / "clf.sktune"
    save(fitted_clf, path)
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("estimator.json"))
    document["class"] = "sklearn.svm:SVC"
    _rewrite(path, "estimator.json", json.dumps(document).encode())
    with pytest.raises(PersistenceError, match="not an sktune network estimator"):
        load(path)


def test_newer_format_and_foreign_files(fitted_clf, tmp_path):
    path = tmp_path / "clf.sktune"
    save(fitted_clf, path)
    manifest = {"format": "sktune", "version": FORMAT_VERSION + 1, "kind": "estimator",
                "sktune_version": "9.0"}
    _rewrite(path, "manifest.json", json.dumps(manifest).encode())
    with pytest.raises(PersistenceError,
                       match=rf"format version {FORMAT_VERSION + 1}.*upgrade sktune"):
        load(path)
    (tmp_path / "junk").write_bytes(b"not a zip")
    with pytest.raises(PersistenceError, match="not a file written by sktune.save"):
        load(tmp_path / "junk")
    _rewrite(path, "manifest.json", b"{broken")
    with pytest.raises(PersistenceError, match="not valid JSON"):
        load(path)


def test_version_1_files_still_load(fitted_clf, iris_data, tmp_path):
    # version 2 added pipelines and metadata; a network's files are unchanged
    path = tmp_path / "clf.sktune"
    save(fitted_clf, path)
    manifest = {"format": "sktune", "version": 1, "kind": "estimator", "sktune_version": "0.1"}
    _rewrite(path, "manifest.json", json.dumps(manifest).encode())
    X, _ = iris_data
    assert np.array_equal(load(path).predict_proba(X), fitted_clf.predict_proba(X))


def test_shape_mismatch_in_weights(fitted_clf, iris_data, tmp_path):
    X, y = iris_data
    other = NeuralNetClassifier(hidden_layer_sizes=(3,), epochs=1, random_state=0).fit(X, y)
    save(other, tmp_path / "other")
    save(fitted_clf, tmp_path / "clf")
    with zipfile.ZipFile(tmp_path / "other") as archive:
        weights = archive.read("weights.pt")
    _rewrite(tmp_path / "clf", "weights.pt", weights)
    with pytest.raises(PersistenceError, match="do not fit the network"):
        load(tmp_path / "clf")
