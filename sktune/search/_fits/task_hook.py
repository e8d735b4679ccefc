"""Candidates that bring their own per-split work through sklearn's ``evaluate_candidates``.

``BaseSearchCV.fit`` evaluates candidates by calling
``sklearn.model_selection._search._fit_and_score`` once per (candidate,
split), in joblib's workers, and formats every result into ``cv_results_``.
Two sktune searches need a (candidate, split) to do something else than
"clone, set the parameters, fit from scratch, score":

- a resumed search replays results stored in its checkpoint
  (:class:`KnownResults`: nothing is fitted);
- a multi-fidelity search continues training the model it trained at the
  previous rung (:class:`Continuation`).

Both are dicts of the candidate's parameters (what ``cv_results_`` shows)
carrying that work, and :func:`install` puts :func:`_fit_and_score` in place
of sklearn's function. For any other parameters it delegates to sklearn's
own, so searches that use neither behave exactly as before, in any process.
Everything else (timing, scoring, error handling, verbose messages,
sklearn's callbacks) stays sklearn's.
"""

import os
import pickle
import uuid
from contextlib import contextmanager

from sklearn.model_selection import _search, _validation

from ...nets._sent_modules import pickler_module
from .._hyperband.continuation import continue_training

_original_fit_and_score = _validation._fit_and_score

#: Key of the trained model in a :class:`Continuation`'s result dict; the
#: search takes it out before the results are formatted.
MODEL_KEY = "_sktune_model"

#: Trained models pickled larger than this go to a file in the search's model
#: folder instead of travelling back to the search process.
SPILL_BYTES = 1 << 20


class KnownResults(dict):
    """Candidate parameters whose per-split results are already known.

    Parameters
    ----------
    params : dict
        The candidate's parameters.
    outcomes : list of dict
        One result dict of ``_fit_and_score`` per split.
    """

    def __init__(self, params, outcomes):
        super().__init__(params)
        self.outcomes = outcomes


class Spilled:
    """A trained model pickled to a file (read and removed when continued)."""

    def __init__(self, path):
        self.path = path


class Continuation(dict):
    """Candidate parameters, with the resource at the value to train up to.

    Parameters
    ----------
    params : dict
        The candidate's parameters, ``resource`` included (its target).
    resource : str
        Name of the parameter that counts epochs (``'epochs'``,
        ``'net__epochs'`` in a pipeline, ``'max_iter'``...).
    models : list
        Per split: None (train from scratch up to the target), or the model
        trained at the previous rung, as pickled bytes or :class:`Spilled`.
    model_dir : str
        Folder for models larger than :data:`SPILL_BYTES`.
    """

    def __init__(self, params, resource, models, model_dir):
        super().__init__(params)
        self.resource = resource
        self.models = models
        self.model_dir = model_dir


def install():
    """Put :func:`_fit_and_score` in place of sklearn's (once, idempotent)."""
    if _search._fit_and_score is not _fit_and_score:
        _search._fit_and_score = _fit_and_score


def _fit_and_score(estimator, X, y, *, parameters=None, split_progress=None, **kwargs):
    """sklearn's ``_fit_and_score``, or the work a candidate carries."""
    if isinstance(parameters, KnownResults):
        return dict(parameters.outcomes[split_progress[0]])
    if isinstance(parameters, Continuation):
        return _continue_and_score(estimator, X, y, parameters, split_progress, kwargs)
    return _original_fit_and_score(estimator, X, y, parameters=parameters,
                                   split_progress=split_progress, **kwargs)


def _continue_and_score(estimator, X, y, parameters, split_progress, kwargs):
    stored = parameters.models[split_progress[0]] if parameters.models else None
    keep_estimator = kwargs.pop("return_estimator", False)
    if stored is None:  # first rung (or resumed): train from scratch up to the target
        result = _original_fit_and_score(estimator, X, y, parameters=dict(parameters),
                                         split_progress=split_progress,
                                         return_estimator=True, **kwargs)
    else:
        model = _load(stored)
        target = parameters[parameters.resource]
        with _fit_continues(model, parameters.resource, target):
            result = _original_fit_and_score(model, X, y, parameters=None,
                                             split_progress=split_progress,
                                             return_estimator=True, **kwargs)
    fitted = result["estimator"] if keep_estimator else result.pop("estimator")
    failed = result["fit_error"] is not None
    result[MODEL_KEY] = None if failed else _dump(fitted, parameters.model_dir)
    return result


def _dump(model, folder):
    # cloudpickle: a network class defined in a script's __main__ pickles too
    data = pickler_module().dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) <= SPILL_BYTES or folder is None:
        return data
    path = os.path.join(folder, f"{uuid.uuid4().hex}.pkl")
    with open(path, "wb") as f:
        f.write(data)
    return Spilled(path)


def _load(stored):
    if isinstance(stored, Spilled):
        with open(stored.path, "rb") as f:
            data = f.read()
        os.remove(stored.path)  # each model is continued once
        return pickle.loads(data)
    return pickle.loads(stored)


@contextmanager
def _fit_continues(model, resource, target):
    """Within the block, ``model.fit(X, y)`` trains ``model`` further up to ``target``.

    sklearn's ``_fit_and_score`` calls ``estimator.fit``; an instance
    attribute shadows the class's method for that one call.
    """
    def fit(X, y=None, **fit_params):
        return continue_training(model, X, y, resource, target, **fit_params)

    model.fit = fit
    try:
        yield
    finally:
        del model.fit
