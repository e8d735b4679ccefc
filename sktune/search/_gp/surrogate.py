"""One objective's Gaussian process over a search, refitted on a schedule."""

import numpy as np

from .gp import GaussianProcess, warp_targets

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


def fit_targets(y):
    """Values seen by a model: failures get the worst finite value, then all are
    warped (:func:`~.gp.warp_targets`)."""
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    y = np.where(finite, y, np.max(y[finite]))
    return warp_targets(y)


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
        self._gp_n = -1
        self._theta = None
        self._theta_n = 0
        self._n_fits = 0

    def fitted(self, X, y, n_pending=0, n_told=None):
        """The model of values ``y`` (failures non-finite) at the rows of ``X``.

        ``n_told`` counts the observations told so far (``len(X)`` unless the
        model is fitted on a subset of them): the model is refitted when it grows.
        """
        n = len(X) if n_told is None else n_told
        if self.gp is not None and self._gp_n == n:
            return self.gp
        gp = GaussianProcess(self.layout)
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
            gp.fit(X, fit_targets(y), theta0=starts)
            self._theta, self._theta_n = gp.theta_, n
            self._n_fits += 1
        else:
            gp.fit(X, fit_targets(y), theta0=self._theta, optimize=False)
        self.gp, self._gp_n = gp, n
        return gp
