"""Images on disk in the ``root/<class>/<file>`` layout, as a torch ``Dataset``.

Read with Pillow (``pip install "sktune[images]"``), one file per sample when
the sample is asked for, so a search splits the folder without reading an
image and loader workers (``num_workers``) decode in parallel. torchvision is
not needed; its ``ImageFolder`` (or any dataset with ``targets``) works the
same way with sktune.
"""

import os
from numbers import Integral

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["ImageFolder", "IMAGE_EXTENSIONS"]

#: File endings read as images (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_MODES = {"L": 1, "RGB": 3}


def _pillow():
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ImageFolder reads images with Pillow, which is not installed; install it with "
            "pip install \"sktune[images]\" (or pip install pillow)."
        ) from exc
    return Image


def _pair(size):
    if size is None:
        return None
    if isinstance(size, Integral) and not isinstance(size, bool):
        size = (size, size)
    size = tuple(size)
    if len(size) != 2 or not all(isinstance(s, Integral) and s >= 1 for s in size):
        raise ValueError(f"size must be a positive int or a (height, width) pair; got {size!r}.")
    return tuple(int(s) for s in size)


def _channel_values(values, channels, name):
    if values is None:
        return None
    array = np.atleast_1d(np.asarray(values, dtype=np.float32))
    if array.ndim != 1 or len(array) not in (1, channels):
        raise ValueError(f"{name} must be one number or one per channel ({channels}); "
                         f"got {values!r}.")
    return torch.as_tensor(np.broadcast_to(array, (channels,)).copy()).reshape(channels, 1, 1)


class ImageFolder(Dataset):
    """Labelled images in ``root/<class>/<file>`` folders, read lazily.

    The classes are the sub-folder names, sorted; every image file below a
    class folder (sub-folders included) is a sample of that class. A sample
    is ``(x, label)``: ``x`` a float32 tensor of shape ``(C, H, W)`` scaled to
    [0, 1] (then normalised with ``mean``/``std`` if given), ``label`` the
    class index. Names follow torchvision's ``ImageFolder`` (``classes``,
    ``class_to_idx``, ``samples``, ``targets``), so either works with sktune.

    Parameters
    ----------
    root : str or path-like
        The folder holding one sub-folder per class.
    size : int, (height, width) or None, default=None
        Resize every image to this size (bilinear). None keeps the files'
        sizes, which must then all be equal.
    mode : {'L', 'RGB'} or None, default=None
        Colour mode: 'L' gives 1 channel (grayscale), 'RGB' 3. None is 'L'
        when the first image is grayscale, else 'RGB'.
    mean, std : float, sequence of float or None, default=None
        Per-channel normalisation ``(x - mean) / std`` after scaling to [0, 1].
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File endings read as images; other files are ignored.

    Attributes
    ----------
    classes : list of str
        Class names (folder names), sorted.
    class_to_idx : dict
        Class name -> label.
    samples : list of (str, int)
        Path and label of every sample.
    targets : list of int
        The label of every sample (what :class:`DatasetView` reads as
        ``targets`` without opening an image).
    shape : tuple of int
        ``(C, H, W)`` of every sample.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> from sktune.data import ImageFolder
    >>> root = tempfile.mkdtemp()
    >>> for label in ("cat", "dog"):
    ...     os.makedirs(os.path.join(root, label))
    ...     for i in range(2):
    ...         Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(
    ...             os.path.join(root, label, f"{i}.png"))
    >>> images = ImageFolder(root)
    >>> len(images), images.classes, images.shape
    (4, ['cat', 'dog'], (1, 8, 8))
    """

    def __init__(self, root, size=None, mode=None, mean=None, std=None,
                 extensions=IMAGE_EXTENSIONS):
        self.root = os.fspath(root)
        self.size = _pair(size)
        if mode not in (None, *_MODES):
            raise ValueError(f"mode must be 'L', 'RGB' or None; got {mode!r}.")
        self.extensions = tuple(e.lower() for e in extensions)
        self.classes, self.samples = self._scan()
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.targets = [label for _, label in self.samples]
        first = self._open(self.samples[0][0])
        self.mode = mode or ("L" if first.mode in ("L", "1", "I;16", "I") else "RGB")
        channels = _MODES[self.mode]
        width, height = first.size
        self.shape = (channels, *(self.size or (height, width)))
        self.mean = _channel_values(mean, channels, "mean")
        self.std = _channel_values(std, channels, "std")
        if self.std is not None and bool((self.std <= 0).any()):
            raise ValueError(f"std must be positive; got {std!r}.")

    def _scan(self):
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"image folder {self.root!r} does not exist or is not a "
                                    "folder.")
        classes = sorted(e.name for e in os.scandir(self.root)
                         if e.is_dir() and not e.name.startswith("."))
        if not classes:
            raise ValueError(f"{self.root!r} has no class sub-folders; images must be laid out "
                             "as root/<class>/<file>.")
        samples = []
        for label, name in enumerate(classes):
            files = sorted(
                os.path.join(folder, f)
                for folder, _, names in os.walk(os.path.join(self.root, name))
                for f in names if f.lower().endswith(self.extensions))
            if not files:
                raise ValueError(f"the class folder {os.path.join(self.root, name)!r} holds no "
                                 f"image ({', '.join(self.extensions)}).")
            samples += [(f, label) for f in files]
        return classes, samples

    def _open(self, path):
        Image = _pillow()
        try:
            image = Image.open(path)
            image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValueError(f"cannot read the image {path!r}: {exc}") from exc
        return image

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        path, label = self.samples[i]
        image = self._open(path)
        if image.mode != self.mode:
            image = image.convert(self.mode)
        if self.size is not None and image.size != self.size[::-1]:
            image = image.resize(self.size[::-1], _pillow().Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.float32)
        array *= np.float32(1 / 255)
        x = torch.from_numpy(array)
        x = x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)
        if x.shape != self.shape:
            raise ValueError(
                f"the image {path!r} is {tuple(x.shape[1:])} pixels, but the first image of "
                f"the folder is {self.shape[1:]}; give ImageFolder(size=(height, width)) to "
                "resize all images to one size."
            )
        if self.mean is not None:
            x = x - self.mean
        if self.std is not None:
            x = x / self.std
        return x.contiguous(), label

    def __repr__(self):
        return (f"ImageFolder({self.root!r}, {len(self)} images, {len(self.classes)} classes, "
                f"shape {self.shape})")
