"""Log expected improvement, numerically stable far from the incumbent.

For minimisation with posterior mean ``mu`` and standard deviation ``sigma``
and incumbent ``best``, ``EI = sigma * h(z)`` with ``z = (best - mu) / sigma``
and ``h(z) = phi(z) + z * Phi(z)``. ``log h`` is computed in three regimes:

* ``z > -1``: directly;
* ``-1e4 <= z <= -1``: ``h(z) = phi(z) * (1 - t * m(t))`` with ``t = -z`` and
  the Mills ratio ``m(t) = Phi(-t) / phi(t) = sqrt(pi / 2) * erfcx(t / sqrt(2))``,
  so ``log h = log phi(z) + log1p(-t * m(t))``;
* ``z < -1e4``: the asymptotic expansion ``1 - t m(t) ~ t**-2 (1 - 3 t**-2)``.

Its derivative is ``d log h / dz = Phi(z) / h(z)``, evaluated in log space.
"""

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_SQRT_HALF_PI = np.sqrt(0.5 * np.pi)
_ASYMPTOTIC_T = 1e4


def log_h(z):
    """``log(phi(z) + z * Phi(z))`` for any finite ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    direct = z > -1.0
    zd = z[direct]
    out[direct] = np.log(np.exp(-0.5 * zd * zd - _LOG_SQRT_2PI) + zd * ndtr(zd))
    t = -z[~direct]
    log_phi = -0.5 * t * t - _LOG_SQRT_2PI
    mid = t <= _ASYMPTOTIC_T
    tail = np.empty_like(t)
    tail[mid] = np.log1p(-t[mid] * _SQRT_HALF_PI * erfcx(t[mid] / np.sqrt(2.0)))
    tf = t[~mid]
    tail[~mid] = -2.0 * np.log(tf) + np.log1p(-3.0 / (tf * tf))
    out[~direct] = log_phi + tail
    return out


def log_ei(mean, var, best):
    """Log expected improvement below ``best`` and its partial derivatives.

    Parameters
    ----------
    mean, var : ndarray
        Posterior mean and variance (same units as ``best``).
    best : float
        The incumbent (smallest observed value).

    Returns
    -------
    value : ndarray
        ``log EI``.
    d_mean, d_var : ndarray
        Derivatives of ``log EI`` with respect to ``mean`` and ``var``.
    """
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    lh = log_h(z)
    dlh_dz = np.exp(log_ndtr(z) - lh)
    value = np.log(sigma) + lh
    d_mean = -dlh_dz / sigma
    d_sigma = (1.0 - dlh_dz * z) / sigma
    return value, d_mean, d_sigma / (2.0 * sigma)


class LogExpectedImprovement:
    """Log expected improvement of a fitted :class:`GaussianProcess`.

    Parameters
    ----------
    gp : GaussianProcess
        Fitted surrogate (standardised units).
    best : float
        Incumbent in the same units.
    """

    def __init__(self, gp, best):
        self.gp = gp
        self.best = float(best)

    def __call__(self, X):
        """Values at the rows of ``X`` of shape (m, n_columns)."""
        mean, var = self.gp.predict(X)
        return log_ei(mean, var, self.best)[0]

    def value_and_grad(self, X):
        """Values, shape (m,), and gradients, shape (m, n_columns)."""
        mean, var, dmean, dvar = self.gp.predict(X, return_grad=True)
        value, d_mean, d_var = log_ei(mean, var, self.best)
        return value, d_mean[:, None] * dmean + d_var[:, None] * dvar
