"""The archive behind :func:`save` and :func:`load`: writing and reading its files.

The format and the trust model are described in :mod:`sktune.persistence`.
"""

import io
import json
import zipfile

import numpy as np
import torch
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from skorch.history import History

from .._version import __version__
from ..exceptions import PersistenceError
from ._codec import TAG, decode, encode, encode_fitted, import_path, resolve
from ._modules import load_module, module_bytes

__all__ = ["save", "load", "load_metadata", "SavedSearch"]

FORMAT_VERSION = 2
_ESTIMATOR_PREFIX = "best_estimator/"
_FINAL_PREFIX = "final_estimator/"
# Fitted attributes kept out of the JSON: the skorch net (rebuilt) and what
# is rebuilt with it or stored in weights.pt.
_REBUILT = ("net_", "history_", "_rng_state")
# A pretrained module instance given as ``module``: in its own file.
_MODULE_FILE = "module.pt"
_MODULE_MARK = {TAG: "module-file", "file": _MODULE_FILE}
# Search results that are saved when present.
_SEARCH_ATTRIBUTES = ("cv_results_", "best_params_", "best_index_", "best_score_",
                      "refit_time_", "n_splits_", "multimetric_", "pareto_front_",
                      "posterior_best_index_", "posterior_best_score_",
                      "posterior_best_score_std_", "search_time_", "stopped_by_",
                      "fit_histories_")
# Parameters kept as context for reports, when they can be encoded; None otherwise.
_SEARCH_CONTEXT = ("estimator", "search_spaces", "refit", "scoring", "objectives")


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
    pareto_front_ : ndarray
        For a search with several objectives (``BayesSearchCV(objectives=...)``),
        the indices of its Pareto front, as the search had them (absent
        otherwise; ``cv_results_['pareto_optimal']`` is kept with
        ``cv_results_``).
    posterior_best_index_, posterior_best_score_, posterior_best_score_std_
        ``BayesSearchCV``'s believed best candidate (absent otherwise; the
        posterior columns are kept with ``cv_results_``).
    search_time_, stopped_by_, fit_histories_
        How long an sktune search took, what stopped it (a budget) and every
        fit's training curves, as the search had them (absent for
        scikit-learn's searches).
    best_estimator_ : estimator
        The refitted best estimator (absent when the search had ``refit=False``).
    estimator : estimator or None
        The search's (unfitted) estimator, when it could be saved.
    search_spaces : dict, list or None
        The search space, when it could be saved (used by reports).
    refit, scoring, objectives
        The search's parameters of those names, when they could be saved
        (``objectives`` is None for searches without it).
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
def save(obj, path, *, metadata=None):
    """Save a fitted sktune estimator, pipeline or search, without pickle.

    Parameters
    ----------
    obj : NeuralNetClassifier, NeuralNetRegressor, Pipeline or fitted search
        A fitted sktune network estimator; a fitted ``Pipeline`` whose last
        step is one and whose other steps are scikit-learn transformers
        (``ColumnTransformer``, ``SimpleImputer``, ``StandardScaler``,
        ``OneHotEncoder``, nested pipelines...); or a fitted scikit-learn
        search (``BayesSearchCV``, ``GridSearchCV``, ...): its
        ``cv_results_``, ``best_*`` attributes and, if refitted, its best
        estimator (a network or such a pipeline).
    path : str or path-like
        The file to write (a zip archive; ``.sktune`` is a good suffix).
    metadata : dict, default=None
        JSON data kept with the object (where the data came from, the
        target's name...); :func:`load_metadata` reads it back.

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
        kind, files = "estimator", _model_files(obj)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise PersistenceError(f"metadata must be a dict; got {type(metadata).__name__}.")
        try:
            files["metadata.json"] = json.dumps(metadata, allow_nan=False, indent=1).encode()
        except (TypeError, ValueError) as exc:
            raise PersistenceError(f"metadata must be plain JSON data: {exc}") from None
    manifest = {"format": "sktune", "version": FORMAT_VERSION, "kind": kind,
                "sktune_version": __version__}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, data in files.items():
            archive.writestr(name, data)


def _json(document):
    return json.dumps(document, allow_nan=False, indent=1).encode()


def _check_saveable_estimator(est):
    from ..nets._base import BaseNeuralNet

    if not isinstance(est, BaseNeuralNet):
        raise PersistenceError(
            f"save supports sktune's NeuralNetClassifier and NeuralNetRegressor, pipelines "
            f"ending with one, and searches whose best estimator is either; got "
            f"{type(est).__name__}. Use joblib or skops for other estimators."
        )
    if not hasattr(est, "net_"):
        raise PersistenceError(
            f"This {type(est).__name__} is not fitted yet; fit it before saving.")


def _estimator_files(est, prefix=""):
    _check_saveable_estimator(est)
    params = est.get_params(deep=False)
    fitted = {k: v for k, v in vars(est).items() if k not in params and k not in _REBUILT}
    files = {}
    if isinstance(params.get("module"), torch.nn.Module):  # a pretrained instance
        files[f"{prefix}{_MODULE_FILE}"] = module_bytes(params["module"])
        params = {**params, "module": _MODULE_MARK}
    document = {
        "class": import_path(type(est)),
        "params": {k: v if v is _MODULE_MARK else encode(v, k) for k, v in params.items()},
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
    return {f"{prefix}estimator.json": _json(document), f"{prefix}weights.pt": buffer.getvalue(),
            **files}


def _model_files(est, prefix=""):
    """The files of a network, or of a pipeline that ends with one."""
    if isinstance(est, Pipeline):
        return _pipeline_files(est, prefix)
    return _estimator_files(est, prefix)


def _pipeline_files(pipe, prefix):
    if type(pipe) is not Pipeline:
        raise PersistenceError(f"save supports sklearn's Pipeline, not its subclass "
                               f"{type(pipe).__name__}.")
    if not pipe.steps:
        raise PersistenceError("The pipeline has no steps.")
    *transforms, (final_name, final) = pipe.steps
    params = {k: v for k, v in pipe.get_params(deep=False).items() if k != "steps"}
    document = {
        "class": import_path(Pipeline),
        "params": {k: encode(v, k) for k, v in params.items()},
        "steps": [[name, encode_fitted(step, f"steps[{name!r}]")] for name, step in transforms],
        "final_step": final_name,
    }
    files = _estimator_files(final, prefix=prefix + _FINAL_PREFIX)
    files[f"{prefix}pipeline.json"] = _json(document)
    return files


def _search_files(search):
    if not hasattr(search, "cv_results_"):
        raise PersistenceError(f"This {type(search).__name__} is not fitted yet; fit it first.")
    attributes = {k: encode(getattr(search, k), k) for k in _SEARCH_ATTRIBUTES
                  if hasattr(search, k)}
    for name in _SEARCH_CONTEXT:
        try:  # context for reports: saved when it can be, never required
            attributes[name] = encode(getattr(search, name, None), name)
        except PersistenceError:
            attributes[name] = None
    document = {"class": import_path(type(search)), "attributes": attributes}
    files = {"search.json": _json(document)}
    best = getattr(search, "best_estimator_", None)
    if best is not None:
        files.update(_model_files(best, prefix=_ESTIMATOR_PREFIX))
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
            return _load_model(archive)
        if kind == "search":
            return _load_search(archive)
        raise PersistenceError(f"{path!s} holds an unknown kind of object {kind!r}.")


def load_metadata(path):
    """The ``metadata`` dict given to :func:`save` (``{}`` when none was).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    metadata : dict

    Raises
    ------
    PersistenceError
        If the file is not an sktune file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> import sktune
    >>> from sktune.persistence import save, load_metadata
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = sktune.NeuralNetClassifier(epochs=1, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "clf.sktune")
    >>> save(clf, path, metadata={"target": "species"})
    >>> load_metadata(path)
    {'target': 'species'}
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PersistenceError(f"{path!s} is not a file written by sktune.save.") from None
    with archive:
        if "metadata.json" not in archive.namelist():
            return {}
        metadata = _read_json(archive, "metadata.json")
    if not isinstance(metadata, dict):
        raise PersistenceError(f"{path!s}: its metadata is not a JSON object.")
    return metadata


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


