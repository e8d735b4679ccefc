"""sktune.save/load of fitted pipelines: sklearn preprocessing + an sktune network, no pickle."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.persistence._codec import decode, encode_fitted
from sktune.exceptions import PersistenceError
from sktune.persistence import FORMAT_VERSION, SavedSearch, load, load_metadata, save
from sktune.report import cv_report
from sktune.cli._tables import make_preprocessor


def _frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"size": rng.normal(10, 3, n), "colour": rng.choice(["r", "g", "b"], n),
                      "flag": rng.random(n) > 0.5, "count": rng.integers(0, 5, n)})
    X.loc[3, "size"] = np.nan
    X.loc[5, "colour"] = None
    y = np.where(X["size"].fillna(10) + (X["colour"] == "r") * 2 > 10.5, "hi", "lo")
    return X, y


def _rewrite(path, name, edit):
    with zipfile.ZipFile(path) as src:
        members = {n: src.read(n) for n in src.namelist()}
    document = json.loads(members[name])
    edit(document)
    members[name] = json.dumps(document).encode()
    with zipfile.ZipFile(path, "w") as dst:
        for n, d in members.items():
            dst.writestr(n, d)


@pytest.fixture
def fitted_pipe():
    X, y = _frame()
    pipe = Pipeline([("preprocess", make_preprocessor(X)),
                     ("net", NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=3,
                                                 random_state=0))])
    return pipe.fit(X, y), X


def test_pipeline_round_trip_is_bit_identical(fitted_pipe, tmp_path):
    pipe, X = fitted_pipe
    save(pipe, tmp_path / "p.sktune")
    loaded = load(tmp_path / "p.sktune")
    assert type(loaded) is Pipeline and [n for n, _ in loaded.steps] == ["preprocess", "net"]
    assert repr(loaded) == repr(pipe)
    unseen = _frame(20, seed=1)[0]
    unseen.loc[0, "colour"] = "purple"
    for data in (X, unseen):
        assert np.array_equal(loaded.predict_proba(data), pipe.predict_proba(data))
        assert np.array_equal(loaded.predict(data), pipe.predict(data))
    # the fitted preprocessing itself came back
    ct, original = loaded.named_steps["preprocess"], pipe.named_steps["preprocess"]
    assert np.array_equal(ct.transform(X), original.transform(X))
    onehot = ct.named_transformers_["categorical"].named_steps["onehot"]
    assert [c.tolist() for c in onehot.categories_] == [["b", "g", "r"], [False, True]]
    assert ct.output_indices_ == original.output_indices_


def test_regressor_pipeline_with_plain_steps(tmp_path):
    X, _ = _frame()
    y = X["count"].to_numpy() * 1.5
    X = X[["size", "count"]]
    pipe = make_pipeline(SimpleImputer(), StandardScaler(),
                         NeuralNetRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0))
    pipe.fit(X, y)
    save(pipe, tmp_path / "r.sktune")
    assert np.array_equal(load(tmp_path / "r.sktune").predict(X), pipe.predict(X))


def test_search_with_a_pipeline_and_metadata(tmp_path):
    X, y = _frame()
    pipe = Pipeline([("preprocess", make_preprocessor(X)),
                     ("net", NeuralNetClassifier(epochs=2, random_state=0))])
    search = GridSearchCV(pipe, {"net__hidden_layer_sizes": [(4,), (8,)]}, cv=2).fit(X, y)
    save(search, tmp_path / "s.sktune", metadata={"target": "y", "features": list(X.columns)})
    loaded = load(tmp_path / "s.sktune")
    assert isinstance(loaded, SavedSearch) and isinstance(loaded.best_estimator_, Pipeline)
    assert np.array_equal(loaded.predict_proba(X), search.predict_proba(X))
    assert loaded.best_params_ == search.best_params_
    assert cv_report(loaded, X, y).test_metrics["n_samples"] == 60
    assert load_metadata(tmp_path / "s.sktune") == {"target": "y",
                                                    "features": ["size", "colour", "flag",
                                                                 "count"]}
    with zipfile.ZipFile(tmp_path / "s.sktune") as archive:
        assert json.loads(archive.read("manifest.json"))["version"] == FORMAT_VERSION == 2
        assert not any(n.endswith((".pkl", ".pickle")) for n in archive.namelist())


def test_metadata_must_be_json(fitted_pipe, tmp_path):
    with pytest.raises(PersistenceError, match="metadata must be plain JSON data"):
        save(fitted_pipe[0], tmp_path / "p.sktune", metadata={"x": object()})
    save(fitted_pipe[0], tmp_path / "p.sktune")
    assert load_metadata(tmp_path / "p.sktune") == {}


@pytest.mark.parametrize("steps, message", [
    ([("scale", StandardScaler()), ("svc", SVC())], "got SVC"),
    ([("f", FunctionTransformer(lambda x: x)),
      ("net", NeuralNetClassifier(epochs=1))], "cannot be saved by import path"),
])
def test_unsaveable_pipelines_are_refused_at_save(tmp_path, steps, message):
    X, y = _frame()
    pipe = Pipeline(steps).fit(X[["size", "count"]].fillna(0), y)
    with pytest.raises(PersistenceError, match=message):
        save(pipe, tmp_path / "p.sktune")


def test_foreign_transformer_is_refused_at_save(tmp_path):
    from sklearn.base import BaseEstimator, TransformerMixin

    class Mine(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            self.seen_ = True
            return self

        def transform(self, X):
            return X

    with pytest.raises(PersistenceError, match="saved only when they are scikit-learn's own"):
        encode_fitted(Mine().fit(None), "steps['mine']")


def _first_step(document):
    return document["steps"][0][1]


@pytest.mark.parametrize("edit, message", [
    (lambda d: _first_step(d).update({"class": "os:system"}),
     "'os:system' is a builtin_function_or_method, not a class"),
    (lambda d: _first_step(d).update({"class": "sktune.nets:NeuralNetClassifier"}),
     "is not a scikit-learn estimator; saved files may only restore"),
    (lambda d: _first_step(d).update({"class": "subprocess:Popen"}),
     "is not a scikit-learn estimator"),
    (lambda d: _first_step(d)["state"].update({"__class__": None}),
     "'__class__' is not a fitted attribute that may be restored"),
    (lambda d: _first_step(d)["state"].update({"remainder": "passthrough"}),
     "'remainder' is not a fitted attribute"),
    (lambda d: d.update({"class": "sklearn.pipeline:FeatureUnion"}),
     "is not sklearn's Pipeline"),
    (lambda d: d["steps"][0].__setitem__(1, [1, 2]), "is not a transformer"),
])
def test_tampered_pipeline_is_refused(fitted_pipe, tmp_path, edit, message):
    path = tmp_path / "p.sktune"
    save(fitted_pipe[0], path)
    _rewrite(path, "pipeline.json", edit)
    with pytest.raises(PersistenceError, match=message):
        load(path)


def test_fitted_tag_decodes_only_data(fitted_pipe):
    ct = fitted_pipe[0].named_steps["preprocess"]
    data = json.loads(json.dumps(encode_fitted(ct)))
    assert data["class"] == "sklearn.compose._column_transformer:ColumnTransformer"
    back = decode(data)
    assert type(back) is ColumnTransformer and back is not ct
    X = fitted_pipe[1]
    assert np.array_equal(back.transform(X), ct.transform(X))
    imputer = back.named_transformers_["numeric"].named_steps["impute"]
    assert imputer._fit_dtype == np.dtype("float64")
    encoder = back.named_transformers_["categorical"].named_steps["onehot"]
    assert isinstance(encoder, OneHotEncoder)
