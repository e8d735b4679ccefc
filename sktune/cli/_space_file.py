"""Search spaces written as YAML or JSON files (``sktune tune --space FILE``).

A space file maps the network's parameter names (without a pipeline prefix)
to what they may take::

    lr: {low: 1e-4, high: 1e-1, prior: log-uniform}     # Real (log scale)
    dropout: {low: 0, high: 0.5, grid: [0.0, 0.25]}     # Real, with a grid for --search grid
    epochs: {low: 10, high: 40}                          # ints -> Integer
    hidden_layer_sizes: {categories: [[64], [128, 64]]} # Categorical; lists become tuples
    batch_size: [32, 64]                                 # a list: Categorical
    activation: relu                                     # a single value: fixed

A mapping holds ``low`` and ``high`` (with optional ``prior``:
``uniform`` or ``log-uniform``, and ``type``: ``int`` or ``float``) or
``categories``; any of them may add ``grid``, the values ``--search grid``
tries. Integer bounds give an ``Integer`` unless the parameter takes floats
(``lr``, ``alpha``, ``dropout``...) or ``type: float`` says so. Inner lists
become tuples (``[128, 64]`` -> ``(128, 64)``), so a tuple-valued parameter
is fixed with ``[[1, 8, 8]]``.

:func:`parse_space` validates a file's content against the parameters an
estimator takes and returns a :class:`SpaceSpec`, which gives the space in
the form each search wants: dimensions (``BayesSearchCV``), scipy
distributions (``RandomizedSearchCV``) or value lists (``GridSearchCV``).
"""

import inspect
import json
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from ..search.space import Categorical, Integer, Real

__all__ = ["SpaceFileError", "SpaceSpec", "read_space_file", "parse_space",
           "default_space", "space_parameters"]

#: Parameters that take floats: integer bounds still give a Real.
_FLOAT_PARAMETERS = {"lr", "alpha", "dropout", "momentum", "l1_ratio", "validation_fraction",
                     "tol"}
#: Parameters the command line sets itself, or that a file cannot express.
_NOT_SEARCHABLE = {"module", "criterion", "callbacks", "warm_start", "verbose", "device",
                   "train_transform", "num_workers"}
#: Prefixes routed to the optimiser, loss or schedule; their arguments are not checked.
_ROUTED = ("optimizer__", "criterion__", "lr_schedule__")
#: Module arguments filled in by the estimator, not searchable as ``module__<arg>``.
_MODULE_FILLED = {"self", "n_features", "n_outputs", "hidden_layer_sizes", "activation",
                  "dropout", "vocab_size"}
_KEYS = {"low", "high", "prior", "type", "categories", "grid"}
_GRID_POINTS = 3

#: Default space of each ``--model``, in the file format.
_DEFAULTS = {
    "mlp": {
        "lr": {"low": 1e-4, "high": 3e-2, "prior": "log-uniform", "grid": [1e-3, 1e-2]},
        "hidden_layer_sizes": {"categories": [[64], [128], [128, 64]]},
        "dropout": {"low": 0.0, "high": 0.4, "grid": [0.0, 0.2]},
        "alpha": {"low": 1e-6, "high": 1e-2, "prior": "log-uniform", "grid": [1e-4]},
        "batch_size": {"categories": [32, 64, 128], "grid": [64]},
    },
    "resmlp": {
        "lr": {"low": 1e-4, "high": 3e-2, "prior": "log-uniform", "grid": [1e-3, 1e-2]},
        "hidden_layer_sizes": {"categories": [[64, 64], [128, 128]]},
        "dropout": {"low": 0.0, "high": 0.4, "grid": [0.0, 0.2]},
        "alpha": {"low": 1e-6, "high": 1e-2, "prior": "log-uniform", "grid": [1e-4]},
        "batch_size": {"categories": [32, 64, 128], "grid": [64]},
    },
    "cnn": {
        "lr": {"low": 1e-4, "high": 3e-2, "prior": "log-uniform", "grid": [1e-3, 1e-2]},
        "module__channels": {"categories": [[16, 32], [32, 64]], "grid": [[16, 32]]},
        "hidden_layer_sizes": {"categories": [[64], [128]]},
        "dropout": {"low": 0.0, "high": 0.4, "grid": [0.0, 0.2]},
        "alpha": {"low": 1e-6, "high": 1e-2, "prior": "log-uniform", "grid": [1e-4]},
        "batch_size": {"categories": [32, 64, 128], "grid": [64]},
    },
    "transformer": {
        "lr": {"low": 1e-4, "high": 3e-3, "prior": "log-uniform", "grid": [3e-4, 1e-3]},
        "lr_schedule__warmup": {"low": 0.0, "high": 0.2, "grid": [0.0, 0.1]},
        "module__d_model": {"categories": [32, 64], "grid": [64]},
        "dropout": {"low": 0.0, "high": 0.3, "grid": [0.1]},
        "batch_size": {"categories": [32, 64], "grid": [32]},
    },
    "rnn": {
        "lr": {"low": 3e-4, "high": 1e-2, "prior": "log-uniform", "grid": [1e-3, 3e-3]},
        "lr_schedule__warmup": {"low": 0.0, "high": 0.2, "grid": [0.0, 0.1]},
        "module__hidden_size": {"categories": [32, 64, 128], "grid": [64]},
        "dropout": {"low": 0.0, "high": 0.3, "grid": [0.1]},
        "batch_size": {"categories": [32, 64], "grid": [32]},
    },
}


