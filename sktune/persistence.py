"""Save and load fitted estimators and searches without pickle.

A saved file is a zip archive:

- ``manifest.json``: ``{"format": "sktune", "version": 1, "kind": ...}``;
- ``estimator.json`` / ``search.json``: parameters and fitted attributes,
  encoded as JSON by :mod:`sktune._jsoncodec`;
- ``weights.pt`` (estimators): module and optimiser ``state_dict``s and the
  random state, read back with ``torch.load(..., weights_only=True)``;
- a search's best estimator under ``best_estimator/``.

**Trust model.** :func:`load` never runs pickle: JSON is parsed as data and
``weights_only=True`` lets torch read tensors, numbers and containers only (a
pickled payload placed there is refused). A file may *name* classes and
Python functions by import path (a custom module class, a loss); loading
imports the named modules (their top-level code runs, as with any import) and
refuses builtins (``os.system``), instances and missing names. The only
objects it constructs are scikit-learn estimators, skorch callbacks and, when
the network is rebuilt, the estimator's own module, criterion and optimiser
classes, which must pass the estimator's parameter validation first
(``module`` must be a ``torch.nn.Module`` subclass, and so on). So a file
cannot bring code of its own, but it can make :func:`load` import and
instantiate classes installed on your machine: load files from people you
would accept a list of ``import`` statements from.
"""

import io
import json
import zipfile

import numpy as np
import torch
from sklearn.model_selection._search import BaseSearchCV
from skorch.history import History

from . import __version__
from ._jsoncodec import decode, encode, import_path, resolve
from .exceptions import PersistenceError

__all__ = ["save", "load", "SavedSearch"]

FORMAT_VERSION = 1
_ESTIMATOR_PREFIX = "best_estimator/"
# Fitted attributes kept out of the JSON: the skorch net (rebuilt) and what
# is rebuilt with it or stored in weights.pt.
_REBUILT = ("net_", "history_", "_rng_state")
# Search results that are saved when present.
_SEARCH_ATTRIBUTES = ("cv_results_", "best_params_", "best_index_", "best_score_",
                      "refit_time_", "n_splits_", "multimetric_")


class SavedSearch:
    """The results of a fitted search, as :func:`load` returns them.

    A light, read-only stand-in for the search object: it holds the saved
    results and the best estimator, and works with
    :func:`sktune.report.cv_report`. It cannot be refitted.

    Attributes
    ----------
    cv_results_ : dict
        As the search had it (parameter columns as masked arrays, the
        ``params`` dicts with their original values).
    best_params_, best_index_, best_score_, refit_time_, n_splits_, multimetric_
        As the search had them (absent if the search did not have them).
    best_estimator_ : estimator
        The refitted best estimator (absent when the search had ``refit=False``).
    estimator : estimator or None
        The search's (unfitted) estimator, when it could be saved.
    search_spaces : dict, list or None
        The search space, when it could be saved (used by reports).
    refit, scoring
        The search's parameters of those names, when they could be saved.
    search_class : str
        Import path of the search class that was saved.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.svm import SVC
    >>> from sktune.persistence import save, load
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(SVC(), {"C": [0.1, 1.0]}, refit=False).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "search.sktune")
    >>> save(search, path)
    >>> loaded = load(path)
    >>> loaded.best_params_, loaded.cv_results_["params"] == search.cv_results_["params"]
    ({'C': 1.0}, True)
    """

    def __init__(self, search_class, attributes):
        self.search_class = search_class
        vars(self).update(attributes)

    def predict(self, X):
        """``best_estimator_.predict(X)``."""
        return self.best_estimator_.predict(X)

    def predict_proba(self, X):
        """``best_estimator_.predict_proba(X)``."""
        return self.best_estimator_.predict_proba(X)

    def score(self, X, y=None):
        """``best_estimator_.score(X, y)``."""
        return self.best_estimator_.score(X, y)

    def __repr__(self):
        name = self.search_class.rpartition(":")[2]
        return f"SavedSearch({name}, {len(self.cv_results_['params'])} candidates)"


