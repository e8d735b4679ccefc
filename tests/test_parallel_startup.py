"""What a parallel worker imports: ``import sktune`` is cheap, estimators load lazily."""

import pickle
import subprocess
import sys

import pytest

import sktune
from sktune import NeuralNetClassifier


def _modules_after(code):
    """Names of the modules loaded by ``code`` in a fresh interpreter."""
    script = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


def test_import_sktune_imports_nothing_heavy():
    loaded = _modules_after("import sktune")
    assert not {"torch", "sklearn", "skorch", "scipy", "sktune.nets"} & loaded


def test_unpickling_an_estimator_imports_neither_search_nor_reports():
    payload = pickle.dumps(NeuralNetClassifier(hidden_layer_sizes=(4,)))
    loaded = _modules_after(f"import pickle; pickle.loads({payload!r})")
    assert "sktune.nets.estimators" in loaded
    assert not {"sktune.search", "sktune.report", "matplotlib"} & loaded


def test_public_names_resolve_on_first_use():
    from sktune import BayesSearchCV, cv_report
    from sktune.report import cv_report as report_cv_report
    from sktune.search import BayesSearchCV as search_bayes

    assert BayesSearchCV is search_bayes and cv_report is report_cv_report
    assert {"NeuralNetClassifier", "BayesSearchCV", "cv_report", "nets"} <= set(dir(sktune))
    assert set(sktune.__all__) <= set(dir(sktune))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sktune.nope  # noqa: B018
