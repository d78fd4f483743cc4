"""Tests for cnnlab.data: embedded sets, the torchvision path (offline, with a fake MNIST on disk),
the fallback, TensorLoader and the batched augmentations. Nothing here touches the network."""
from __future__ import annotations

import collections
import struct
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from sklearn.datasets import load_digits

from cnnlab import data
from cnnlab.data import (Augment, DatasetUnavailableError, ImageData, TensorLoader, UnknownDatasetError,
                         contrast_stretch, equalize, load, random_flip, random_rotate, random_shift, rotate)


@pytest.fixture(autouse=True)
def _no_default_root(tmp_path_factory, monkeypatch):
    # Never read or write the user's cache: the default root is an empty temporary folder.
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path_factory.mktemp("default_root")))


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return load("digits")


@pytest.fixture(scope="module")
def shapes() -> ImageData:
    return load("shapes", n_train=300, n_test=100, seed=3)


def _assert_normalised(x: torch.Tensor) -> None:
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-4)
    assert torch.allclose(std, torch.ones_like(std), atol=1e-4)


def _rows(x: torch.Tensor) -> collections.Counter:
    """Multiset of images, each as a tuple of (rounded) pixel values."""
    return collections.Counter(tuple(r) for r in x.flatten(1).round(decimals=3).tolist())


def test_list_datasets():
    assert data.list_datasets() == ["digits", "shapes", "mnist", "fashion_mnist", "cifar10", "cifar100"]


# --- digits ----------------------------------------------------------------------------------

def test_digits_shapes_and_types(digits):
    assert digits.name == "digits" and digits.source == "embedded"
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert digits.x_train.shape[1:] == (1, 32, 32) and digits.x_test.shape[1:] == (1, 32, 32)
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert len(digits.x_test) >= 300
    assert digits.num_classes == 10 and digits.in_channels == 1 and digits.image_size == (32, 32)
    assert digits.classes == [str(d) for d in range(10)]
    _assert_normalised(digits.x_train)
    pixels = digits.denormalize(digits.x_train)
    assert pixels.min() == 0 and pixels.max() == 1


def test_digits_split_is_a_stratified_partition():
    d = load("digits", image_size=8)  # native size: pixels are the original 16 grey levels
    levels = torch.cat([d.denormalize(d.x_train), d.denormalize(d.x_test)]) * 16
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    # Train and test together are exactly the 1,797 scikit-learn images, each once.
    original = torch.as_tensor(load_digits().images, dtype=torch.float32).unsqueeze(1)
    assert _rows(levels) == _rows(original)
    per_class = torch.bincount(d.y_test, minlength=10)
    assert per_class.max() - per_class.min() <= 1  # stratified
    all_labels = torch.cat([d.y_train, d.y_test])
    assert torch.equal(torch.bincount(all_labels), torch.as_tensor(np.bincount(load_digits().target)))


def test_digits_seed_and_subsample(digits):
    again = load("digits")
    assert torch.equal(again.x_train, digits.x_train) and torch.equal(again.y_test, digits.y_test)
    other = load("digits", seed=1)
    assert not torch.equal(other.y_test, digits.y_test)
    small = load("digits", n_train=100, n_test=50)
    assert small.x_train.shape == (100, 1, 32, 32) and small.x_test.shape == (50, 1, 32, 32)
    assert torch.equal(torch.bincount(small.y_train), torch.full((10,), 10))  # class-balanced
    _assert_normalised(small.x_train)
    assert load("digits", n_train=10**6).x_train.shape[0] == len(digits.x_train)  # at most what there is
    assert load("digits", image_size=(16, 24)).image_size == (16, 24)


# --- shapes ----------------------------------------------------------------------------------

def test_shapes_shapes_types_and_normalisation(shapes):
    assert shapes.x_train.shape == (300, 3, 32, 32) and shapes.x_test.shape == (100, 3, 32, 32)
    assert shapes.x_train.dtype == torch.float32 and shapes.y_train.dtype == torch.int64
    assert shapes.classes == list(data.SHAPE_CLASSES) and shapes.num_classes == 10
    assert torch.equal(torch.bincount(shapes.y_train), torch.full((10,), 30))  # balanced
    _assert_normalised(shapes.x_train)
    assert len(shapes.mean) == len(shapes.std) == 3
    pixels = shapes.denormalize(shapes.x_test)
    assert pixels.min() >= 0 and pixels.max() <= 1