class SpaceFileError(ValueError):
    """A space file that cannot be read or does not describe a valid space."""


# -- reading ------------------------------------------------------------------------------
def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe YAML that reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``)."""

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:\d[\d_]*)?(?:\.\d*)?[eE][-+]?\d+$"),
        list("-+0123456789."),
    )
    return Loader


def read_space_file(path):
    """The mapping a ``.yaml``/``.yml``/``.json`` space file holds.

    Raises
    ------
    SpaceFileError
        If the file is missing, unreadable, not YAML/JSON, or not a mapping.
    """
    if not os.path.isfile(path):
        raise SpaceFileError(f"space file {path!r} does not exist"
                             f"{' (it is a directory)' if os.path.isdir(path) else ''}.")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise SpaceFileError(f"space file {path!r} must end in .yaml, .yml or .json.")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceFileError(f"cannot read space file {path!r}: {exc}") from None
    try:
        if suffix == ".json":
            content = json.loads(text)
        else:
            import yaml

            content = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 (a SafeLoader)
    except ImportError:
        raise SpaceFileError("YAML space files need pyyaml (pip install pyyaml); or write "
                             "the space as JSON.") from None
    except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError
        detail = " ".join(str(exc).split())
        raise SpaceFileError(f"space file {path!r} is not valid "
                             f"{'JSON' if suffix == '.json' else 'YAML'}: {detail}") from None
    if not isinstance(content, dict) or not content:
        raise SpaceFileError(f"space file {path!r} must hold a non-empty mapping "
                             "{parameter: values}.")
    return content


#: Added to the default space on an image folder: the strength of the random shift.
_IMAGE_AUGMENTATION = {"train_transform__max_shift": {"categories": [0, 1, 2], "grid": [0, 1]}}


def default_space(model, images=False):
    """The default space of ``model`` (``'mlp'``, ``'resmlp'``, ``'cnn'``, ``'transformer'``,
    ``'rnn'``), in the file format.

    On an image folder (``images``) it also searches the augmentation's shift.
    """
    space = json.loads(json.dumps(_DEFAULTS[model]))  # a copy
    if images:
        space.update(json.loads(json.dumps(_IMAGE_AUGMENTATION)))
    return space


# -- the parameters an estimator takes ----------------------------------------------------
def space_parameters(estimator):
    """Names a space may use for ``estimator`` (an sktune network).

    Its declared parameters (but ``module``, ``criterion``, ``callbacks``...)
    and ``module__<arg>`` for its module's own constructor arguments.
    ``optimizer__*``, ``criterion__*`` and ``lr_schedule__*`` names are
    accepted as well (not listed: they depend on the optimiser).
    """
    from ..nets.modules import MLP

    names = set(estimator._get_param_names()) - _NOT_SEARCHABLE
    module = estimator.module or MLP
    if inspect.isclass(module):
        signature = inspect.signature(module.__init__)
        names |= {f"module__{p.name}" for p in signature.parameters.values()
                  if p.name not in _MODULE_FILLED
                  and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    transform = getattr(estimator, "train_transform", None)
    if hasattr(transform, "get_params"):  # an augmentation's knobs
        names |= {f"train_transform__{k}" for k in transform.get_params()}
    return sorted(names)


# -- parsing ------------------------------------------------------------------------------
def _tuples(value):
    """Lists -> tuples, recursively (YAML and JSON have no tuples)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _choices(value):
    return [_tuples(v) for v in value]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class SpaceSpec:
    """A validated space: one dimension per parameter, and grid values where given.

    Attributes
    ----------
    dimensions : dict
        ``{name: Real | Integer | Categorical}``, named by parameter.
    grid : dict
        ``{name: list}``: the values ``--search grid`` tries where the file
        gave a ``grid``.
    """

    dimensions: dict
    grid: dict = field(default_factory=dict)

    def without(self, name):
        """``(space without name, its dimension or None)``."""
        dims = {k: v for k, v in self.dimensions.items() if k != name}
        grid = {k: v for k, v in self.grid.items() if k != name}
        return SpaceSpec(dims, grid), self.dimensions.get(name)

    def bayes(self, prefix=""):
        """``{prefix + name: dimension}`` for ``BayesSearchCV`` and ``HyperbandSearchCV``."""
        return {prefix + k: v._with_name(prefix + k) for k, v in self.dimensions.items()}

    def distributions(self, prefix=""):
        """``{prefix + name: scipy distribution or list}`` for ``RandomizedSearchCV``.

        ``Real`` -> ``scipy.stats.uniform`` / ``loguniform``; ``Integer`` ->
        ``scipy.stats.randint`` (a log-uniform one is sampled by sktune);
        ``Categorical`` -> the list of its categories.
        """
        return {prefix + k: _distribution(v) for k, v in self.dimensions.items()}

    def grid_values(self, prefix=""):
        """``{prefix + name: values}`` for ``GridSearchCV``.

        The file's ``grid`` where given; else every category of a
        ``Categorical``, and 3 points of a ``Real`` or ``Integer``: its bounds
        and their (geometric, for ``log-uniform``) middle.
        """
        return {prefix + k: list(self.grid[k]) if k in self.grid else _default_grid(v)
                for k, v in self.dimensions.items()}

    def n_grid_points(self):
        """Number of candidates of :meth:`grid_values`."""
        return math.prod(len(v) for v in self.grid_values().values())


