"""Offline-first image data sets, held as in-memory tensors, with batched GPU-friendly augmentation.

Sources:
- "digits": the UCI optical recognition of handwritten digits set, as scikit-learn ships it (8×8,
  16 grey levels). E. Alpaydin, C. Kaynak, "Cascading Classifiers", Kybernetika 1998.
- "mnist": Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning Applied to Document
  Recognition", Proc. IEEE 1998. http://yann.lecun.com/exdb/mnist/
- "fashion_mnist": H. Xiao, K. Rasul, R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
  Benchmarking Machine Learning Algorithms", 2017. https://arxiv.org/abs/1708.07747
- "cifar10", "cifar100": A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images",
  tech. report, 2009. https://www.cs.toronto.edu/~kriz/cifar.html
- "shapes": generated here, procedurally, from a seed.

Augmentation as AlexNet used it (random crops and horizontal reflections): A. Krizhevsky,
I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional Neural Networks",
NeurIPS 2012, Section 4.1. Contrast stretching and histogram equalisation: R. C. Gonzalez,
R. E. Woods, "Digital Image Processing", Chapter 3 (intensity transformations).

No notebook may need the network: when a real data set is neither on disk nor downloadable,
``load`` prints one line and returns an embedded stand-in ("digits" for MNIST and Fashion-MNIST,
"shapes" for CIFAR; CIFAR-100's stand-in has the 10 shape classes, not 100).

    >>> data = load("digits")
    >>> for x, y in data.loader("train", batch_size=64, augment=Augment(flip=False, shift=2)):
    ...     pass  # x: (64, 1, 32, 32) float32, y: (64,) int64
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import io
import math
import os
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

DATASETS = ("digits", "shapes", "mnist", "fashion_mnist", "cifar10", "cifar100")

# name -> (torchvision class, name in messages, embedded stand-in)
_TORCHVISION = {
    "mnist": ("MNIST", "MNIST", "digits"),
    "fashion_mnist": ("FashionMNIST", "Fashion-MNIST", "digits"),
    "cifar10": ("CIFAR10", "CIFAR-10", "shapes"),
    "cifar100": ("CIFAR100", "CIFAR-100", "shapes"),
}
# Keyword options each data set accepts beyond the common ones.
_OPTIONS = {"digits": {"test_fraction"}, "shapes": {"difficulty", "num_classes"}}

SHAPE_CLASSES = (
    "circle", "ring", "square", "diamond", "triangle",
    "cross", "star", "crescent", "horizontal bar", "vertical bar",
)
# Shapes that a free rotation would turn into another class (square <-> diamond, bars) only tilt.
_UPRIGHT = {"square", "diamond", "cross", "horizontal bar", "vertical bar"}


class DatasetUnavailableError(RuntimeError):
    """A real data set is not on disk and could not be downloaded (and ``fallback=False``)."""


class UnknownDatasetError(KeyError):
    """Raised by ``load`` for a name not in ``DATASETS``."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0])


def list_datasets() -> list[str]:
    """Names that ``load`` accepts."""
    return list(DATASETS)


class TensorLoader:
    """Iterates (x, y) mini-batches of in-memory tensors, already on ``device``.

    Cheaper than a ``DataLoader`` for data that fits in memory: ``x`` and ``y`` move to ``device``
    once, and a batch is one indexing operation. Each pass draws a fresh permutation from its own
    generator seeded with ``seed + epoch``, so two loaders with the same seed give the same batches.
    ``augment`` (e.g. an ``Augment``) maps a batch (B, C, H, W) to a batch, on the batch's device.
    """

    def __init__(self, x: Tensor, y: Tensor, batch_size: int = 128, shuffle: bool = False, device=None,
                 augment: Callable[[Tensor], Tensor] | None = None, seed: int = 0, drop_last: bool = False) -> None:
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device) if device is not None else x.device
        self.x = x.to(self.device)
        self.y = y.to(self.device)
        self.dataset_size = len(x)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self) -> int:
        if self.drop_last:
            return self.dataset_size // self.batch_size
        return math.ceil(self.dataset_size / self.batch_size)

    def __iter__(self):
        order = None
        if self.shuffle:
            # A CPU generator gives the same permutation whatever the device.
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.dataset_size, generator=generator).to(self.device)
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order: Tensor | None):
        for i in range(len(self)):
            start, stop = i * self.batch_size, min((i + 1) * self.batch_size, self.dataset_size)
            if order is None:
                xb, yb = self.x[start:stop], self.y[start:stop]
            else:
                idx = order[start:stop]
                xb, yb = self.x[idx], self.y[idx]
            if self.augment is not None:
                xb = self.augment(xb)
            yield xb, yb


