"""Test functions of the Bayesian-optimisation benchmark (all minimised).

Each :class:`Problem` has a parameter list (name, kind, bounds or categories,
log scale), an objective taking a ``{name: value}`` dict and its known
minimum, so that the simple regret of a run is ``min_i f(x_i) - f_min``.

* ``branin``: Branin-Hoo on ``[-5, 10] x [0, 15]``, three global minima with
  value ``0.397887...``.
* ``hartmann6``: Hartmann 6-D on ``[0, 1]^6``, minimum ``-3.322368...``.
* ``rosenbrock4``: Rosenbrock in 4-D on ``[-2, 2]^4``, minimum 0 at
  ``(1, 1, 1, 1)``.
* ``mixed``: a hyperparameter-tuning-like function of two log-uniform reals,
  an integer and a 3-way categorical, minimum 0 (see :func:`mixed`).
* ``levy4``: Levy in 4-D on ``[-10, 10]^4``, multimodal (a grid of local
  minima on a bowl), minimum 0 at ``(1, 1, 1, 1)``.
"""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is ``'real'``, ``'int'`` or ``'cat'``."""

    name: str
    kind: str
    low: float = None
    high: float = None
    log: bool = False
    categories: tuple = ()


@dataclass(frozen=True)
class Problem:
    name: str
    params: tuple
    func: object
    f_min: float

    def __call__(self, point):
        return float(self.func(point))


def branin(p):
    x1, x2 = p["x1"], p["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(p):
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-_H6_ALPHA @ np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)))


def rosenbrock4(p):
    x = np.array([p[f"x{i}"] for i in range(4)])
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


# Category-dependent optimum of the integer and offset of the category.
_MIXED_BEST_UNITS = {"relu": 12, "tanh": 6, "sigmoid": 16}
_MIXED_OFFSET = {"relu": 0.0, "tanh": 0.5, "sigmoid": 1.0}


def mixed(p):
    """``q(a, b) + ((units - u*_act) / 5)**2 + offset_act`` with
    ``a = log10(lr) + 2``, ``b = log10(alpha) + 4`` and the positive-definite
    quadratic ``q = a**2 + 0.5 b**2 + 0.3 a b``; ``u*`` is 12/6/16 and the
    offset 0/0.5/1 for relu/tanh/sigmoid. Minimum 0 at ``lr=1e-2``,
    ``alpha=1e-4``, ``units=12``, ``act='relu'``."""
    a = math.log10(p["lr"]) + 2.0
    b = math.log10(p["alpha"]) + 4.0
    act = p["act"]
    return (
        a * a
        + 0.5 * b * b
        + 0.3 * a * b
        + ((p["units"] - _MIXED_BEST_UNITS[act]) / 5.0) ** 2
        + _MIXED_OFFSET[act]
    )


def levy4(p):
    w = 1.0 + (np.array([p[f"x{i}"] for i in range(4)]) - 1.0) / 4.0
    middle = (w[:-1] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * w[:-1] + 1.0) ** 2)
    last = (w[-1] - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * w[-1]) ** 2)
    return float(np.sin(np.pi * w[0]) ** 2 + middle.sum() + last)


PROBLEMS = {
    "branin": Problem(
        "branin",
        (Param("x1", "real", -5.0, 10.0), Param("x2", "real", 0.0, 15.0)),
        branin,
        0.39788735772973816,
    ),
    "hartmann6": Problem(
        "hartmann6",
        tuple(Param(f"x{i}", "real", 0.0, 1.0) for i in range(6)),
        hartmann6,
        -3.3223680114155147,
    ),
    "rosenbrock4": Problem(
        "rosenbrock4",
        tuple(Param(f"x{i}", "real", -2.0, 2.0) for i in range(4)),
        rosenbrock4,
        0.0,
    ),
    "mixed": Problem(
        "mixed",
        (
            Param("lr", "real", 1e-4, 1.0, log=True),
            Param("alpha", "real", 1e-6, 1e-1, log=True),
            Param("units", "int", 1, 20),
            Param("act", "cat", categories=("relu", "tanh", "sigmoid")),
        ),
        mixed,
        0.0,
    ),
    "levy4": Problem(
        "levy4",
        tuple(Param(f"x{i}", "real", -10.0, 10.0) for i in range(4)),
        levy4,
        0.0,
    ),
}
