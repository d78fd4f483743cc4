"""Inception v3.

C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens, Z. Wojna, "Rethinking the Inception Architecture for
Computer Vision", CVPR 2016. https://arxiv.org/abs/1512.00567

GoogLeNet's Inception modules with batch normalisation everywhere (as in BN-Inception, Ioffe and
Szegedy 2015) and their large filters factorised into smaller ones: a 5×5 convolution becomes two
3×3 convolutions (the paper's Fig. 5, 18 instead of 25 weights per input-output pair), an n×n
convolution becomes a 1×n followed by an n×1 (Fig. 6, with n = 7 on the 17×17 grid: 14 instead of
49), and on the 8×8 grid the 1×3 and 3×1 run side by side to widen the output (Fig. 7). Between the
grids, a reduction module halves the size by running strided convolutions and a strided pool in
parallel and concatenating them (Fig. 10), instead of pooling first (a bottleneck) or expanding
first (3× the cost). One auxiliary classifier sits on the last 17×17 map (Fig. 8); the paper found
it acts as a regulariser rather than a help for early training.

Table 3 of the paper adds the changes one at a time (single crop, ILSVRC 2012 validation): the last
row, "Inception-v2 BN-auxiliary", is what the paper calls Inception-v3: 21.2 % top-1 and 5.6 % top-5
error at 4.8 billion operations (GoogLeNet: 29 % / 9.2 % at 1.5 billion).

The layout is torchvision's (``Conv2d_1a_3x3`` ... ``Mixed_7c``, ``AuxLogits``, ``fc``: Google's
released network, whose weights torchvision ported), so that torchvision's ``state_dict`` loads with
``strict=True`` and gives the same outputs. Where that network departs from the paper:

* Table 1's stem ends with conv 3×3 (to 80 channels, 73 -> 71), conv 3×3/2 (to 192, 71 -> 35) and
  conv 3×3 (to 288 on the 35×35 grid). The released network has a 1×1 conv to 80 (73×73), a 3×3 conv
  to 192 (71×71) and a 3×3/2 max pool (35×35), and no 288-channel conv: the first 35×35 module takes
  192 channels and the second makes them 288.
* Table 1 lists 3, 5 and 2 modules on the 35×35, 17×17 and 8×8 grids. Here: three ``InceptionA``,
  the reduction ``InceptionB``, four ``InceptionC``, the reduction ``InceptionD`` and two
  ``InceptionE``; the grid sizes and widths of Table 1 (35×35×288, 17×17×768, 8×8×1280,
  8×8×2048) hold.
* ``InceptionA`` keeps a 5×5 branch next to the two-3×3 branch of Fig. 5.
* The paper's "BN-auxiliary" also batch-normalises the auxiliary classifier's fully connected
  layer; here (and in the released weights) only its two convolutions are normalised.
* A dropout layer (p = 0.5) before the classifier (torchvision's; Table 1 lists none).
* Label smoothing (the paper's Section 7, ε = 0.1) is part of the loss, not the model:
  ``cnnlab.losses.label_smoothing_cross_entropy``.

Counted here at 299×299: 5.71 billion multiply-accumulates (torchvision's 5.713 "GFLOPS"; the
paper's abstract says 5 billion multiply-adds, Table 3 4.8 billion operations), and 23,834,568
parameters, "less than 25 million" as the abstract says; the auxiliary head adds 3,326,696 (27,161,264
in all, the count torchvision gives for its weights, which include the head).
"""
from __future__ import annotations

import functools
from collections import namedtuple
from typing import Callable, Optional

import torch
from torch import nn

from .._utils import size_str
from ._base import ImageClassifier
from ._registry import register_model
from .googlenet import basic_conv, imagenet_to_inception_input, init_inception_weights

__all__ = [
    "Inception3", "InceptionOutputs", "InceptionA", "InceptionB", "InceptionC", "InceptionD",
    "InceptionE", "InceptionAux", "inception_v3",
]

# What ``forward`` returns in training mode with the auxiliary head (torchvision's fields and order).
InceptionOutputs = namedtuple("InceptionOutputs", ["logits", "aux_logits"])

ConvBlock = Callable[..., nn.Module]

