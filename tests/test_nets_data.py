"""Inputs and outputs: label types, shapes, dtypes, DataFrames and invalid data."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from sktune import NeuralNetClassifier, NeuralNetRegressor

ESTIMATORS = [NeuralNetClassifier, NeuralNetRegressor]


def _fast(cls, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=2, batch_size=32, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


def _data(cls, binary_data, regression_data):
    return binary_data if cls is NeuralNetClassifier else regression_data


# -- classifier -------------------------------------------------------------------
@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog"]),
    np.array([-3, 7]),
    np.array([True, False]),
    np.array(["setosa", "versicolor", "virginica"]),
    np.array([10, 20, 30]),
])
def test_classifier_label_types(labels, binary_data, iris_data):
    X, y_idx = (binary_data if len(labels) == 2 else iris_data)
    y = labels[y_idx]
    est = _fast(NeuralNetClassifier, epochs=5).fit(X, y)
    np.testing.assert_array_equal(est.classes_, np.unique(labels))
    pred = est.predict(X)
    assert pred.shape == (len(X),)
    assert pred.dtype == y.dtype
    assert set(pred) <= set(labels)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], pred)
    # columns follow classes_: the model does better than chance on training data
    assert est.score(X, y) > 1.0 / len(labels) + 0.15


def test_classifier_multiclass_digits_proba(digits_data):
    X, y = digits_data
    est = _fast(NeuralNetClassifier, epochs=3).fit(X[:500], y[:500])
    proba = est.predict_proba(X[500:700])
    assert proba.shape == (200, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.predict(X[500:700]))


def test_classifier_labels_order_is_independent_of_first_seen(binary_data):
    X, y = binary_data
    labels = np.array(["b", "a"])  # "b" appears first in the data for some rows
    est = _fast(NeuralNetClassifier).fit(X, labels[y])
    np.testing.assert_array_equal(est.classes_, ["a", "b"])


def test_classifier_on_continuous_target_raises(binary_data):
    X, _ = binary_data
    y = np.linspace(0, 1, len(X))
    with pytest.raises(ValueError, match="continuous"):
        _fast(NeuralNetClassifier).fit(X, y)


def test_classifier_single_class_raises(binary_data):
    X, _ = binary_data
    with pytest.raises(ValueError, match="class"):
        _fast(NeuralNetClassifier).fit(X, np.zeros(len(X), dtype=int))


def test_classifier_with_column_vector_y(binary_data):
    X, y = binary_data
    with pytest.warns(Warning, match="column-vector"):
        est = _fast(NeuralNetClassifier).fit(X, y.reshape(-1, 1))
    assert est.predict(X).shape == (len(X),)


# -- regressor ------------------------------------------------------------------
def test_regressor_1d_target(regression_data):
    X, y = regression_data
    est = _fast(NeuralNetRegressor).fit(X, y)
    pred = est.predict(X)
    assert pred.shape == (len(X),)
    assert pred.dtype == np.float64
    assert est.module_.layers[-1].out_features == 1


def test_regressor_multi_output(multi_regression_data):
    X, y = multi_regression_data
    est = _fast(NeuralNetRegressor, epochs=20, lr=3e-2).fit(X, y)
    pred = est.predict(X)
    assert pred.shape == (len(X), 3)
    assert est.module_.layers[-1].out_features == 3
    assert est.score(X, y) > 0.5


def test_regressor_column_target_keeps_2d(regression_data):
    X, y = regression_data
    est = _fast(NeuralNetRegressor).fit(X, y.reshape(-1, 1))
    assert est.predict(X).shape == (len(X), 1)


def test_regressor_int_target(regression_data):
    X, y = regression_data
    est = _fast(NeuralNetRegressor).fit(X, np.round(y * 3).astype(int))
    assert est.predict(X).dtype == np.float64


def test_regressor_nan_target_raises(regression_data):
    X, y = regression_data
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _fast(NeuralNetRegressor).fit(X, y)


def test_regressor_partial_fit_different_target_shape_raises(regression_data,
                                                             multi_regression_data):
    X, y = regression_data
    est = _fast(NeuralNetRegressor).fit(X, y)
    with pytest.raises(ValueError, match="1 target"):
        est.partial_fit(X, np.c_[y, y])
    X2, y2 = multi_regression_data
    est = _fast(NeuralNetRegressor).fit(X2, y2)
    with pytest.raises(ValueError, match="3 targets"):
        est.partial_fit(X2, y2[:, :2])


# -- input types ------------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("kind", ["float64", "float32", "int", "list", "fortran"])
def test_input_dtypes(cls, kind, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    X_in = {
        "float64": X,
        "float32": X.astype(np.float32),
        "int": np.round(X * 10).astype(np.int64),
        "list": X.tolist(),
        "fortran": np.asfortranarray(X),
    }[kind]
    est = _fast(cls).fit(X_in, y)
    assert est.n_features_in_ == X.shape[1]
    assert est.predict(X_in).shape[0] == len(X)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_float64_and_float32_inputs_give_the_same_model(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    a = _fast(cls).fit(X, y)
    b = _fast(cls).fit(X.astype(np.float32), y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X.astype(np.float32)))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_dataframe_input_sets_feature_names(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    cols = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    est = _fast(cls).fit(df, pd.Series(y))
    np.testing.assert_array_equal(est.feature_names_in_, cols)
    np.testing.assert_array_equal(est.predict(df), _fast(cls).fit(X, y).predict(X))
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df.rename(columns={"f0": "zzz"}))
    assert not hasattr(_fast(cls).fit(X, y), "feature_names_in_")


def test_dataframe_with_mixed_int_float_columns(binary_data):
    X, y = binary_data
    df = pd.DataFrame({"a": X[:, 0], "b": (X[:, 1] * 10).astype(int), "c": X[:, 2]})
    est = _fast(NeuralNetClassifier).fit(df, y)
    assert est.n_features_in_ == 3
    assert est.predict_proba(df).shape == (len(df), 2)


# -- invalid data -------------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_nan_inf_in_X_raise(cls, bad, match, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    X_bad = X.copy()
    X_bad[5, 2] = bad
    with pytest.raises(ValueError, match=match):
        _fast(cls).fit(X_bad, y)
    est = _fast(cls).fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.predict(X_bad)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_wrong_n_features_at_predict_raises(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    est = _fast(cls).fit(X, y)
    with pytest.raises(ValueError, match="X has 7 features, but .* is expecting 8"):
        est.predict(X[:, :7])
    if cls is NeuralNetClassifier:
        with pytest.raises(ValueError, match="expecting 8"):
            est.predict_proba(np.c_[X, X])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_empty_data_raises(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    with pytest.raises(ValueError, match="0 sample"):
        _fast(cls).fit(X[:0], y[:0])
    est = _fast(cls).fit(X, y)
    with pytest.raises(ValueError, match="0 sample"):
        est.predict(X[:0])
    with pytest.raises(ValueError, match="0 feature"):
        _fast(cls).fit(np.empty((20, 0)), y[:20])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_1d_X_raises(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    with pytest.raises(ValueError, match="2D array"):
        _fast(cls).fit(X[:, 0], y)
    est = _fast(cls).fit(X, y)
    with pytest.raises(ValueError, match="2D array"):
        est.predict(X[0])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_3d_X_with_flat_module_raises(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    with pytest.raises(ValueError, match="dim"):
        _fast(cls).fit(X.reshape(len(X), 2, 4), y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_inconsistent_lengths_raise(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _fast(cls).fit(X, y[:-1])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_predict_before_fit_raises_not_fitted(cls, binary_data):
    from sklearn.exceptions import NotFittedError
    X, _ = binary_data
    est = cls()
    with pytest.raises(NotFittedError):
        est.predict(X)
    with pytest.raises(NotFittedError):
        est.module_


def test_prediction_batches_cover_large_inputs():
    # more rows than one inference batch (4096): predictions must be complete and ordered
    X, y = make_classification(n_samples=5000, n_features=5, random_state=0)
    est = _fast(NeuralNetClassifier, epochs=1, batch_size=512).fit(X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (5000, 2)
    np.testing.assert_allclose(proba[4090:4100], est.predict_proba(X[4090:4100]), rtol=1e-6)
