"""Inception-v4.

C. Szegedy, S. Ioffe, V. Vanhoucke, A. Alemi, "Inception-v4, Inception-ResNet and the Impact of
Residual Connections on Learning", AAAI 2017. https://arxiv.org/abs/1602.07261

A "pure" Inception network (no residual connections) with one uniform design per grid size: the stem
of Fig. 3 takes a 299×299 image to 35×35×384, then 4 Inception-A modules (Fig. 4, 35×35×384),
Reduction-A (Fig. 7) to 17×17×1024, 7 Inception-B modules (Fig. 5), Reduction-B (Fig. 8) to
8×8×1536, 3 Inception-C modules (Fig. 6), global average pooling, dropout (keep 0.8) and a linear
classifier (Fig. 9). Every convolution is conv -> BatchNorm -> ReLU (``googlenet.basic_conv``);
"V" in the figures marks a valid (unpadded) convolution or pooling, the others are "same" padded.

The layout is timm's ``inception_v4`` (``features.0`` ... ``features.21``, ``last_linear``), itself a
port of the TensorFlow release, so that ``timm.create_model("inception_v4").state_dict()`` loads
with ``strict=True`` and gives the same outputs (tested). Where the port departs from the figures we
follow the port: in a few branches (the stem's, Inception-B's and Inception-C's) the 1×n and n×1
halves of a factorised convolution come in the other order than in the figures, which changes
neither shapes nor parameter counts; the widths are the figures'.

Reduction-A (Fig. 7) is shared with Inception-ResNet (``inception_resnet.py`` imports it, with the
widths k, l, m, n of the paper's Table 1 for all three networks). The stem of Fig. 3 is the paper's
stem of Inception-ResNet-v2 too, but timm's port of that network uses another (see there).
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
from torch import nn

from ._base import ImageClassifier
from ._registry import register_model
from .googlenet import basic_conv

__all__ = [
    "InceptionV4", "Mixed3a", "Mixed4a", "Mixed5a", "InceptionA", "InceptionB", "InceptionC",
    "ReductionA", "ReductionB", "inception_v4_stem", "REDUCTION_A", "inception_v4",
]

ConvBlock = Callable[..., nn.Module]

# The paper's Table 1: the filter counts of Reduction-A (Fig. 7) in each network.
# network: k, l, m, n
REDUCTION_A: dict[str, tuple[int, int, int, int]] = {
    "inception_v4": (192, 224, 256, 384),
    "inception_resnet_v1": (192, 192, 256, 384),
    "inception_resnet_v2": (256, 256, 384, 384),
}


def _avg_pool_3x3() -> nn.AvgPool2d:
    # TensorFlow's "SAME" average pooling divides by the pixels inside the image (timm's port too)
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class Mixed3a(nn.Module):
    """The stem's first filter concatenation (Fig. 3): 3×3 max pool /2 (V) beside a 3×3 conv 96 /2 (V).
    ``(N, 64, 147, 147) -> (N, 64 + 96 = 160, 73, 73)`` at 299×299."""

    def __init__(self, in_channels: int = 64, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = in_channels + 96
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.conv = conv_block(in_channels, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.maxpool(x), self.conv(x)], 1)


class Mixed4a(nn.Module):
    """The stem's second filter concatenation (Fig. 3): 1×1 64 -> 3×3 96 (V), beside
    1×1 64 -> 1×7 64 -> 7×1 64 -> 3×3 96 (V). ``(N, 160, 73, 73) -> (N, 192, 71, 71)`` at 299×299."""

    def __init__(self, in_channels: int = 160, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = 96 + 96
        self.branch0 = nn.Sequential(
            conv_block(in_channels, 64, kernel_size=1),
            conv_block(64, 96, kernel_size=3),
        )
        self.branch1 = nn.Sequential(
            conv_block(in_channels, 64, kernel_size=1),
            conv_block(64, 64, kernel_size=(1, 7), padding=(0, 3)),  # a 7×7 factorised into 1×7 and 7×1
            conv_block(64, 64, kernel_size=(7, 1), padding=(3, 0)),
            conv_block(64, 96, kernel_size=3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x)], 1)


class Mixed5a(nn.Module):
    """The stem's third filter concatenation (Fig. 3): 3×3 conv 192 /2 (V) beside a 3×3 max pool /2 (V).
    ``(N, 192, 71, 71) -> (N, 192 + 192 = 384, 35, 35)`` at 299×299."""

    def __init__(self, in_channels: int = 192, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = 192 + in_channels
        self.conv = conv_block(in_channels, 192, kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.maxpool(x)], 1)


def inception_v4_stem(in_channels: int, conv_block: ConvBlock = basic_conv) -> list[nn.Module]:
    """The stem of Inception-v4 and Inception-ResNet-v2 (Fig. 3) as a list of six layers (timm's
    ``features.0`` ... ``features.5``): ``(N, in_channels, 299, 299) -> (N, 384, 35, 35)``.

    3×3 conv 32 /2 (V) -> 149×149×32, 3×3 conv 32 (V) -> 147×147×32, 3×3 conv 64 -> 147×147×64,
    then the three filter concatenations ``Mixed3a`` (73×73×160), ``Mixed4a`` (71×71×192) and
    ``Mixed5a`` (35×35×384).
    """
    return [
        conv_block(in_channels, 32, kernel_size=3, stride=2),  # (N, 32, 149, 149)
        conv_block(32, 32, kernel_size=3),  # (N, 32, 147, 147)
        conv_block(32, 64, kernel_size=3, padding=1),  # (N, 64, 147, 147)
        Mixed3a(64, conv_block),  # (N, 160, 73, 73)
        Mixed4a(160, conv_block),  # (N, 192, 71, 71)
        Mixed5a(192, conv_block),  # (N, 384, 35, 35)
    ]


class InceptionA(nn.Module):
    """Inception-A (Fig. 4), the 35×35 module: ``(N, 384, 35, 35) -> (N, 96·4 = 384, 35, 35)``.

    Four branches: 1×1 96; 1×1 64 -> 3×3 96; 1×1 64 -> 3×3 96 -> 3×3 96 (a 5×5 factorised into two
    3×3); 3×3 average pool -> 1×1 96.
    """

    def __init__(self, in_channels: int = 384, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = 96 * 4
        self.branch0 = conv_block(in_channels, 96, kernel_size=1)
        self.branch1 = nn.Sequential(
            conv_block(in_channels, 64, kernel_size=1),
            conv_block(64, 96, kernel_size=3, padding=1),
        )
        self.branch2 = nn.Sequential(
            conv_block(in_channels, 64, kernel_size=1),
            conv_block(64, 96, kernel_size=3, padding=1),
            conv_block(96, 96, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(_avg_pool_3x3(), conv_block(in_channels, 96, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class ReductionA(nn.Module):
    """Reduction-A (Fig. 7), 35×35 to 17×17: ``(N, C, 35, 35) -> (N, n + m + C, 17, 17)``.

    Three branches: 3×3 conv n /2 (V); 1×1 k -> 3×3 l -> 3×3 m /2 (V); 3×3 max pool /2 (V). The
    paper's Table 1 gives (k, l, m, n) per network (``REDUCTION_A``): Inception-v4 (192, 224, 256,
    384) takes 384 to 1024 channels; Inception-ResNet-v1 (192, 192, 256, 384) 256 to 896;
    Inception-ResNet-v2 (256, 256, 384, 384) 320 to 1088 in timm's layout.
    """

    def __init__(self, in_channels: int, k: int, l: int, m: int, n: int,  # noqa: E741 (the paper's names)
                 conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = n + m + in_channels
        self.branch0 = conv_block(in_channels, n, kernel_size=3, stride=2)
        self.branch1 = nn.Sequential(
            conv_block(in_channels, k, kernel_size=1),
            conv_block(k, l, kernel_size=3, padding=1),
            conv_block(l, m, kernel_size=3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionB(nn.Module):
    """Inception-B (Fig. 5), the 17×17 module: ``(N, 1024, 17, 17) -> (N, 384 + 256 + 256 + 128 = 1024, 17, 17)``.

    Four branches: 1×1 384; 1×1 192 -> 1×7 224 -> 7×1 256; 1×1 192 -> 7×1 192 -> 1×7 224 -> 7×1 224
    -> 1×7 256 (two 7×7s, each factorised into 7×1 and 1×7); 3×3 average pool -> 1×1 128.
    """

    def __init__(self, in_channels: int = 1024, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = 384 + 256 + 256 + 128
        self.branch0 = conv_block(in_channels, 384, kernel_size=1)
        self.branch1 = nn.Sequential(
            conv_block(in_channels, 192, kernel_size=1),
            conv_block(192, 224, kernel_size=(1, 7), padding=(0, 3)),
            conv_block(224, 256, kernel_size=(7, 1), padding=(3, 0)),
        )
        self.branch2 = nn.Sequential(
            conv_block(in_channels, 192, kernel_size=1),
            conv_block(192, 192, kernel_size=(7, 1), padding=(3, 0)),
            conv_block(192, 224, kernel_size=(1, 7), padding=(0, 3)),
            conv_block(224, 224, kernel_size=(7, 1), padding=(3, 0)),
            conv_block(224, 256, kernel_size=(1, 7), padding=(0, 3)),
        )
        self.branch3 = nn.Sequential(_avg_pool_3x3(), conv_block(in_channels, 128, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class ReductionB(nn.Module):
    """Reduction-B of Inception-v4 (Fig. 8), 17×17 to 8×8:
    ``(N, 1024, 17, 17) -> (N, 192 + 320 + 1024 = 1536, 8, 8)``.

    Three branches: 1×1 192 -> 3×3 192 /2 (V); 1×1 256 -> 1×7 256 -> 7×1 320 -> 3×3 320 /2 (V);
    3×3 max pool /2 (V). (Inception-ResNet has its own Reduction-B, Figs. 12 and 18.)
    """

    def __init__(self, in_channels: int = 1024, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = 192 + 320 + in_channels
        self.branch0 = nn.Sequential(
            conv_block(in_channels, 192, kernel_size=1),
            conv_block(192, 192, kernel_size=3, stride=2),
        )
        self.branch1 = nn.Sequential(
            conv_block(in_channels, 256, kernel_size=1),
            conv_block(256, 256, kernel_size=(1, 7), padding=(0, 3)),
            conv_block(256, 320, kernel_size=(7, 1), padding=(3, 0)),
            conv_block(320, 320, kernel_size=3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionC(nn.Module):
    """Inception-C (Fig. 6), the 8×8 module: ``(N, 1536, 8, 8) -> (N, 256 + 512 + 512 + 256 = 1536, 8, 8)``.

    Four branches: 1×1 256; 1×1 384 -> [1×3 256 | 3×1 256]; 1×1 384 -> 3×1 448 -> 1×3 512 ->
    [1×3 256 | 3×1 256]; 3×3 average pool -> 1×1 256. The bracketed pairs run side by side on the
    same input and are concatenated (the "expanded filter bank" of Inception-v3). The children are
    flat (``branch1_0``, ``branch1_1a`` ...), timm's keys; ``forward`` wires them.
    """

    def __init__(self, in_channels: int = 1536, conv_block: ConvBlock = basic_conv) -> None:
        super().__init__()
        self.out_channels = 256 + 512 + 512 + 256
        self.branch0 = conv_block(in_channels, 256, kernel_size=1)
        self.branch1_0 = conv_block(in_channels, 384, kernel_size=1)
        self.branch1_1a = conv_block(384, 256, kernel_size=(1, 3), padding=(0, 1))
        self.branch1_1b = conv_block(384, 256, kernel_size=(3, 1), padding=(1, 0))
        self.branch2_0 = conv_block(in_channels, 384, kernel_size=1)
        self.branch2_1 = conv_block(384, 448, kernel_size=(3, 1), padding=(1, 0))
        self.branch2_2 = conv_block(448, 512, kernel_size=(1, 3), padding=(0, 1))
        self.branch2_3a = conv_block(512, 256, kernel_size=(1, 3), padding=(0, 1))
        self.branch2_3b = conv_block(512, 256, kernel_size=(3, 1), padding=(1, 0))
        self.branch3 = nn.Sequential(_avg_pool_3x3(), conv_block(in_channels, 256, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.branch0(x)  # (N, 256, 8, 8)
        x1 = self.branch1_0(x)
        x1 = torch.cat([self.branch1_1a(x1), self.branch1_1b(x1)], 1)  # (N, 512, 8, 8)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        x2 = torch.cat([self.branch2_3a(x2), self.branch2_3b(x2)], 1)  # (N, 512, 8, 8)
        x3 = self.branch3(x)  # (N, 256, 8, 8)
        return torch.cat([x0, x1, x2, x3], 1)


class InceptionV4(ImageClassifier):
    """Inception-v4 (Fig. 9) in timm's layout: ``(N, in_channels, 299, 299) -> (N, num_classes)``.

    ``features`` holds the stem (indices 0-5), 4 × Inception-A (6-9), Reduction-A (10),
    7 × Inception-B (11-17), Reduction-B (18) and 3 × Inception-C (19-21); then global average
    pooling, dropout (the paper keeps 0.8 of the units: ``dropout=0.2``) and ``last_linear``.
    Inputs down to 75×75 reach the classifier (the stem and the two reductions use valid
    convolutions: 75 -> 37 -> 35 -> 17 -> 15 -> 7 -> 3 -> 1).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, dropout: float = 0.2,
                 norm_layer: Callable[[int], nn.Module] | None = None,
                 act_layer: Callable[..., nn.Module] = nn.ReLU) -> None:
        super().__init__(num_classes, in_channels, input_size=(299, 299), min_input_size=(75, 75))
        conv = functools.partial(basic_conv, norm_layer=norm_layer, act_layer=act_layer)
        layers = inception_v4_stem(in_channels, conv)  # (N, 384, 35, 35)
        layers += [InceptionA(384, conv) for _ in range(4)]
        layers.append(ReductionA(384, *REDUCTION_A["inception_v4"], conv_block=conv))  # (N, 1024, 17, 17)
        layers += [InceptionB(1024, conv) for _ in range(7)]
        layers.append(ReductionB(1024, conv))  # (N, 1536, 8, 8)
        layers += [InceptionC(1536, conv) for _ in range(3)]
        self.features = nn.Sequential(*layers)
        self.num_features = 1536
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.last_linear = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, 299, 299) -> (N, 1536, 8, 8)``."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, 1536, h, w) -> (N, num_classes)``: global average pooling, dropout, ``last_linear``."""
        x = torch.flatten(self.avgpool(x), 1)  # (N, 1536)
        x = self.dropout(x)
        return x if pre_logits else self.last_linear(x)


@register_model(input_size=(3, 299, 299), tags=("imagenet", "timm"))
def inception_v4(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> InceptionV4:
    """Inception-v4 (Szegedy, Ioffe, Vanhoucke & Alemi, 2017, Fig. 9), timm's layout."""
    return InceptionV4(num_classes, in_channels, **kwargs)