# The Inception modules after the stem (torchvision's names).
# name: block, in_channels, keyword arguments
MIXED_CFGS: dict[str, tuple[str, int, dict[str, int]]] = {
    "Mixed_5b": ("A", 192, {"pool_features": 32}),  # 35×35: 256 channels out
    "Mixed_5c": ("A", 256, {"pool_features": 64}),  # 288
    "Mixed_5d": ("A", 288, {"pool_features": 64}),  # 288
    "Mixed_6a": ("B", 288, {}),  # 35×35 -> 17×17: 768
    "Mixed_6b": ("C", 768, {"channels_7x7": 128}),  # 768
    "Mixed_6c": ("C", 768, {"channels_7x7": 160}),
    "Mixed_6d": ("C", 768, {"channels_7x7": 160}),
    "Mixed_6e": ("C", 768, {"channels_7x7": 192}),
    "Mixed_7a": ("D", 768, {}),  # 17×17 -> 8×8: 1280
    "Mixed_7b": ("E", 1280, {}),  # 2048
    "Mixed_7c": ("E", 2048, {}),  # 2048
}


class InceptionA(nn.Module):
    """The 35×35 module: the paper's Fig. 5 (a 5×5 convolution replaced by two 3×3), with the 5×5
    branch of the released network kept beside it.

    ``(N, in_channels, H, W) -> (N, 224 + pool_features, H, W)`` (35×35 at a 299×299 input):
    1×1 to 64; 1×1 to 48 then 5×5 to 64; 1×1 to 64, 3×3 to 96, 3×3 to 96; 3×3 average pool
    (stride 1) then 1×1 to ``pool_features``. Mixed_5b: 192 -> 256, Mixed_5c/5d: -> 288.
    """

    def __init__(self, in_channels: int, pool_features: int, conv_block: Optional[ConvBlock] = None) -> None:
        super().__init__()
        conv_block = conv_block or basic_conv
        self.out_channels = 64 + 64 + 96 + pool_features
        self.branch1x1 = conv_block(in_channels, 64, kernel_size=1)

        self.branch5x5_1 = conv_block(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = conv_block(48, 64, kernel_size=5, padding=2)

        self.branch3x3dbl_1 = conv_block(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv_block(64, 96, kernel_size=3, padding=1)  # two 3×3 = one 5×5 field
        self.branch3x3dbl_3 = conv_block(96, 96, kernel_size=3, padding=1)

        # torchvision calls F.avg_pool2d (count_include_pad=True); a module shows in summaries, no keys
        self.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = conv_block(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)  # (N, 64, H, W)

        branch5x5 = self.branch5x5_1(x)
        branch5x5 = self.branch5x5_2(branch5x5)  # (N, 64, H, W)

        branch3x3dbl = self.branch3x3dbl_1(x)
        branch3x3dbl = self.branch3x3dbl_2(branch3x3dbl)
        branch3x3dbl = self.branch3x3dbl_3(branch3x3dbl)  # (N, 96, H, W)

        branch_pool = self.branch_pool(self.pool(x))  # (N, pool_features, H, W)
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    """Grid reduction 35×35 -> 17×17: the paper's Fig. 10 (strided convolutions and a strided pool in
    parallel, concatenated; no representational bottleneck, no 3× cost).

    ``(N, in_channels, H, W) -> (N, 480 + in_channels, (H-3)//2 + 1, (W-3)//2 + 1)``: 3×3/2 to 384;
    1×1 to 64, 3×3 to 96, 3×3/2 to 96; 3×3/2 max pool. Mixed_6a at 299×299: (N, 288, 35, 35) ->
    (N, 768, 17, 17).
    """

    def __init__(self, in_channels: int, conv_block: Optional[ConvBlock] = None) -> None:
        super().__init__()
        conv_block = conv_block or basic_conv
        self.out_channels = 384 + 96 + in_channels
        self.branch3x3 = conv_block(in_channels, 384, kernel_size=3, stride=2)

        self.branch3x3dbl_1 = conv_block(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv_block(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv_block(96, 96, kernel_size=3, stride=2)

        self.branch_pool = nn.MaxPool2d(kernel_size=3, stride=2)  # no weights: torchvision's keys unchanged

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3(x)  # (N, 384, H', W')

        branch3x3dbl = self.branch3x3dbl_1(x)
        branch3x3dbl = self.branch3x3dbl_2(branch3x3dbl)
        branch3x3dbl = self.branch3x3dbl_3(branch3x3dbl)  # (N, 96, H', W')

        branch_pool = self.branch_pool(x)  # (N, in_channels, H', W')
        return torch.cat([branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionC(nn.Module):
    """The 17×17 module: the paper's Fig. 6 with n = 7 (each 7×7 convolution factorised into 1×7
    and 7×1).

    ``(N, in_channels, H, W) -> (N, 768, H, W)`` (17×17 at 299×299): 1×1 to 192; 1×1 to c7, 1×7,
    7×1 to 192; 1×1 to c7, then 7×1, 1×7, 7×1, 1×7 (two factorised 7×7) to 192; 3×3 average pool
    then 1×1 to 192. ``channels_7x7`` (c7) is 128, 160, 160, 192 in Mixed_6b ... 6e.
    """

    def __init__(self, in_channels: int, channels_7x7: int, conv_block: Optional[ConvBlock] = None) -> None:
        super().__init__()
        conv_block = conv_block or basic_conv
        self.out_channels = 4 * 192
        self.branch1x1 = conv_block(in_channels, 192, kernel_size=1)

        c7 = channels_7x7
        self.branch7x7_1 = conv_block(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = conv_block(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = conv_block(c7, 192, kernel_size=(7, 1), padding=(3, 0))

        self.branch7x7dbl_1 = conv_block(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = conv_block(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = conv_block(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = conv_block(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = conv_block(c7, 192, kernel_size=(1, 7), padding=(0, 3))

        self.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = conv_block(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)  # (N, 192, H, W)

        branch7x7 = self.branch7x7_1(x)
        branch7x7 = self.branch7x7_2(branch7x7)
        branch7x7 = self.branch7x7_3(branch7x7)  # (N, 192, H, W)

        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_2(branch7x7dbl)
        branch7x7dbl = self.branch7x7dbl_3(branch7x7dbl)
        branch7x7dbl = self.branch7x7dbl_4(branch7x7dbl)
        branch7x7dbl = self.branch7x7dbl_5(branch7x7dbl)  # (N, 192, H, W)

        branch_pool = self.branch_pool(self.pool(x))  # (N, 192, H, W)
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    """Grid reduction 17×17 -> 8×8: the scheme of the paper's Fig. 10 with a factorised 7×7 in its
    deeper tower (the released network's; not drawn in the paper).

    ``(N, in_channels, H, W) -> (N, 512 + in_channels, (H-3)//2 + 1, (W-3)//2 + 1)``: 1×1 to 192,
    3×3/2 to 320; 1×1 to 192, 1×7, 7×1, 3×3/2 to 192; 3×3/2 max pool. Mixed_7a at 299×299:
    (N, 768, 17, 17) -> (N, 1280, 8, 8).
    """

    def __init__(self, in_channels: int, conv_block: Optional[ConvBlock] = None) -> None:
        super().__init__()
        conv_block = conv_block or basic_conv
        self.out_channels = 320 + 192 + in_channels
        self.branch3x3_1 = conv_block(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = conv_block(192, 320, kernel_size=3, stride=2)

        self.branch7x7x3_1 = conv_block(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = conv_block(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = conv_block(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = conv_block(192, 192, kernel_size=3, stride=2)

        self.branch_pool = nn.MaxPool2d(kernel_size=3, stride=2)  # no weights: torchvision's keys unchanged

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = self.branch3x3_2(branch3x3)  # (N, 320, H', W')

        branch7x7x3 = self.branch7x7x3_1(x)
        branch7x7x3 = self.branch7x7x3_2(branch7x7x3)
        branch7x7x3 = self.branch7x7x3_3(branch7x7x3)
        branch7x7x3 = self.branch7x7x3_4(branch7x7x3)  # (N, 192, H', W')

        branch_pool = self.branch_pool(x)  # (N, in_channels, H', W')
        return torch.cat([branch3x3, branch7x7x3, branch_pool], 1)


class InceptionE(nn.Module):
    """The 8×8 module with expanded filter-bank outputs: the paper's Fig. 7 (the 1×3 and 3×1 of a
    factorised 3×3 run in parallel and are concatenated, widening the output on the coarsest grid).

    ``(N, in_channels, H, W) -> (N, 2048, H, W)`` (8×8 at 299×299): 1×1 to 320; 1×1 to 384, then
    1×3 and 3×1 side by side (2×384); 1×1 to 448, 3×3 to 384, then 1×3 and 3×1 side by side (2×384);
    3×3 average pool then 1×1 to 192. Mixed_7b: 1280 -> 2048, Mixed_7c: 2048 -> 2048.
    """

    def __init__(self, in_channels: int, conv_block: Optional[ConvBlock] = None) -> None:
        super().__init__()
        conv_block = conv_block or basic_conv
        self.out_channels = 320 + 2 * 384 + 2 * 384 + 192
        self.branch1x1 = conv_block(in_channels, 320, kernel_size=1)

        self.branch3x3_1 = conv_block(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = conv_block(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = conv_block(384, 384, kernel_size=(3, 1), padding=(1, 0))

        self.branch3x3dbl_1 = conv_block(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = conv_block(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = conv_block(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = conv_block(384, 384, kernel_size=(3, 1), padding=(1, 0))

        self.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = conv_block(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)  # (N, 320, H, W)

        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)  # (N, 768, H, W)

        branch3x3dbl = self.branch3x3dbl_1(x)
        branch3x3dbl = self.branch3x3dbl_2(branch3x3dbl)
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)

        branch_pool = self.branch_pool(self.pool(x))  # (N, 192, H, W)
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionAux(nn.Module):
    """The auxiliary classifier on the last 17×17 map (the paper's Fig. 8).

    ``(N, in_channels, 17, 17) -> (N, num_classes)``: 5×5 average pool with stride 3 (to 5×5), 1×1
    conv to 128, 5×5 conv to 768 (to 1×1), fc. Needs a map of at least 17×17 (the 5×5 conv has to fit
    on the pooled map), so a 299×299 input.
    """

    def __init__(self, in_channels: int, num_classes: int, conv_block: Optional[ConvBlock] = None) -> None:
        super().__init__()
        conv_block = conv_block or basic_conv
        self.pool = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv0 = conv_block(in_channels, 128, kernel_size=1)
        self.conv1 = conv_block(128, 768, kernel_size=5)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(768, num_classes)
        # torchvision's init reads ``stddev`` from the Conv2d/Linear it initialises: 0.001 here. (It
        # also sets 0.01 on its conv1 wrapper, which that loop never reads: conv1 gets 0.1 there too.)
        self.fc.stddev = 0.001

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)  # (N, 768, 5, 5)
        x = self.conv0(x)  # (N, 128, 5, 5)
        x = self.conv1(x)  # (N, 768, 1, 1)
        x = self.avgpool(x)  # (N, 768, 1, 1)
        x = torch.flatten(x, 1)  # (N, 768)
        return self.fc(x)


class Inception3(ImageClassifier):
    """Inception v3 with torchvision's layout (``Inception3``).

    In training mode with ``aux_logits=True``, ``forward`` returns ``InceptionOutputs(logits,
    aux_logits)``; otherwise (eval mode, or no auxiliary head) the logits tensor, as torchvision.
    The auxiliary head needs 299×299 inputs or larger (a clear ``ValueError`` otherwise); in eval
    mode, or with ``aux_logits=False``, inputs from 75×75 work. ``transform_input`` re-normalises
    inputs from ImageNet's mean/std to [-1, 1] as the original (ported) weights expect.
    """

    min_aux_input_size = (299, 299)  # the aux head's 5×5 conv needs the 17×17 map of a 299×299 input

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: Optional[bool] = True, dropout: float = 0.5,
                 norm_layer: Callable[[int], nn.Module] | None = None,
                 act_layer: Callable[..., nn.Module] = nn.ReLU) -> None:
        # 75 -> 37 -> 35 -> 17 -> 15 -> 7 (35-grid) -> 3 (17-grid) -> 1 (8-grid): torchvision's meta min_size
        super().__init__(num_classes, in_channels, input_size=(299, 299), min_input_size=(75, 75))
        if transform_input and in_channels != 3:
            raise ValueError(f"Inception3: transform_input re-normalises RGB images and needs in_channels=3, "
                             f"got in_channels={in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        conv = functools.partial(basic_conv, norm_layer=norm_layer, act_layer=act_layer)
        blocks = {"A": InceptionA, "B": InceptionB, "C": InceptionC, "D": InceptionD, "E": InceptionE}

        self.Conv2d_1a_3x3 = conv(in_channels, 32, kernel_size=3, stride=2)  # 149×149
        self.Conv2d_2a_3x3 = conv(32, 32, kernel_size=3)  # 147×147
        self.Conv2d_2b_3x3 = conv(32, 64, kernel_size=3, padding=1)  # 147×147
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)  # 73×73
        self.Conv2d_3b_1x1 = conv(64, 80, kernel_size=1)  # 73×73 (Table 1: a 3×3 conv)
        self.Conv2d_4a_3x3 = conv(80, 192, kernel_size=3)  # 71×71
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)  # 35×35 (Table 1: a 3×3/2 conv)
        for name, (kind, ch_in, kwargs) in MIXED_CFGS.items():
            setattr(self, name, blocks[kind](ch_in, **kwargs, conv_block=conv))
            if name == "Mixed_6e":  # registered here so that the state_dict order is torchvision's
                self.AuxLogits = InceptionAux(768, num_classes, conv_block=conv) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(self.Mixed_7c.out_channels, num_classes)

        if init_weights is None or init_weights:  # torchvision's initialisation (None counts as True there too)
            init_inception_weights(self, std=0.1)  # the aux head's fc carries its own stddev 0.001

    def _body(self, x: torch.Tensor, aux: list[torch.Tensor] | None) -> torch.Tensor:
        """Stem and Inception modules; appends the auxiliary logits to ``aux`` when it is a list.
        Shapes below are for a 299×299 input."""
        if self.transform_input:
            x = imagenet_to_inception_input(x)
        x = self.Conv2d_1a_3x3(x)  # (N, 32, 149, 149)
        x = self.Conv2d_2a_3x3(x)  # (N, 32, 147, 147)
        x = self.Conv2d_2b_3x3(x)  # (N, 64, 147, 147)
        x = self.maxpool1(x)  # (N, 64, 73, 73)
        x = self.Conv2d_3b_1x1(x)  # (N, 80, 73, 73)
        x = self.Conv2d_4a_3x3(x)  # (N, 192, 71, 71)
        x = self.maxpool2(x)  # (N, 192, 35, 35)
        x = self.Mixed_5b(x)  # (N, 256, 35, 35)
        x = self.Mixed_5c(x)  # (N, 288, 35, 35)
        x = self.Mixed_5d(x)  # (N, 288, 35, 35)
        x = self.Mixed_6a(x)  # (N, 768, 17, 17)
        x = self.Mixed_6b(x)  # (N, 768, 17, 17)
        x = self.Mixed_6c(x)  # (N, 768, 17, 17)
        x = self.Mixed_6d(x)  # (N, 768, 17, 17)
        x = self.Mixed_6e(x)  # (N, 768, 17, 17)
        if aux is not None and self.AuxLogits is not None:
            aux.append(self.AuxLogits(x))  # (N, num_classes)
        x = self.Mixed_7a(x)  # (N, 1280, 8, 8)
        x = self.Mixed_7b(x)  # (N, 2048, 8, 8)
        x = self.Mixed_7c(x)  # (N, 2048, 8, 8)
        return x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, H, W) -> (N, 2048, h, w)``, 8×8 at 299×299 (no auxiliary head)."""
        return self._body(x, aux=None)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, 2048, h, w) -> (N, num_classes)``: global average pooling, dropout, fc;
        ``pre_logits``: the (N, 2048) input of the fc layer."""
        x = self.avgpool(x)  # (N, 2048, 1, 1)
        x = self.dropout(x)
        x = torch.flatten(x, 1)  # (N, 2048)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor | InceptionOutputs:
        """(N, in_channels, H, W), H, W >= 75 (299 by design) -> (N, num_classes) logits, or
        ``InceptionOutputs`` of two such tensors in training mode with ``aux_logits`` (H, W >= 299)."""
        self.check_input(x)
        with_aux = self.training and self.aux_logits and self.AuxLogits is not None
        if with_aux:
            h, w = x.shape[-2:]
            min_h, min_w = self.min_aux_input_size
            if h < min_h or w < min_w:
                raise ValueError(f"{self.model_name} with its auxiliary classifier (training mode, aux_logits=True) "
                                 f"needs inputs of at least {size_str(min_h, min_w)}, got {size_str(h, w)}; "
                                 f"build it with aux_logits=False to train on smaller images")
        aux: list[torch.Tensor] = []
        x = self._body(x, aux if with_aux else None)
        x = self.forward_head(x)  # (N, num_classes)
        if with_aux:
            return InceptionOutputs(x, aux[0])
        return x


@register_model(input_size=(3, 299, 299), tags=("imagenet", "torchvision"))
def inception_v3(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> Inception3:
    """Inception v3 from "Rethinking the Inception Architecture for Computer Vision" (Szegedy et al., 2016), torchvision's layout."""
    return Inception3(num_classes, in_channels, **kwargs)