# -- saving -------------------------------------------------------------------------
def save(obj, path):
    """Save a fitted sktune estimator or a fitted search, without pickle.

    Parameters
    ----------
    obj : NeuralNetClassifier, NeuralNetRegressor or fitted search
        A fitted sktune network estimator, or a fitted scikit-learn search
        (``BayesSearchCV``, ``GridSearchCV``, ...): its ``cv_results_``,
        ``best_*`` attributes and, if refitted, its best estimator (which
        must itself be an sktune network estimator).
    path : str or path-like
        The file to write (a zip archive; ``.sktune`` is a good suffix).

    Raises
    ------
    PersistenceError
        If ``obj`` or one of its parameters cannot be saved without pickle
        (the message names the parameter).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> import sktune
    >>> from sktune.persistence import save, load
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = sktune.NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=3,
    ...                                  random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "clf.sktune")
    >>> save(clf, path)
    >>> bool((load(path).predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    if isinstance(obj, BaseSearchCV) or hasattr(obj, "cv_results_"):
        kind, files = "search", _search_files(obj)
    else:
        kind, files = "estimator", _estimator_files(obj)
    manifest = {"format": "sktune", "version": FORMAT_VERSION, "kind": kind,
                "sktune_version": __version__}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, data in files.items():
            archive.writestr(name, data)


def _json(document):
    return json.dumps(document, allow_nan=False, indent=1).encode()


def _check_saveable_estimator(est):
    from .nets._base import BaseNeuralNet

    if not isinstance(est, BaseNeuralNet):
        raise PersistenceError(
            f"save supports sktune's NeuralNetClassifier and NeuralNetRegressor (and searches "
            f"whose best estimator is one); got {type(est).__name__}. Use joblib or skops for "
            "other estimators."
        )
    if not hasattr(est, "net_"):
        raise PersistenceError(
            f"This {type(est).__name__} is not fitted yet; fit it before saving.")


def _estimator_files(est, prefix=""):
    _check_saveable_estimator(est)
    params = est.get_params(deep=False)
    fitted = {k: v for k, v in vars(est).items() if k not in params and k not in _REBUILT}
    document = {
        "class": import_path(type(est)),
        "params": {k: encode(v, k) for k, v in params.items()},
        "fitted": {k: encode(v, k) for k, v in fitted.items()},
        "history": encode(list(est.history_), "history_"),
    }
    net = est.net_
    state = {"module": net.module_.state_dict(), "optimizer": net.optimizer_.state_dict()}
    rng = getattr(est, "_rng_state", None)
    if rng is not None:
        state["rng_state"] = [t for t in rng if t is not None]
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return {f"{prefix}estimator.json": _json(document), f"{prefix}weights.pt": buffer.getvalue()}


def _search_files(search):
    if not hasattr(search, "cv_results_"):
        raise PersistenceError(f"This {type(search).__name__} is not fitted yet; fit it first.")
    attributes = {k: encode(getattr(search, k), k) for k in _SEARCH_ATTRIBUTES
                  if hasattr(search, k)}
    for name in ("estimator", "search_spaces", "refit", "scoring"):
        try:  # context for reports: saved when it can be, never required
            attributes[name] = encode(getattr(search, name, None), name)
        except PersistenceError:
            attributes[name] = None
    document = {"class": import_path(type(search)), "attributes": attributes}
    files = {"search.json": _json(document)}
    best = getattr(search, "best_estimator_", None)
    if best is not None:
        files.update(_estimator_files(best, prefix=_ESTIMATOR_PREFIX))
    return files


# -- loading ------------------------------------------------------------------------
def load(path):
    """Load what :func:`save` wrote, without unpickling anything.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    obj : estimator or SavedSearch
        The fitted estimator (predictions identical to the saved one's), or
        for a search a :class:`SavedSearch` with its results and best
        estimator.

    Raises
    ------
    PersistenceError
        If the file is not an sktune file, comes from a newer format
        version, or its content is malformed or names something that may
        not be loaded (see the module's trust model).

    Examples
    --------
    See :func:`save`.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PersistenceError(f"{path!s} is not a file written by sktune.save.") from None
    with archive:
        manifest = _read_json(archive, "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != "sktune":
            raise PersistenceError(f"{path!s} is not a file written by sktune.save.")
        version = manifest.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise PersistenceError(
                f"{path!s} uses sktune file format version {version!r}, but this sktune "
                f"({__version__}) reads versions up to {FORMAT_VERSION}. It was written by "
                f"sktune {manifest.get('sktune_version', '?')}: upgrade sktune to load it."
            )
        kind = manifest.get("kind")
        if kind == "estimator":
            return _load_estimator(archive)
        if kind == "search":
            return _load_search(archive)
        raise PersistenceError(f"{path!s} holds an unknown kind of object {kind!r}.")


def _read_json(archive, name):
    try:
        return json.loads(archive.read(name))
    except KeyError:
        raise PersistenceError(f"The file has no {name!r}; it is incomplete or not "
                               "written by sktune.save.") from None
    except ValueError as exc:
        raise PersistenceError(f"{name!r} is not valid JSON: {exc}") from None


def _read_weights(archive, name):
    try:
        data = archive.read(name)
    except KeyError:
        raise PersistenceError(f"The file has no {name!r}.") from None
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for anything beyond plain tensors
        raise PersistenceError(
            f"{name!r} holds more than tensors and plain containers, or is corrupt; it was "
            f"refused without running it ({type(exc).__name__}: {str(exc)[:200]})."
        ) from None


def _load_estimator(archive, prefix=""):
    from .nets._base import BaseNeuralNet

    document = _read_json(archive, f"{prefix}estimator.json")
    cls = resolve(document["class"])
    if not (isinstance(cls, type) and issubclass(cls, BaseNeuralNet)):
        raise PersistenceError(f"{document['class']!r} is not an sktune network estimator.")
    est = cls(**{k: decode(v) for k, v in document["params"].items()})
    fitted = {k: decode(v) for k, v in document["fitted"].items()}
    state = _read_weights(archive, f"{prefix}weights.pt")
    _rebuild(est, fitted, state)
    est.net_.history = History(decode(document["history"]))
    est.history_ = est.net_.history
    return est


def _rebuild(est, fitted, state):
    """Give ``est`` its fitted attributes and a network holding the saved weights."""
    from .nets._devices import resolve_device

    sizes = est._check_params()  # validates classes named by the file before building
    vars(est).update(fitted)
    shape = fitted.get("_sample_shape") or (fitted["n_features_in_"],)
    X = np.zeros((1, *shape), dtype=np.float32)
    if hasattr(est, "classes_"):
        y_enc = np.zeros(1, dtype=np.int64)
    else:
        y_enc = np.zeros((1, fitted.get("_n_targets", 1)), dtype=np.float32)
    seeds = est._torch_seed, est._split_seed
    est._initialize(X, y_enc, sizes, resolve_device(est.device))
    est._torch_seed, est._split_seed = seeds
    try:
        est.net_.module_.load_state_dict(state["module"])
        est.net_.optimizer_.load_state_dict(state["optimizer"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise PersistenceError(f"The saved weights do not fit the network: {exc}") from None
    rng = state.get("rng_state") or []
    est._rng_state = (rng[0], rng[1] if len(rng) > 1 else None) if rng else None


def _load_search(archive):
    document = _read_json(archive, "search.json")
    attributes = {k: decode(v) for k, v in document["attributes"].items()}
    if f"{_ESTIMATOR_PREFIX}estimator.json" in archive.namelist():
        attributes["best_estimator_"] = _load_estimator(archive, prefix=_ESTIMATOR_PREFIX)
    return SavedSearch(document["class"], attributes)