def test_shapes_deterministic_and_train_differs_from_test(shapes):
    again = load("shapes", n_train=300, n_test=100, seed=3)
    assert torch.equal(again.x_train, shapes.x_train) and torch.equal(again.x_test, shapes.x_test)
    assert torch.equal(again.y_train, shapes.y_train)
    other = load("shapes", n_train=300, n_test=100, seed=4)
    assert not torch.equal(other.x_train, shapes.x_train)
    # No test image is near a train image, even when the splits have the same size (a shared
    # generator stream would then give identical splits).
    assert torch.cdist(shapes.x_test.flatten(1), shapes.x_train.flatten(1)).min() > 1.0
    same_size = load("shapes", n_train=50, n_test=50)
    assert torch.cdist(same_size.x_test.flatten(1), same_size.x_train.flatten(1)).min() > 1.0


def test_shapes_options():
    d = load("shapes", n_train=40, n_test=20, image_size=(24, 40), num_classes=4, difficulty=1.0)
    assert d.x_train.shape == (40, 3, 24, 40) and d.classes == list(data.SHAPE_CLASSES[:4])
    assert d.y_train.max() == 3 and d.y_test.max() <= 3
    easy, hard = (load("shapes", n_train=200, n_test=10, difficulty=v, seed=0) for v in (0.0, 1.0))
    # Harder: more pixel noise, so neighbouring pixels differ more.
    def roughness(d):
        x = d.denormalize(d.x_train)
        return (x[..., 1:] - x[..., :-1]).abs().mean()
    assert roughness(hard) > 2 * roughness(easy)


@pytest.mark.parametrize("shape, area", [
    ("circle", np.pi), ("ring", np.pi * (1 - 0.55**2)), ("square", 1.6**2), ("diamond", 2.0),
    ("triangle", 3 * np.sqrt(3) / 4), ("cross", 1.75), ("horizontal bar", 0.88), ("vertical bar", 0.88),
])
def test_shape_masks_have_the_right_area(shape, area):
    grid = torch.linspace(-1.2, 1.2, 481)
    v, u = torch.meshgrid(grid, grid, indexing="ij")
    mask = data._shape_mask(shape, u[None], v[None])[0]
    assert mask.float().mean() * 2.4**2 == pytest.approx(area, rel=0.03)
    rows, cols = mask.nonzero().unbind(1)
    height, width = rows.max() - rows.min(), cols.max() - cols.min()
    if shape == "horizontal bar":
        assert width > 3 * height
    if shape == "vertical bar":
        assert height > 3 * width


def test_make_shapes_range_and_labels():
    x, y = data.make_shapes(100, (32, 32), 10, 0.0, torch.Generator().manual_seed(0))
    assert x.shape == (100, 3, 32, 32) and x.min() >= 0 and x.max() <= 1
    assert torch.equal(torch.bincount(y), torch.full((10,), 10))


# --- errors ----------------------------------------------------------------------------------

def test_unknown_name_suggests_close_match():
    with pytest.raises(UnknownDatasetError) as info:
        load("cifar1O")
    message = str(info.value)
    assert "did you mean 'cifar10'" in message and "digits" in message
    assert not message.startswith('"')  # the plain message, not KeyError's quoted repr
    assert isinstance(info.value, KeyError)


@pytest.mark.parametrize("kwargs", [
    dict(n_train=0), dict(n_test=-5), dict(image_size=4), dict(image_size=(32, 7)),
    dict(difficulty=1.5), dict(difficulty=-0.1), dict(num_classes=1), dict(colour="red"),
])
def test_bad_options_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        load("shapes", **kwargs)


def test_option_of_another_data_set_is_rejected():
    with pytest.raises(ValueError, match="difficulty"):
        load("digits", difficulty=0.5)


