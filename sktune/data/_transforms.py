"""Training-time augmentations of batch tensors, with their knobs as parameters.

Each is a small scikit-learn-style object (``get_params``/``set_params``,
cloneable, picklable) called on a whole training batch ``X`` on its device,
with torch's random stream (which the estimators seed), so
``train_transform=RandomShift(max_shift=2)`` puts
``train_transform__max_shift`` into a search space like any hyperparameter.
Strength 0 is the identity, so "no augmentation" is one value of the same
knob. The estimators apply ``train_transform`` to training batches only: never
to validation, scoring or prediction.
"""

from numbers import Integral, Real

import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

__all__ = ["RandomShift", "RandomFlip", "GaussianNoise", "Cutout", "Compose"]


def _image_batch(X, what):
    """``X`` as ``(N, C, H, W)`` (a ``(N, H, W)`` batch gains a channel), and
    whether it had one."""
    if X.dim() == 4:
        return X, True
    if X.dim() == 3:
        return X.unsqueeze(1), False
    raise ValueError(
        f"{what} needs batches of images of shape (N, C, H, W) or (N, H, W), but got a batch "
        f"of shape {tuple(X.shape)}. Give X as images (e.g. X.reshape(-1, 1, 8, 8) for "
        "digits) or an image dataset, with a module that takes them (modules.ConvNet)."
    )


class _Augmentation(BaseEstimator):
    """Base: ``__call__`` validates the parameters, then :meth:`transform`."""

    def __call__(self, X):
        self._validate_params()
        return self.transform(X)

    def transform(self, X):  # pragma: no cover - abstract
        raise NotImplementedError


class RandomShift(_Augmentation):
    """Shift each image by a random whole number of pixels, zero-filled.

    Parameters
    ----------
    max_shift : int, default=1
        Largest shift in pixels, drawn uniformly in ``[-max_shift, max_shift]``
        per sample along height and width; 0 is no augmentation.

    Examples
    --------
    >>> import torch
    >>> from sktune.data import RandomShift
    >>> RandomShift(max_shift=2)(torch.ones(4, 1, 8, 8)).shape
    torch.Size([4, 1, 8, 8])
    """

    _parameter_constraints = {"max_shift": [Interval(Integral, 0, None, closed="left")]}

    def __init__(self, max_shift=1):
        self.max_shift = max_shift

    def transform(self, X):
        m = int(self.max_shift)
        if m == 0:
            return X
        images, channelled = _image_batch(X, type(self).__name__)
        n, _, h, w = images.shape
        padded = torch.nn.functional.pad(images, (m, m, m, m))
        dy, dx = torch.randint(-m, m + 1, (2, n, 1), device=X.device)
        rows = torch.arange(h, device=X.device) + m - dy            # (n, h)
        cols = torch.arange(w, device=X.device) + m - dx            # (n, w)
        batch = torch.arange(n, device=X.device)[:, None, None]
        out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        out = out.permute(0, 3, 1, 2)
        return out if channelled else out.squeeze(1)


class RandomFlip(_Augmentation):
    """Mirror each image with probability ``p``.

    Parameters
    ----------
    p : float in [0, 1], default=0.5
        Probability of flipping a sample; 0 is no augmentation.
    axis : {'horizontal', 'vertical'}, default='horizontal'
        'horizontal' mirrors left and right (the last axis), 'vertical'
        top and bottom.

    Examples
    --------
    >>> import torch
    >>> from sktune.data import RandomFlip
    >>> RandomFlip(p=1.0)(torch.arange(3.0).reshape(1, 1, 1, 3)).flatten().tolist()
    [2.0, 1.0, 0.0]
    """

    _parameter_constraints = {"p": [Interval(Real, 0, 1, closed="both")],
                              "axis": [StrOptions({"horizontal", "vertical"})]}

    def __init__(self, p=0.5, axis="horizontal"):
        self.p = p
        self.axis = axis

    def transform(self, X):
        if self.p == 0:
            return X
        images, channelled = _image_batch(X, type(self).__name__)
        flip = torch.rand(len(images), device=X.device) < self.p
        dim = 3 if self.axis == "horizontal" else 2
        out = torch.where(flip[:, None, None, None], images.flip(dim), images)
        return out if channelled else out.squeeze(1)


