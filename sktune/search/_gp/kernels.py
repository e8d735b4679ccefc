"""Matern-5/2 kernel with one lengthscale per search dimension.

Inputs are rows of the transformed unit cube (:meth:`Space.transform`).
Every dimension has one lengthscale ``l_d``; a column ``c`` of dimension ``d``
contributes ``w_c (x_c - x'_c)**2`` to the squared distance with
``w_c = s_c / l_d**2``. The column scale ``s_c`` is 1 for numeric columns and
1/2 for the one-hot columns of a categorical dimension, whose contribution is
then the Hamming indicator ``[category(x) != category(x')]``.
"""

import numpy as np

_SQRT5 = np.sqrt(5.0)
# Beyond this value of sqrt(5 * r2) the correlation (< 1e-19) is set to 0:
# tiny values would otherwise turn into denormal floats in later products,
# which are orders of magnitude slower to compute with.
_S_CUTOFF = 50.0


def matern52(r2):
    """Matern-5/2 correlation of squared distances and its derivative.

    Parameters
    ----------
    r2 : ndarray
        Squared (scaled) distances, non-negative.

    Returns
    -------
    k : ndarray
        ``(1 + s + s**2 / 3) * exp(-s)`` with ``s = sqrt(5 * r2)``.
    dk_dr2 : ndarray
        Derivative with respect to ``r2``: ``-5/6 (1 + s) exp(-s)``, finite at
        ``r2 = 0``. Both are exactly 0 for ``s >= 50``.
    """
    s = _SQRT5 * np.sqrt(r2)
    e = np.where(s < _S_CUTOFF, np.exp(-np.minimum(s, _S_CUTOFF)), 0.0)
    return (1.0 + s + s * s / 3.0) * e, (-5.0 / 6.0) * (1.0 + s) * e


class ColumnLayout:
    """How the columns of the transformed space group into dimensions.

    Parameters
    ----------
    column_dim : ndarray of int, shape (n_columns,)
        Dimension index of every column.
    is_categorical_column : ndarray of bool, shape (n_columns,)
        Whether a column is a one-hot column of a categorical dimension.
    """

    def __init__(self, column_dim, is_categorical_column):
        self.column_dim = np.asarray(column_dim, dtype=int)
        self.n_dims = int(self.column_dim.max()) + 1
        self.column_scale = np.where(is_categorical_column, 0.5, 1.0)
        # (n_columns, n_dims) matrix summing scaled column terms per dimension
        self.group = np.zeros((len(self.column_dim), self.n_dims))
        self.group[np.arange(len(self.column_dim)), self.column_dim] = self.column_scale

    def weights(self, log_lengthscales):
        """Per-column weights ``w_c`` from per-dimension log lengthscales."""
        return np.exp(-2.0 * np.asarray(log_lengthscales))[self.column_dim] * self.column_scale

    def per_dim_sq_diff(self, X):
        """Per-dimension squared differences of the rows of ``X``.

        Returns an array of shape (n_dims, n, n) whose ``[d]`` slice is the
        unweighted contribution of dimension ``d`` to the squared distance.
        """
        diff2 = (X[:, None, :] - X[None, :, :]) ** 2
        return np.moveaxis(diff2 @ self.group, -1, 0)


def sq_dist(A, B, w):
    """Weighted squared distances between the rows of ``A`` and ``B``.

    Parameters
    ----------
    A : ndarray of shape (m, n_columns)
    B : ndarray of shape (n, n_columns)
    w : ndarray of shape (n_columns,)

    Returns
    -------
    r2 : ndarray of shape (m, n)
    """
    sw = np.sqrt(w)
    A = A * sw
    B = B * sw
    r2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(r2, 0.0)