# --- TensorLoader ----------------------------------------------------------------------------

def _ids_loader(n=100, **kwargs) -> TensorLoader:
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1)  # each image holds its own index
    return TensorLoader(x, torch.arange(n), **kwargs)


def test_loader_batches_and_drop_last():
    loader = _ids_loader(batch_size=32)
    assert len(loader) == 4 and loader.dataset_size == 100 and loader.batch_size == 32
    batches = list(loader)
    assert [len(y) for _, y in batches] == [32, 32, 32, 4]
    assert torch.equal(torch.cat([y for _, y in batches]), torch.arange(100))  # unshuffled: in order
    dropped = _ids_loader(batch_size=32, drop_last=True)
    assert len(dropped) == 3 and [len(y) for _, y in dropped] == [32, 32, 32]
    assert len(_ids_loader(batch_size=25, drop_last=True)) == 4


def test_loader_shuffles_each_epoch_reproducibly():
    loader = _ids_loader(batch_size=16, shuffle=True, seed=7)
    epoch1 = torch.cat([y for _, y in loader])
    epoch2 = torch.cat([y for _, y in loader])
    assert torch.equal(epoch1.sort().values, torch.arange(100))  # each sample exactly once
    assert torch.equal(epoch2.sort().values, torch.arange(100))
    assert not torch.equal(epoch1, epoch2) and not torch.equal(epoch1, torch.arange(100))
    twin = _ids_loader(batch_size=16, shuffle=True, seed=7)
    assert torch.equal(torch.cat([y for _, y in twin]), epoch1)
    assert torch.equal(torch.cat([y for _, y in twin]), epoch2)
    other = _ids_loader(batch_size=16, shuffle=True, seed=8)
    assert not torch.equal(torch.cat([y for _, y in other]), epoch1)
    for x, y in _ids_loader(batch_size=16, shuffle=True):
        assert torch.equal(x.view(-1).long(), y)  # images stay with their labels


def test_loader_applies_augment_and_device():
    loader = _ids_loader(batch_size=10, augment=lambda x: x + 1000, device="cpu")
    assert loader.device == torch.device("cpu")
    x, y = next(iter(loader))
    assert torch.equal(x.view(-1), y.float() + 1000)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_loader_and_augment_on_cuda(shapes):
    loader = shapes.loader("train", batch_size=50, device="cuda", augment=Augment(flip=True, shift=4))
    assert loader.x.device.type == "cuda"  # moved once, at construction
    x, y = next(iter(loader))
    assert x.device.type == "cuda" and y.device.type == "cuda" and x.shape == (50, 3, 32, 32)
    on_cpu = torch.cat([y for _, y in shapes.loader("train", batch_size=50)])
    on_gpu = torch.cat([y.cpu() for _, y in shapes.loader("train", batch_size=50, device="cuda")])
    assert torch.equal(on_cpu, on_gpu)  # the same permutation whatever the device