class _LogUniformInteger:
    """Frozen-distribution look-alike for a log-uniform ``Integer`` (scipy has none)."""

    def __init__(self, dimension):
        self.dimension = dimension

    def rvs(self, size=None, random_state=None):
        values = self.dimension.rvs(1 if size is None else int(np.prod(size)),
                                    random_state=random_state)
        return values[0] if size is None else np.asarray(values).reshape(size)

    def __repr__(self):
        return f"LogUniformInteger({self.dimension.low}, {self.dimension.high})"


def _distribution(dim):
    if isinstance(dim, Categorical):
        return list(dim.categories)
    if isinstance(dim, Integer):
        if dim.is_log:
            return _LogUniformInteger(dim)
        return scipy.stats.randint(dim.low, dim.high + 1)
    if dim.is_log:
        return scipy.stats.loguniform(dim.low, dim.high)
    return scipy.stats.uniform(dim.low, dim.high - dim.low)


def _default_grid(dim):
    if isinstance(dim, Categorical):
        return list(dim.categories)
    if dim.is_log:
        points = np.geomspace(dim.low, dim.high, _GRID_POINTS)
    else:
        points = np.linspace(dim.low, dim.high, _GRID_POINTS)
    if isinstance(dim, Integer):
        return sorted({int(round(p)) for p in points})
    return [float(p) for p in points]


