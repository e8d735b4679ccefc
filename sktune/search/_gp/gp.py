"""Gaussian-process surrogate with maximum-a-posteriori hyperparameters.

The model is ``f ~ GP(0, s2 * matern52(r2))`` on standardised targets with
Gaussian noise of variance ``noise``; the lengthscales (one per search
dimension), ``s2`` and ``noise`` are fitted by maximising the log marginal
likelihood plus weak log-normal priors, in log space, with L-BFGS-B.
Predictions are in standardised units.
"""

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.optimize

from .kernels import matern52, sq_dist
from .warp import warp_targets  # noqa: F401  (re-exported: the model's output warping)

_LOG_2PI = np.log(2.0 * np.pi)

# Bounds of the log hyperparameters.
_LOG_LENGTHSCALE_BOUNDS = (np.log(1e-2), np.log(1e2))
_LOG_SIGNAL_BOUNDS = (np.log(1e-2), np.log(1e2))
_LOG_NOISE_BOUNDS = (np.log(1e-6), np.log(1.0))
# Log-normal priors (mean, std) of the log hyperparameters.
_LENGTHSCALE_PRIOR_STD = 1.0
_SIGNAL_PRIOR = (0.0, 1.5)
_NOISE_PRIOR = (np.log(1e-4), 3.0)
# Told noise variances (e.g. of a mean of fold scores) are multiplied by a fitted
# scale: folds are correlated (their training sets overlap), so the variance of
# their mean is larger than the fold scores' variance / k suggests.
_NOISE_SCALE_BOUNDS = (np.log(1e-2), np.log(1e2))
_NOISE_SCALE_PRIOR = (np.log(2.0), 1.0)
# Added to the diagonal on top of the fitted noise for numerical safety.
_JITTER = 1e-10


def _lengthscale_prior_mean(n_dims):
    # Longer lengthscales in more dimensions keep the prior distance between
    # random points of the unit cube roughly constant.
    return np.log(0.25) + 0.5 * np.log(n_dims)


def _cholesky(K):
    """Lower Cholesky factor; adds growing jitter if ``K`` is not positive
    definite numerically."""
    scale = np.mean(np.diag(K))
    for jitter in (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4):
        try:
            return scipy.linalg.cholesky(
                K + (jitter * scale) * np.eye(len(K)), lower=True, check_finite=False
            )
        except np.linalg.LinAlgError:
            pass
    raise np.linalg.LinAlgError("The kernel matrix is not positive definite.")


def _cho_inverse(L):
    """Inverse of ``L @ L.T`` from its lower Cholesky factor."""
    inv, info = scipy.linalg.lapack.dpotri(L, lower=True)
    if info != 0:
        raise np.linalg.LinAlgError("Could not invert the kernel matrix.")
    return np.tril(inv) + np.tril(inv, -1).T


