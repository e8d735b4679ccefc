"""Search-space dimensions and their parsing.

A *dimension* describes the values one hyperparameter can take and how those
values map to the unit-cube representation used by the Gaussian-process
surrogate:

* :class:`Real` -- a float in ``[low, high]``, uniform or log-uniform.
* :class:`Integer` -- an int in ``[low, high]`` (both inclusive), uniform or
  log-uniform.
* :class:`Categorical` -- any Python objects (tuples, ``None``, strings,
  estimators, mixed types); they are never converted to a NumPy array.
* :class:`Distribution` -- a frozen ``scipy.stats`` distribution, mapped to the
  unit interval through its cdf/ppf.

A :class:`Space` holds named dimensions and converts between parameter dicts
and the transformed array. :func:`parse_search_spaces` normalises the
``search_spaces`` argument of a Bayesian search.

Shorthands accepted wherever a dimension is expected:

==================================  ==========================================
``(0.001, 1.0)``                    ``Real(0.001, 1.0)``
``(1, 20)``                         ``Integer(1, 20)``
``(1e-4, 1e-1, 'log-uniform')``     ``Real(1e-4, 1e-1, prior='log-uniform')``
``['adam', 'sgd']`` (any list)      ``Categorical(['adam', 'sgd'])``
``range(1, 21)``                    ``Integer(1, 20)`` (step 1)
``scipy.stats.loguniform(a, b)``    ``Real(a, b, prior='log-uniform')``
``scipy.stats.uniform(loc, scale)``  ``Real(loc, loc + scale)``
``scipy.stats.randint(a, b)``       ``Integer(a, b - 1)``
other frozen scipy distributions    ``Distribution(dist)``
==================================  ==========================================
"""

import itertools
import math
import numbers
from collections.abc import Mapping

import numpy as np
import scipy.stats
from sklearn.utils import check_random_state

__all__ = [
    "Categorical",
    "Dimension",
    "Distribution",
    "Integer",
    "Real",
    "Space",
    "parse_search_spaces",
]

_PRIORS = ("uniform", "log-uniform")

# Discrete dimensions with at most this many values are optimised by trying
# every value; larger ones are relaxed to a continuous coordinate and rounded.
_MAX_ENUMERATED_CHOICES = 64

# Unit values are clipped to [_EPS_UNIT, 1 - _EPS_UNIT] before a ppf so that
# unbounded distributions map to finite values.
_EPS_UNIT = 1e-6

# Relative tolerance when checking that a told value lies inside its bounds
# (values produced by a log/exp round trip may exceed a bound by one ulp).
_BOUND_RTOL = 1e-9