@dataclasses.dataclass
class ImageData:
    """A data set as tensors: x (N, C, H, W) float32, normalised with ``mean``/``std``; y (N,) int64."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str  # "embedded" or "torchvision"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return self.x_train.shape[1]

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.x_train.shape[2:])

    def loader(self, split: str = "train", batch_size: int = 128, shuffle: bool | None = None, device=None,
               augment: Callable[[Tensor], Tensor] | None = None, seed: int = 0,
               drop_last: bool = False) -> TensorLoader:
        """Mini-batches of ``split`` ("train" or "test"); shuffled by default only for "train"."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        if shuffle is None:
            shuffle = split == "train"
        return TensorLoader(x, y, batch_size, shuffle, device, augment, seed, drop_last)

    def to(self, device) -> ImageData:
        """A copy with all four tensors on ``device``."""
        return dataclasses.replace(self, x_train=self.x_train.to(device), y_train=self.y_train.to(device),
                                   x_test=self.x_test.to(device), y_test=self.y_test.to(device))

    def denormalize(self, x: Tensor) -> Tensor:
        """Undo the normalisation, for plotting: (N, C, H, W) or (C, H, W) -> same shape in [0, 1]."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        return (x * std + mean).clamp(0, 1)

    def __repr__(self) -> str:
        c, h, w = self.x_train.shape[1:]
        return (f"ImageData({self.name!r}, source={self.source!r}, train={len(self.y_train)}, "
                f"test={len(self.y_test)}, shape=({c}, {h}, {w}), classes={self.num_classes})")


# ---------------------------------------------------------------------------------------------
# Augmentation: whole-batch torch ops on the batch's device. Flip, shift and rotate work on
# normalised tensors; contrast stretching and equalisation expect images in [0, 1] (``denormalize``).

def random_flip(x: Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Flip each image of (N, C, H, W) left-right with probability ``p``."""
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < p
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def random_shift(x: Tensor, max_shift: int = 4, generator: torch.Generator | None = None,
                 padding_mode: str = "zeros") -> Tensor:
    """Translate each image of (N, C, H, W) by its own whole-pixel offset, as pad-and-random-crop does.

    The offsets are ``torch.randint(-max_shift, max_shift + 1, (N, 2))`` drawn from ``generator``:
    content moves down by the first and right by the second. On normalised data the "zeros"
    fill is the mean colour; "reflect" mirrors the border instead.
    """
    if x.dim() != 4:
        raise ValueError(f"expected a batch (N, C, H, W), got shape {tuple(x.shape)}")
    if max_shift == 0:
        return x
    n, c, h, w = x.shape
    m = max_shift
    mode = {"zeros": "constant", "reflect": "reflect"}[padding_mode]
    padded = F.pad(x, (m, m, m, m), mode=mode)  # (N, C, H + 2m, W + 2m)
    shifts = torch.randint(-m, m + 1, (n, 2), generator=generator, device=x.device)
    # The crop of image i starts at (m - dy_i, m - dx_i) in the padded image.
    rows = (m - shifts[:, 0]).view(n, 1) + torch.arange(h, device=x.device)  # (N, H)
    cols = (m - shifts[:, 1]).view(n, 1) + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, channel, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]  # (N, C, H, W)


