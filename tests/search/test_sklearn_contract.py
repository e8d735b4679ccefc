"""scikit-learn's own search tests, run against sktune's searches.

sktune promises that ``BayesSearchCV`` and ``HyperbandSearchCV`` are
scikit-learn ``BaseSearchCV``s. scikit-learn ships the tests that say what that
means (``sklearn/model_selection/tests/test_search.py``); this module runs them,
from the installed package, with ``GridSearchCV`` and ``RandomizedSearchCV``
replaced in that module by sktune's searches over the same grid or
distributions:

- ``BayesSearchCV``: a grid becomes one ``Categorical`` per parameter (a list
  of grids, one sub-space each) with ``n_iter`` its size, so the search
  evaluates the whole grid, in ``GridSearchCV``'s order; distributions are
  passed as they are, with the same ``n_iter``. Tests parametrized with the
  classes or instances of scikit-learn's searches get the sktune ones.
- ``HyperbandSearchCV`` over the same grid, ``max_epochs=2, factor=2``
  (two brackets: 4 candidates, 5 rows of ``cv_results_``). Its estimator
  must train further between rungs: a scikit-learn estimator without
  ``partial_fit`` gets a subclass of its own class with an ``epochs``
  parameter whose ``partial_fit`` fits again (:func:`continuable`).

``cv_results_`` of sktune's searches carry documented columns of their own
(:data:`BAYES_COLUMNS`, :data:`HYPERBAND_COLUMNS`): scikit-learn's key check
accepts those and nothing else.

Tests that do not apply, and why, are in :data:`NOT_FOR_BAYES` and
:data:`NOT_FOR_HYPERBAND` (they are left out, not expected to fail: a test
that starts passing is not noticed, but none of these can); docs/bayes-search.md
lists the differences users see.
"""

import inspect
import itertools
import re
import sys

import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, ParameterGrid, RandomizedSearchCV
from sklearn.pipeline import Pipeline

from sktune import BayesSearchCV, HyperbandSearchCV
from sktune.space import Categorical

sk = pytest.importorskip("sklearn.model_selection.tests.test_search")
HalvingGridSearchCV, HalvingRandomSearchCV = sk.HalvingGridSearchCV, sk.HalvingRandomSearchCV


# -- sktune's searches with the signatures of scikit-learn's ----------------------
def _as_spaces(param_grid):
    """A grid (dict or list of dicts of lists) as sub-spaces of Categoricals, each
    with its number of points."""
    grids = [param_grid] if isinstance(param_grid, dict) else list(param_grid)
    return [({name: Categorical(list(values)) for name, values in grid.items()},
             len(ParameterGrid(grid))) for grid in grids]


def bayes_grid(estimator, param_grid, **kwargs):
    """``BayesSearchCV`` evaluating the grid of ``GridSearchCV(estimator, param_grid)``."""
    spaces = _as_spaces(param_grid)
    if len(spaces) == 1:
        (space, n_iter), = spaces
        return BayesSearchCV(estimator, space, n_iter=n_iter, random_state=0, **kwargs)
    return BayesSearchCV(estimator, spaces, random_state=0, **kwargs)


def bayes_random(estimator, param_distributions, *, n_iter=10, **kwargs):
    """``BayesSearchCV`` over the distributions of ``RandomizedSearchCV``."""
    return BayesSearchCV(estimator, param_distributions, n_iter=n_iter, **kwargs)


_CONTINUABLE = {}