def _describe(value):
    """Short ``repr`` of a value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _where(name, capital=False):
    """How error messages name a dimension."""
    text = f"parameter {name!r}" if name is not None else "dimension"
    return text[0].upper() + text[1:] if capital else text


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_frozen_distribution(obj):
    """Whether ``obj`` is a frozen ``scipy.stats`` distribution."""
    return isinstance(
        getattr(obj, "dist", None), (scipy.stats.rv_continuous, scipy.stats.rv_discrete)
    )


def _same_value(a, b, *, strict_type):
    """Equality that never raises (numpy arrays, odd ``__eq__``) and never
    treats ``1``, ``1.0`` and ``True`` as the same category when
    ``strict_type`` is set."""
    if a is b:
        return True
    if strict_type and type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # ambiguous truth value, incomparable types, ...
        return False


class Dimension:
    """Base class of the search-space dimensions.

    A dimension maps its values to ``n_columns`` float columns in ``[0, 1]``
    (:meth:`transform`) and back (:meth:`inverse_transform`). Subclasses
    implement ``_to_columns``, ``_from_columns`` and ``_unit_to_columns``.

    Parameters
    ----------
    name : str or None
        Name of the hyperparameter. :class:`Space` sets it from the dict key.
    """

    #: One of ``'continuous'``, ``'integer'``, ``'categorical'``.
    kind = "continuous"

    def __init__(self, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"A dimension name must be a string; got {_describe(name)}.")
        self.name = name

    # -- properties -----------------------------------------------------
    @property
    def n_columns(self):
        """Number of columns of the transformed representation."""
        return 1

    @property
    def is_log(self):
        """Whether the transformed coordinate is on a log scale."""
        return False

    @property
    def n_values(self):
        """Number of distinct values (``math.inf`` for continuous ones)."""
        return math.inf

    # -- public conversions ---------------------------------------------
    def rvs(self, n_samples=None, random_state=None):
        """Draw values from the dimension's prior.

        Parameters
        ----------
        n_samples : int or None, default=None
            Number of values to draw; None draws one value, returned as it
            is (as scipy's distributions do, so that a dimension is a
            distribution of scikit-learn's ``RandomizedSearchCV``).
        random_state : int, RandomState instance or None, default=None
            Seed or generator, as in scikit-learn.

        Returns
        -------
        values : list or value
            ``n_samples`` native Python values (``float``, ``int`` or the
            original category objects); one value for ``n_samples=None``.
        """
        rng = check_random_state(random_state)
        unit = rng.uniform(size=1 if n_samples is None else int(n_samples))
        values = self.inverse_transform(self._unit_to_columns(unit))
        return values[0] if n_samples is None else values

    def transform(self, values):
        """Map values to the unit-cube representation.

        Parameters
        ----------
        values : sequence
            Values of this dimension.

        Returns
        -------
        X : ndarray of shape (len(values), n_columns)
            Float array with entries in ``[0, 1]``.
        """
        values = list(values)
        if not values:
            return np.empty((0, self.n_columns))
        return self._to_columns(values)

    def inverse_transform(self, X):
        """Map transformed columns back to values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns) or (n_samples,)
            Transformed representation; out-of-range entries are clipped,
            non-integer coordinates are rounded to the nearest valid value.

        Returns
        -------
        values : list
            ``n_samples`` native Python values.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim == 1 and self.n_columns == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.n_columns:
            raise ValueError(
                f"Expected an array of shape (n_samples, {self.n_columns}) for "
                f"{_where(self.name)}; got shape {X.shape}."
            )
        return self._from_columns(X)

    # -- hooks for the optimiser ------------------------------------------
    def _unit_to_columns(self, unit):
        """Map ``unit`` of shape (n,), uniform in [0, 1], to valid columns so
        that uniform ``unit`` gives the dimension's prior."""
        raise NotImplementedError

    def _snap(self, X):
        """Project columns of shape (n, n_columns) onto valid points."""
        return self.transform(self.inverse_transform(X))

    def _choices(self):
        """All valid column values, shape (n_values, n_columns), when there are
        few enough to try them all; ``None`` otherwise."""
        return None

    # -- helpers ---------------------------------------------------------
    def _with_name(self, name):
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.name = name
        return clone

    def _params(self):
        """(key, value) pairs shown by ``repr`` and compared by ``==``."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self._params())
        if self.name is not None:
            args += f", name={self.name!r}"
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        if type(other) is not type(self) or other.name != self.name:
            return False
        return self._params() == other._params()

    __hash__ = None


class _Numeric(Dimension):
    """Shared validation of the bounded numeric dimensions."""

    def __init__(self, low, high, prior="uniform", name=None):
        super().__init__(name=name)
        where = _where(name)
        if not isinstance(prior, str) or prior not in _PRIORS:
            raise ValueError(
                f"Unknown prior {_describe(prior)} for {where}; the allowed priors "
                f"are {', '.join(repr(p) for p in _PRIORS)}."
            )
        for bound, label in ((low, "low"), (high, "high")):
            if not _is_number(bound) or not math.isfinite(bound):
                raise ValueError(
                    f"The bound {label}={_describe(bound)} of {where} must be a finite number."
                )
        if not low < high:
            raise ValueError(
                f"{_where(name, capital=True)} has low={low!r} >= high={high!r}; low must be "
                "strictly smaller than high (use Categorical([value]) to fix a value)."
            )
        if prior == "log-uniform" and low <= 0:
            raise ValueError(
                f"{_where(name, capital=True)} uses prior='log-uniform' with low={low!r}; a "
                "log-uniform prior needs low > 0 (use prior='uniform' or a positive low)."
            )
        self.prior = prior

    @property
    def is_log(self):
        return self.prior == "log-uniform"

    @property
    def bounds(self):
        """``(low, high)``, both inclusive."""
        return (self.low, self.high)

    def _params(self):
        return (("low", self.low), ("high", self.high), ("prior", self.prior))

    def _check_in_bounds(self, values):
        tol = _BOUND_RTOL * (abs(self.low) + abs(self.high))
        bad = (values < self.low - tol) | (values > self.high + tol) | ~np.isfinite(values)
        if bad.any():
            value = float(values[np.argmax(bad)])
            raise ValueError(
                f"Value {value!r} of {_where(self.name)} is outside its bounds "
                f"[{self.low!r}, {self.high!r}]."
            )
        return np.clip(values, self.low, self.high)

    def _as_float_array(self, values):
        try:
            return np.asarray(values, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(
                f"Values of {_where(self.name)} must be numbers; got {_describe(values)}."
            ) from None


class Real(_Numeric):
    """A float hyperparameter in ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Inclusive bounds, ``low < high``.
    prior : {'uniform', 'log-uniform'}, default='uniform'
        Prior of the random initial points and scale of the surrogate's
        coordinate; ``'log-uniform'`` needs ``low > 0``.
    name : str, default=None
        Name of the hyperparameter (set by :class:`Space` from the dict key).

    Examples
    --------
    >>> from sktune.search.space import Real
    >>> lr = Real(1e-4, 1e-1, prior="log-uniform", name="lr")
    >>> lr.inverse_transform([[0.5]])
    [0.0031622776601683...]
    >>> len(lr.rvs(3, random_state=0))
    3
    """

    def __init__(self, low, high, prior="uniform", name=None):
        super().__init__(low, high, prior=prior, name=name)
        self.low = float(low)
        self.high = float(high)
        if self.is_log:
            self._a, self._b = math.log(self.low), math.log(self.high)
        else:
            self._a, self._b = self.low, self.high

    def _to_columns(self, values):
        x = self._check_in_bounds(self._as_float_array(values))
        if self.is_log:
            x = np.log(x)
        return ((x - self._a) / (self._b - self._a))[:, None]

    def _from_columns(self, X):
        x = self._a + np.clip(X[:, 0], 0.0, 1.0) * (self._b - self._a)
        if self.is_log:
            x = np.exp(x)
        return [float(v) for v in np.clip(x, self.low, self.high)]

    def _unit_to_columns(self, unit):
        return np.asarray(unit, dtype=float).reshape(-1, 1)

    def _snap(self, X):
        return np.clip(X, 0.0, 1.0)


class Integer(_Numeric):
    """An int hyperparameter in ``[low, high]`` (both inclusive).

    Each integer owns an interval of equal width (in log space for
    ``prior='log-uniform'``) of the unit coordinate; the transform maps an
    integer to the centre of that interval and the inverse rounds.

    Parameters
    ----------
    low, high : int
        Inclusive bounds, ``low < high``.
    prior : {'uniform', 'log-uniform'}, default='uniform'
        ``'log-uniform'`` needs ``low > 0``.
    name : str, default=None
        Name of the hyperparameter.

    Examples
    --------
    >>> from sktune.search.space import Integer
    >>> layers = Integer(1, 4, name="n_layers")
    >>> layers.transform([1, 4]).ravel()
    array([0.125, 0.875])
    >>> layers.inverse_transform([[0.3]])
    [2]
    """

    kind = "integer"

    def __init__(self, low, high, prior="uniform", name=None):
        for bound, label in ((low, "low"), (high, "high")):
            if _is_number(bound) and not _is_int(bound) and not float(bound).is_integer():
                raise ValueError(
                    f"The bound {label}={bound!r} of {_where(name)} must be an integer "
                    "(use Real for a float hyperparameter)."
                )
        super().__init__(low, high, prior=prior, name=name)
        self.low = int(low)
        self.high = int(high)
        # The integer k owns [k - 0.5, k + 0.5) of the (log-)scaled value.
        if self.is_log:
            self._a, self._b = math.log(self.low - 0.5), math.log(self.high + 0.5)
        else:
            self._a, self._b = self.low - 0.5, self.high + 0.5

    @property
    def n_values(self):
        return self.high - self.low + 1

    def _to_columns(self, values):
        x = self._check_in_bounds(self._as_float_array(values))
        if not np.all(x == np.round(x)):
            value = float(x[np.argmax(x != np.round(x))])
            raise ValueError(f"Value {value!r} of {_where(self.name)} is not an integer.")
        if self.is_log:
            x = np.log(x)
        return ((x - self._a) / (self._b - self._a))[:, None]

    def _scaled(self, X):
        x = self._a + np.clip(X[:, 0], 0.0, 1.0) * (self._b - self._a)
        if self.is_log:
            x = np.exp(x)
        return np.clip(np.floor(x + 0.5), self.low, self.high)

    def _from_columns(self, X):
        return [int(v) for v in self._scaled(X)]

    def _unit_to_columns(self, unit):
        return self._snap(np.asarray(unit, dtype=float).reshape(-1, 1))

    def _snap(self, X):
        x = self._scaled(X)
        if self.is_log:
            x = np.log(x)
        return ((x - self._a) / (self._b - self._a))[:, None]

    def _choices(self):
        if self.n_values > _MAX_ENUMERATED_CHOICES:
            return None
        return self.transform(range(self.low, self.high + 1))


class Categorical(Dimension):
    """A hyperparameter taking one of a list of arbitrary Python objects.

    Categories are kept as given (tuples stay tuples, estimators stay the same
    objects); the transform is a one-hot encoding.

    Parameters
    ----------
    categories : sequence
        The possible values; at least one, no duplicates.
    name : str, default=None
        Name of the hyperparameter.

    Examples
    --------
    >>> from sktune.search.space import Categorical
    >>> sizes = Categorical([(32,), (64, 32), None], name="hidden_sizes")
    >>> sizes.transform([(64, 32)])
    array([[0., 1., 0.]])
    >>> sizes.inverse_transform([[0.2, 0.1, 0.7]])
    [None]
    """

    kind = "categorical"

    def __init__(self, categories, name=None):
        super().__init__(name=name)
        if isinstance(categories, (str, bytes)) or not hasattr(categories, "__iter__"):
            raise ValueError(
                f"The categories of {_where(name)} must be a list of values; got "
                f"{_describe(categories)}. To fix the parameter to one value, use "
                f"[{_describe(categories)}]."
            )
        categories = tuple(categories)
        if not categories:
            raise ValueError(
                f"{_where(name, capital=True)} has no categories; give at least one value."
            )
        for i, a in enumerate(categories):
            for b in categories[:i]:
                if _same_value(a, b, strict_type=True):
                    raise ValueError(
                        f"{_where(name, capital=True)} lists the category {_describe(a)} "
                        "more than once; remove the duplicate."
                    )
        self.categories = categories

    @property
    def n_columns(self):
        return len(self.categories)

    @property
    def n_categories(self):
        """Number of categories."""
        return len(self.categories)

    @property
    def n_values(self):
        return len(self.categories)

    def index(self, value):
        """Position of ``value`` among the categories.

        The same object is found first, then an equal value of the same type,
        then any equal value (so ``np.int64(3)`` finds the category ``3``).

        Parameters
        ----------
        value : object
            A value to look up.

        Returns
        -------
        index : int
            Its position in ``categories``.

        Raises
        ------
        ValueError
            If ``value`` is not one of the categories.
        """
        for i, category in enumerate(self.categories):
            if category is value:
                return i
        for strict in (True, False):
            for i, category in enumerate(self.categories):
                if _same_value(category, value, strict_type=strict):
                    return i
        raise ValueError(
            f"Value {_describe(value)} of {_where(self.name)} is not one of its "
            f"categories {_describe(list(self.categories))}."
        )

    def _to_columns(self, values):
        X = np.zeros((len(values), self.n_categories))
        X[np.arange(len(values)), [self.index(v) for v in values]] = 1.0
        return X

    def _from_columns(self, X):
        return [self.categories[i] for i in np.argmax(X, axis=1)]

    def _unit_to_columns(self, unit):
        idx = np.minimum((np.asarray(unit) * self.n_categories).astype(int), self.n_categories - 1)
        return np.eye(self.n_categories)[idx]

    def _snap(self, X):
        return np.eye(self.n_categories)[np.argmax(X, axis=1)]

    def _choices(self):
        return np.eye(self.n_categories)

    def _params(self):
        return (("categories", list(self.categories)),)

    def __eq__(self, other):
        return (
            type(other) is type(self)
            and other.name == self.name
            and len(other.categories) == len(self.categories)
            and all(
                _same_value(a, b, strict_type=True)
                for a, b in zip(self.categories, other.categories)
            )
        )

    __hash__ = None


class Distribution(Dimension):
    """A hyperparameter drawn from a frozen ``scipy.stats`` distribution.

    The unit coordinate is the distribution's cdf: a continuous distribution
    gives float values, a discrete one int values (each owning an interval of
    the unit coordinate as wide as its probability). Unbounded distributions
    are supported: unit values are clipped to ``[1e-6, 1 - 1e-6]`` before the
    ppf. :class:`Space` turns ``uniform``, ``loguniform`` and ``randint``
    into the equivalent :class:`Real`/:class:`Integer`.

    Parameters
    ----------
    distribution : frozen scipy.stats distribution
        For example ``scipy.stats.norm(0, 1)`` or ``scipy.stats.poisson(3)``.
    name : str, default=None
        Name of the hyperparameter.

    Examples
    --------
    >>> from scipy.stats import norm
    >>> from sktune.search.space import Distribution
    >>> d = Distribution(norm(0, 1), name="shift")
    >>> d.inverse_transform([[0.5]])
    [0.0]
    """

    def __init__(self, distribution, name=None):
        super().__init__(name=name)
        if not _is_frozen_distribution(distribution):
            raise TypeError(
                f"{_where(name, capital=True)}: expected a frozen scipy.stats distribution "
                f"such as scipy.stats.norm(0, 1); got {_describe(distribution)}."
            )
        self.distribution = distribution
        self.discrete = isinstance(distribution.dist, scipy.stats.rv_discrete)
        self.kind = "integer" if self.discrete else "continuous"
        low, high = distribution.support()
        self._support = (float(low), float(high))

    @property
    def n_values(self):
        if not self.discrete:
            return math.inf
        low, high = self._support
        return high - low + 1 if math.isfinite(low) and math.isfinite(high) else math.inf

    def _to_columns(self, values):
        x = np.asarray(values, dtype=float).reshape(-1)
        low, high = self._support
        bad = ~np.isfinite(x) | (x < low) | (x > high)
        if self.discrete:
            bad |= x != np.round(x)
        if bad.any():
            raise ValueError(
                f"Value {float(x[np.argmax(bad)])!r} of {_where(self.name)} is not in the "
                f"support of {self._dist_repr()}."
            )
        if self.discrete:
            u = 0.5 * (self.distribution.cdf(x - 1) + self.distribution.cdf(x))
        else:
            u = self.distribution.cdf(x)
        return np.clip(u, 0.0, 1.0)[:, None]

    def _from_columns(self, X):
        u = np.clip(X[:, 0], _EPS_UNIT, 1.0 - _EPS_UNIT)
        x = self.distribution.ppf(u)
        if self.discrete:
            return [int(v) for v in x]
        return [float(v) for v in x]

    def _unit_to_columns(self, unit):
        unit = np.asarray(unit, dtype=float).reshape(-1, 1)
        return self._snap(unit) if self.discrete else unit

    def _snap(self, X):
        if not self.discrete:
            return np.clip(X, 0.0, 1.0)
        return super()._snap(X)

    def _choices(self):
        if not self.discrete or self.n_values > _MAX_ENUMERATED_CHOICES:
            return None
        low, high = self._support
        return self.transform(range(int(low), int(high) + 1))

    def _dist_repr(self):
        args = [repr(a) for a in self.distribution.args]
        args += [f"{k}={v!r}" for k, v in self.distribution.kwds.items()]
        return f"{self.distribution.dist.name}({', '.join(args)})"

    def _params(self):
        return (
            ("distribution", self.distribution.dist.name),
            ("args", tuple(self.distribution.args)),
            ("kwds", tuple(sorted(self.distribution.kwds.items()))),
        )

    def __repr__(self):
        name = f", name={self.name!r}" if self.name is not None else ""
        return f"Distribution({self._dist_repr()}{name})"


def _from_distribution(dist, name):
    """Map ``uniform``/``loguniform``/``randint`` to Real/Integer, anything
    else to :class:`Distribution`."""
    low, high = (float(v) for v in dist.support())
    kind = dist.dist.name
    candidate = None
    if math.isfinite(low) and math.isfinite(high) and low < high:
        if kind == "uniform":
            candidate = Real(low, high, name=name)
        elif kind in ("loguniform", "reciprocal") and low > 0:
            candidate = Real(low, high, prior="log-uniform", name=name)
        elif kind == "randint":
            candidate = Integer(int(low), int(high), name=name)
    if candidate is not None:
        # Only accept the mapping if it reproduces the distribution (a shifted
        # loguniform, loc != 0, is not log-uniform).
        unit = np.array([0.1, 0.37, 0.8])
        values = candidate.inverse_transform(candidate._unit_to_columns(unit))
        if np.allclose(values, dist.ppf(unit), rtol=1e-6):
            return candidate
    return Distribution(dist, name=name)


def _to_dimension(spec, name=None):
    """Build a dimension from a dimension object or a shorthand."""
    where = _where(name)
    if isinstance(spec, Dimension):
        if name is None or spec.name == name:
            return spec
        if spec.name is not None:
            raise ValueError(
                f"The dimension given for {where} is named {spec.name!r}; drop its "
                "name or use the same one."
            )
        return spec._with_name(name)
    if _is_frozen_distribution(spec):
        return _from_distribution(spec, name)
    if isinstance(spec, range):
        if spec.step == 1 and len(spec) >= 2:
            return Integer(spec.start, spec.stop - 1, name=name)
        return Categorical(list(spec), name=name)
    if isinstance(spec, (list, np.ndarray)):
        values = spec.tolist() if isinstance(spec, np.ndarray) else spec
        return Categorical(values, name=name)
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        low, high = spec[:2]
        prior = spec[2] if len(spec) == 3 else "uniform"
        if _is_number(low) and _is_number(high):
            if not isinstance(prior, str):
                raise ValueError(
                    f"Cannot understand {_describe(spec)} for {where}: the third element "
                    f"must be a prior ({', '.join(repr(p) for p in _PRIORS)}). To list "
                    f"categories, use a list: {_describe(list(spec))}."
                )
            if prior not in _PRIORS:
                raise ValueError(
                    f"Unknown prior {prior!r} in {_describe(spec)} for {where}; the "
                    f"allowed priors are {', '.join(repr(p) for p in _PRIORS)}."
                )
            if _is_int(low) and _is_int(high):
                return Integer(low, high, prior=prior, name=name)
            return Real(low, high, prior=prior, name=name)
    if isinstance(spec, tuple):
        raise ValueError(
            f"Cannot understand {_describe(spec)} for {where}. Use (low, high) or "
            "(low, high, prior) with numbers for a range, or a list for categories: "
            f"{_describe(list(spec))}."
        )
    raise ValueError(
        f"Cannot understand {_describe(spec)} for {where}. Give a dimension (Real, "
        "Integer, Categorical), (low, high[, prior]), a list of categories or a "
        "scipy.stats distribution; to fix the parameter to one value, wrap it in a "
        f"list: [{_describe(spec)}]."
    )


class Space:
    """Named search dimensions and the conversion of points to arrays.

    Parameters
    ----------
    dimensions : dict or list
        ``{name: spec}`` where a spec is a dimension or a shorthand (see the
        module docstring), or a list of specs; unnamed dimensions of a list
        are called ``'x0'``, ``'x1'``, ...

    Attributes
    ----------
    dimensions : list of Dimension
        The dimensions, named, in the given order.
    names : list of str
        Their names.

    Examples
    --------
    >>> from sktune.search.space import Space
    >>> space = Space({"lr": (1e-4, 1e-1, "log-uniform"), "n_layers": (1, 4),
    ...                "hidden": [(32,), (64, 32)]})
    >>> space
    Space({'lr': Real(low=0.0001, high=0.1, prior='log-uniform'), 'n_layers': \
Integer(low=1, high=4, prior='uniform'), 'hidden': Categorical(categories=[(32,), (64, 32)])})
    >>> X = space.transform([{"lr": 0.01, "n_layers": 2, "hidden": (64, 32)}])
    >>> X.round(3)
    array([[0.667, 0.375, 0.   , 1.   ]])
    >>> space.inverse_transform(X)
    [{'lr': 0.01..., 'n_layers': 2, 'hidden': (64, 32)}]
    """

    def __init__(self, dimensions):
        if isinstance(dimensions, Space):
            dimensions = dimensions.dimensions
        if isinstance(dimensions, Mapping):
            items = []
            for name, spec in dimensions.items():
                if not isinstance(name, str):
                    raise TypeError(
                        f"Parameter names must be strings; got {_describe(name)}."
                    )
                items.append(_to_dimension(spec, name))
        elif isinstance(dimensions, (list, tuple)):
            items = []
            for i, spec in enumerate(dimensions):
                dim = _to_dimension(spec)
                items.append(dim if dim.name is not None else dim._with_name(f"x{i}"))
        else:
            raise TypeError(
                "A search space must be a dict {name: dimension} or a list of "
                f"dimensions; got {_describe(dimensions)}."
            )
        if not items:
            raise ValueError("The search space is empty; give at least one parameter.")
        names = [dim.name for dim in items]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"Parameter names must be unique; repeated: {duplicated}.")
        self.dimensions = items
        self.names = names

        widths = [dim.n_columns for dim in items]
        edges = np.concatenate([[0], np.cumsum(widths)])
        self._slices = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
        #: index of the dimension of every column
        self._column_dim = np.repeat(np.arange(len(items)), widths)
        self._is_categorical_column = np.repeat(
            [dim.kind == "categorical" for dim in items], widths
        )

    # -- container protocol ------------------------------------------------
    def __len__(self):
        return len(self.dimensions)

    def __iter__(self):
        return iter(self.dimensions)

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return self.dimensions[self.names.index(key)]
            except ValueError:
                raise KeyError(f"No parameter {key!r} in the space; it has {self.names}.") from None
        return self.dimensions[key]

    def __eq__(self, other):
        return isinstance(other, Space) and self.dimensions == other.dimensions

    __hash__ = None

    def __repr__(self):
        body = ", ".join(f"{name!r}: {dim._with_name(None)!r}" for name, dim in
                         zip(self.names, self.dimensions))
        return f"Space({{{body}}})"

    # -- properties ----------------------------------------------------------
    @property
    def n_dims(self):
        """Number of dimensions."""
        return len(self.dimensions)

    @property
    def n_columns(self):
        """Number of columns of the transformed representation."""
        return int(self._slices[-1].stop)

    @property
    def n_points(self):
        """Number of distinct points (``math.inf`` if any dimension is
        continuous or unbounded)."""
        return math.prod(dim.n_values for dim in self.dimensions)

    def grid(self):
        """Every point of a finite space, in scikit-learn's ``ParameterGrid``
        order: parameters sorted by name, the last one varying fastest, each
        dimension's values in their order (a categorical's as given).

        Returns
        -------
        points : list of dict or None
            ``n_points`` dicts, or None if the space is continuous or has a
            dimension of more than 64 values.

        Examples
        --------
        >>> from sktune.search.space import Space
        >>> Space({"kernel": ["rbf", "linear"], "C": [1, 10]}).grid()
        [{'C': 1, 'kernel': 'rbf'}, {'C': 1, 'kernel': 'linear'}, \
{'C': 10, 'kernel': 'rbf'}, {'C': 10, 'kernel': 'linear'}]
        """
        values = {}
        for dim in self.dimensions:
            choices = dim._choices()
            if choices is None or not math.isfinite(dim.n_values):
                return None
            values[dim.name] = dim.inverse_transform(choices)
        names = sorted(values)
        return [dict(zip(names, combo))
                for combo in itertools.product(*(values[n] for n in names))]

    # -- conversions ---------------------------------------------------------
    def rvs(self, n_samples=1, random_state=None):
        """Draw points from the dimensions' priors.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points to draw.
        random_state : int, RandomState instance or None, default=None
            Seed or generator, as in scikit-learn.

        Returns
        -------
        points : list of dict
            ``n_samples`` dicts ``{name: value}`` of native Python values.
        """
        rng = check_random_state(random_state)
        unit = rng.uniform(size=(int(n_samples), self.n_dims))
        return self.inverse_transform(self._unit_to_columns(unit))

    def transform(self, points):
        """Map points to the unit-cube representation.

        Parameters
        ----------
        points : dict or list of dict
            Each dict gives a value for every parameter (extra keys are an
            error).

        Returns
        -------
        X : ndarray of shape (n_points, n_columns)
            One row per point, every coordinate in [0, 1].
        """
        if isinstance(points, Mapping):
            points = [points]
        points = list(points)
        for point in points:
            if not isinstance(point, Mapping):
                raise TypeError(f"Expected a dict {{name: value}}; got {_describe(point)}.")
            missing = [n for n in self.names if n not in point]
            extra = [k for k in point if k not in self.names]
            if missing or extra:
                raise ValueError(
                    f"Point {_describe(dict(point))} does not match the space: missing "
                    f"{missing}, unknown {extra}."
                )
        if not points:
            return np.empty((0, self.n_columns))
        return np.hstack([
            dim.transform([p[name] for p in points])
            for name, dim in zip(self.names, self.dimensions)
        ])

    def inverse_transform(self, X):
        """Map transformed rows back to points.

        Parameters
        ----------
        X : array-like of shape (n_points, n_columns)
            Transformed rows; out-of-range entries are clipped, non-integer
            coordinates rounded to the nearest valid value.

        Returns
        -------
        points : list of dict
            Native Python values (``float``, ``int``, category objects).
        """
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_columns:
            raise ValueError(
                f"Expected an array of shape (n_points, {self.n_columns}); got {X.shape}."
            )
        columns = [dim.inverse_transform(X[:, s]) for dim, s in zip(self.dimensions, self._slices)]
        return [dict(zip(self.names, values)) for values in zip(*columns)]

    # -- hooks for the optimiser ---------------------------------------------
    def _unit_to_columns(self, U):
        """Map ``U`` of shape (n, n_dims) in [0, 1] to valid rows."""
        U = np.asarray(U, dtype=float)
        return np.hstack([dim._unit_to_columns(U[:, j]) for j, dim in enumerate(self.dimensions)])

    def _snap(self, X):
        """Project rows of shape (n, n_columns) onto valid points."""
        X = np.array(X, dtype=float)
        for dim, s in zip(self.dimensions, self._slices):
            X[:, s] = dim._snap(X[:, s])
        return X


def parse_search_spaces(search_spaces):
    """Normalise ``search_spaces`` as a Bayesian search receives them.

    Parameters
    ----------
    search_spaces : dict, Space, list of dict or list of (dict, int)
        One space, alternative sub-spaces, or sub-spaces each with its own
        number of iterations.

    Returns
    -------
    spaces : list of (Space, int or None)
        Every sub-space with its number of iterations (``None`` when not
        given).

    Examples
    --------
    >>> from sktune.search.space import parse_search_spaces
    >>> parsed = parse_search_spaces([({"C": (1e-3, 1e3, "log-uniform")}, 20),
    ...                               {"kernel": ["linear", "rbf"]}])
    >>> [(space.names, n_iter) for space, n_iter in parsed]
    [(['C'], 20), (['kernel'], None)]
    """
    if isinstance(search_spaces, (Mapping, Space)):
        return [(Space(search_spaces), None)]
    if not isinstance(search_spaces, (list, tuple)):
        raise TypeError(
            "search_spaces must be a dict {name: dimension}, a list of dicts or a list "
            f"of (dict, n_iter) pairs; got {_describe(search_spaces)}."
        )
    if not search_spaces:
        raise ValueError("search_spaces is an empty list; give at least one search space.")
    parsed = []
    for i, item in enumerate(search_spaces):
        n_iter = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (Mapping, Space)):
            item, n_iter = item
            if not _is_int(n_iter) or n_iter < 1:
                raise ValueError(
                    f"search_spaces[{i}] has n_iter={_describe(n_iter)}; it must be a "
                    "positive integer."
                )
            n_iter = int(n_iter)
        if not isinstance(item, (Mapping, Space)):
            raise TypeError(
                f"search_spaces[{i}] is {_describe(item)}; each entry must be a dict "
                "{name: dimension} or a (dict, n_iter) pair."
            )
        try:
            parsed.append((Space(item), n_iter))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"In search_spaces[{i}]: {exc}") from None
    return parsed