_GRID_PADDING = {"zeros": "zeros", "border": "border", "reflect": "reflection"}  # our names -> grid_sample's


def rotate(x: Tensor, degrees: float | Tensor, padding_mode: str = "zeros") -> Tensor:
    """Rotate each image of (N, C, H, W) about its centre, counter-clockwise by ``degrees``.

    ``degrees`` is one angle for the whole batch or a tensor (N,) of one angle per image. Every
    output pixel centre is mapped back into the input (``affine_grid``) and read there with bilinear
    interpolation (``grid_sample``); corners that come from outside the image are filled with 0
    ("zeros": the mean colour on normalised data), the nearest edge pixel ("border") or the mirror
    image ("reflect"). The rotation is done in pixel units, so non-square images are not sheared.
    ``rotate(x, 90)`` equals ``torch.rot90(x, 1, dims=(-2, -1))`` on a square image.
    """
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"expected a float batch (N, C, H, W), got shape {tuple(x.shape)} and dtype {x.dtype}")
    if padding_mode not in _GRID_PADDING:
        raise ValueError(f"padding_mode must be one of {', '.join(_GRID_PADDING)}, got {padding_mode!r}")
    n, _, h, w = x.shape
    angle = torch.as_tensor(degrees, dtype=x.dtype, device=x.device).deg2rad()
    if angle.dim() > 1 or angle.numel() not in (1, n):
        raise ValueError(f"degrees must be a number or a tensor of {n} angles (one per image), "
                         f"got shape {tuple(angle.shape)}")
    angle = angle.reshape(-1).expand(n)  # (N,)
    cos, sin = angle.cos(), angle.sin()
    zero = torch.zeros_like(cos)
    # affine_grid normalises both axes to [-1, 1]. Turning the picture by +angle on the screen (y
    # points down) means reading the input at R(-angle) applied to each output pixel; the factors
    # h / w and w / h carry that pixel-space rotation into the normalised coordinates.
    theta = torch.stack([
        torch.stack([cos, -sin * h / w, zero], dim=1),
        torch.stack([sin * w / h, cos, zero], dim=1),
    ], dim=1)  # (N, 2, 3): (x_in, y_in) = theta @ (x_out, y_out, 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=_GRID_PADDING[padding_mode], align_corners=False)


def random_rotate(x: Tensor, max_degrees: float, generator: torch.Generator | None = None,
                  padding_mode: str = "zeros") -> Tensor:
    """Rotate each image of (N, C, H, W) by its own angle, uniform in [-max_degrees, max_degrees].

    The angles are ``max_degrees * (2 * torch.rand(N) - 1)`` drawn from ``generator``; positive is
    counter-clockwise. See :func:`rotate` for the interpolation and ``padding_mode``.
    """
    if max_degrees < 0:
        raise ValueError(f"max_degrees must be >= 0, got {max_degrees}")
    if x.dim() != 4:
        raise ValueError(f"expected a batch (N, C, H, W), got shape {tuple(x.shape)}")
    if max_degrees == 0:
        return x
    angles = max_degrees * (2 * torch.rand(x.shape[0], generator=generator, device=x.device) - 1)  # (N,)
    return rotate(x, angles, padding_mode)