class GaussianNoise(_Augmentation):
    """Add independent Gaussian noise to every input value.

    Works on any batch shape (tabular rows too).

    Parameters
    ----------
    std : float, default=0.1
        Standard deviation of the noise, in the inputs' units; 0 is no
        augmentation.

    Examples
    --------
    >>> import torch
    >>> from sktune.data import GaussianNoise
    >>> GaussianNoise(std=0.0)(torch.ones(2, 3)).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    _parameter_constraints = {"std": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, std=0.1):
        self.std = std

    def transform(self, X):
        if self.std == 0:
            return X
        return X + float(self.std) * torch.randn_like(X)


class Cutout(_Augmentation):
    """Blank out one random square patch of each image (DeVries & Taylor, 2017).

    Parameters
    ----------
    size : int, default=2
        Side of the square in pixels (clipped at the image's border, so
        patches near an edge are smaller); 0 is no augmentation.
    value : float, default=0.0
        What the patch is filled with.

    Examples
    --------
    >>> import torch
    >>> from sktune.data import Cutout
    >>> out = Cutout(size=2)(torch.ones(3, 1, 8, 8))
    >>> bool((out == 0).any()), out.shape
    (True, torch.Size([3, 1, 8, 8]))
    """

    _parameter_constraints = {"size": [Interval(Integral, 0, None, closed="left")],
                              "value": [Real]}

    def __init__(self, size=2, value=0.0):
        self.size = size
        self.value = value

    def transform(self, X):
        s = int(self.size)
        if s == 0:
            return X
        images, channelled = _image_batch(X, type(self).__name__)
        n, _, h, w = images.shape
        # patch centres anywhere in the image; the patch is clipped at the border
        cy = torch.randint(0, h, (n, 1), device=X.device)
        cx = torch.randint(0, w, (n, 1), device=X.device)
        top, left = cy - s // 2, cx - s // 2
        rows = torch.arange(h, device=X.device)
        cols = torch.arange(w, device=X.device)
        in_rows = (rows >= top) & (rows < top + s)                  # (n, h)
        in_cols = (cols >= left) & (cols < left + s)                # (n, w)
        mask = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]  # (n, 1, h, w)
        out = images.masked_fill(mask, float(self.value))
        return out if channelled else out.squeeze(1)


class Compose(BaseEstimator):
    """Several augmentations applied in turn, each searchable by its name.

    Parameters
    ----------
    steps : list of (name, transform) pairs
        Applied in order; a step's knobs are ``<name>__<knob>`` parameters
        (``train_transform__shift__max_shift``), and a step can be replaced
        as ``<name>``, as in a scikit-learn ``Pipeline``.

    Examples
    --------
    >>> import torch
    >>> from sktune.data import Compose, GaussianNoise, RandomShift
    >>> aug = Compose([("shift", RandomShift(1)), ("noise", GaussianNoise(0.05))])
    >>> aug.set_params(shift__max_shift=2).get_params()["shift__max_shift"]
    2
    >>> aug(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 1, 8, 8])
    """

    def __init__(self, steps):
        self.steps = steps

    def _checked_steps(self):
        steps = list(self.steps)
        for step in steps:
            if not (isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)
                    and callable(step[1])):
                raise ValueError(
                    f"Compose steps must be (name, transform) pairs with a callable transform; "
                    f"got {step!r}."
                )
        names = [name for name, _ in steps]
        bad = [n for n in names if "__" in n or n == "steps"]
        if len(set(names)) != len(names) or bad:
            raise ValueError(f"Compose step names must be unique, without '__' and not "
                             f"'steps'; got {names}.")
        return steps

    def get_params(self, deep=True):
        params = {"steps": self.steps}
        if not deep:
            return params
        for name, step in self._checked_steps():
            params[name] = step
            if hasattr(step, "get_params"):
                params.update({f"{name}__{k}": v for k, v in step.get_params(deep=True).items()})
        return params

    def set_params(self, **params):
        if "steps" in params:
            self.steps = params.pop("steps")
        steps = dict(self._checked_steps())
        nested = {}
        for key, value in params.items():
            name, sep, rest = key.partition("__")
            if name not in steps:
                raise ValueError(f"Invalid parameter {key!r} for Compose with steps "
                                 f"{list(steps)}.")
            if sep:
                nested.setdefault(name, {})[rest] = value
            else:
                steps[name] = value
        self.steps = list(steps.items())
        for name, sub in nested.items():
            steps[name].set_params(**sub)
        return self

    def __call__(self, X):
        for _, step in self._checked_steps():
            X = step(X)
        return X
