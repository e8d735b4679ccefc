"""Log expected hypervolume improvement of independent Gaussian predictions.

With the region the front does not dominate cut into disjoint boxes
``[l_k, u_k]`` (:func:`~sktune.search._pareto.nondominated_boxes`), a point
whose objectives are ``y`` improves the hypervolume by
``sum_k prod_i (u_ki - max(l_ki, y_i))^+``. For independent Gaussian ``y_i``
(one Gaussian process per objective) the expectation of each product is the
product of the expectations, and each is closed form:

    E[(u - max(l, Y))^+] = E[(u - Y)^+] - E[(l - Y)^+]
                         = sigma * (h(z_u) - h(z_l)),   z = (bound - mu) / sigma,

with ``h(z) = phi(z) + z Phi(z)`` as in expected improvement. So the EHVI is
exact (no Monte Carlo), cheap for two or three objectives, and computed in
log space (:func:`~._gp.acquisition.log_h`) so that it never underflows far
from the front. Its gradient uses ``h'(z) = Phi(z)``.
"""

import numpy as np
from scipy.special import log_ndtr, logsumexp

from .acquisition import log_h


def _log_box_terms(mean, sigma, lower, upper):
    """``log sigma (h(z_u) - h(z_l))`` and its derivatives in ``z_u`` and ``z_l``
    (of the log), for predictions (m,) against box edges (k,): arrays (m, k)."""
    zu = (upper[None, :] - mean[:, None]) / sigma[:, None]
    lh_u = log_h(zu)
    open_below = ~np.isfinite(lower)
    zl = np.where(open_below[None, :], -np.inf,
                  (np.where(open_below, 0.0, lower)[None, :] - mean[:, None]) / sigma[:, None])
    lh_l = np.full_like(zu, -np.inf)
    closed = ~open_below
    if closed.any():
        lh_l[:, closed] = log_h(zl[:, closed])
    with np.errstate(divide="ignore"):
        ratio = np.minimum(lh_l - lh_u, -1e-300)  # h increasing: h(z_l) < h(z_u)
        log_a = lh_u + np.log(-np.expm1(ratio))
    g_u = np.exp(log_ndtr(zu) - log_a)
    g_l = np.zeros_like(zu)
    if closed.any():
        g_l[:, closed] = -np.exp(log_ndtr(zl[:, closed]) - log_a[:, closed])
    zl = np.where(np.isfinite(zl), zl, 0.0)
    return log_a + np.log(sigma)[:, None], g_u, g_l, zu, zl


class LogExpectedHypervolumeImprovement:
    """Log EHVI of fitted :class:`GaussianProcess` models, one per objective.

    Parameters
    ----------
    gps : list of GaussianProcess
        One model per objective (standardised units, minimised).
    lower, upper : ndarray of shape (n_boxes, n_objectives)
        The boxes of the region the front does not dominate, in the units of
        the models (``lower`` may be ``-inf``).
    """

    def __init__(self, gps, lower, upper):
        self.gps = list(gps)
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)

    def _terms(self, predictions):
        total, parts = 0.0, []
        for i, (mean, var) in enumerate(predictions):
            sigma = np.sqrt(var)
            log_a, g_u, g_l, zu, zl = _log_box_terms(mean, sigma, self.lower[:, i],
                                                     self.upper[:, i])
            total = total + log_a
            parts.append((sigma, g_u, g_l, zu, zl))
        return total, parts

    def __call__(self, X):
        """Values at the rows of ``X`` of shape (m, n_columns)."""
        total, _ = self._terms([gp.predict(X) for gp in self.gps])
        return logsumexp(total, axis=1)

    def value_and_grad(self, X):
        """Values, shape (m,), and gradients, shape (m, n_columns)."""
        predictions = [gp.predict(X, return_grad=True) for gp in self.gps]
        total, parts = self._terms([p[:2] for p in predictions])
        value = logsumexp(total, axis=1)
        weight = np.exp(total - value[:, None])  # softmax over the boxes
        grad = np.zeros_like(X, dtype=float)
        for (_, _, dmean, dvar), (sigma, g_u, g_l, zu, zl) in zip(predictions, parts):
            # d log a / d mu = -(g_u + g_l) / sigma; d log a / d sigma = (1 - g_u z_u - g_l z_l) / sigma
            d_mean = -np.sum(weight * (g_u + g_l), axis=1) / sigma
            d_sigma = np.sum(weight * (1.0 - g_u * zu - g_l * zl), axis=1) / sigma
            grad += d_mean[:, None] * dmean + (d_sigma / (2.0 * sigma))[:, None] * dvar
        return value, grad
