"""ImageFolder: root/<class>/<file> images read lazily with Pillow."""

import os
import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from _images import write_digits
from sktune.data import DatasetView, ImageFolder

PIL = pytest.importorskip("PIL")


def test_classes_targets_and_pixels_come_from_the_folder(digits_folder):
    root, X, y = digits_folder
    images = ImageFolder(root)
    assert images.classes == [f"d{k}" for k in range(10)]
    assert images.class_to_idx["d3"] == 3 and len(images) == len(X)
    assert images.shape == (1, 8, 8) and images.mode == "L"
    # the files are sorted by class, then name: map back to the digits written
    order = np.argsort(y, kind="stable")
    assert_array_equal(images.targets, y[order])
    x, label = images[5]
    assert x.dtype == torch.float32 and x.shape == (1, 8, 8) and label == y[order][5]
    assert_allclose(x.numpy().ravel(), np.round(X[order][5] * 255) / 255, atol=1e-6)


def test_targets_need_no_image_to_be_read(digits_folder, monkeypatch):
    root, _, y = digits_folder
    images = ImageFolder(root)
    monkeypatch.setattr(ImageFolder, "_open", lambda *a: pytest.fail("an image was read"))
    assert sorted(DatasetView(images).targets) == sorted(y)


def test_resizing_colour_modes_and_normalisation(tmp_path, digits_data):
    X, y = digits_data
    write_digits(tmp_path, X[:6], y[:6] % 2, size=8, mode="RGB")
    rgb = ImageFolder(tmp_path)
    assert rgb.mode == "RGB" and rgb[0][0].shape == (3, 8, 8)
    gray = ImageFolder(tmp_path, mode="L", size=(12, 10))
    assert gray.shape == (1, 12, 10) and gray[0][0].shape == (1, 12, 10)
    plain = ImageFolder(tmp_path, mode="L")[0][0]
    normed = ImageFolder(tmp_path, mode="L", mean=0.5, std=0.25)[0][0]
    assert_allclose(normed, (plain - 0.5) / 0.25, atol=1e-6)
    with pytest.raises(ValueError, match="one per channel"):
        ImageFolder(tmp_path, mean=[0.1, 0.2])
    with pytest.raises(ValueError, match="std must be positive"):
        ImageFolder(tmp_path, mode="L", std=0)
    with pytest.raises(ValueError, match="mode must be"):
        ImageFolder(tmp_path, mode="CMYK")
    with pytest.raises(ValueError, match="size must be"):
        ImageFolder(tmp_path, size=(0, 3))


def test_images_of_another_size_say_to_resize(tmp_path, digits_data):
    X, y = digits_data
    root, other = tmp_path / "root", tmp_path / "other"
    write_digits(root, X[:4], [0, 0, 1, 1])
    write_digits(other, X[:1], [1], size=9)
    os.replace(other / "d1" / "00000.png", root / "d1" / "zz.png")
    images = ImageFolder(root)
    last = len(images) - 1
    with pytest.raises(ValueError, match=r"zz.png.*\(9, 9\).*\(8, 8\).*size=\(height, width\)"):
        images[last]
    assert ImageFolder(root, size=8)[last][0].shape == (1, 8, 8)


def test_folder_errors_name_the_problem(tmp_path, digits_data):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ImageFolder(tmp_path / "nope")
    with pytest.raises(ValueError, match="no class sub-folders"):
        ImageFolder(tmp_path)
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="holds no image"):
        ImageFolder(tmp_path)
    (tmp_path / "cats" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read the image.*broken.png"):
        ImageFolder(tmp_path)


def test_a_folder_pickles_as_paths(digits_folder):
    root, _, _ = digits_folder
    images = ImageFolder(root, size=8)
    again = pickle.loads(pickle.dumps(images))
    assert len(pickle.dumps(images)) < 200 * len(images)  # paths, not pixels
    assert torch.equal(again[3][0], images[3][0])
