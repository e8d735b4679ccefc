"""The output warping: told values -> the values a Gaussian process models.

Extreme outliers are clipped, the values standardised and power-transformed
(Yeo-Johnson, the power fitted to make them look Gaussian): it mostly
compresses the long right tail of bad values of minimisation problems, so the
model resolves the region of good values better. Values told with their noise
skip the power transform (``power=False``): fitted to noisy values it
stretches the noise of the best ones, and the noisy benchmark's proposals were
better without it (docs/bayes-search.md, "Noisy scores"). The map is monotone, so
minimising the warped values minimises the told ones; :class:`TargetWarp`
also gives its slope (to carry a told value's noise variance into warped
units) and its inverse (to report a prediction in told units).
"""

import warnings

import numpy as np
import scipy.optimize

# Values farther from the median than this many times (median absolute
# deviation + |median|) are clipped before the warp: a diverged run returning
# 1e300 must neither overflow the statistics nor flatten the differences
# between the other values. (|median| keeps the limit wide when the search has
# converged and the deviations become tiny.)
_OUTLIER_SCALE = 1e6
_EPS = np.finfo(float).eps


class TargetWarp:
    """The warp fitted to the values ``y`` (finite, shape (n,)).

    ``power=False``: clipping and standardisation only (an affine map of the
    values within the clipping bounds).

    Attributes
    ----------
    warped : ndarray of shape (n,)
        The warped values of ``y``.
    """

    def __init__(self, y, power=True):
        y = np.asarray(y, dtype=float)
        self._lo, self._hi, self._divisor = _clip_bounds(y)
        c = self._clip(y)
        self._mean, self._std, self._lmbda = 0.0, 1.0, None  # identity after clipping
        self.warped = c
        std = np.std(c)
        if len(c) < 3 or not std > 0:
            return
        self._mean, self._std = float(np.mean(c)), float(std)
        z = (c - self._mean) / self._std
        self.warped = z
        if not power:
            return
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                lmbda = _yeojohnson_lambda(z)
                warped = _yeojohnson(z, lmbda)
            except (ValueError, FloatingPointError, OverflowError):
                return
        if np.all(np.isfinite(warped)) and np.std(warped) > 0:
            self._lmbda, self.warped = float(lmbda), warped

    def _clip(self, y):
        return np.clip(y, self._lo, self._hi) / self._divisor

    def transform(self, y):
        """Warped values of any ``y``."""
        z = (self._clip(np.asarray(y, dtype=float)) - self._mean) / self._std
        return z if self._lmbda is None else _yeojohnson(z, self._lmbda)

    def slope(self, y):
        """``d warped / d y`` at ``y`` (0 where ``y`` was clipped)."""
        y = np.asarray(y, dtype=float)
        z = (self._clip(y) - self._mean) / self._std
        d = np.ones_like(z) if self._lmbda is None else _yeojohnson_slope(z, self._lmbda)
        inside = (y >= self._lo) & (y <= self._hi)
        return np.where(inside, d / (self._divisor * self._std), 0.0)

    def inverse(self, w):
        """The ``y`` whose warped value is ``w``, kept within the clipping bounds.

        Any ``w`` has one: beyond the image of the power transform (a model's
        prediction can go there) the inverse is taken at the image's edge,
        where it reaches the clipping bound."""
        w = np.asarray(w, dtype=float)
        if self._lmbda is None:
            z = w
        else:
            with np.errstate(over="ignore"):
                z = _yeojohnson_inverse(np.clip(w, *_yeojohnson_image(self._lmbda)),
                                        self._lmbda)
        with np.errstate(invalid="ignore"):
            return np.clip((z * self._std + self._mean) * self._divisor,
                           self._lo, self._hi)


def warp_targets(y):
    """The warped values of ``y`` (finite, shape (n,)): :class:`TargetWarp`."""
    return TargetWarp(y).warped


