"""sample_weight in fit and partial_fit: weights count samples, through searches too."""

import numpy as np
import pytest
import sklearn
import torch
from numpy.testing import assert_allclose, assert_array_equal
from skorch.callbacks import Callback
from sklearn.base import clone
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import HyperbandSearchCV, NeuralNetClassifier, NeuralNetRegressor

ESTIMATORS = [NeuralNetClassifier, NeuralNetRegressor]


def _net(cls, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=4, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


def _data(cls, binary_data, regression_data):
    return binary_data if cls is NeuralNetClassifier else regression_data


def _output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_integer_weights_equal_repeated_samples_in_full_batch_training(
        cls, binary_data, regression_data):
    """With one batch per epoch, a weight of k is k copies of the sample and a
    weight of 0 removes it (to float32 round-off)."""
    X, y = _data(cls, binary_data, regression_data)
    weights = np.random.RandomState(0).randint(0, 4, len(X))
    full_batch = dict(batch_size=10_000, epochs=15)
    weighted = _net(cls, **full_batch).fit(X, y, sample_weight=weights)
    repeated = _net(cls, **full_batch).fit(X.repeat(weights, axis=0), y.repeat(weights))
    assert_allclose(_output(weighted, X), _output(repeated, X), rtol=1e-4, atol=1e-5)
    unweighted = _net(cls, **full_batch).fit(X, y)
    assert not np.allclose(_output(weighted, X), _output(unweighted, X), atol=1e-3)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("constant", [1.0, 3.0])
def test_equal_weights_train_exactly_like_no_weights(cls, constant, binary_data,
                                                     regression_data):
    X, y = _data(cls, binary_data, regression_data)
    plain = _net(cls).fit(X, y)
    weighted = _net(cls).fit(X, y, sample_weight=np.full(len(X), constant))
    assert_array_equal(_output(plain, X), _output(weighted, X))


def test_weights_shift_an_imbalanced_classifier_towards_the_weighted_class(binary_data):
    X, y = binary_data
    keep = np.flatnonzero(y == 0).tolist() + np.flatnonzero(y == 1)[:15].tolist()
    X, y = X[keep], y[keep]  # 100 negatives, 15 positives
    plain = _net(NeuralNetClassifier, epochs=10).fit(X, y)
    balanced = _net(NeuralNetClassifier, epochs=10).fit(
        X, y, sample_weight=np.where(y == 1, 100 / 15, 1.0))
    recall = [(est.predict(X)[y == 1] == 1).mean() for est in (plain, balanced)]
    assert recall[1] >= recall[0] + 0.2


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_partial_fit_continues_a_weighted_fit_exactly(cls, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    weights = np.random.RandomState(1).uniform(0.1, 2.0, len(X))
    once = _net(cls, epochs=5).fit(X, y, sample_weight=weights)
    twice = _net(cls, epochs=2).fit(X, y, sample_weight=weights)
    twice.partial_fit(X, y, epochs=3, sample_weight=weights)
    assert_array_equal(_output(once, X), _output(twice, X))


def test_the_validation_loss_is_weighted(binary_data):
    """Zero weights on every validation sample but one make the validation
    loss that sample's loss."""
    X, y = binary_data
    est = _net(NeuralNetClassifier, epochs=1, validation_fraction=0.2).fit(X, y)
    # the estimator's own split (seeded by random_state), with row numbers as "weights"
    _, (X_valid, y_valid, valid_rows) = est._split(X, y, np.arange(len(X)))
    weights = np.ones(len(X))
    weights[valid_rows] = 0.0
    weights[valid_rows[0]] = 1.0
    est.fit(X, y, sample_weight=weights)
    with torch.no_grad():
        logits = est.net_.forward(X_valid[:1].astype(np.float32), training=False)
        expected = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y_valid[:1]))
    assert est.history_[-1, "valid_loss"] == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("weights, match", [
    (-np.ones(200), "Negative values in data passed to `sample_weight`"),
    (np.zeros(200), "Sample weights must contain at least one non-zero number"),
    (np.ones(199), r"sample_weight.shape == \(199,\), expected \(200,\)"),
    (np.ones((200, 2)), "Sample weights must be 1D"),
])
def test_bad_weights_are_clear_errors(weights, match, binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match=match):
        _net(NeuralNetClassifier).fit(X, y, sample_weight=weights)


def test_a_validation_split_without_weight_is_a_clear_error(binary_data):
    X, y = binary_data
    est = _net(NeuralNetClassifier, validation_fraction=0.2).fit(X, y)
    _, (_, _, valid_rows) = est._split(X, y, np.arange(len(X)))
    weights = np.ones(len(X))
    weights[valid_rows] = 0.0
    with pytest.raises(ValueError, match="zero on every sample of the validation split"):
        est.fit(X, y, sample_weight=weights)


class _NoReduction(torch.nn.Module):
    def forward(self, y_pred, y_true):
        return torch.nn.functional.cross_entropy(y_pred, y_true)


