"""Values <-> JSON without pickle: the encoding of saved files and checkpoints.

Plain JSON values (None, bools, ints, finite floats, strings, lists) are
written as they are; everything else becomes an object tagged with the key
``"$sktune"``:

========================  ==================================================
``float``                 non-finite float: ``{"value": "nan" | "inf" | "-inf"}``
``tuple`` / ``dict``      ``{"items": [...]}`` (a dict's items as ``[key, value]``)
``numpy``                 numpy scalar: ``{"dtype", "value"}``
``ndarray``               ``{"dtype", "shape", "items"}`` (object arrays item-wise)
``masked``                ``numpy.ma`` array: ``{"data", "mask"}``
``dtype``                 numpy dtype: ``{"value": "<f8" | "|O" | ...}``
``slice``                 ``{"start", "stop", "step"}``
``torch.device``          ``{"value": "cuda:0"}``
``import``                a class or pure-Python function: ``{"path": "module:qualname"}``
``object``                an sklearn estimator or skorch callback:
                          ``{"class": "module:qualname", "params": {...}}``
``fitted``                a fitted scikit-learn estimator (:func:`encode_fitted`):
                          ``{"class", "params", "state"}``, ``state`` being its
                          fitted attributes (nested estimators fitted too)
``hf_config``             a Hugging Face model config: ``{"class", "json"}``
                          (rebuilt with the class's ``from_dict``)
========================  ==================================================

Decoding never unpickles. It imports the modules named by ``import`` and
``object`` tags (which runs their top-level code, as any ``import`` does) and
accepts only what :func:`resolve` allows: classes and functions written in
Python, found under their own name; builtins such as ``os.system`` are
refused. ``object`` tags are instantiated (``cls(**params)``, as
``sklearn.base.clone`` does) only for subclasses of scikit-learn's
``BaseEstimator`` or skorch's ``Callback``. ``fitted`` tags only for
scikit-learn's own estimators (classes defined in the ``sklearn`` package),
whose fitted attributes are then set from the decoded data (names must be
plain attribute names, never dunders); so a fitted transformer comes back
without running anything but its constructor.
"""

import importlib
import inspect
import math

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .. import _hf
from ..exceptions import PersistenceError

TAG = "$sktune"
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# dtype kinds stored item by item as plain JSON values.
_PLAIN_KINDS = set("biufUS")


def _callback_base():
    from skorch.callbacks import Callback

    return Callback


