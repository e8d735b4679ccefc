"""Shared fixtures of the sktune test suite: small data sets, built once per worker."""

import os

# Idle OpenMP threads sleep instead of spinning: the few tests that run torch
# with several threads (or next to joblib workers) would otherwise fight for the
# 2 cores. Set before torch loads its OpenMP runtime; inherited by joblib workers.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_classification, make_regression

# The suite runs on 2 cores with 2 xdist workers: torch's default of one
# intra-op thread per core would oversubscribe them and make every small fit
# much slower (OpenMP threads spin-wait for each other). Tests that need more
# threads set them locally.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def binary_data():
    """200 rows, 8 features, two classes (float64)."""
    X, y = make_classification(n_samples=200, n_features=8, n_informative=4,
                               n_redundant=0, random_state=0)
    return X, y


@pytest.fixture(scope="session")
def iris_data():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y


@pytest.fixture(scope="session")
def digits_data():
    """Digits scaled to [0, 1]: 1797 rows of 64 (8x8) features, 10 classes."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def regression_data():
    """300 rows, 8 features, a standardised 1-D target."""
    X, y = make_regression(n_samples=300, n_features=8, n_informative=6, noise=5.0,
                           random_state=0)
    return X, (y - y.mean()) / y.std()


@pytest.fixture(scope="session")
def multi_regression_data():
    X, y = make_regression(n_samples=200, n_features=6, n_targets=3, noise=1.0,
                           random_state=1)
    return X, (y - y.mean(axis=0)) / y.std(axis=0)

