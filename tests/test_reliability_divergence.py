"""Divergent training (NaN/inf loss) stops at once and fails the fit clearly."""

import math
import warnings

import numpy as np
import pytest
from skorch.callbacks import Callback
from sklearn.exceptions import FitFailedWarning

from sktune import BayesSearchCV, NeuralNetClassifier, NeuralNetRegressor
from sktune.exceptions import DivergenceError

# A deep linear network trained with plain SGD: diverges for lr >= 1 on digits.
_DIVERGING = dict(hidden_layer_sizes=(64, 64), activation="identity", optimizer="sgd",
                  epochs=5, random_state=0)


@pytest.fixture(scope="module")
def digits_small(digits_data):
    X, y = digits_data
    return X[:400], y[:400]


def test_divergence_raises_at_first_bad_batch(digits_small):
    X, y = digits_small
    clf = NeuralNetClassifier(lr=10.0, **_DIVERGING)
    with pytest.raises(DivergenceError, match=r"epoch 1, batch \d+ \(lr=10\).*Lower the "
                                              r"learning rate") as info:
        clf.fit(X, y)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.epoch == 1 and err.batch >= 1 and not math.isfinite(err.loss)
    # Stopped at once: no later epoch was started, no batch recorded after the bad one.
    assert len(clf.net_.history) == 1
    batches = clf.net_.history[-1]["batches"]
    assert len(batches) == err.batch and not math.isfinite(batches[-1]["train_loss"])


def test_divergence_on_skorch_batch_loop(digits_small):
    """A callback with batch hooks takes skorch's own loop; checked per epoch there."""

    class CountBatches(Callback):
        def on_batch_end(self, net, **kwargs):
            pass

    X, y = digits_small
    clf = NeuralNetClassifier(lr=10.0, callbacks=[CountBatches()], **_DIVERGING)
    with pytest.raises(DivergenceError, match="epoch 1, batch"):
        clf.fit(X, y)


def test_regressor_divergence(regression_data):
    X, y = regression_data
    reg = NeuralNetRegressor(hidden_layer_sizes=(64, 64), activation="identity",
                             optimizer="sgd", lr=10.0, epochs=5, random_state=0)
    with pytest.raises(DivergenceError, match="Training diverged"):
        reg.fit(X * 1e3, y * 1e3)


def test_stable_lr_unaffected(digits_small):
    X, y = digits_small
    clf = NeuralNetClassifier(lr=0.05, **_DIVERGING).fit(X, y)
    assert clf.n_iter_ == 5 and np.isfinite(clf.history_[:, "train_loss"]).all()


def test_search_survives_divergent_candidates(digits_small):
    X, y = digits_small
    search = BayesSearchCV(
        NeuralNetClassifier(**{**_DIVERGING, "epochs": 3}),
        {"lr": (1e-4, 10.0, "log-uniform")},
        n_iter=12, cv=2, random_state=2, optimizer_kwargs={"n_initial_points": 6},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    lrs = np.array(search.cv_results_["param_lr"], dtype=float)
    failed = ~np.isfinite(scores)
    assert failed.any(), "the space should contain diverging learning rates"
    assert (lrs[failed] >= 0.3).all()
    assert math.isfinite(search.best_score_) and search.best_params_["lr"] < 1.0
    messages = " ".join(str(w.message) for w in caught if w.category is FitFailedWarning)
    assert "DivergenceError" in messages and "Lower the learning rate" in messages
    # After the initial design the model has learnt to avoid the diverging region.
    assert failed[:6].any() and failed[6:].sum() <= failed[:6].sum()


def test_non_finite_validation_loss_raises_divergence_error():
    """A validation loss that is not finite stops training like a training loss does."""
    import numpy as np
    from skorch.callbacks import Callback

    from sktune import NeuralNetRegressor
    from sktune.exceptions import DivergenceError

    class _PoisonValidation(Callback):
        def on_batch_end(self, net, batch=None, training=False, **kwargs):
            if not training:
                net.history.record_batch("valid_loss", float("nan"))

    rng = np.random.RandomState(0)
    X = rng.randn(100, 3)
    reg = NeuralNetRegressor(epochs=3, validation_fraction=0.2, random_state=0,
                             callbacks=[_PoisonValidation()])
    with pytest.raises(DivergenceError, match="validation loss became nan at epoch 1"):
        reg.fit(X, X.sum(axis=1))
    assert len(reg.net_.history) == 1
