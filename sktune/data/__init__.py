"""Deep-learning data for the estimators and searches: datasets and augmentation.

- :class:`DatasetView` (``_view``): a map-style torch ``Dataset`` as samples
  scikit-learn can split and index without reading them; the estimators and
  every search accept a dataset (or skorch's ``SliceDataset``) as ``X``.
- :class:`InputDict` (``_inputs``): named inputs (a tokenizer's
  ``input_ids`` and ``attention_mask``) as samples scikit-learn splits by
  rows; the estimators pass the names to ``forward`` as keywords.
- :class:`ImageFolder` (``_images``): ``root/<class>/<file>`` images read
  lazily with Pillow (the ``images`` extra).
- ``_transforms``: training-time augmentations of batch tensors
  (:class:`RandomShift`, :class:`RandomFlip`, :class:`GaussianNoise`,
  :class:`Cutout`, :class:`Compose`), given to the estimators as
  ``train_transform`` and tuned through ``train_transform__<knob>``.

See ``docs/datasets.md``.
"""

from ._images import IMAGE_EXTENSIONS, ImageFolder
from ._inputs import InputDict
from ._transforms import Compose, Cutout, GaussianNoise, RandomFlip, RandomShift
from ._view import DatasetView

__all__ = ["DatasetView", "InputDict", "ImageFolder", "IMAGE_EXTENSIONS", "RandomShift", "RandomFlip",
           "GaussianNoise", "Cutout", "Compose"]