def parse_space(content, parameters, *, source="search space"):
    """Validate a space file's content and build its dimensions.

    Parameters
    ----------
    content : dict
        ``{parameter: spec}`` as read by :func:`read_space_file` (or
        :func:`default_space`).
    parameters : list of str
        The names allowed (:func:`space_parameters`); ``optimizer__*``,
        ``criterion__*`` and ``lr_schedule__*`` are always allowed.
    source : str, default='search space'
        How messages name the space (e.g. ``"space file 'space.yaml'"``).

    Returns
    -------
    spec : SpaceSpec

    Raises
    ------
    SpaceFileError
        Naming the parameter at fault (unknown names list the valid ones).

    Examples
    --------
    >>> from sktune.cli._space_file import parse_space
    >>> spec = parse_space({"lr": {"low": 1e-4, "high": 1e-1, "prior": "log-uniform"},
    ...                     "hidden_layer_sizes": [[64], [128, 64]], "epochs": 20},
    ...                    ["lr", "hidden_layer_sizes", "epochs"])
    >>> spec.dimensions["hidden_layer_sizes"].categories
    ((64,), (128, 64))
    >>> spec.grid_values()["lr"]
    [0.0001, 0.0031622776601683794, 0.1]
    """
    allowed = set(parameters)
    dimensions, grid = {}, {}
    for name, spec in content.items():
        if not isinstance(name, str):
            raise SpaceFileError(f"{source}: parameter names must be strings; got {name!r}.")
        if name not in allowed and not name.startswith(_ROUTED):
            hint = ""
            if "__" in name and name.split("__", 1)[1] in allowed:
                hint = (f" Write {name.split('__', 1)[1]!r}: keys are the network's "
                        "parameters, without a pipeline prefix.")
            raise SpaceFileError(
                f"{source}: unknown parameter {name!r}.{hint} Valid parameters: "
                f"{', '.join(sorted(allowed))} (and optimizer__*, criterion__*, "
                "lr_schedule__* arguments).")
        try:
            dimensions[name], values = _dimension(name, spec)
        except (TypeError, ValueError) as exc:
            message = str(exc)
            if repr(name) not in message:
                message = f"parameter {name!r}: {message}"
            raise SpaceFileError(f"{source}: {message}") from None
        if values is not None:
            grid[name] = values
    if not dimensions:
        raise SpaceFileError(f"{source} is empty; give at least one parameter.")
    return SpaceSpec(dimensions, grid)


def _dimension(name, spec):
    """``(dimension, grid values or None)`` from one entry of a space file."""
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an empty list of values; give at least one.")
        return Categorical(_choices(spec), name=name), None
    if not isinstance(spec, dict):  # a single value: fixed
        return Categorical([_tuples(spec)], name=name), None
    unknown = sorted(set(spec) - _KEYS, key=str)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}; a parameter's "
                         f"mapping takes {', '.join(sorted(_KEYS))}.")
    if "categories" in spec:
        extra = sorted(set(spec) & {"low", "high", "prior", "type"})
        if extra:
            raise ValueError(f"give either categories or low/high, not both "
                             f"(also has {', '.join(extra)}).")
        categories = spec["categories"]
        if not isinstance(categories, list) or not categories:
            raise ValueError("categories must be a non-empty list.")
        dim = Categorical(_choices(categories), name=name)
    elif "low" in spec and "high" in spec:
        dim = _numeric(name, spec)
    else:
        raise ValueError("a mapping needs low and high (a range) or categories (a list).")
    values = None
    if "grid" in spec:
        values = spec["grid"]
        if not isinstance(values, list) or not values:
            raise ValueError("grid must be a non-empty list of values.")
        values = _choices(values)
        if isinstance(dim, Categorical):
            for v in values:
                dim.index(v)  # ValueError naming the parameter if not a category
        else:
            values = [int(v) if isinstance(dim, Integer) and _is_number(v) else v
                      for v in values]
            dim.transform(values)  # ValueError naming the parameter if out of bounds
            if isinstance(dim, Real):
                values = [float(v) for v in values]
    return dim, values


def _numeric(name, spec):
    low, high = spec["low"], spec["high"]
    prior = spec.get("prior", "uniform")
    kind = spec.get("type")
    if kind not in (None, "int", "float"):
        raise ValueError(f"type must be 'int' or 'float'; got {kind!r}.")
    for label, bound in (("low", low), ("high", high)):
        if not _is_number(bound):
            raise ValueError(f"{label} must be a number; got {bound!r}.")
    integer = kind == "int" or (kind is None and name not in _FLOAT_PARAMETERS
                                and isinstance(low, int) and isinstance(high, int))
    cls = Integer if integer else Real
    return cls(low, high, prior=prior, name=name)
