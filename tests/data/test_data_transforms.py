"""The augmentations: what each does to a batch, their parameters, their errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sktune.data import Compose, Cutout, GaussianNoise, RandomFlip, RandomShift

AUGMENTATIONS = [RandomShift(2), RandomFlip(1.0), GaussianNoise(0.3), Cutout(3)]
IDENTITIES = [RandomShift(0), RandomFlip(0.0), GaussianNoise(0.0), Cutout(0)]


def _dot(n=64, side=9):
    """``n`` images, each zero but one pixel in the centre."""
    x = torch.zeros(n, 1, side, side)
    x[:, 0, side // 2, side // 2] = 1.0
    return x


@pytest.mark.parametrize("aug", IDENTITIES, ids=lambda a: type(a).__name__)
def test_strength_zero_is_the_identity(aug):
    x = torch.rand(5, 1, 8, 8)
    assert aug(x) is x


@pytest.mark.parametrize("aug", AUGMENTATIONS, ids=lambda a: type(a).__name__)
def test_augmentations_keep_shape_and_change_the_batch(aug):
    torch.manual_seed(0)
    x = torch.rand(32, 3, 8, 8)
    out = aug(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not torch.equal(out, x)
    assert aug(torch.rand(4, 8, 8)).shape == (4, 8, 8)  # (N, H, W) batches too


def test_shift_moves_each_image_by_at_most_max_shift_and_fills_zeros():
    torch.manual_seed(0)
    out = RandomShift(max_shift=2)(_dot())
    rows, cols = out[:, 0].sum(dim=2).argmax(dim=1), out[:, 0].sum(dim=1).argmax(dim=1)
    assert torch.all(out.sum(dim=(1, 2, 3)) == 1)  # the dot is moved, never lost or doubled
    dy, dx = rows - 4, cols - 4
    assert dy.abs().max() == 2 and dx.abs().max() == 2
    assert len({(int(a), int(b)) for a, b in zip(dy, dx)}) > 10  # shifts vary per sample
    image = torch.arange(16.0).reshape(1, 1, 4, 4) + 1
    shifted = RandomShift(1)(image.repeat(50, 1, 1, 1))
    # every output is the image moved by (dy, dx) with zeros coming in
    for s in shifted:
        nz = s[0] != 0
        assert 9 <= int(nz.sum()) <= 16


def test_flip_mirrors_about_the_chosen_axis_with_probability_p():
    x = torch.arange(6.0).reshape(1, 1, 2, 3)
    assert RandomFlip(1.0)(x)[0, 0].tolist() == [[2, 1, 0], [5, 4, 3]]
    assert RandomFlip(1.0, axis="vertical")(x)[0, 0].tolist() == [[3, 4, 5], [0, 1, 2]]
    torch.manual_seed(0)
    flipped = (RandomFlip(0.3)(x.repeat(2000, 1, 1, 1))[:, 0, 0, 0] == 2).float().mean()
    assert 0.27 < float(flipped) < 0.33


def test_noise_has_the_given_standard_deviation_on_any_shape():
    torch.manual_seed(0)
    x = torch.zeros(500, 40)
    assert float(GaussianNoise(std=0.5)(x).std()) == pytest.approx(0.5, rel=0.02)


def test_cutout_blanks_a_square_of_at_most_size_squared_pixels():
    torch.manual_seed(0)
    out = Cutout(size=3, value=-1.0)(torch.ones(200, 2, 8, 8))
    blanked = (out == -1).sum(dim=(2, 3))
    assert torch.all(blanked[:, 0] == blanked[:, 1])  # the same patch on every channel
    assert int(blanked.max()) == 9 and int(blanked.min()) >= 4  # clipped at the border
    assert torch.all((out == -1) | (out == 1))


def test_image_augmentations_refuse_flat_rows_and_say_how_to_give_images():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*shape \(4, 64\).*reshape"):
        RandomShift(1)(torch.zeros(4, 64))


def test_parameters_are_validated_when_called():
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(-1)(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="axis"):
        RandomFlip(axis="diagonal")(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="p"):
        RandomFlip(p=2)(torch.zeros(2, 1, 4, 4))


def test_augmentations_are_cloneable_picklable_estimators_of_their_knobs():
    aug = RandomShift(max_shift=3)
    assert aug.get_params() == {"max_shift": 3}
    assert clone(aug).max_shift == 3 and clone(aug) is not aug
    assert pickle.loads(pickle.dumps(Cutout(4))).size == 4


def test_compose_names_its_steps_as_searchable_parameters():
    aug = Compose([("shift", RandomShift(1)), ("noise", GaussianNoise(0.1))])
    params = aug.get_params()
    assert params["shift__max_shift"] == 1 and params["noise__std"] == 0.1
    aug.set_params(shift__max_shift=0, noise=GaussianNoise(0.0))
    x = torch.rand(3, 1, 4, 4)
    assert torch.equal(aug(x), x)  # both steps now the identity
    copy = clone(aug)
    assert copy.steps[0][1] is not aug.steps[0][1] and copy.get_params()["noise__std"] == 0.0
    with pytest.raises(ValueError, match="Invalid parameter 'flip__p'"):
        aug.set_params(flip__p=0.5)
    with pytest.raises(ValueError, match="unique"):
        Compose([("a", RandomShift()), ("a", Cutout())]).get_params()
    with pytest.raises(ValueError, match=r"\(name, transform\) pairs"):
        Compose([RandomShift()])(x)


def test_augmentations_use_torchs_random_stream():
    x = torch.rand(16, 1, 8, 8)
    aug = Compose([("s", RandomShift(2)), ("f", RandomFlip()), ("n", GaussianNoise()),
                   ("c", Cutout())])
    torch.manual_seed(3)
    first = aug(x)
    torch.manual_seed(3)
    assert torch.equal(aug(x), first)
    assert np.isfinite(first.numpy()).all()