def test_image_data_loader_to_and_repr(digits):
    train = digits.loader("train", batch_size=64)
    test = digits.loader("test", batch_size=64)
    assert train.shuffle and not test.shuffle
    assert len(test) == -(-len(digits.y_test) // 64)
    x, y = next(iter(test))
    assert x.shape == (64, 1, 32, 32) and torch.equal(y, digits.y_test[:64])
    with pytest.raises(ValueError):
        digits.loader("val")
    moved = digits.to("cpu")
    assert moved is not digits and torch.equal(moved.x_train, digits.x_train)
    text = repr(digits)
    assert "\n" not in text and "digits" in text and "embedded" in text
    assert str(len(digits.y_train)) in text and "(1, 32, 32)" in text and "classes=10" in text


def test_digits_batch_fits_lenet5(digits):
    from cnnlab.models import get_model

    x, _ = next(iter(digits.loader("test", batch_size=8)))
    assert get_model("lenet5", num_classes=digits.num_classes, in_channels=digits.in_channels)(x).shape == (8, 10)


# --- augmentation ----------------------------------------------------------------------------

def test_flip():
    x = torch.randn(6, 3, 5, 7)
    assert torch.equal(random_flip(x, p=1.0), x.flip(-1))
    assert torch.equal(random_flip(random_flip(x, p=1.0), p=1.0), x)
    assert torch.equal(random_flip(x, p=0.0), x)
    g = torch.Generator().manual_seed(0)
    mixed = random_flip(torch.randn(200, 1, 2, 2), generator=g)
    assert mixed.shape == (200, 1, 2, 2)


def test_flip_flips_about_half():
    x = torch.arange(2.0).view(1, 1, 1, 2).repeat(1000, 1, 1, 1)  # [0, 1] in every image
    flipped = random_flip(x, p=0.5, generator=torch.Generator().manual_seed(1))[:, 0, 0, 0] == 1
    assert 400 < flipped.sum() < 600


def test_shift_zero_is_identity():
    x = torch.randn(4, 3, 8, 8)
    assert torch.equal(random_shift(x, max_shift=0), x)


def test_shift_moves_content_by_the_drawn_offsets():
    n, m, size = 64, 3, 11
    x = torch.zeros(n, 2, size, size)
    x[:, :, 5, 5] = 1.0  # one hot pixel in the centre of each image, both channels
    out = random_shift(x, max_shift=m, generator=torch.Generator().manual_seed(5))
    offsets = torch.randint(-m, m + 1, (n, 2), generator=torch.Generator().manual_seed(5))
    assert out.shape == x.shape
    assert (offsets != 0).any(dim=1).sum() > n / 2  # the test would notice a no-op
    for i in range(n):
        expected = torch.zeros(2, size, size)
        expected[:, 5 + offsets[i, 0], 5 + offsets[i, 1]] = 1.0
        assert torch.equal(out[i], expected)


def test_shift_zero_fill_and_reflect():
    x = torch.rand(8, 3, 6, 6) + 1  # no zeros anywhere
    out = random_shift(x, max_shift=6, generator=torch.Generator().manual_seed(0))
    offsets = torch.randint(-6, 7, (8, 2), generator=torch.Generator().manual_seed(0))
    for i, (dy, dx) in enumerate(offsets.tolist()):
        lost = 6 * 6 - (6 - abs(dy)) * (6 - abs(dx))  # pixels shifted in from outside
        assert (out[i, 0] == 0).sum() == lost
    reflected = random_shift(x, max_shift=2, padding_mode="reflect")
    assert reflected.shape == x.shape and (reflected > 0).all()


def test_augment_composes():
    x = torch.randn(16, 3, 8, 8)
    assert torch.equal(Augment(flip=False, shift=0)(x), x)
    out = Augment(flip=True, shift=2)(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert "flip=True" in repr(Augment(flip=True, shift=4)) and "shift=4" in repr(Augment(flip=True, shift=4))
    with pytest.raises(ValueError):
        Augment(shift=-1)


def test_augment_rotate_is_optional_and_backwards_compatible():
    x = torch.randn(16, 3, 8, 8)
    assert Augment(False, 0, "zeros", None).rotate == 0  # the old positional order still works
    assert torch.equal(Augment(flip=False, shift=0, rotate=0)(x), x)
    out = Augment(flip=False, rotate=30, generator=torch.Generator().manual_seed(0))(x)
    angles = 30 * (2 * torch.rand(16, generator=torch.Generator().manual_seed(0)) - 1)
    assert torch.allclose(out, rotate(x, angles))
    assert "rotate=30" in repr(Augment(rotate=30))
    with pytest.raises(ValueError, match="rotate"):
        Augment(rotate=-5)


# rotate: affine_grid + grid_sample

def test_rotate_by_zero_is_identity():
    x = torch.randn(4, 3, 9, 7)
    assert torch.allclose(rotate(x, 0.0), x, atol=1e-5)
    assert torch.equal(random_rotate(x, 0), x)


def test_rotate_by_90_on_a_square_image_equals_rot90():
    x = torch.randn(4, 2, 10, 10)
    for k in (1, 2, 3, -1):
        expected = torch.rot90(x, k, dims=(-2, -1))  # k > 0: counter-clockwise
        out = rotate(x, 90.0 * k)
        # pixel centres land on pixel centres, so only rounding (and, at most, a sliver of the zero
        # fill at the edges) separates the two
        assert torch.allclose(out[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-5)
        assert torch.allclose(out, expected, atol=1e-4)


def test_rotate_takes_one_angle_per_image_and_keeps_non_square_images_unsheared():
    x = torch.randn(3, 1, 8, 8)
    out = rotate(x, torch.tensor([0.0, 90.0, 180.0]))
    assert torch.allclose(out[0], x[0], atol=1e-5)
    assert torch.allclose(out[1], torch.rot90(x[1], 1, dims=(-2, -1)), atol=1e-4)
    assert torch.allclose(out[2], x[2].flip(-1).flip(-2), atol=1e-4)
    wide = torch.randn(2, 3, 6, 11)
    assert torch.allclose(rotate(wide, 180.0), wide.flip(-1).flip(-2), atol=1e-4)


def test_rotate_agrees_with_torchvision_away_from_the_corners():
    from torchvision.transforms.v2 import functional as TF

    x = torch.rand(2, 3, 24, 24)
    ours = rotate(x, 30.0)
    theirs = TF.rotate(x, 30.0, interpolation=TF.InterpolationMode.BILINEAR)  # also counter-clockwise
    assert torch.allclose(ours[..., 6:-6, 6:-6], theirs[..., 6:-6, 6:-6], atol=1e-4)


def test_random_rotate_draws_one_angle_per_image_within_the_bound():
    x = torch.rand(64, 1, 12, 12) + 1  # no zeros: the zero fill shows where a corner was rotated in
    out = random_rotate(x, 20, generator=torch.Generator().manual_seed(3))
    angles = 20 * (2 * torch.rand(64, generator=torch.Generator().manual_seed(3)) - 1)
    assert angles.abs().max() <= 20 and angles.unique().numel() == 64
    assert torch.allclose(out, rotate(x, angles), atol=1e-6)
    reflected = random_rotate(x, 20, padding_mode="reflect")
    assert (reflected > 0.5).all()  # nothing filled with zeros


@pytest.mark.parametrize("call, match", [
    (lambda: rotate(torch.randn(3, 8, 8), 10), "batch"),
    (lambda: rotate(torch.randn(2, 3, 8, 8), 10, padding_mode="wrap"), "padding_mode"),
    (lambda: rotate(torch.randn(2, 3, 8, 8), torch.zeros(3)), "one per image"),
    (lambda: random_rotate(torch.randn(2, 3, 8, 8), -1), "max_degrees"),
])
def test_rotate_rejects_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# contrast stretching

def test_contrast_stretch_maps_the_percentiles_to_the_range_ends():
    g = torch.Generator().manual_seed(0)
    x = 0.3 + 0.2 * torch.rand(5, 3, 20, 20, generator=g) ** 2  # dull, skewed images in [0.3, 0.5]
    out = contrast_stretch(x, low_pct=2, high_pct=98)
    flat = x.flatten(-2).numpy()
    low = np.percentile(flat, 2, axis=-1, keepdims=True)
    high = np.percentile(flat, 98, axis=-1, keepdims=True)
    expected = np.clip((flat - low) / (high - low), 0, 1).reshape(x.shape)
    assert np.allclose(out.numpy(), expected, atol=1e-5)
    # each channel now spans [0, 1]: about 2 % of its pixels at 0 and 2 % at 1
    assert torch.equal(out.amin((-2, -1)), torch.zeros(5, 3)) and torch.equal(out.amax((-2, -1)), torch.ones(5, 3))
    at_ends = torch.stack([(out == 0).flatten(-2).float().mean(-1), (out == 1).flatten(-2).float().mean(-1)])
    assert at_ends.min() >= 0.01 and at_ends.max() <= 0.03
    # with 0 and 100 it is min-max scaling
    minmax = (x - x.amin((-2, -1), keepdim=True)) / (x.amax((-2, -1), keepdim=True) - x.amin((-2, -1), keepdim=True))
    assert torch.allclose(contrast_stretch(x, 0, 100), minmax, atol=1e-5)


def test_contrast_stretch_leaves_flat_channels_alone_and_checks_its_arguments():
    x = torch.rand(2, 2, 6, 6)
    x[1, 0] = 0.25
    out = contrast_stretch(x)
    assert torch.equal(out[1, 0], x[1, 0])
    assert out[0].amax() == 1
    with pytest.raises(ValueError, match="low_pct"):
        contrast_stretch(x, low_pct=50, high_pct=10)


# histogram equalisation

def test_equalize_matches_torchvision_within_one_grey_level():
    # on 256×256 images, where torchvision's integer step (see the next test) is >= 255
    from torchvision.transforms.v2 import functional as TF

    g = torch.Generator().manual_seed(0)
    skewed = (255 * torch.rand(2, 3, 256, 256, generator=g) ** 3).to(torch.uint8)  # mostly dark
    smooth = F.interpolate(torch.rand(2, 3, 4, 4, generator=g), size=256, mode="bilinear")
    for x in (skewed, (40 + 150 * smooth).to(torch.uint8)):
        ours, theirs = equalize(x), TF.equalize(x)
        assert ours.dtype == torch.uint8 and ours.shape == x.shape
        assert (ours.int() - theirs.int()).abs().max() <= 1


def test_equalize_differs_from_torchvision_on_small_images_only_by_its_integer_step():
    # PIL and torchvision divide by step = (P - n_top) // 255, rounded down; with that step the
    # same formula gives their result exactly, on a 32×32 image too, where the rounding matters
    from torchvision.transforms.v2 import functional as TF

    x = (255 * torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0)) ** 2).to(torch.uint8)
    levels = x.flatten(-2).long()
    hist = torch.zeros(8, 3, 256, dtype=torch.long).scatter_add_(-1, levels, torch.ones_like(levels))
    darker = hist.cumsum(-1) - hist
    n_top = hist.gather(-1, levels.amax(-1, keepdim=True))
    step = (32 * 32 - n_top) // 255
    lut = ((darker + step // 2) // step).clamp(0, 255)
    assert torch.equal(lut.gather(-1, levels).view_as(x).to(torch.uint8), TF.equalize(x))
    assert (equalize(x).int() - TF.equalize(x).int()).abs().max() > 1  # ours divides exactly


def test_equalize_flattens_the_histogram():
    x = torch.rand(4, 1, 64, 64, generator=torch.Generator().manual_seed(1)) ** 2  # crowded near 0
    out = equalize(x, bins=256)
    assert out.dtype == x.dtype and out.min() == 0 and out.max() == 1
    # after equalisation the share of pixels below a level is about the level itself
    for t in (0.25, 0.5, 0.75):
        share = (out < t).float().mean().item()
        assert abs(share - t) < 0.02, (t, share)
    # float and uint8 inputs take the same route
    as_uint8 = (x * 255).round().to(torch.uint8)
    assert torch.allclose(out, equalize(as_uint8).float() / 255, atol=1e-6)


def test_equalize_keeps_single_level_channels_and_checks_its_arguments():
    x = torch.rand(1, 2, 8, 8)
    x[0, 1] = 0.5
    out = equalize(x)
    assert torch.equal(out[0, 1], x[0, 1])
    with pytest.raises(ValueError, match="bins"):
        equalize(x, bins=1)
    with pytest.raises(ValueError, match="bins=256"):
        equalize(torch.zeros(1, 1, 4, 4, dtype=torch.uint8), bins=16)
    with pytest.raises(TypeError):
        equalize(torch.zeros(1, 1, 4, 4, dtype=torch.int32))


# --- torchvision path, offline ---------------------------------------------------------------

def _write_idx(path, array: np.ndarray) -> None:
    """torchvision's raw MNIST format: a big-endian magic (0x08 = uint8, then the number of
    dimensions), the sizes as big-endian int32, then the bytes."""
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x0800 + array.ndim))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_mnist(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = {"train": rng.integers(0, 256, (60, 28, 28)), "t10k": rng.integers(0, 256, (20, 28, 28))}
    labels = {"train": np.arange(60) % 10, "t10k": np.arange(20) % 10}
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images[split])
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels[split])
    return tmp_path, images, labels