def test_a_criterion_without_reduction_is_a_clear_error_with_weights(binary_data):
    X, y = binary_data
    est = _net(NeuralNetClassifier, criterion=_NoReduction)
    est.fit(X, y)  # fine without weights
    with pytest.raises(ValueError, match="_NoReduction has no `reduction` attribute"):
        est.fit(X, y, sample_weight=np.arange(len(X)) % 3)


def test_weights_reach_the_network_in_cross_validation_and_searches(binary_data):
    X, y = binary_data
    weights = np.random.RandomState(2).uniform(0.0, 3.0, len(X))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    pipe = make_pipeline(StandardScaler(), _net(NeuralNetClassifier))
    params = {"neuralnetclassifier__sample_weight": weights}
    weighted = cross_validate(pipe, X, y, cv=cv, params=params)["test_score"]
    by_hand = []
    for train, test in cv.split(X, y):
        est = clone(pipe).fit(X[train], y[train],
                              neuralnetclassifier__sample_weight=weights[train])
        by_hand.append(est.score(X[test], y[test]))
    assert_array_equal(weighted, by_hand)
    assert not np.array_equal(weighted, cross_validate(pipe, X, y, cv=cv)["test_score"])
    grid = GridSearchCV(pipe, {"neuralnetclassifier__lr": [1e-2]}, cv=cv).fit(X, y, **params)
    assert_array_equal([grid.cv_results_[f"split{k}_test_score"][0] for k in range(3)],
                       weighted)


def test_hyperband_continues_weighted_models_with_their_weights(binary_data):
    """Every rung of a weighted Hyperband search scores what cross-validating
    a new weighted model for the rung's epochs scores."""
    X, y = binary_data
    weights = np.random.RandomState(3).uniform(0.0, 3.0, len(X))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    pipe = make_pipeline(StandardScaler(), _net(NeuralNetClassifier))
    params = {"neuralnetclassifier__sample_weight": weights}
    search = HyperbandSearchCV(pipe, {"neuralnetclassifier__lr": (1e-3, 1e-1, "log-uniform")},
                               max_epochs=4, factor=2, n_brackets=1, cv=cv, random_state=0,
                               refit=False).fit(X, y, **params)
    results = search.cv_results_
    continued = np.flatnonzero(np.asarray(results["iter"]) > 0)
    assert len(continued) >= 2
    for row in [0, *continued]:
        est = clone(pipe).set_params(**results["params"][row])
        fresh = cross_validate(est, X, y, cv=cv, params=params)["test_score"]
        assert_array_equal([results[f"split{k}_test_score"][row] for k in range(3)], fresh)


class _BatchListener(Callback):
    """Listens to batch events, so training takes skorch's own per-batch path."""

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        self.n_batches_ = getattr(self, "n_batches_", 0) + 1


def test_weights_reach_the_loss_on_skorchs_own_batch_path_too(binary_data):
    X, y = binary_data
    weights = np.random.RandomState(4).uniform(0.0, 3.0, len(X))
    lean = _net(NeuralNetClassifier, validation_fraction=0.2).fit(X, y, sample_weight=weights)
    listener = _BatchListener()
    hooked = _net(NeuralNetClassifier, validation_fraction=0.2, callbacks=[listener]).fit(
        X, y, sample_weight=weights)
    assert not lean.net_.batch_hooks_ and hooked.net_.batch_hooks_ and listener.n_batches_ > 0
    assert_array_equal(lean.predict_proba(X), hooked.predict_proba(X))
    assert lean.history_[:, "valid_loss"] == hooked.history_[:, "valid_loss"]


def test_metadata_routing_weights_fits_and_scores(binary_data):
    """With sklearn's metadata routing on, a scorer that requests the weights
    gets them, in GridSearchCV and in HyperbandSearchCV alike."""
    X, y = binary_data
    weights = np.random.RandomState(5).uniform(0.0, 3.0, len(X))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    by_hand = []
    for train, test in cv.split(X, y):
        est = _net(NeuralNetClassifier).fit(X[train], y[train], sample_weight=weights[train])
        by_hand.append(accuracy_score(y[test], est.predict(X[test]),
                                      sample_weight=weights[test]))
    with sklearn.config_context(enable_metadata_routing=True):
        net = _net(NeuralNetClassifier).set_fit_request(sample_weight=True)
        scorer = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        grid = GridSearchCV(net, {"lr": [1e-2]}, cv=cv, scoring=scorer).fit(
            X, y, sample_weight=weights)
        hyperband = HyperbandSearchCV(net, {"lr": [1e-2]}, max_epochs=4, factor=2,
                                      n_brackets=1, cv=cv, scoring=scorer, random_state=0,
                                      refit=False).fit(X, y, sample_weight=weights)
    assert_array_equal([grid.cv_results_[f"split{k}_test_score"][0] for k in range(3)], by_hand)
    last = int(np.argmax(hyperband.cv_results_["n_resources"]))  # the rung at 4 epochs
    assert hyperband.cv_results_["n_resources"][last] == 4
    assert_array_equal([hyperband.cv_results_[f"split{k}_test_score"][last] for k in range(3)],
                       by_hand)