def contrast_stretch(x: Tensor, low_pct: float = 2, high_pct: float = 98) -> Tensor:
    """Percentile-based contrast stretching, per image and channel: (..., H, W) -> the same shape, in [0, 1].

    The ``low_pct``-th percentile of each H×W channel goes to 0 and the ``high_pct``-th to 1, on a
    straight line; values beyond them are clipped. Percentiles rather than the minimum and maximum
    keep a few extreme pixels from deciding the stretch. Percentiles interpolate linearly, as
    ``numpy.percentile`` does. A flat channel (both percentiles equal) is returned as it is.
    Works on any range of values; on normalised data the result is no longer normalised.
    """
    if not 0 <= low_pct < high_pct <= 100:
        raise ValueError(f"need 0 <= low_pct < high_pct <= 100, got low_pct={low_pct}, high_pct={high_pct}")
    if x.dim() < 2 or not x.is_floating_point():
        raise ValueError(f"expected float images (..., H, W), got shape {tuple(x.shape)} and dtype {x.dtype}")
    flat = x.flatten(-2)  # (..., H*W)
    q = torch.tensor([low_pct / 100, high_pct / 100], dtype=x.dtype, device=x.device)
    low, high = torch.quantile(flat, q, dim=-1, keepdim=True)  # each (..., 1)
    span = high - low
    is_flat = span <= 0
    stretched = ((flat - low) / torch.where(is_flat, torch.ones_like(span), span)).clamp(0, 1)
    return torch.where(is_flat, flat, stretched).view_as(x)


