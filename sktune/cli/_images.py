"""Image folders for the command line: ``sktune tune --data DIR --model cnn``.

``DIR`` holds one sub-folder of images per class (``DIR/<class>/<file>``), read
by :class:`sktune.data.ImageFolder`. The labels are the folder names; a
stratified test split is held out by index (no image is read to split), and
the network reads the images batch by batch with ``--num-workers`` loader
processes.
"""

import os
from dataclasses import dataclass

import numpy as np

from ._tables import DataError, check_cv

__all__ = ["ImageData", "images_as_tuned", "is_image_folder", "load_images",
           "parse_image_size", "prepare_images"]


def is_image_folder(source):
    """Whether ``DATA`` names a folder (of class folders of images)."""
    return os.path.isdir(source)


def parse_image_size(text):
    """``--image-size``: ``32`` or ``32x48`` (height x width) -> ``(h, w)``."""
    parts = text.lower().split("x")
    try:
        size = tuple(int(p) for p in parts)
    except ValueError:
        size = ()
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"expected a size like 32 or 32x48 (height x width), got {text!r}")
    return size


@dataclass
class ImageData:
    """An image folder ready to tune on, with the fields of ``TabularData`` the
    commands read.

    Attributes
    ----------
    images : ImageFolder
    X_train, X_test : DatasetView
        The training and held-out images (``X_test`` None with ``test_size=0``).
    y_train, y_test : numpy.ndarray
        Their labels: class (folder) names.
    """

    images: object
    X_train: object
    X_test: object
    y_train: object
    y_test: object
    target: str = "class"
    task: str = "classification"
    task_reason: object = None
    n_dropped: int = 0
    sample_weight: object = None
    w_train: object = None
    w_test: object = None

    @property
    def n_rows(self):
        return len(self.images)

    @property
    def shape(self):
        return self.images.shape

    @property
    def n_features(self):
        """Input values per image, ``C*H*W``."""
        return int(np.prod(self.images.shape))

    def describe(self):
        """What the data line of ``sktune tune`` says about the images."""
        c, h, w = self.images.shape
        colour = "grayscale" if c == 1 else "RGB"
        return (f"{self.n_rows} images ({h}x{w} {colour}) in {len(self.images.classes)} "
                "classes (the folder names)")

    def metadata(self):
        """How to read a folder the same way again (``sktune predict``)."""
        return {"images": {"size": list(self.images.shape[1:]), "mode": self.images.mode}}


def load_images(source, size=None, mode=None):
    """:class:`~sktune.data.ImageFolder` of ``source``; problems as :class:`DataError`."""
    from ..data import ImageFolder

    try:
        return ImageFolder(source, size=size, mode=mode)
    except ImportError as exc:
        raise DataError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{source!r}: {exc}") from None


def prepare_images(source, *, test_size=0.2, cv=3, random_state=None, size=None):
    """Read the folder's layout, hold out a stratified test split, check that CV can run.

    Returns
    -------
    data : ImageData
    """
    from sklearn.model_selection import train_test_split

    from ..data import DatasetView

    images = load_images(source, size=size)
    view = DatasetView(images)
    labels = np.asarray(images.classes, dtype=object)[np.asarray(images.targets)]
    counts = np.unique(labels, return_counts=True)
    if len(counts[0]) < 2:
        raise DataError(f"{source!r} has one class folder ({counts[0][0]!r}); a classifier "
                        "needs at least 2.")
    if test_size:
        try:
            X_train, X_test, y_train, y_test = train_test_split(
                view, labels, test_size=test_size, stratify=labels, random_state=random_state)
        except ValueError:
            raise DataError(f"--test-size {test_size} cannot hold out a stratified test split "
                            f"of {len(view)} images in {len(counts[0])} classes (the smallest "
                            f"has {counts[1].min()}); use more images or --test-size 0."
                            ) from None
    else:
        X_train, X_test, y_train, y_test = view, None, labels, None
    import pandas as pd

    check_cv(pd.Series(y_train), "classification", cv)
    return ImageData(images, X_train, X_test, y_train, y_test)


def images_as_tuned(source, metadata):
    """``(images, frame of their files, labels)`` of an image folder, read the way the
    model's training folder was (size and colour mode from the model file)."""
    import pandas as pd

    read = metadata.get("images")
    if read is None:
        raise DataError(f"{source!r} is a folder of images, but the model was tuned on a "
                        "table; give a table with the columns it was trained on.")
    images = load_images(source, size=tuple(read["size"]), mode=read["mode"])
    files = [os.path.relpath(path, source) for path, _ in images.samples]
    labels = np.asarray(images.classes, dtype=object)[np.asarray(images.targets)]
    return images, pd.DataFrame({"file": files}), labels