def _load_model(archive, prefix=""):
    """A network, or a pipeline ending with one, saved under ``prefix``."""
    if f"{prefix}pipeline.json" in archive.namelist():
        return _load_pipeline(archive, prefix)
    return _load_estimator(archive, prefix)


def _load_pipeline(archive, prefix):
    document = _read_json(archive, f"{prefix}pipeline.json")
    if resolve(document["class"]) is not Pipeline:
        raise PersistenceError(f"{document['class']!r} is not sklearn's Pipeline.")
    steps = []
    for name, step in document["steps"]:
        if not isinstance(name, str):
            raise PersistenceError(f"Bad pipeline step name {name!r}.")
        step = decode(step)
        if not (step is None or step == "passthrough" or hasattr(step, "transform")):
            raise PersistenceError(f"Pipeline step {name!r} is not a transformer.")
        steps.append((name, step))
    final = _load_estimator(archive, prefix=prefix + _FINAL_PREFIX)
    params = {k: decode(v) for k, v in document["params"].items()}
    return Pipeline([*steps, (str(document["final_step"]), final)], **params)


def _load_estimator(archive, prefix=""):
    from ..nets._base import BaseNeuralNet

    document = _read_json(archive, f"{prefix}estimator.json")
    cls = resolve(document["class"])
    if not (isinstance(cls, type) and issubclass(cls, BaseNeuralNet)):
        raise PersistenceError(f"{document['class']!r} is not an sktune network estimator.")
    params = {k: decode(v) for k, v in document["params"].items() if v != _MODULE_MARK}
    if document["params"].get("module") == _MODULE_MARK:
        try:
            data = archive.read(f"{prefix}{_MODULE_FILE}")
        except KeyError:
            raise PersistenceError(f"The file has no {prefix}{_MODULE_FILE!r}.") from None
        params["module"] = load_module(data, f"{prefix}{_MODULE_FILE}")
    est = cls(**params)
    fitted = {k: decode(v) for k, v in document["fitted"].items()}
    state = _read_weights(archive, f"{prefix}weights.pt")
    _rebuild(est, fitted, state)
    est.net_.history = History(decode(document["history"]))
    est.history_ = est.net_.history
    return est


def _rebuild(est, fitted, state):
    """Give ``est`` its fitted attributes and a network holding the saved weights."""
    from ..nets._devices import resolve_device

    sizes = est._check_params()  # validates classes named by the file before building
    vars(est).update(fitted)
    if fitted.get("_input_names"):  # named inputs: the module's forward reads them
        X = None
    else:
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
    names = archive.namelist()
    if any(f"{_ESTIMATOR_PREFIX}{name}" in names for name in ("estimator.json", "pipeline.json")):
        attributes["best_estimator_"] = _load_model(archive, prefix=_ESTIMATOR_PREFIX)
    return SavedSearch(document["class"], attributes)