def equalize(x: Tensor, bins: int = 256) -> Tensor:
    """Histogram equalisation, per image and channel: (..., H, W) -> the same shape and dtype.

    Float images in [0, 1] are first quantised to ``bins`` grey levels (uint8 images are used as
    they are, with ``bins=256``). Level k then becomes ``round((bins - 1) * C(k) / (P - n_top))``,
    where C(k) counts the pixels darker than k, P is the number of pixels and n_top the number at
    the brightest level present: the darkest level goes to 0, the brightest to ``bins - 1``, and
    the levels between are spread in proportion to how many pixels lie below them, which flattens
    the histogram. This is the convention of PIL's ``ImageOps.equalize`` and of torchvision's
    ``equalize``, except that they divide by ``step = (P - n_top) // 255``, rounded down to an
    integer, instead of by ``(P - n_top) / 255``. Rounding down makes their levels up to
    ``1 / step`` too bright (clipped at 255): within one grey level of ours once ``step >= 255``
    (about 256×256 pixels), but by up to tens of levels on a 32×32 image, where step is about 4.
    A channel with a single grey level is returned unchanged.
    """
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    if x.dim() < 2:
        raise ValueError(f"expected images (..., H, W), got shape {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        if bins != 256:
            raise ValueError(f"uint8 images have 256 grey levels: use bins=256, got {bins}")
        levels = x.flatten(-2).long()  # (..., P)
    elif x.is_floating_point():
        levels = (x.flatten(-2) * (bins - 1)).round().clamp(0, bins - 1).long()  # (..., P): quantised
    else:
        raise TypeError(f"equalize expects float images in [0, 1] or uint8 images, got {x.dtype}")
    pixels = levels.shape[-1]
    hist = torch.zeros(levels.shape[:-1] + (bins,), dtype=torch.long, device=x.device)
    hist.scatter_add_(-1, levels, torch.ones_like(levels))  # (..., bins): pixels at each level
    darker = hist.cumsum(-1) - hist  # (..., bins): C(k), the pixels below level k
    n_top = hist.gather(-1, levels.amax(-1, keepdim=True))  # (..., 1): pixels at the brightest level
    spread = (pixels - n_top).clamp_min(1)  # 0 only for a single-level channel, kept as is below
    # round(a / b) as (2a + b) // (2b): exact integer arithmetic, so no float64 needed (MPS has none)
    lut = (2 * (bins - 1) * darker + spread) // (2 * spread)  # (..., bins): the new level of each level
    equalised = lut.gather(-1, levels)  # (..., P)
    single_level = n_top == pixels  # (..., 1)
    if x.dtype == torch.uint8:
        out = torch.where(single_level, levels, equalised).to(torch.uint8)
    else:
        out = torch.where(single_level, x.flatten(-2), (equalised / (bins - 1)).to(x.dtype))
    return out.view_as(x)


class Augment:
    """Random horizontal flip, shift and/or rotation of a batch: ``Augment(flip=True, shift=4, rotate=10)(x)``.

    ``rotate`` is the largest angle in degrees (0: no rotation); each image gets its own angle.
    ``padding_mode`` ("zeros" or "reflect") fills what a shift or rotation brings in from outside.
    """

    def __init__(self, flip: bool = True, shift: int = 0, padding_mode: str = "zeros",
                 generator: torch.Generator | None = None, rotate: float = 0) -> None:
        if shift < 0:
            raise ValueError(f"shift must be >= 0, got {shift}")
        if rotate < 0:
            raise ValueError(f"rotate (the largest angle in degrees) must be >= 0, got {rotate}")
        self.flip = flip
        self.shift = shift
        self.rotate = rotate
        self.padding_mode = padding_mode
        self.generator = generator  # must live on the batches' device; None uses the global RNG

    def __call__(self, x: Tensor) -> Tensor:
        if self.rotate:
            x = random_rotate(x, self.rotate, generator=self.generator, padding_mode=self.padding_mode)
        if self.flip:
            x = random_flip(x, generator=self.generator)
        if self.shift:
            x = random_shift(x, self.shift, generator=self.generator, padding_mode=self.padding_mode)
        return x

    def __repr__(self) -> str:
        return (f"Augment(flip={self.flip}, shift={self.shift}, rotate={self.rotate}, "
                f"padding_mode={self.padding_mode!r})")


# ---------------------------------------------------------------------------------------------
# Loading.

def load(name: str, *, n_train: int | None = None, n_test: int | None = None,
         image_size: int | tuple[int, int] | None = None, seed: int = 0, root: str | os.PathLike | None = None,
         download: bool = True, fallback: bool = True, **options) -> ImageData:
    """Load a data set by name (see ``list_datasets()``) as normalised tensors.

    ``n_train``/``n_test`` keep at most that many images, a class-balanced subset chosen by ``seed``;
    ``image_size`` resizes (bilinear, antialiased). Real data sets come from ``root`` (default
    ``$CNNLAB_DATA`` or ``~/.cache/cnnlab/data``); when they are missing and cannot be downloaded,
    ``fallback=True`` returns the embedded stand-in, ``fallback=False`` raises
    ``DatasetUnavailableError``. The stand-ins are "digits" (28×28 unless ``image_size``) for MNIST
    and Fashion-MNIST, and 10-class "shapes" (32×32) for CIFAR-10 and CIFAR-100 alike.
    Options: "digits" takes ``test_fraction`` (0.2); "shapes" takes ``difficulty`` in [0, 1] (0.3)
    and ``num_classes`` (10).
    """
    if name not in DATASETS:
        close = difflib.get_close_matches(str(name).lower(), DATASETS, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownDatasetError(f"unknown data set {name!r}{hint} (known: {', '.join(DATASETS)})")
    for label, n in (("n_train", n_train), ("n_test", n_test)):
        if n is not None and n <= 0:
            raise ValueError(f"{label} must be a positive integer, got {n}")
    size = _check_size(image_size)
    unknown = set(options) - _OPTIONS.get(name, set())
    if unknown:
        valid = ", ".join(sorted(_OPTIONS.get(name, ()))) or "none"
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))} for {name!r} (valid: {valid})")

    if name == "digits":
        return _load_digits(n_train, n_test, size or (32, 32), seed, **options)
    if name == "shapes":
        return _load_shapes(n_train or 2000, n_test or 500, size or (32, 32), seed, **options)

    class_name, title, stand_in = _TORCHVISION[name]
    root = Path(root or os.environ.get("CNNLAB_DATA") or Path.home() / ".cache" / "cnnlab" / "data").expanduser()
    splits, problem = _open_torchvision(class_name, root, download)
    if splits is not None:
        return _from_torchvision(name, splits, n_train, n_test, size, seed)
    if not fallback:
        raise DatasetUnavailableError(
            f"{title} is not in {root} and {problem}; connect to the internet, copy its files there "
            f"(or point CNNLAB_DATA at them), or use fallback=True for the embedded {stand_in!r} data set")
    print(f"cnnlab.data: {title} is not in {root} and {problem}; using the embedded {stand_in!r} data set instead.")
    if stand_in == "digits":
        return _load_digits(n_train, n_test, size or (28, 28), seed)
    return _load_shapes(n_train or 2000, n_test or 500, size or (32, 32), seed)