def continuable(estimator):
    """``estimator`` as an instance of a subclass of its class that Hyperband can
    train further: an ``epochs`` parameter and, without a ``partial_fit`` of its
    own, one that fits again (a model that does not train in passes is the same
    model at every rung). A pipeline gets its last step converted."""
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return clone(estimator).set_params(**{name: continuable(last)})
    cls = type(estimator)
    if "epochs" in estimator.get_params(deep=False) and hasattr(cls, "partial_fit"):
        return estimator
    if cls not in _CONTINUABLE:
        params = [p for name, p in inspect.signature(cls.__init__).parameters.items()
                  if name != "self" and p.kind != p.VAR_KEYWORD]
        epochs = inspect.Parameter("epochs", inspect.Parameter.KEYWORD_ONLY, default=1)

        def __init__(self, *args, epochs=1, **kwargs):
            cls.__init__(self, *args, **kwargs)
            self.epochs = epochs

        __init__.__signature__ = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *params, epochs])
        body = {"__init__": __init__, "__module__": __name__}
        if not hasattr(cls, "partial_fit"):
            def partial_fit(self, X, y=None, **fit_params):
                return cls.fit(self, X, y, **fit_params)  # the search wraps self.fit

            body["partial_fit"] = partial_fit
        name = f"Continuable{cls.__name__}"
        sub = type(name, (cls,), {**body, "__qualname__": name})
        setattr(sys.modules[__name__], name, sub)  # pickled by reference
        _CONTINUABLE[cls] = sub
    return _CONTINUABLE[cls](**estimator.get_params(deep=False))


def hyperband_grid(estimator, param_grid, **kwargs):
    """``HyperbandSearchCV`` over the points of ``param_grid``."""
    (space, _), = _as_spaces(param_grid)
    return HyperbandSearchCV(continuable(estimator), space, max_epochs=2, factor=2,
                             random_state=0, **kwargs)


def hyperband_random(estimator, param_distributions, *, n_iter=10, **kwargs):
    return HyperbandSearchCV(continuable(estimator), param_distributions, max_epochs=2,
                             factor=2, **kwargs)


SEARCHES = {"bayes": (bayes_grid, bayes_random), "hyperband": (hyperband_grid, hyperband_random)}

#: Columns of ``cv_results_`` that scikit-learn's searches do not have.
BAYES_COLUMNS = re.compile(r"^(posterior_(mean|std)_test_\w+|rank_train_\w+)$")
HYPERBAND_COLUMNS = re.compile(r"^(bracket|iter|n_resources|candidate|param_epochs|"
                               r"rank_train_\w+)$")


def _sktune_search(value, name):
    """scikit-learn's search class or instance -> the sktune one (None: no match)."""
    grid, random = SEARCHES[name]
    if value is GridSearchCV:
        return grid
    if value is RandomizedSearchCV:
        return random
    if isinstance(value, (HalvingGridSearchCV, HalvingRandomSearchCV)) or value in (
            HalvingGridSearchCV, HalvingRandomSearchCV):
        return None
    if isinstance(value, GridSearchCV):
        params = value.get_params(deep=False)
        return grid(params.pop("estimator"), params.pop("param_grid"), **params)
    if isinstance(value, RandomizedSearchCV):
        params = value.get_params(deep=False)
        params.pop("random_state")
        return random(params.pop("estimator"), params.pop("param_distributions"), **params)
    return value


# -- which tests ------------------------------------------------------------------
_COUNT = ("counts the candidates or rows of cv_results_: Hyperband evaluates the candidates "
          "its brackets hold (4 here, in 5 rows), not the grid")