def test_torchvision_mnist_from_disk(fake_mnist):
    root, images, labels = fake_mnist
    d = load("mnist", root=root, download=False)
    assert d.source == "torchvision" and d.name == "mnist"
    assert d.x_train.shape == (60, 1, 28, 28) and d.x_test.shape == (20, 1, 28, 28)
    assert d.classes == torchvision.datasets.MNIST.classes
    _assert_normalised(d.x_train)
    expected = torch.as_tensor(images["t10k"], dtype=torch.float32).unsqueeze(1) / 255
    assert torch.allclose(d.denormalize(d.x_test), expected, atol=1e-5)
    assert torch.equal(d.y_train, torch.as_tensor(labels["train"]))
    small = load("mnist", root=root, download=False, n_train=20, image_size=32)
    assert small.x_train.shape == (20, 1, 32, 32) and torch.equal(torch.bincount(small.y_train), torch.full((10,), 2))


def test_torchvision_root_from_environment(fake_mnist, monkeypatch):
    root, _, _ = fake_mnist
    monkeypatch.setenv("CNNLAB_DATA", str(root))
    assert load("mnist", download=False).source == "torchvision"


def test_offline_fallback_prints_one_line(tmp_path, capsys):
    d = load("mnist", root=tmp_path, download=False, n_train=50, n_test=20)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "MNIST" in out and str(tmp_path) in out and "'digits'" in out
    assert d.name == "digits" and d.source == "embedded"
    assert d.x_train.shape == (50, 1, 28, 28) and d.x_test.shape == (20, 1, 28, 28)
    cifar = load("cifar100", root=tmp_path, download=False, n_train=30, n_test=10)
    assert "CIFAR-100" in capsys.readouterr().out
    assert cifar.name == "shapes" and cifar.x_train.shape == (30, 3, 32, 32) and cifar.num_classes == 10