def _check_size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f"image_size must be an int or (height, width), each >= 8, got {image_size!r}")
    return size


def _open_torchvision(class_name: str, root: Path, download: bool):
    """((train, test) torchvision data sets, None), or (None, why they are not available)."""
    import torchvision  # imported here so that the embedded sets need only torch

    cls = getattr(torchvision.datasets, class_name)
    try:
        return (cls(root, train=True), cls(root, train=False)), None
    except RuntimeError:  # torchvision's "Dataset not found"
        pass
    if not download:
        return None, "download=False"
    try:
        # torchvision prints "Downloading ..." lines; keep them off the screen unless it works.
        with contextlib.redirect_stdout(io.StringIO()) as chatter:
            splits = cls(root, train=True, download=True), cls(root, train=False, download=True)
    except (OSError, RuntimeError, ValueError, EOFError) as err:  # URLError is an OSError
        return None, f"could not be downloaded (offline? {type(err).__name__})"
    print(chatter.getvalue(), end="")
    return splits, None


def _from_torchvision(name, splits, n_train, n_test, size, seed) -> ImageData:
    xs, ys = [], []
    for ds, n in zip(splits, (n_train, n_test)):
        x = torch.as_tensor(ds.data)  # uint8: (N, H, W) for MNIST-likes, (N, H, W, C) for CIFAR
        x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
        y = torch.as_tensor(ds.targets, dtype=torch.int64)
        keep = _balanced_subset(y, n, seed)
        xs.append(x[keep].contiguous().float().div_(255))  # contiguous: CIFAR's permuted view is not
        ys.append(y[keep])
    return _finish(name, xs, ys, list(splits[0].classes), size, "torchvision")


def _balanced_subset(y: Tensor, n: int | None, seed: int) -> Tensor:
    """Indices of ``n`` samples of ``y`` (all if ``n`` is None or too big), as even over classes as
    the counts allow, chosen by ``seed``, in their original order."""
    if n is None or n >= len(y):
        return torch.arange(len(y))
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    onehot = F.one_hot(y[perm])  # (N, K)
    rank = (onehot.cumsum(0) * onehot).sum(1)  # how many of its class came before, in ``perm`` order
    order = perm[torch.argsort(rank, stable=True)]  # one of each class, then a second of each, ...
    return order[:n].sort().values


def _finish(name, xs, ys, classes, size, source) -> ImageData:
    """Resize, then normalise both splits with the train set's per-channel mean and std."""
    x_train, x_test = xs
    if size is not None and tuple(x_train.shape[2:]) != size:
        x_train = F.interpolate(x_train, size=size, mode="bilinear", antialias=True, align_corners=False)
        x_test = F.interpolate(x_test, size=size, mode="bilinear", antialias=True, align_corners=False)
    std, mean = torch.std_mean(x_train, dim=(0, 2, 3))
    std = std.clamp_min(1e-6)
    # In place: the callers hand over freshly made tensors, and this saves two big copies.
    x_train = x_train.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
    x_test = x_test.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
    return ImageData(name, x_train, ys[0], x_test, ys[1], classes,
                     tuple(mean.tolist()), tuple(std.tolist()), source)


def _load_digits(n_train, n_test, size, seed, test_fraction: float = 0.2) -> ImageData:
    """scikit-learn's 1,797 8×8 digits, split stratified ``1 - test_fraction`` / ``test_fraction``."""
    from sklearn.datasets import load_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    digits = load_digits()
    x = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16  # 16 grey levels -> [0, 1]
    y = torch.as_tensor(digits.target, dtype=torch.int64)
    is_test = torch.zeros(len(y), dtype=torch.bool)
    is_test[_balanced_subset(y, round(test_fraction * len(y)), seed)] = True  # stratified split
    train, test = (~is_test).nonzero().squeeze(1), is_test.nonzero().squeeze(1)
    train = train[_balanced_subset(y[train], n_train, seed + 1)]
    test = test[_balanced_subset(y[test], n_test, seed + 2)]
    classes = [str(d) for d in range(10)]
    return _finish("digits", [x[train], x[test]], [y[train], y[test]], classes, size, "embedded")


