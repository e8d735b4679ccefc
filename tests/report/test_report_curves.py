"""Every candidate's training curves in a report, and the findings read from them:
more epochs, overfitting, divergence above a learning rate."""

import numpy as np
import pytest

from sktune.report import cv_report

from test_report_importance import FinishedSearch


def _curves(train, valid=None, n_splits=3):
    history = {"train_loss": np.asarray(train, dtype=np.float32)}
    if valid is not None:
        history["valid_loss"] = np.asarray(valid, dtype=np.float32)
    return [dict(history) for _ in range(n_splits)]


def _search(histories, scores, lrs=None):
    lrs = lrs if lrs is not None else list(np.geomspace(1e-4, 1e-2, len(scores)))
    params = [{"lr": float(lr), "width": 16 * (i % 3 + 1)} for i, lr in enumerate(lrs)]
    search = FinishedSearch(params, scores, fold_noise=0.001)
    search.fit_histories_ = histories
    return search


EPOCHS = np.arange(1, 21)
FALLING = 2.0 * np.exp(-EPOCHS / 15)           # still falling at epoch 20
CONVERGED = 0.2 + 2.0 * np.exp(-EPOCHS)         # flat from epoch 6 on
U_SHAPED = 0.3 + 0.004 * (EPOCHS - 8) ** 2       # lowest at epoch 8, rising since


def test_curves_of_every_candidate_are_drawn_with_the_best_highlighted():
    scores = [0.5, 0.9, 0.7, 0.6, 0.8, 0.55]
    search = _search([_curves(CONVERGED * (1 + 0.1 * i)) for i in range(6)], scores)
    report = cv_report(search)
    curves = report._curves
    assert curves.key == "train_loss" and len(curves.rows) == 6
    np.testing.assert_allclose(curves.curves[1], CONVERGED * 1.1, rtol=1e-6)
    html = report.to_html()
    assert "Training curves of every candidate" in html
    assert "The training loss of 6 candidates" in report.to_markdown()


@pytest.mark.parametrize("best_curve, expected", [
    (_curves(FALLING), "still falling at its last epoch (20): train longer"),
    (_curves(CONVERGED), None),
    (_curves(FALLING, valid=U_SHAPED), "overfits: its validation loss was lowest at epoch 8"),
    (_curves(FALLING, valid=FALLING * 1.1), "loss was still falling at its last epoch (20)"),
])
def test_the_best_candidate_curve_tells_what_to_change(best_curve, expected):
    scores = [0.5, 0.9, 0.7, 0.6, 0.8, 0.55]  # candidate 1 is best
    histories = [_curves(CONVERGED) for _ in scores]
    histories[1] = best_curve
    findings = [f for f in cv_report(_search(histories, scores)).advice()
                if f.startswith("The best candidate")]
    if expected is None:
        assert findings == []
    else:
        assert len(findings) == 1 and expected in findings[0], findings


def test_divergence_above_a_learning_rate_is_named():
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
    diverged = np.append(FALLING[:5], np.nan)  # the epoch it stopped in has no loss
    histories = [_curves(diverged if lr >= 1e-2 else CONVERGED) for lr in lrs]
    scores = [np.nan if lr >= 1e-2 else 0.8 + 0.01 * i for i, lr in enumerate(lrs)]
    report = cv_report(_search(histories, scores, lrs))
    assert report._curves.diverged.tolist() == [lr >= 1e-2 for lr in lrs]
    assert report._curves.n_diverged_fits == 4 * 3
    finding = [f for f in report.advice() if "diverged" in f]
    assert finding == ["4 of 4 candidates with lr >= 0.01 diverged (a non-finite training "
                       "loss): lower lr's upper bound below 0.01 (or clip gradients)."]
    assert "12 fits diverged" in report.to_markdown()


def test_a_few_divergences_are_not_a_finding():
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
    histories = [_curves(np.append(FALLING[:3], np.nan) if lr == 3e-2 else CONVERGED)
                 for lr in lrs]
    scores = [np.nan if lr == 3e-2 else 0.8 for lr in lrs]
    assert not any("diverged" in f for f in cv_report(_search(histories, scores, lrs)).advice())
