"""One objective's Gaussian process over a search, refitted on a schedule."""

import numpy as np

from .gp import GaussianProcess
from .warp import TargetWarp

# Hyperparameters are refitted after every tell up to this many observations,
# then after every ``n // _REFIT_DIVISOR`` new ones; warm-started each time.
_ALWAYS_REFIT_UP_TO = 100
_REFIT_DIVISOR = 40
# With many pending points (a parallel search proposing one point per finished
# result), hyperparameters are refitted after every ``pending // _PENDING_PER_REFIT``
# new observations at most: one more result barely moves them next to that many
# unknowns, and the refits would otherwise dominate the time per proposal.
_PENDING_PER_REFIT = 4
# Every so many fits (up to _ALWAYS_REFIT_UP_TO observations) the default
# hyperparameters are tried as a second start next to the warm start, to
# escape a poor local optimum.
_RESTART_EVERY = 5


def fit_targets(y, noise_var=None):
    """``(warp, noise)``: the :class:`~.warp.TargetWarp` of the values a model
    sees (failures get the worst finite value) and the told noise variances
    carried into warped units (None if none were told; 0 for failures).

    With told noise the warp has no power transform: the model sees the values
    clipped and standardised, and the told noise in the same (affine) units."""
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    y = np.where(finite, y, np.max(y[finite]))
    warp = TargetWarp(y, power=noise_var is None)
    if noise_var is None:
        return warp, None
    r = np.where(finite, np.nan_to_num(np.asarray(noise_var, dtype=float)), 0.0)
    return warp, np.maximum(r, 0.0) * warp.slope(y) ** 2


def predict_told_units(gp, warp, X):
    """Posterior mean and standard deviation of the latent value at the rows of
    ``X`` in the units the values were told in (the warp inverted; the standard
    deviation by the delta method, ``nan`` where the warp is flat)."""
    mean, var = gp.predict(X)
    w = mean * gp.y_std_ + gp.y_mean_
    y = warp.inverse(w)
    slope = warp.slope(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.where(slope > 0, np.sqrt(var) * gp.y_std_ / slope, np.nan)
    return y, std


class Surrogate:
    """The model of one objective: a :class:`GaussianProcess` refitted when
    enough new observations came in, else its hyperparameters reused.

    Parameters
    ----------
    layout : ColumnLayout
        Grouping of the input columns into dimensions.
    """

    def __init__(self, layout):
        self.layout = layout
        self.gp = None
        self.warp = None
        self._gp_n = -1
        self._theta = None
        self._theta_n = 0
        self._n_fits = 0

    def fitted(self, X, y, n_pending=0, n_told=None, noise_var=None):
        """The model of values ``y`` (failures non-finite) at the rows of ``X``.

        ``n_told`` counts the observations told so far (``len(X)`` unless the
        model is fitted on a subset of them): the model is refitted when it grows.
        ``noise_var``: each value's told noise variance (None: one fitted noise).
        """
        n = len(X) if n_told is None else n_told
        if self.gp is not None and self._gp_n == n:
            return self.gp
        warp, r = fit_targets(y, noise_var)
        gp = GaussianProcess(self.layout, told_noise=r is not None)
        if self._theta is not None and len(self._theta) != len(gp.default_theta):
            self._theta = None  # noise started (or stopped) being told: start afresh
        every = max(1, n_pending // _PENDING_PER_REFIT)
        stale = n - self._theta_n
        refit = (
            self._theta is None
            or (n <= _ALWAYS_REFIT_UP_TO and stale >= every)
            or stale >= max(every, n // _REFIT_DIVISOR)
        )
        if refit:
            starts = [gp.default_theta] if self._theta is None else [self._theta]
            if (
                self._theta is not None
                and n <= _ALWAYS_REFIT_UP_TO
                and self._n_fits % _RESTART_EVERY == 0
            ):
                starts.append(gp.default_theta)
            gp.fit(X, warp.warped, theta0=starts, noise_var=r)
            self._theta, self._theta_n = gp.theta_, n
            self._n_fits += 1
        else:
            gp.fit(X, warp.warped, theta0=self._theta, optimize=False, noise_var=r)
        self.gp, self._gp_n, self.warp = gp, n, warp
        return gp