# ---------------------------------------------------------------------------------------------
# "shapes": procedurally generated, vectorised over the batch.

def _load_shapes(n_train, n_test, size, seed, difficulty: float = 0.3, num_classes: int = 10) -> ImageData:
    if not 0 <= difficulty <= 1:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    if not 2 <= num_classes <= len(SHAPE_CLASSES):
        raise ValueError(f"num_classes must be in [2, {len(SHAPE_CLASSES)}], got {num_classes}")
    # Separate generator streams, so that train and test never share an image (2s and 2s+1 never collide).
    x_train, y_train = make_shapes(n_train, size, num_classes, difficulty, torch.Generator().manual_seed(2 * seed))
    x_test, y_test = make_shapes(n_test, size, num_classes, difficulty, torch.Generator().manual_seed(2 * seed + 1))
    classes = list(SHAPE_CLASSES[:num_classes])
    return _finish("shapes", [x_train, x_test], [y_train, y_test], classes, None, "embedded")


def make_shapes(n: int, size: tuple[int, int], num_classes: int, difficulty: float,
                generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` images (n, 3, H, W) in [0, 1] of one shape each on a textured background, and labels (n,).

    ``difficulty`` in [0, 1] raises pixel noise, texture, clutter and scale variation and lowers the
    colour contrast between shape and background. Classes are balanced. Every step works on the
    whole batch; separable factors, shaped (n, 1, H, 1) and (n, 1, 1, W), keep it fast.
    """
    h, w = size
    g, d = generator, difficulty

    def uniform(*shape, low=0.0, high=1.0):
        return low + (high - low) * torch.rand(*shape, generator=g)

    y = torch.randperm(n, generator=g) % num_classes
    # Pixel centres, in [-1, 1] along the shorter side (shapes keep their aspect ratio).
    scale = min(h, w)
    gy = ((torch.arange(h) + 0.5 - h / 2) * 2 / scale).view(h, 1)
    gx = ((torch.arange(w) + 0.5 - w / 2) * 2 / scale).view(1, w)

    # Background: a random colour plus smooth texture, drawn at 4×4 and upsampled bilinearly. Bilinear
    # upsampling is separable, so it is a matrix on each side, (H, 4) @ coarse @ (4, W): 3x faster
    # than F.interpolate on this many tiny images, and identical.
    base = uniform(n, 3, 1, 1, low=0.1, high=0.9)
    coarse = base + (0.08 + 0.2 * d) * uniform(n, 3, 4, 4, low=-1, high=1)
    up_h = F.interpolate(torch.eye(4).unsqueeze(0), size=h, mode="linear", align_corners=False)[0].T  # (H, 4)
    up_w = F.interpolate(torch.eye(4).unsqueeze(0), size=w, mode="linear", align_corners=False)[0]  # (4, W)
    image = up_h @ coarse @ up_w  # (n, 3, H, W)

    # Clutter: up to 5·difficulty soft Gaussian blobs (soft-edged, unlike the hard-edged shapes).
    for _ in range(round(5 * d)):
        present = (torch.rand(n, 1, 1, 1, generator=g) < 0.6).float()
        cy = uniform(n, 1, 1, 1, low=-1, high=1) * h / scale
        cx = uniform(n, 1, 1, 1, low=-1, high=1) * w / scale
        inv = 1 / (2 * uniform(n, 1, 1, 1, low=0.06, high=0.2) ** 2)
        # exp(-(x² + y²)) = exp(-x²)·exp(-y²): two thin factors instead of a full-size exp.
        alpha = present * torch.exp(-inv * (gy - cy) ** 2) * torch.exp(-inv * (gx - cx) ** 2)  # (n, 1, H, W)
        image.lerp_(uniform(n, 3, 1, 1).expand_as(image), alpha)

    # Shape colour: each channel moves away from the background, by less as difficulty grows.
    contrast = (0.5 - 0.3 * d) * uniform(n, 3, 1, 1, low=0.6, high=1.0)
    colour = (base + torch.where(base < 0.5, contrast, -contrast)).clamp(0, 1)

    # Pose: radius (fraction of the shorter half-side), centre keeping the shape inside, rotation.
    radius = (0.5 * torch.exp((0.15 + 0.35 * d) * uniform(n, low=-1, high=1))).clamp(0.25, 0.85)
    cy = (uniform(n, low=-1, high=1) * (h / scale - radius)).view(n, 1, 1)
    cx = (uniform(n, low=-1, high=1) * (w / scale - radius)).view(n, 1, 1)
    angle = uniform(n, low=-math.pi, high=math.pi)
    # Upright shapes (see _UPRIGHT) only tilt by up to 15°.
    tilt = uniform(n, low=-math.pi / 12, high=math.pi / 12)
    upright = torch.tensor([c in _UPRIGHT for c in SHAPE_CLASSES])[y]
    angle = torch.where(upright, tilt, angle)
    cos = (torch.cos(angle) / radius).view(n, 1, 1)
    sin = (torch.sin(angle) / radius).view(n, 1, 1)
    dx, dy = gx - cx, gy - cy  # (n, 1, W), (n, H, 1)

    mask = torch.empty(n, h, w, dtype=torch.bool)
    for k in range(num_classes):
        idx = (y == k).nonzero().squeeze(1)
        # Local coordinates of every pixel, rotated and in units of the radius: (n_k, H, W).
        u = cos[idx] * dx[idx] + sin[idx] * dy[idx]
        v = cos[idx] * dy[idx] - sin[idx] * dx[idx]
        mask[idx] = _shape_mask(SHAPE_CLASSES[k], u, v)
    image = torch.where(mask.unsqueeze(1), colour, image)

    # Grey pixel noise: one draw per pixel, shared by the three channels.
    image.add_(torch.randn(n, 1, h, w, generator=g), alpha=0.02 + 0.1 * d)
    return image.clamp_(0, 1), y


def _shape_mask(shape: str, u: Tensor, v: Tensor) -> Tensor:
    """Boolean (n, H, W): which pixels, at local coordinates (u, v) in radius units, are inside ``shape``."""
    au, av = u.abs(), v.abs()
    rr = u**2 + v**2
    if shape == "circle":
        return rr <= 1
    if shape == "ring":
        return (rr <= 1) & (rr >= 0.55**2)
    if shape == "square":
        return torch.maximum(au, av) <= 0.8
    if shape == "diamond":
        return au + av <= 1
    if shape == "triangle":  # equilateral, circumradius 1: three half-planes at distance 1/2
        sides = [u * math.cos(a) + v * math.sin(a) for a in (math.pi / 2, 7 * math.pi / 6, 11 * math.pi / 6)]
        return torch.stack(sides).amax(0) <= 0.5
    if shape == "cross":
        return (torch.minimum(au, av) <= 0.25) & (torch.maximum(au, av) <= 1)
    if shape == "star":  # five points: the radius limit is a triangle wave in the angle
        t = (torch.atan2(v, u) * 5 / (2 * math.pi)) % 1
        return rr.sqrt() <= 0.4 + 0.6 * (2 * t - 1).abs()
    if shape == "crescent":  # a disc with an offset disc bitten out of it
        return (rr <= 1) & ((u - 0.45) ** 2 + v**2 >= 0.75**2)
    if shape == "horizontal bar":
        return (au <= 1) & (av <= 0.22)
    if shape == "vertical bar":
        return (au <= 0.22) & (av <= 1)
    raise ValueError(f"unknown shape {shape!r}")