def import_path(obj):
    """``'module:qualname'`` of a class or function, if importing it gives ``obj`` back."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    path = f"{module}:{qualname}"
    if not module or not qualname or "<" in qualname:
        raise PersistenceError(
            f"{obj!r} cannot be saved by import path: it is not defined at the top level "
            "of a module (lambdas, local classes and functions are not importable). Define it "
            "in an importable module."
        )
    try:
        found = resolve(path)
    except PersistenceError as exc:
        raise PersistenceError(f"{obj!r} cannot be saved by import path: {exc}") from None
    if found is not obj:
        raise PersistenceError(f"{obj!r} cannot be saved: importing {path!r} gives another object.")
    return path


def resolve(path):
    """The class or pure-Python function named ``'module:qualname'``.

    Raises :class:`PersistenceError` for anything else (builtins such as
    ``os.system``, modules, instances, missing names).
    """
    if not isinstance(path, str) or path.count(":") != 1:
        raise PersistenceError(f"Bad import path {path!r}; expected 'module:qualname'.")
    module_name, qualname = path.split(":")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PersistenceError(f"Cannot import {path!r}: {exc}") from None
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        raise PersistenceError(
            f"{path!r} is a {type(obj).__name__}, not a class or a Python function; saved "
            "files may only name classes and Python functions (builtins such as os.system "
            "are refused)."
        )
    return obj


def encode(value, where="value"):
    """A JSON-able form of ``value``; :class:`PersistenceError` if it has none."""
    return _encode(value, where, fitted=False)


def encode_fitted(value, where="value"):
    """As :func:`encode`, but scikit-learn estimators keep their fitted state.

    Every scikit-learn estimator met (``value`` itself, its parameters such
    as a ``Pipeline``'s ``steps``, and its fitted attributes such as a
    ``ColumnTransformer``'s ``transformers_``) is written with a ``fitted``
    tag: class, parameters and the attributes ``fit`` set. Estimators from
    other packages raise :class:`PersistenceError`.
    """
    return _encode(value, where, fitted=True)


def _encode(value, where, fitted):
    if value is None or isinstance(value, (bool, str)) or type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {TAG: "float", "value": str(value)}
    if isinstance(value, np.ma.MaskedArray):
        return {TAG: "masked", "data": _encode(np.asarray(value.data), where, fitted),
                "mask": _encode(np.ma.getmaskarray(value), where, fitted)}
    if isinstance(value, np.ndarray):
        return _encode_array(value, where, fitted)
    if isinstance(value, np.generic):
        if value.dtype.kind not in _PLAIN_KINDS and value.dtype.kind != "b":
            raise PersistenceError(f"{where}: numpy {value.dtype} values cannot be saved.")
        return {TAG: "numpy", "dtype": value.dtype.str,
                "value": _encode(value.item(), where, fitted)}
    if isinstance(value, np.dtype):
        if value.fields is not None or value.kind == "V":
            raise PersistenceError(f"{where}: the structured dtype {value} cannot be saved.")
        return {TAG: "dtype", "value": value.str}
    if isinstance(value, slice):
        return {TAG: "slice", "items": [_encode(v, where, fitted)
                                         for v in (value.start, value.stop, value.step)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]", fitted) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {TAG: "tuple",
                "items": [_encode(v, f"{where}[{i}]", fitted) for i, v in enumerate(value)]}
    if isinstance(value, dict):
        return {TAG: "dict", "items": [[_encode(k, where, fitted),
                                        _encode(v, f"{where}[{k!r}]", fitted)]
                                       for k, v in value.items()]}
    if isinstance(value, torch.device):
        return {TAG: "torch.device", "value": str(value)}
    if inspect.isclass(value) or inspect.isfunction(value):
        return {TAG: "import", "path": import_path(value)}
    if fitted and isinstance(value, BaseEstimator):
        return _encode_fitted_estimator(value, where)
    if _hf.is_config(value):  # a Hugging Face model's config: its class and JSON
        return {TAG: "hf_config", "class": import_path(type(value)),
                "json": _hf.config_json(value)}
    if isinstance(value, (BaseEstimator, _callback_base())):
        params = value.get_params(deep=False)
        return {TAG: "object", "class": import_path(type(value)),
                "params": {k: encode(v, f"{where}.{k}") for k, v in params.items()}}
    raise PersistenceError(
        f"{where} = {value!r} ({type(value).__name__}) cannot be saved without pickle. "
        "Saved values are JSON data, numpy arrays, classes and functions (by import path), "
        "and scikit-learn estimators or skorch callbacks (by class and parameters)."
    )


#: sktune's own fitted transformers, restored like scikit-learn's (constructor,
#: then their fitted attributes: plain data).
_SKTUNE_FITTED = ("sktune.text:Tokenizer",)


def _is_sklearn_class(cls):
    """scikit-learn's own classes, and sktune's fitted transformers (``_SKTUNE_FITTED``)."""
    module = getattr(cls, "__module__", "") or ""
    if module == "sklearn" or module.startswith("sklearn."):
        return True
    return f"{module}:{getattr(cls, '__qualname__', '')}" in _SKTUNE_FITTED


def _encode_fitted_estimator(est, where):
    if not _is_sklearn_class(type(est)):
        raise PersistenceError(
            f"{where} is a {type(est).__name__} from {type(est).__module__!r}; fitted "
            "estimators are saved only when they are scikit-learn's own (transformers "
            "such as ColumnTransformer, SimpleImputer, StandardScaler, OneHotEncoder) or "
            "sktune.text.Tokenizer."
        )
    params = est.get_params(deep=False)
    state = {k: v for k, v in vars(est).items() if k not in params}
    return {TAG: "fitted", "class": import_path(type(est)),
            "params": {k: _encode(v, f"{where}.{k}", True) for k, v in params.items()},
            "state": {k: _encode(v, f"{where}.{k}", True) for k, v in state.items()}}


def _encode_array(array, where, fitted=False):
    kind = array.dtype.kind
    if kind == "O":
        items = [_encode(v, f"{where}[{i}]", fitted) for i, v in enumerate(array.ravel())]
        dtype = "object"
    elif kind in _PLAIN_KINDS:
        items = [encode(v, where) for v in array.ravel().tolist()]
        dtype = array.dtype.str
    else:
        raise PersistenceError(f"{where}: arrays of dtype {array.dtype} cannot be saved.")
    return {TAG: "ndarray", "dtype": dtype, "shape": list(array.shape), "items": items}


def decode(data):
    """The value :func:`encode` encoded as ``data``."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(TAG)
    try:
        return _DECODERS[tag](data)
    except KeyError:
        raise PersistenceError(f"Unknown or malformed encoded value {data!r}.") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PersistenceError):
            raise
        raise PersistenceError(f"Malformed encoded {tag!r} value: {exc}") from None


def _decode_array(data):
    items = [decode(v) for v in data["items"]]
    shape = tuple(int(n) for n in data["shape"])
    if data["dtype"] == "object":
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(shape)
    return np.array(items, dtype=np.dtype(data["dtype"])).reshape(shape)


def _decode_object(data):
    cls = resolve(data["class"])
    if not issubclass(cls, (BaseEstimator, _callback_base())):
        raise PersistenceError(
            f"{data['class']!r} is not a scikit-learn estimator or skorch callback; saved "
            "files may only instantiate those."
        )
    return cls(**{k: decode(v) for k, v in data["params"].items()})


def _decode_fitted(data):
    cls = resolve(data["class"])
    if not (issubclass(cls, BaseEstimator) and _is_sklearn_class(cls)):
        raise PersistenceError(
            f"{data['class']!r} is not a scikit-learn estimator; saved files may only "
            "restore the fitted state of scikit-learn's own estimators."
        )
    params = {k: decode(v) for k, v in data["params"].items()}
    est = cls(**params)
    for name, value in data["state"].items():
        if not (isinstance(name, str) and name.isidentifier() and not name.startswith("__")
                and name not in params):
            raise PersistenceError(
                f"{data['class']!r}: {name!r} is not a fitted attribute that may be restored.")
        vars(est)[name] = decode(value)
    return est


_DECODERS = {
    "float": lambda d: _NONFINITE[d["value"]],
    "tuple": lambda d: tuple(decode(v) for v in d["items"]),
    "dict": lambda d: {_hashable(decode(k)): decode(v) for k, v in d["items"]},
    "numpy": lambda d: np.dtype(d["dtype"]).type(decode(d["value"])),
    "ndarray": _decode_array,
    "masked": lambda d: np.ma.MaskedArray(decode(d["data"]), mask=decode(d["mask"])),
    "dtype": lambda d: np.dtype(str(d["value"])),
    "slice": lambda d: slice(*(decode(v) for v in d["items"])),
    "torch.device": lambda d: torch.device(d["value"]),
    "import": lambda d: resolve(d["path"]),
    "object": _decode_object,
    "fitted": _decode_fitted,
    "hf_config": lambda d: _hf.config_from_json(resolve(d["class"]), d["json"]),
}


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key