def test_no_fallback_raises(tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        load("fashion_mnist", root=tmp_path, download=False, fallback=False)
    message = str(info.value)
    assert "Fashion-MNIST" in message and str(tmp_path) in message and "fallback=True" in message
    assert "\n" not in message


@pytest.mark.parametrize("name, cls, stand_in", [("mnist", "MNIST", "digits"), ("cifar10", "CIFAR10", "shapes")])
def test_failed_download_falls_back(tmp_path, capsys, monkeypatch, name, cls, stand_in):
    calls = []

    def offline(self):
        calls.append(type(self).__name__)
        raise URLError("no network")

    monkeypatch.setattr(getattr(torchvision.datasets, cls), "download", offline)
    d = load(name, root=tmp_path, n_train=20, n_test=10)  # download=True by default
    out = capsys.readouterr().out
    assert calls and out.count("\n") == 1 and "could not be downloaded" in out
    assert d.name == stand_in
    with pytest.raises(DatasetUnavailableError, match="could not be downloaded"):
        load(name, root=tmp_path, fallback=False)


def test_cifar_layout_is_converted(tmp_path, monkeypatch):
    # torchvision's CIFAR checks MD5s of the real files, so a stand-in class plays it: NumPy
    # (N, H, W, C) uint8 images and a list of labels, as CIFAR10 has them.
    class FakeCIFAR10:
        classes = [f"class{i}" for i in range(10)]

        def __init__(self, root, train=True, download=False):
            n = 40 if train else 10
            self.data = np.random.default_rng(int(train)).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
            self.targets = list(range(10)) * (n // 10)

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    d = load("cifar10", root=tmp_path, download=False)
    assert d.source == "torchvision" and d.x_train.shape == (40, 3, 32, 32) and d.x_train.is_contiguous()
    _assert_normalised(d.x_train)
    expected = torch.as_tensor(FakeCIFAR10(None, train=False).data).permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(d.denormalize(d.x_test), expected, atol=1e-5)
    assert d.classes == FakeCIFAR10.classes and d.y_test.dtype == torch.int64