class GaussianProcess:
    """Gaussian-process regressor on the transformed unit cube.

    Parameters
    ----------
    layout : ColumnLayout
        Grouping of the input columns into dimensions.
    told_noise : bool, default=False
        Whether ``fit`` is given a noise variance per observation (heteroscedastic):
        observation ``i`` then has noise ``noise + c * noise_var[i]`` with the
        scale ``c`` a fitted hyperparameter (the last of ``theta_``).
    """

    def __init__(self, layout, told_noise=False):
        self.layout = layout
        self.told_noise = told_noise
        n_dims = layout.n_dims
        extra = [_NOISE_SCALE_PRIOR] if told_noise else []
        self._prior_mean = np.concatenate(
            [np.full(n_dims, _lengthscale_prior_mean(n_dims)), [_SIGNAL_PRIOR[0], _NOISE_PRIOR[0]],
             [p[0] for p in extra]]
        )
        self._prior_std = np.concatenate(
            [np.full(n_dims, _LENGTHSCALE_PRIOR_STD), [_SIGNAL_PRIOR[1], _NOISE_PRIOR[1]],
             [p[1] for p in extra]]
        )
        self._bounds = ([_LOG_LENGTHSCALE_BOUNDS] * n_dims + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS]
                        + [_NOISE_SCALE_BOUNDS] * len(extra))

    @property
    def default_theta(self):
        """Starting hyperparameters: the prior means, a moderate noise."""
        theta = self._prior_mean.copy()
        theta[self.layout.n_dims + 1] = np.log(1e-3)
        return theta

    # -- fitting ---------------------------------------------------------------
    def _neg_log_posterior(self, theta, sq_diff, y, r=None):
        n_dims = self.layout.n_dims
        inv_l2 = np.exp(-2.0 * theta[:n_dims])
        s2, noise = np.exp(theta[n_dims]), np.exp(theta[n_dims + 1])
        k, dk = matern52(np.tensordot(inv_l2, sq_diff, axes=1))
        K = s2 * k
        K[np.diag_indices_from(K)] += noise + _JITTER
        if r is not None:
            K[np.diag_indices_from(K)] += np.exp(theta[n_dims + 2]) * r
        try:
            L = _cholesky(K)
            K_inv = _cho_inverse(L)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = K_inv @ y
        W = K_inv - np.outer(alpha, alpha)
        value = 0.5 * y @ alpha + np.log(np.diag(L)).sum() + 0.5 * len(y) * _LOG_2PI
        grad = np.empty_like(theta)
        grad[:n_dims] = -inv_l2 * np.tensordot(sq_diff, W * (s2 * dk), axes=([1, 2], [0, 1]))
        grad[n_dims] = 0.5 * np.sum(W * (s2 * k))
        grad[n_dims + 1] = 0.5 * noise * np.trace(W)
        if r is not None:
            grad[n_dims + 2] = 0.5 * np.exp(theta[n_dims + 2]) * np.dot(np.diag(W), r)
        z = (theta - self._prior_mean) / self._prior_std
        value += 0.5 * z @ z
        grad += z / self._prior_std
        return value, grad

    def fit(self, X, y, theta0=None, optimize=True, maxiter=200, noise_var=None):
        """Fit the hyperparameters and factorise the kernel matrix.

        Parameters
        ----------
        X : ndarray of shape (n, n_columns)
        y : ndarray of shape (n,)
            Finite targets; they are standardised internally.
        theta0 : ndarray or list of ndarray, default=None
            Starting log hyperparameters (warm starts); the best optimum over
            all starts is kept. Defaults to :attr:`default_theta`.
        optimize : bool, default=True
            If False, use ``theta0`` (a single vector) as is.
        maxiter : int, default=200
            Iterations of L-BFGS-B per start.
        noise_var : ndarray of shape (n,), default=None
            With ``told_noise``: each observation's noise variance, in the units
            of ``y`` (required then, ignored otherwise).

        Returns
        -------
        self
        """
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.y_mean_ = float(np.mean(y))
        std = float(np.std(y))
        self.y_std_ = std if std > 1e-12 * max(1.0, abs(self.y_mean_)) else 1.0
        ys = (y - self.y_mean_) / self.y_std_
        r = None
        if self.told_noise:
            if noise_var is None or len(noise_var) != len(y):
                raise ValueError("a GaussianProcess with told_noise needs noise_var, one per "
                                 "observation")
            r = np.maximum(np.nan_to_num(np.asarray(noise_var, dtype=float)), 0.0) / self.y_std_ ** 2
        if theta0 is None:
            starts = [self.default_theta]
        elif isinstance(theta0, list):
            starts = theta0
        else:
            starts = [theta0]
        if optimize:
            sq_diff = self.layout.per_dim_sq_diff(X)
            best = None
            for start in starts:
                start = np.clip(start, *np.transpose(self._bounds))
                res = scipy.optimize.minimize(
                    self._neg_log_posterior,
                    start,
                    args=(sq_diff, ys, r),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=self._bounds,
                    options={"maxiter": maxiter},
                )
                if best is None or res.fun < best.fun:
                    best = res
            theta = best.x
        else:
            theta = np.asarray(starts[0], dtype=float)
        self._set_data(X, ys, theta, r=r)
        return self

    def _set_data(self, X, ys, theta, n_noise_free=0, r=None):
        """Store the data and factorise; the last ``n_noise_free`` rows get
        the smallest noise instead of the fitted one; ``r``: the told noise
        variances of the others (standardised units)."""
        n_dims = self.layout.n_dims
        self.theta_ = np.asarray(theta, dtype=float)
        self.X_ = X
        self.ys_ = ys
        self._w = self.layout.weights(self.theta_[:n_dims])
        self._s2 = float(np.exp(self.theta_[n_dims]))
        self._noise = float(np.exp(self.theta_[n_dims + 1]))
        noise = np.full(len(X), self._noise + _JITTER)
        self._r = r
        if r is not None:
            noise[: len(r)] += np.exp(self.theta_[n_dims + 2]) * r
        if n_noise_free:
            noise[len(X) - n_noise_free:] = np.exp(_LOG_NOISE_BOUNDS[0])
        K = self._s2 * matern52(sq_dist(X, X, self._w))[0]
        K[np.diag_indices_from(K)] += noise
        L = _cholesky(K)
        self._alpha = scipy.linalg.cho_solve((L, True), ys, check_finite=False)
        self._K_inv = _cho_inverse(L)

    @property
    def noise_(self):
        """Fitted noise variance (standardised units; the told ones' aside)."""
        return self._noise

    @property
    def lengthscales_(self):
        """Fitted lengthscale of every dimension."""
        return np.exp(self.theta_[: self.layout.n_dims])

    @property
    def column_lengthscales_(self):
        """Effective lengthscale of every input column (``1 / sqrt(w_c)``)."""
        return 1.0 / np.sqrt(self._w)

    # -- prediction ------------------------------------------------------------
    def predict(self, Xs, return_grad=False):
        """Posterior mean and variance of the latent function (standardised).

        Parameters
        ----------
        Xs : ndarray of shape (m, n_columns)
        return_grad : bool, default=False
            Also return the gradients with respect to ``Xs``.

        Returns
        -------
        mean, var : ndarray of shape (m,)
        dmean, dvar : ndarray of shape (m, n_columns)
            Only if ``return_grad``.
        """
        k, dk = matern52(sq_dist(Xs, self.X_, self._w))
        Ks = self._s2 * k
        mean = Ks @ self._alpha
        V = Ks @ self._K_inv
        var = np.maximum(self._s2 - np.einsum("mn,mn->m", V, Ks), 1e-12 * self._s2)
        if not return_grad:
            return mean, var
        # d k(x, X_n) / d x_c = s2 * dk * 2 * w_c * (x_c - X_nc)
        coef = (2.0 * self._s2) * dk
        diff = Xs[:, None, :] - self.X_[None, :, :]
        dmean = np.einsum("mn,mnc->mc", coef * self._alpha, diff) * self._w
        dvar = -2.0 * np.einsum("mn,mnc->mc", coef * V, diff) * self._w
        return mean, var, dmean, dvar

    def predict_mean(self, Xs):
        """Posterior mean only (standardised), for many rows at once: the
        variance's ``m x n x n`` products are skipped."""
        return (self._s2 * matern52(sq_dist(Xs, self.X_, self._w))[0]) @ self._alpha

    def loo_mean(self):
        """Leave-one-out posterior mean of every observation (standardised),
        with the same hyperparameters: ``y_i - alpha_i / (K^-1)_ii``."""
        return self.ys_ - self._alpha / np.diag(self._K_inv)

    def with_fantasies(self, Xf):
        """A copy conditioned on the posterior mean at ``Xf`` (kriging
        believer), with the same hyperparameters.

        The fantasy values are treated as noise-free, so the posterior variance
        vanishes at ``Xf``.

        Parameters
        ----------
        Xf : ndarray of shape (p, n_columns)

        Returns
        -------
        gp : GaussianProcess
        """
        Xf = np.asarray(Xf, dtype=float).reshape(-1, self.X_.shape[1])
        if len(Xf) == 0:
            return self
        gp = GaussianProcess(self.layout, self.told_noise)
        gp.y_mean_, gp.y_std_ = self.y_mean_, self.y_std_
        mean = self.predict(Xf)[0]
        gp._set_data(
            np.vstack([self.X_, Xf]), np.concatenate([self.ys_, mean]), self.theta_,
            n_noise_free=len(Xf), r=self._r,
        )
        return gp
