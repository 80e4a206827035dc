"""Whole-pixel shifts without wrap-around, the shift lists, and accuracy under shifts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnncourse.shifts import DIRECTIONS, accuracy_under_shifts, direction_shifts, shift_images


def _naive_shift(img: torch.Tensor, dy: int, dx: int, fill=0) -> torch.Tensor:
    h, w = img.shape[-2:]
    out = torch.full_like(img, fill)
    for r in range(h):
        for c in range(w):
            if 0 <= r - dy < h and 0 <= c - dx < w:
                out[..., r, c] = img[..., r - dy, c - dx]
    return out


@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, 1), (-2, 0), (0, -3), (2, -1), (-4, 4), (5, 5), (-6, 0)])
def test_matches_a_pixel_by_pixel_reference(dy, dx):
    img = torch.randint(1, 256, (2, 1, 6, 7), dtype=torch.uint8)
    assert torch.equal(shift_images(img, dy, dx), _naive_shift(img, dy, dx))
    assert torch.equal(shift_images(img.float(), dy, dx, fill=-0.5), _naive_shift(img.float(), dy, dx, -0.5))


def test_no_wrap_around_and_fill_value():
    img = torch.arange(1, 17, dtype=torch.float32).reshape(4, 4)
    out = shift_images(img, 0, 1, fill=-1.0)
    assert (out[:, 0] == -1).all()  # the uncovered column is background
    assert torch.equal(out[:, 1:], img[:, :-1])  # the rest moved right
    assert not torch.equal(out, torch.roll(img, 1, dims=1))  # torch.roll wraps; shifting does not
    assert torch.equal(shift_images(img, 0, 0), img)
    assert shift_images(img, 0, 0) is not img


def test_shift_there_and_back_keeps_the_interior():
    img = torch.randn(3, 10, 10)
    back = shift_images(shift_images(img, 2, -3), -2, 3)
    assert torch.equal(back[:, :8, 3:], img[:, :8, 3:])


def test_shift_out_of_frame_is_all_background():
    img = torch.ones(1, 28, 28, dtype=torch.uint8)
    assert (shift_images(img, 28, 0) == 0).all() and (shift_images(img, 0, -40, fill=3) == 3).all()


def test_shape_dtype_device_preserved():
    img = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    out = shift_images(img, 3, -2)
    assert out.shape == img.shape and out.dtype == img.dtype and out.device == img.device
    assert int(out.sum()) <= int(img.sum())  # ink can only leave the frame


def test_bad_arguments():
    with pytest.raises(TypeError, match="images"):
        shift_images([[1, 2]], 0, 1)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        shift_images(torch.ones(5), 0, 1)
    with pytest.raises(TypeError, match="dx"):
        shift_images(torch.ones(3, 3), 0, 1.5)
    with pytest.raises(TypeError, match="dy"):
        shift_images(torch.ones(3, 3), True, 1)


def test_direction_shifts():
    shifts = direction_shifts(3)
    assert list(shifts) == list(DIRECTIONS)
    assert shifts["right"] == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert shifts["up"] == [(0, 0), (-1, 0), (-2, 0), (-3, 0)]
    assert direction_shifts(0, ["down"]) == {"down": [(0, 0)]}
    with pytest.raises(ValueError, match="direction"):
        direction_shifts(2, ["sideways"])
    with pytest.raises(ValueError, match="max_shift"):
        direction_shifts(-1)


class _PeakAt(nn.Module):
    """Predicts 1 when the brightest pixel lies in the left half, else 0: not shift-invariant."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        w = x.shape[-1]
        col = x.flatten(1).argmax(1) % w
        return torch.stack([(col >= w // 2).float(), (col < w // 2).float()], 1)


def test_accuracy_under_shifts():
    images = torch.zeros(4, 8, 8, dtype=torch.uint8)
    for i, c in enumerate((1, 2, 5, 6)):
        images[i, 4, c] = 255
    labels = torch.tensor([1, 1, 0, 0])
    model = _PeakAt()
    model.train()
    acc = accuracy_under_shifts(model, images, labels, [(0, 0), (0, 2), (0, 0), (2, 0)],
                                transform=lambda x: x.float() / 255, batch_size=3)
    assert acc == {(0, 0): 1.0, (0, 2): 0.5, (2, 0): 1.0}
    assert model.training  # mode restored
    with pytest.raises(TypeError, match=r"shifts\[0\] must be a pair \(dy, dx\) of ints, got int \(3\)"):
        accuracy_under_shifts(model, images, labels, [3])
    with pytest.raises(ValueError, match="same non-zero length"):
        accuracy_under_shifts(model, images, labels[:2], [(0, 0)])


# --------------------------------------------------------------------------- augmentation
from cnncourse.data import TensorBatches  # noqa: E402
from cnncourse.shifts import ShiftAugmented, random_shifts  # noqa: E402


@pytest.mark.parametrize("shape", [(40, 9, 7), (40, 2, 9, 7)])
def test_random_shifts_equal_shift_images(shape):
    images = torch.randint(0, 255, shape).float()
    out, offsets = random_shifts(images, 3, fill=-1.5, generator=torch.Generator().manual_seed(0))
    assert out.shape == images.shape and offsets.shape == (shape[0], 2)
    assert offsets.abs().max() <= 3 and len({tuple(o) for o in offsets.tolist()}) > 5
    for img, (dy, dx), got in zip(images, offsets.tolist(), out):
        assert torch.equal(got, _naive_shift(img, dy, dx, fill=-1.5))


def test_random_shifts_zero_is_identity_and_bad_input():
    images = torch.rand(5, 1, 6, 6)
    out, offsets = random_shifts(images, 0)
    assert torch.equal(out, images) and not offsets.any()
    with pytest.raises(ValueError, match="max_shift"):
        random_shifts(images, -1)
    with pytest.raises(TypeError, match="max_shift"):
        random_shifts(images, 1.0)
    with pytest.raises(ValueError, match="shape"):
        random_shifts(images[0, 0], 1)


def test_shift_augmented_batches():
    x, y = torch.rand(50, 1, 8, 8), torch.arange(50)
    batches = TensorBatches(x, y, batch_size=16)
    aug = ShiftAugmented(batches, 2, seed=0)
    assert len(aug) == len(batches) == 4
    first = [b for b, _ in aug]
    second = [b for b, _ in aug]
    assert torch.equal(torch.cat([t for _, t in aug]), y)              # labels untouched, in order
    assert not all(torch.equal(a, b) for a, b in zip(first, second))  # new shifts every epoch
    again = [b for b, _ in ShiftAugmented(batches, 2, seed=0)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))        # seeded


def test_accuracy_under_shifts_in_a_training_configuration():
    """The precision and memory format of the forward passes are those of evaluate()."""
    from torch import nn

    from cnncourse.data import standardize
    from cnncourse.training import evaluate

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (64,))
    for options in ({}, {"channels_last": True}, {"channels_last": True, "autocast_dtype": torch.bfloat16}):
        shifted = accuracy_under_shifts(model, images, labels, [(0, 0)], transform=standardize,
                                        batch_size=16, **options)
        x = standardize(images)
        expected = evaluate(model, [(x[i:i + 16], labels[i:i + 16]) for i in range(0, 64, 16)], **options)
        assert shifted[(0, 0)] == expected.accuracy, options
    with pytest.raises(ValueError, match="autocast_dtype"):
        accuracy_under_shifts(model, images, labels, [(0, 0)], autocast_dtype=torch.int8)


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
def _tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))


