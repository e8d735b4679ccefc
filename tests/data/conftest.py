"""Fixtures of the data tests: digits behind a map-style torch Dataset, as PNG files."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _images import write_digits  # noqa: E402
from _datasets import Digits  # noqa: E402


@pytest.fixture(scope="session")
def small_digits(digits_data):
    """300 digits as float32 images of shape (1, 8, 8) and their labels."""
    X, y = digits_data
    return X[:300].astype(np.float32).reshape(-1, 1, 8, 8), y[:300]


@pytest.fixture(scope="session")
def digits_dataset(small_digits):
    return Digits(*small_digits)


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory, digits_data):
    """120 digits written as 8x8 grayscale PNGs; returns (root, X, y) of what was written."""
    pytest.importorskip("PIL")
    X, y = digits_data
    X, y = X[:120], y[:120]
    root = tmp_path_factory.mktemp("digits_png")
    write_digits(root, X, y)
    return root, X, y
