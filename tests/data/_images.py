"""Digits written to a temporary folder as PNG files, ``root/d<label>/<i>.png``."""

import os

import numpy as np


def write_digits(root, X, y, size=8, mode="L"):
    """Write digits ``X`` (values in [0, 1], 64 per row) as ``size``-pixel images.

    Returns the uint8 pixel arrays written, in the order of ``X``.
    """
    from PIL import Image

    written = []
    for i, (x, label) in enumerate(zip(X, y)):
        folder = os.path.join(root, f"d{label}")
        os.makedirs(folder, exist_ok=True)
        pixels = np.round(np.asarray(x).reshape(8, 8) * 255).astype(np.uint8)
        image = Image.fromarray(pixels, mode="L")
        if size != 8:
            image = image.resize((size, size), Image.Resampling.NEAREST)
        if mode != "L":
            image = image.convert(mode)
        image.save(os.path.join(folder, f"{i:05d}.png"))
        written.append(np.asarray(image))
    return written