#: name -> why the test does not apply to BayesSearchCV
NOT_FOR_BAYES = {
    # of ParameterGrid / ParameterSampler themselves, not of a search
    "test_validate_parameter_input": "tests ParameterGrid and ParameterSampler themselves",
    "test_parameter_grid": "tests ParameterGrid itself",
    "test_param_sampler": "tests ParameterSampler itself",
    "test_parameters_sampler_replacement": "tests ParameterSampler itself",
    "test_yield_masked_array_for_each_param": "tests a private helper of sklearn's _search",
    "test_yield_masked_array_no_runtime_warning": "tests a private helper of sklearn's _search",
    "test__custom_fit_no_run_search": "tests BaseSearchCV subclasses without _run_search",
    "test_array_api_search_cv_classifier": "needs sklearn's array API test set-up",
    # grids sktune's spaces read otherwise
    "test_grid_search_bad_param_grid": (
        "checks ParameterGrid's messages for malformed grids; search_spaces are read by "
        "sktune's space parser, whose messages differ"),
    "test_predict_proba_disabled": (
        "an empty grid: GridSearchCV fits the estimator as it is; BayesSearchCV refuses an "
        "empty space ('The search space is empty')"),
    "test_grid_search_classifier_all_fits_fail": (
        "a grid listing one value 3 times: a Categorical refuses duplicates"),
    "test_grid_search_cv_splits_consistency": (
        "a grid listing one value twice: a Categorical refuses duplicates"),
    "test_callable_multimetric_clf_all_fits_fail": (
        "a grid listing one value 3 times: a Categorical refuses duplicates"),
    "test_search_with_2d_array": (
        "a tuple of choices as distribution: in search_spaces a tuple is a range "
        "(scikit-optimize's shorthand); a list is the choices"),
    # the callback tree
    "test_search_callbacks_with_partial_fit_failures": (
        "counts callback tasks: a sequential search reports each round as a task of its own "
        "(root, search, rounds, fits), one level more than GridSearchCV"),
    "test_search_callbacks_no_propagation": (
        "counts callback tasks: one level more per round than GridSearchCV"),
    "test_search_callbacks_propagation": (
        "counts callback tasks: one level more per round than GridSearchCV"),
    # what the sktune columns of cv_results_ or its sub-spaces mean
    "test_random_search_cv_results": (
        "a list of two distributions with n_iter=30: RandomizedSearchCV draws 30 candidates "
        "over both, BayesSearchCV n_iter per sub-space (scikit-optimize's meaning; a finite "
        "one is evaluated whole, once per point)"),
    "test_grid_search_cv_results_multimetric": (
        "compares a multi-metric search's cv_results_ with two single-metric ones': the "
        "posterior_* columns are of the optimised metric only"),
    "test_random_search_cv_results_multimetric": (
        "compares a multi-metric search's cv_results_ with two single-metric ones': the "
        "posterior_* columns are of the optimised metric only"),
    # cv_results_ compared with a plain BaseSearchCV's
    "test_custom_run_search": (
        "compares cv_results_ keys with a plain BaseSearchCV's: BayesSearchCV adds the "
        "posterior_* and rank_train_* columns"),
}

#: name -> why the test does not apply to HyperbandSearchCV (on top of NOT_FOR_BAYES)
_HAND_PARAMS = ("its estimator writes get_params by hand (MockClassifier, MinimalClassifier, "
                "...): the resource parameter (epochs) cannot be added to it")
_LOCALS = ("its estimator holds local functions (CheckingClassifier's checks): Hyperband keeps "
           "each fold's model between rungs as a pickle, which they cannot be")
_EPOCHS_PARAM = ("sets cv_results_['params'] or other steps on its own estimator, which has no "
                 "resource parameter: Hyperband's candidates include their epochs")
_SUBCLASS = ("reads the estimator's class name, which is this module's subclass adding "
             "the resource parameter")

