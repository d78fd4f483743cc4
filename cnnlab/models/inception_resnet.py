"""Inception-ResNet-v1 and Inception-ResNet-v2.

C. Szegedy, S. Ioffe, V. Vanhoucke, A. Alemi, "Inception-v4, Inception-ResNet and the Impact of
Residual Connections on Learning", AAAI 2017. https://arxiv.org/abs/1602.07261

Inception modules with a residual connection: each Inception-ResNet block runs cheap Inception
branches, concatenates them, maps the result back to the block's input width with a 1×1
convolution *without* activation ("1×1 conv, linear" in the figures) and adds it to its input,
then applies ReLU. Batch normalisation sits on the ordinary layers only, not on the sums. With
more than about 1000 filters the residual networks became unstable and "died" early in training,
so the residual is scaled down before the addition (Section 3.3: factors between 0.1 and 0.3),
``scales`` here; with scale 0 a block passes its input through the ReLU unchanged.

* ``inception_resnet_v1`` is the paper's: the stem of Fig. 14 (to 35×35×256), 5 × Inception-ResNet-A
  (Fig. 10), Reduction-A (Fig. 7 with Table 1's k, l, m, n = 192, 192, 256, 384) to 17×17×896,
  10 × Inception-ResNet-B (Fig. 11), Reduction-B (Fig. 12) to 8×8×1792, 5 × Inception-ResNet-C
  (Fig. 13), average pooling, dropout (keep 0.8), linear (Fig. 15). timm has no such model; the
  paper gives no parameter count, so the test counts the figures' filters layer by layer.
  The paper does not give v1's residual scales; we use v2's.
* ``inception_resnet_v2`` follows timm's ``inception_resnet_v2`` (the TensorFlow release), so that
  its ``state_dict`` loads with ``strict=True`` and gives the same outputs (tested). That port
  departs from the paper, and we follow the port: its stem is Fig. 14's up to 71×71×192, then a 3×3
  max pool and an Inception module (``Mixed5b``, 35×35×320) instead of the stem of Fig. 3 (35×35×384);
  it repeats the blocks 10, 20 and 10 times instead of Fig. 15's 5, 10 and 5; the last
  Inception-ResNet-C block is unscaled and without ReLU, and a 1×1 conv to 1536 channels follows it.
  The blocks' widths are those of Figs. 16-19 (Reduction-A: k, l, m, n = 256, 256, 384, 384), with
  the 1×1 "linear" convolution sized to the block's input (the figures' 1154 and 2048 do not match
  the widths their reductions produce). With the stem of Fig. 3 the grids would be 35×35×384,
  17×17×1152 and 8×8×2144, and the network would have 32.4M parameters with Fig. 15's block counts
  or 58.0M with the port's (timm's: 55.8M), too far from timm's for the 1 % the course asks; hence
  the port's stem.

Reduction-A (Fig. 7, with Table 1's widths) is imported from ``inception_v4.py``; the stem of
Fig. 14 up to 71×71×192 (``inception_resnet_stem``) is shared by both versions here.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Callable, Sequence

import torch
from torch import nn

from ..layers import make_activation
from ._base import ImageClassifier
from ._registry import register_model
from .googlenet import basic_conv
from .inception_v4 import REDUCTION_A, ReductionA

__all__ = [
    "InceptionResNet", "InceptionResNetA", "InceptionResNetB", "InceptionResNetC", "ReductionBResNet",
    "Mixed5b", "inception_resnet_stem", "BLOCK_WIDTHS", "REPEATS",
    "inception_resnet_v1", "inception_resnet_v2",
]

ConvBlock = Callable[..., nn.Module]

# The blocks' filter counts (Figs. 10-13 for v1, 16-19 for v2):
# a: branch0 (1×1), branch1 (1×1, 3×3), branch2 (1×1, 3×3, 3×3)
# b: branch0 (1×1), branch1 (1×1, 1×7, 7×1)
# c: branch0 (1×1), branch1 (1×1, 1×3, 3×1)
# reduction_b: branch0 (1×1, 3×3/2), branch1 (1×1, 3×3/2), branch2 (1×1, 3×3, 3×3/2)
BLOCK_WIDTHS: dict[str, dict[str, tuple]] = {
    "v1": dict(a=(32, (32, 32), (32, 32, 32)), b=(128, (128, 128, 128)), c=(192, (192, 192, 192)),
               reduction_b=((256, 384), (256, 256), (256, 256, 256))),
    "v2": dict(a=(32, (32, 32), (32, 48, 64)), b=(192, (128, 160, 192)), c=(192, (192, 224, 256)),
               reduction_b=((256, 384), (256, 288), (256, 288, 320))),
}
# How many Inception-ResNet-A, -B and -C blocks: Fig. 15 for v1, timm's (TensorFlow's) port for v2.
REPEATS: dict[str, tuple[int, int, int]] = {"v1": (5, 10, 5), "v2": (10, 20, 10)}
# Residual scales of the A, B and C blocks (Section 3.3 allows 0.1-0.3): those of timm's v2.
DEFAULT_SCALES = (0.17, 0.10, 0.20)


class _ResidualInception(nn.Module):
    """Shared ``forward`` of the Inception-ResNet blocks: ``act(shortcut(x) + scale · conv2d(concat(branches)))``.

    ``shortcut`` is an identity child, so that ``cnnlab.viz.draw_block`` draws it beside the branches.
    """

    def _finish(self, in_channels: int, concat_channels: int, scale: float,
                act_layer: Callable[..., nn.Module] | None) -> None:
        self.scale = scale
        self.out_channels = in_channels
        # "1×1 conv, linear": back to the input width, with a bias and no norm or activation
        self.conv2d = nn.Conv2d(concat_channels, in_channels, kernel_size=1)
        self.shortcut = nn.Identity()
        self.act = make_activation(act_layer) if act_layer is not None else nn.Identity()

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The branches, concatenated and projected back: ``(N, C, H, W) -> (N, C, H, W)``, before scaling."""
        branches = [module(x) for name, module in self.named_children() if name.startswith("branch")]
        return self.conv2d(torch.cat(branches, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.residual(x)
        return self.act(self.shortcut(x) + self.scale * residual)


class InceptionResNetA(_ResidualInception):
    """Inception-ResNet-A, the 35×35 block (Fig. 10 for v1, Fig. 16 for v2): ``(N, C, 35, 35) -> (N, C, 35, 35)``
    with C = 256 (v1) or 320 (v2, timm's stem).

    Branches: 1×1 ``branch0``; 1×1 -> 3×3 ``branch1``; 1×1 -> 3×3 -> 3×3 ``branch2`` (v1: 32 filters
    each, concatenated to 96; v2: 32, 32-32, 32-48-64, to 128); then a linear 1×1 conv back to C,
    scaled by ``scale``, added to the input, ReLU.
    """

    def __init__(self, in_channels: int, branch0: int, branch1: Sequence[int], branch2: Sequence[int], *,
                 scale: float = 1.0, conv_block: ConvBlock = basic_conv,
                 act_layer: Callable[..., nn.Module] | None = nn.ReLU) -> None:
        super().__init__()
        self.branch0 = conv_block(in_channels, branch0, kernel_size=1)
        self.branch1 = nn.Sequential(
            conv_block(in_channels, branch1[0], kernel_size=1),
            conv_block(branch1[0], branch1[1], kernel_size=3, padding=1),
        )
        self.branch2 = nn.Sequential(
            conv_block(in_channels, branch2[0], kernel_size=1),
            conv_block(branch2[0], branch2[1], kernel_size=3, padding=1),
            conv_block(branch2[1], branch2[2], kernel_size=3, padding=1),
        )
        self._finish(in_channels, branch0 + branch1[-1] + branch2[-1], scale, act_layer)


class InceptionResNetB(_ResidualInception):
    """Inception-ResNet-B, the 17×17 block (Fig. 11 for v1, Fig. 17 for v2): ``(N, C, 17, 17) -> (N, C, 17, 17)``
    with C = 896 (v1) or 1088 (v2, timm's layout).

    Branches: 1×1 ``branch0``; 1×1 -> 1×7 -> 7×1 ``branch1`` (v1: 128 and 128-128-128, to 256; v2:
    192 and 128-160-192, to 384); then a linear 1×1 conv back to C, scaled, added, ReLU.
    """

    def __init__(self, in_channels: int, branch0: int, branch1: Sequence[int], *, scale: float = 1.0,
                 conv_block: ConvBlock = basic_conv, act_layer: Callable[..., nn.Module] | None = nn.ReLU) -> None:
        super().__init__()
        self.branch0 = conv_block(in_channels, branch0, kernel_size=1)
        self.branch1 = nn.Sequential(
            conv_block(in_channels, branch1[0], kernel_size=1),
            conv_block(branch1[0], branch1[1], kernel_size=(1, 7), padding=(0, 3)),
            conv_block(branch1[1], branch1[2], kernel_size=(7, 1), padding=(3, 0)),
        )
        self._finish(in_channels, branch0 + branch1[-1], scale, act_layer)


class InceptionResNetC(_ResidualInception):
    """Inception-ResNet-C, the 8×8 block (Fig. 13 for v1, Fig. 19 for v2): ``(N, C, 8, 8) -> (N, C, 8, 8)``
    with C = 1792 (v1) or 2080 (v2, timm's layout).

    Branches: 1×1 ``branch0``; 1×1 -> 1×3 -> 3×1 ``branch1`` (v1: 192 and 192-192-192, to 384; v2:
    192 and 192-224-256, to 448); then a linear 1×1 conv back to C, scaled, added, and ReLU unless
    ``act_layer=None`` (the last block of timm's v2).
    """

    def __init__(self, in_channels: int, branch0: int, branch1: Sequence[int], *, scale: float = 1.0,
                 conv_block: ConvBlock = basic_conv, act_layer: Callable[..., nn.Module] | None = nn.ReLU) -> None:
        super().__init__()
        self.branch0 = conv_block(in_channels, branch0, kernel_size=1)
        self.branch1 = nn.Sequential(
            conv_block(in_channels, branch1[0], kernel_size=1),
            conv_block(branch1[0], branch1[1], kernel_size=(1, 3), padding=(0, 1)),
            conv_block(branch1[1], branch1[2], kernel_size=(3, 1), padding=(1, 0)),
        )
        self._finish(in_channels, branch0 + branch1[-1], scale, act_layer)


class ReductionBResNet(nn.Module):
    """Reduction-B of Inception-ResNet (Fig. 12 for v1, Fig. 18 for v2), 17×17 to 8×8:
    ``(N, C, 17, 17) -> (N, C + 384 + b1 + b2, 8, 8)``: 896 -> 1792 (v1), 1088 -> 2080 (v2).

    Four branches: 1×1 256 -> 3×3 384 /2 (V); 1×1 256 -> 3×3 b1 /2 (V); 1×1 256 -> 3×3 -> 3×3 b2 /2 (V);
    3×3 max pool /2 (V). (Inception-v4 has its own Reduction-B, ``inception_v4.ReductionB``.)
    """

    def __init__(self, in_channels: int, branch0: Sequence[int], branch1: Sequence[int], branch2: Sequence[int],
                 conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = branch0[-1] + branch1[-1] + branch2[-1] + in_channels
        self.branch0 = nn.Sequential(
            conv_block(in_channels, branch0[0], kernel_size=1),
            conv_block(branch0[0], branch0[1], kernel_size=3, stride=2),
        )
        self.branch1 = nn.Sequential(
            conv_block(in_channels, branch1[0], kernel_size=1),
            conv_block(branch1[0], branch1[1], kernel_size=3, stride=2),
        )
        self.branch2 = nn.Sequential(
            conv_block(in_channels, branch2[0], kernel_size=1),
            conv_block(branch2[0], branch2[1], kernel_size=3, padding=1),
            conv_block(branch2[1], branch2[2], kernel_size=3, stride=2),
        )
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class Mixed5b(nn.Module):
    """The Inception module that ends the stem of timm's (TensorFlow's) Inception-ResNet-v2; not in
    the paper. ``(N, 192, 35, 35) -> (N, 96 + 64 + 96 + 64 = 320, 35, 35)``.

    Branches: 1×1 96; 1×1 48 -> 5×5 64; 1×1 64 -> 3×3 96 -> 3×3 96; 3×3 average pool -> 1×1 64.
    """

    def __init__(self, in_channels: int = 192, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = 96 + 64 + 96 + 64
        self.branch0 = conv_block(in_channels, 96, kernel_size=1)
        self.branch1 = nn.Sequential(
            conv_block(in_channels, 48, kernel_size=1),
            conv_block(48, 64, kernel_size=5, padding=2),
        )
        self.branch2 = nn.Sequential(
            conv_block(in_channels, 64, kernel_size=1),
            conv_block(64, 96, kernel_size=3, padding=1),
            conv_block(96, 96, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
            conv_block(in_channels, 64, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


def inception_resnet_stem(in_channels: int, conv_block: ConvBlock = basic_conv) -> OrderedDict[str, nn.Module]:
    """The stem of Inception-ResNet-v1 (Fig. 14) up to its last convolution, named as timm's v2:
    ``(N, in_channels, 299, 299) -> (N, 192, 71, 71)``.

    3×3 conv 32 /2 (V) -> 149×149×32; 3×3 conv 32 (V) -> 147×147×32; 3×3 conv 64 -> 147×147×64;
    3×3 max pool /2 (V) -> 73×73×64; 1×1 conv 80 -> 73×73×80; 3×3 conv 192 (V) -> 71×71×192.
    v1 ends it with a 3×3 conv 256 /2 (V) -> 35×35×256; timm's v2 with a max pool and ``Mixed5b``.
    """
    return OrderedDict([
        ("conv2d_1a", conv_block(in_channels, 32, kernel_size=3, stride=2)),  # (N, 32, 149, 149)
        ("conv2d_2a", conv_block(32, 32, kernel_size=3)),  # (N, 32, 147, 147)
        ("conv2d_2b", conv_block(32, 64, kernel_size=3, padding=1)),  # (N, 64, 147, 147)
        ("maxpool_3a", nn.MaxPool2d(3, stride=2)),  # (N, 64, 73, 73)
        ("conv2d_3b", conv_block(64, 80, kernel_size=1)),  # (N, 80, 73, 73)
        ("conv2d_4a", conv_block(80, 192, kernel_size=3)),  # (N, 192, 71, 71)
    ])


class InceptionResNet(ImageClassifier):
    """Inception-ResNet-v1 or -v2 (Fig. 15): ``(N, in_channels, 299, 299) -> (N, num_classes)``.

    Children in forward order (timm's names for v2): the stem (``conv2d_1a`` ... ``conv2d_4a``, then
    ``conv2d_4b`` for v1 or ``maxpool_5a`` + ``mixed_5b`` for v2), ``repeat`` (Inception-ResNet-A
    blocks), ``mixed_6a`` (Reduction-A), ``repeat_1`` (B blocks), ``mixed_7a`` (Reduction-B),
    ``repeat_2`` (C blocks), for v2 ``block8`` (the last C block: scale 1, no ReLU) and
    ``conv2d_7b`` (1×1 to 1536); then average pooling, dropout (keep 0.8 in the paper:
    ``dropout=0.2``) and ``classif``. ``scales`` are the residual scales of the A, B and C blocks.
    Grids at 299×299: v1 35×35×256, 17×17×896, 8×8×1792; v2 35×35×320, 17×17×1088, 8×8×2080 (1536
    after ``conv2d_7b``). Inputs down to 75×75 reach the classifier.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, version: str = "v2",
                 scales: Sequence[float] = DEFAULT_SCALES, dropout: float = 0.2,
                 norm_layer: Callable[[int], nn.Module] | None = None,
                 act_layer: Callable[..., nn.Module] = nn.ReLU) -> None:
        super().__init__(num_classes, in_channels, input_size=(299, 299), min_input_size=(75, 75))
        if version not in BLOCK_WIDTHS:
            raise ValueError(f"InceptionResNet: version must be one of {sorted(BLOCK_WIDTHS)}, got {version!r}")
        if len(scales) != 3:
            raise ValueError(f"InceptionResNet: scales must give the A, B and C blocks' residual scales, "
                             f"got {scales!r}")
        self.version = version
        conv = functools.partial(basic_conv, norm_layer=norm_layer, act_layer=act_layer)
        widths, (n_a, n_b, n_c) = BLOCK_WIDTHS[version], REPEATS[version]
        residual = dict(conv_block=conv, act_layer=act_layer)

        for name, module in inception_resnet_stem(in_channels, conv).items():
            self.add_module(name, module)
        if version == "v1":
            self.conv2d_4b = conv(192, 256, kernel_size=3, stride=2)  # (N, 256, 35, 35)
            channels = 256
        else:
            self.maxpool_5a = nn.MaxPool2d(3, stride=2)  # (N, 192, 35, 35)
            self.mixed_5b = Mixed5b(192, conv)  # (N, 320, 35, 35)
            channels = self.mixed_5b.out_channels
        self.repeat = nn.Sequential(*[InceptionResNetA(channels, *widths["a"], scale=scales[0], **residual)
                                      for _ in range(n_a)])
        self.mixed_6a = ReductionA(channels, *REDUCTION_A[f"inception_resnet_{version}"], conv_block=conv)
        channels = self.mixed_6a.out_channels  # 896 (v1), 1088 (v2)
        self.repeat_1 = nn.Sequential(*[InceptionResNetB(channels, *widths["b"], scale=scales[1], **residual)
                                        for _ in range(n_b)])
        self.mixed_7a = ReductionBResNet(channels, *widths["reduction_b"], conv_block=conv)
        channels = self.mixed_7a.out_channels  # 1792 (v1), 2080 (v2)
        if version == "v1":
            self.repeat_2 = nn.Sequential(*[InceptionResNetC(channels, *widths["c"], scale=scales[2], **residual)
                                            for _ in range(n_c)])
        else:  # timm's port: the last C block is unscaled and linear, then a 1×1 conv to 1536
            self.repeat_2 = nn.Sequential(*[InceptionResNetC(channels, *widths["c"], scale=scales[2], **residual)
                                            for _ in range(n_c - 1)])
            self.block8 = InceptionResNetC(channels, *widths["c"], scale=1.0, conv_block=conv, act_layer=None)
            self.conv2d_7b = conv(channels, 1536, kernel_size=1)
            channels = 1536
        self.num_features = channels
        self._body = [name for name, _ in self.named_children()]  # the layers forward_features runs, in order
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classif = nn.Linear(channels, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, 299, 299) -> (N, 1792, 8, 8)`` (v1) or ``(N, 1536, 8, 8)`` (v2)."""
        for name in self._body:
            x = getattr(self, name)(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, C, h, w) -> (N, num_classes)``: average pooling, dropout, ``classif``."""
        x = torch.flatten(self.avgpool(x), 1)
        x = self.dropout(x)
        return x if pre_logits else self.classif(x)


@register_model(input_size=(3, 299, 299), tags=("imagenet", "paper"))
def inception_resnet_v1(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> InceptionResNet:
    """Inception-ResNet-v1 (Szegedy, Ioffe, Vanhoucke & Alemi, 2017), the paper's Figs. 10-15."""
    return InceptionResNet(num_classes, in_channels, version="v1", **kwargs)


@register_model(input_size=(3, 299, 299), tags=("imagenet", "timm"))
def inception_resnet_v2(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> InceptionResNet:
    """Inception-ResNet-v2 (Szegedy, Ioffe, Vanhoucke & Alemi, 2017), timm's (TensorFlow's) layout."""
    return InceptionResNet(num_classes, in_channels, version="v2", **kwargs)