@pytest.mark.parametrize("call, exc, words", [
    # sequences: None or a number is no sequence; an entry is named by its index
    (lambda: direction_shifts(2, None), TypeError, ["directions", "None"]),
    (lambda: direction_shifts(2, 3), TypeError, ["directions", "int"]),
    (lambda: direction_shifts(2, ["up", "a"]), ValueError, ["directions[1]", "'a'"]),
    (lambda: direction_shifts(2, "up"), TypeError, ["directions", "'up'"]),
    (lambda: accuracy_under_shifts(_tiny_model(), torch.zeros(4, 8, 8), torch.zeros(4).long(), None),
     TypeError, ["shifts", "None"]),
    (lambda: accuracy_under_shifts(_tiny_model(), torch.zeros(4, 8, 8), torch.zeros(4).long(), [(0, 0), (1, 2, 3)]),
     ValueError, ["shifts[1]", "3 values"]),
    (lambda: accuracy_under_shifts(_tiny_model(), torch.zeros(4, 8, 8), torch.zeros(4).long(), [(0, 0.5)]),
     TypeError, ["shifts[0][1] (dx)", "0.5"]),
    # images and labels: each named, with its shape
    (lambda: accuracy_under_shifts(_tiny_model(), np.zeros((4, 8, 8)), torch.zeros(4).long(), [(0, 0)]),
     TypeError, ["images", "NumPy array"]),
    (lambda: accuracy_under_shifts(_tiny_model(), torch.zeros(4, 8, 8), [0, 1, 2, 1], [(0, 0)]),
     TypeError, ["labels", "list"]),
    (lambda: accuracy_under_shifts(_tiny_model(), torch.zeros(4, 8, 8), torch.tensor(1), [(0, 0)]),
     ValueError, ["labels", "0-d tensor"]),
    (lambda: accuracy_under_shifts(_tiny_model(), torch.zeros(1, 8, 8), torch.zeros(4).long(), [(0, 0)]),
     ValueError, ["images and labels", "(1, 8, 8)", "(4,)"]),
    (lambda: accuracy_under_shifts(_tiny_model(), torch.zeros(8, 8), torch.zeros(8).long(), [(0, 0)]),
     ValueError, ["images", "(N, H, W)", "(8, 8)"]),
    # complex images have no pixels to shift
    (lambda: shift_images(torch.zeros(2, 3, 3, dtype=torch.complex64), 0, 1), TypeError, ["images", "complex"]),
    (lambda: random_shifts(torch.zeros(2, 3, 3, dtype=torch.complex64), 1), TypeError, ["images", "complex"]),
    # the seed of ShiftAugmented is an int that torch.Generator takes
    (lambda: ShiftAugmented([], 1, seed=True), TypeError, ["seed", "bool"]),
    (lambda: ShiftAugmented([], 1, seed=2.5), TypeError, ["seed", "2.5"]),
    (lambda: ShiftAugmented([], 1, seed=2**64), ValueError, ["seed", str(2**64)]),
])
def test_shift_arguments_are_named_with_their_value(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_shift_augmented_takes_numpy_and_tensor_seeds():
    a = ShiftAugmented([], 1, seed=np.int64(3)).generator.initial_seed()
    assert a == ShiftAugmented([], 1, seed=torch.tensor(3)).generator.initial_seed() == 3