def _clip_bounds(y):
    """``(lo, hi, divisor)``: values are clipped to [lo, hi], then divided by divisor."""
    median = np.median(y)
    lo, hi = -np.inf, np.inf
    with np.errstate(over="ignore", invalid="ignore"):
        dev = y - median
        limit = _OUTLIER_SCALE * (np.median(np.abs(dev)) + abs(median))
    if limit > 0 and np.isfinite(limit) and np.any(np.abs(dev) > limit):
        lo, hi = median - limit, median + limit
    largest = np.max(np.abs(np.clip(y, lo, hi)))
    divisor = largest if largest > 1e150 else 1.0  # huge values: keep squares finite
    return lo, hi, divisor


# Yeo-Johnson in plain numpy: the same arithmetic as scipy.stats.yeojohnson (so the
# same power to the last bit), without the per-call overhead of scipy.stats' array
# API wrappers, which made its ~20 likelihood evaluations per fit a third of the
# optimiser's time per proposal.
def _yeojohnson(x, lmbda):
    out = np.zeros_like(x)
    pos = x >= 0
    if abs(lmbda) < _EPS:
        out[pos] = np.log1p(x[pos])
    else:
        out[pos] = np.expm1(lmbda * np.log1p(x[pos])) / lmbda
    if abs(lmbda - 2) > _EPS:
        out[~pos] = -np.expm1((2 - lmbda) * np.log1p(-x[~pos])) / (2 - lmbda)
    else:
        out[~pos] = -np.log1p(-x[~pos])
    return out


def _yeojohnson_slope(x, lmbda):
    """Derivative of :func:`_yeojohnson` in ``x``."""
    pos = x >= 0
    out = np.empty_like(x)
    out[pos] = np.exp((lmbda - 1) * np.log1p(x[pos]))
    out[~pos] = np.exp((1 - lmbda) * np.log1p(-x[~pos]))
    return out


def _yeojohnson_image(lmbda):
    """``(low, high)``: the values the Yeo-Johnson transform with ``lmbda`` takes
    (open ends moved in by a hair, so that the inverse is finite there)."""
    low, high = -np.inf, np.inf
    if lmbda < -_EPS:  # x >= 0 maps below -1 / lmbda
        high = np.nextafter(-1.0 / lmbda, 0.0)
    if lmbda > 2 + _EPS:  # x < 0 maps above -1 / (lmbda - 2)
        low = np.nextafter(-1.0 / (lmbda - 2), 0.0)
    return low, high


def _yeojohnson_inverse(w, lmbda):
    pos = w >= 0
    out = np.empty_like(w)
    if abs(lmbda) < _EPS:
        out[pos] = np.expm1(w[pos])
    else:
        out[pos] = np.expm1(np.log1p(lmbda * w[pos]) / lmbda)
    if abs(lmbda - 2) > _EPS:
        out[~pos] = -np.expm1(np.log1p(-(2 - lmbda) * w[~pos]) / (2 - lmbda))
    else:
        out[~pos] = -np.expm1(-w[~pos])
    return out


def _yeojohnson_lambda(x):
    """The power maximising the Yeo-Johnson log-likelihood of ``x`` (as
    ``scipy.stats.yeojohnson_normmax``: same bounds, same bounded Brent search)."""
    if np.all(x == 0):
        return 1.0
    n = len(x)
    log_jacobian = np.sum(np.sign(x) * np.log1p(np.abs(x)))

    def neg_llf(lmbda):
        var = np.var(_yeojohnson(x, lmbda))
        if not var >= np.finfo(float).smallest_normal:
            return np.inf
        llf = -n / 2 * np.log(var) + (lmbda - 1) * log_jacobian
        return np.inf if np.isinf(llf) else -llf

    log1p_max_x = np.log1p(20 * np.max(np.abs(x)))
    log_eps = np.log(_EPS)
    lb = (np.log(np.finfo(float).tiny) - log_eps) / 2 / log1p_max_x
    ub = (np.log(np.finfo(float).max) + log_eps) / 2 / log1p_max_x
    if np.all(x < 0):
        lb, ub = 2 - ub, 2 - lb
    elif np.any(x < 0):
        lb, ub = max(2 - ub, lb), min(2 - lb, ub)
    return scipy.optimize.fminbound(neg_llf, lb, ub, xtol=1.48e-08)