#: name -> why the test does not apply to HyperbandSearchCV (on top of NOT_FOR_BAYES)
NOT_FOR_HYPERBAND = {
    **NOT_FOR_BAYES,
    "test_grid_search": _HAND_PARAMS,
    "test_grid_search_when_param_grid_includes_range": _HAND_PARAMS,
    "test_trivial_cv_results_attr": _HAND_PARAMS,
    "test_no_refit": _HAND_PARAMS,
    "test_pickle": _HAND_PARAMS,
    "test_grid_search_allows_nans": _HAND_PARAMS,
    "test_transform_inverse_transform_round_trip": _HAND_PARAMS,
    "test_search_cv_using_minimal_compatible_estimator": _HAND_PARAMS,
    "test_gridsearch_nd": _LOCALS,
    "test_X_as_list": _LOCALS,
    "test_y_as_list": _LOCALS,
    "test_pandas_input": _LOCALS,
    "test_grid_search_pipeline_steps": _EPOCHS_PARAM,
    "test_grid_search_with_multioutput_data": _EPOCHS_PARAM,
    "test_search_estimator_param": _EPOCHS_PARAM,
    "test_search_cv_score_samples_error": _SUBCLASS,
    "test_search_html_repr": _SUBCLASS,
    "test_refit_callable": _COUNT,
    "test_refit_callable_out_bound": _COUNT,
    "test_refit_callable_multi_metric": _COUNT,
    "test_grid_search_cv_results": _COUNT,
    "test_search_default_iid": _COUNT,
    "test_search_cv_results_rank_tie_breaking": _COUNT,
    "test_search_cv_results_none_param": _COUNT,
    "test_search_cv_timing": _COUNT,
    "test_grid_search_correct_score_results": _COUNT,
    "test_search_cv_verbose_3": _COUNT,
    "test_grid_search_failing_classifier": _COUNT,
    "test_callable_multimetric_error_failing_clf": _COUNT,
}


def _mark_values(fn):
    """The argument sets of a test's ``parametrize`` marks (their product)."""
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    axes = []
    for mark in marks:
        names = mark.args[0]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        values = [v.values if hasattr(v, "values") and not isinstance(v, dict) else v
                  for v in mark.args[1]]
        axes.append([dict(zip(names, v if len(names) > 1 else (v,))) for v in values])
    return [dict(kv for d in combo for kv in d.items()) for combo in itertools.product(*axes)]


_FIXTURES = {"capsys"}


def _cases(name, excluded):
    cases = []
    for test, fn in vars(sk).items():
        if not test.startswith("test_") or not callable(fn) or test in excluded:
            continue
        for i, kwargs in enumerate(_mark_values(fn)):
            cases.append(pytest.param(test, i, id=f"{test}[{i}]" if kwargs else test))
    return cases


def _run(search_name, test, index, request, monkeypatch):
    fn = getattr(sk, test)
    kwargs = _mark_values(fn)[index]
    converted = {}
    for key, value in kwargs.items():
        converted[key] = _sktune_search(value, search_name)
        if converted[key] is None:
            pytest.skip("a Halving search's case")
    for fixture in set(inspect.signature(fn).parameters) & _FIXTURES:
        converted[fixture] = request.getfixturevalue(fixture)
    grid, random = SEARCHES[search_name]
    monkeypatch.setattr(sk, "GridSearchCV", grid)
    monkeypatch.setattr(sk, "RandomizedSearchCV", random)
    own_columns = BAYES_COLUMNS if search_name == "bayes" else HYPERBAND_COLUMNS
    check_keys = sk.check_cv_results_keys

    def check_cv_results_keys(cv_results, param_keys, score_keys, n_cand, extra_keys=()):
        ours = {k for k in cv_results if own_columns.match(k)}
        check_keys({k: v for k, v in cv_results.items() if k not in ours}, param_keys,
                   score_keys, n_cand, extra_keys)

    monkeypatch.setattr(sk, "check_cv_results_keys", check_cv_results_keys)
    fn(**converted)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::sklearn.exceptions.FitFailedWarning")
@pytest.mark.parametrize("test, index", _cases("bayes", NOT_FOR_BAYES))
def test_bayes_search(test, index, request, monkeypatch):
    _run("bayes", test, index, request, monkeypatch)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::sklearn.exceptions.FitFailedWarning")
@pytest.mark.parametrize("test, index", _cases("hyperband", NOT_FOR_HYPERBAND))
def test_hyperband_search(test, index, request, monkeypatch):
    _run("hyperband", test, index, request, monkeypatch)


def test_every_left_out_test_exists():
    """A renamed scikit-learn test would silently run again or never."""
    assert set(NOT_FOR_HYPERBAND) - set(vars(sk)) == set()
