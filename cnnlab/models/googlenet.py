"""GoogLeNet (Inception v1).

C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke,
A. Rabinovich, "Going Deeper with Convolutions", CVPR 2015. https://arxiv.org/abs/1409.4842

22 weight layers built from Inception modules: parallel 1×1, 3×3 and 5×5 convolutions and a 3×3
max pool, concatenated along the channels. In the naive module the expensive 3×3 and 5×5 branches
see every input channel; the dimension-reduction module puts a 1×1 "bottleneck" in front of them
(and a 1×1 projection behind the pool). With 128 input channels and 256 5×5 filters, a 32-channel
bottleneck turns 128·5·5·256 = 819,200 weights into 128·1·1·32 + 32·5·5·256 = 208,896. The network
ends in global average pooling and one fully connected layer (no 4096-wide fc layers), and two
auxiliary classifiers on inception4a and inception4d add their losses during training only.

The layout is torchvision's (``conv1`` ... ``inception5b``, ``aux1``, ``aux2``, ``fc``), so that
torchvision's weights load with ``strict=True``. Two departures from the paper come with it:

* every convolution is ``basic_conv``: conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU. The paper
  (2014) predates batch normalisation and used conv + bias -> ReLU, plus LRN after the stem.
* the "5×5" branch of ``Inception`` uses a 3×3 kernel, a known torchvision bug
  (https://github.com/pytorch/vision/issues/906) kept so that its weights load. Pass
  ``kernel_size_5x5=5`` for the paper's module.

Also as torchvision: the auxiliary heads pool adaptively to 4×4 (the paper: 5×5 average pooling
with stride 3, which gives 4×4 on the 14×14 maps), and a 2×2 max pool (not 3×3) before inception5a.
"""
from __future__ import annotations

import functools
from collections import namedtuple
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import ConvNormAct, scale_width
from ._base import ImageClassifier
from ._registry import register_model

__all__ = [
    "GoogLeNet", "GoogLeNetOutputs", "Inception", "NaiveInception", "InceptionAux", "basic_conv",
    "googlenet", "googlenet_cifar",
]

# What ``forward`` returns in training mode with auxiliary heads (same fields and order as torchvision).
GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])

# The paper's Table 1: the widths of each Inception module.
# name: ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj
INCEPTION_CFGS: dict[str, tuple[int, int, int, int, int, int]] = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}


def basic_conv(in_channels: int, out_channels: int, kernel_size: int | tuple[int, int] = 1,
               stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
               norm_layer: Callable[[int], nn.Module] | None = None,
               act_layer: Callable[..., nn.Module] = nn.ReLU) -> ConvNormAct:
    """torchvision's ``BasicConv2d``: conv (no bias) -> BatchNorm (``eps=0.001``) -> ReLU, with its
    ``state_dict`` keys (``conv.weight``, ``bn.*``). ``(N, in_channels, H, W) -> (N, out_channels, H', W')``.

    BatchNorm is torchvision's addition (as in its ported weights); the paper's layers were
    conv + bias -> ReLU. Inception v3 reuses this block.
    """
    norm_layer = norm_layer or functools.partial(nn.BatchNorm2d, eps=0.001)
    return ConvNormAct(in_channels, out_channels, kernel_size, stride, padding, norm_layer=norm_layer,
                       act_layer=act_layer, named=True)


def imagenet_to_inception_input(x: torch.Tensor) -> torch.Tensor:
    """torchvision's ``transform_input`` for Google's GoogLeNet and Inception v3 weights:
    ``(N, 3, H, W)`` normalised with ImageNet's mean and std -> the same images scaled to [-1, 1]
    (``(pixel - 0.5) / 0.5``), the input those weights were trained on."""
    # torchvision's arithmetic to the last bit: x * (std / 0.5) + (mean - 0.5) / 0.5, per channel
    scale = x.new_tensor([0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5])[:, None, None]
    shift = x.new_tensor([(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5])[:, None, None]
    return x * scale + shift


def init_inception_weights(model: nn.Module, std: float) -> None:
    """torchvision's initialisation of GoogLeNet and Inception v3: conv and fc weights from
    N(0, std²) (a layer's own ``stddev`` attribute wins), BN scale 1 and shift 0. torchvision truncates
    the normal at [-2, 2], 20 or more standard deviations out: a plain normal draw is the same in
    practice and about ten times faster on a CPU."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, mean=0.0, std=float(getattr(m, "stddev", std)))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


class Inception(nn.Module):
    """Inception module with dimension reductions (the paper's Fig. 2b).

    ``(N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``: four branches,
    concatenated along the channels:

    1. 1×1 conv to ``ch1x1``;
    2. 1×1 conv to ``ch3x3red``, then 3×3 conv to ``ch3x3``;
    3. 1×1 conv to ``ch5x5red``, then "5×5" conv to ``ch5x5``;
    4. 3×3 max pool (stride 1), then 1×1 conv to ``pool_proj``.

    ``kernel_size_5x5`` defaults to 3, torchvision's known bug kept for weight compatibility
    (https://github.com/pytorch/vision/issues/906); use 5 for the paper's module.
    ``conv_block(in, out, kernel_size=..., padding=...)`` builds each convolution (default
    ``basic_conv``; ``functools.partial(nn.Conv2d, bias=False)`` gives bare convolutions).
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, conv_block: Optional[Callable[..., nn.Module]] = None,
                 kernel_size_5x5: int = 3) -> None:
        super().__init__()
        if conv_block is None:
            conv_block = basic_conv
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),  # bottleneck
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),  # bottleneck
            # torchvision's (and therefore our default) kernel here is 3×3, not the paper's 5×5: a known
            # bug (pytorch/vision#906) kept so that torchvision's GoogLeNet weights load.
            conv_block(ch5x5red, ch5x5, kernel_size=kernel_size_5x5, padding=kernel_size_5x5 // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),  # pool projection
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1 = self.branch1(x)
        branch2 = self.branch2(x)
        branch3 = self.branch3(x)
        branch4 = self.branch4(x)
        return torch.cat([branch1, branch2, branch3, branch4], 1)  # (N, out_channels, H, W)


class NaiveInception(nn.Module):
    """The naive Inception module (the paper's Fig. 2a): no 1×1 reductions.

    ``(N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + in_channels, H, W)``: a 1×1, a 3×3 and a
    5×5 convolution and a 3×3 max pool (stride 1), all "same" padded, concatenated. The pool branch
    passes all ``in_channels`` through, so stacking these modules makes the width grow at every
    module, and the 3×3 and 5×5 convolutions pay for every input channel.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int,
                 conv_block: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        if conv_block is None:
            conv_block = basic_conv
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = conv_block(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch3 = conv_block(in_channels, ch5x5, kernel_size=5, padding=2)
        self.branch4 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1 = self.branch1(x)
        branch2 = self.branch2(x)
        branch3 = self.branch3(x)
        branch4 = self.branch4(x)
        return torch.cat([branch1, branch2, branch3, branch4], 1)  # (N, out_channels, H, W)


class InceptionAux(nn.Module):
    """Auxiliary classifier: adaptive average pool to ``pool_size``², 1×1 conv to ``conv_channels``,
    fc to ``hidden_features``, ReLU, dropout, fc to classes. ``(N, C, H, W) -> (N, num_classes)``.

    The paper's head: 5×5/3 average pooling (4×4 on the 14×14 maps), 128 1×1 filters, fc 1024 with
    ReLU, dropout 0.7, and a linear classifier; its loss is weighted by 0.3 during training.
    """

    def __init__(self, in_channels: int, num_classes: int, conv_block: Optional[Callable[..., nn.Module]] = None,
                 dropout: float = 0.7, pool_size: int = 4, conv_channels: int = 128,
                 hidden_features: int = 1024) -> None:
        super().__init__()
        if conv_block is None:
            conv_block = basic_conv
        self.pool_size = pool_size
        self.conv = conv_block(in_channels, conv_channels, kernel_size=1)
        self.fc1 = nn.Linear(conv_channels * pool_size * pool_size, hidden_features)
        self.fc2 = nn.Linear(hidden_features, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(x, (self.pool_size, self.pool_size))  # (N, C, 4, 4)
        x = self.conv(x)  # (N, 128, 4, 4)
        x = torch.flatten(x, 1)  # (N, 2048)
        x = F.relu(self.fc1(x), inplace=True)
        x = self.dropout(x)
        return self.fc2(x)


class GoogLeNet(ImageClassifier):
    """GoogLeNet with torchvision's layout.

    In training mode with ``aux_logits=True``, ``forward`` returns ``GoogLeNetOutputs(logits,
    aux_logits2, aux_logits1)``; otherwise (eval mode, or no auxiliary heads) the logits tensor.
    ``transform_input`` re-normalises inputs from ImageNet's mean/std to [-1, 1] as the original
    (ported) weights expect. ``small_input=True`` builds the 32×32 variant (``googlenet_cifar``: a
    3×3 stride-1 conv1 and no max pool after conv3, so that the Inception stages run at 16×16, 8×8
    and 4×4 instead of 28, 14 and 7); ``width_mult`` scales every width (multiples of 8).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, small_input: bool = False,
                 width_mult: float = 1.0, aux_logits: bool = True, transform_input: bool = False,
                 init_weights: Optional[bool] = True, dropout: float = 0.2, dropout_aux: float = 0.7,
                 kernel_size_5x5: int = 3, norm_layer: Callable[[int], nn.Module] | None = None,
                 act_layer: Callable[..., nn.Module] = nn.ReLU) -> None:
        if small_input:  # 4 -> 2 -> 1 -> 1 (ceil-mode pools); at 3 maxpool3 gets 1×1
            super().__init__(num_classes, in_channels, input_size=(32, 32), min_input_size=(4, 4))
        else:  # 15 -> 8 -> 4 -> 2 -> 1 -> 1 (torchvision's meta min_size)
            super().__init__(num_classes, in_channels, input_size=(224, 224), min_input_size=(15, 15))
        if transform_input and in_channels != 3:
            raise ValueError(f"GoogLeNet: transform_input re-normalises RGB images and needs in_channels=3, "
                             f"got in_channels={in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        conv = functools.partial(basic_conv, norm_layer=norm_layer, act_layer=act_layer)
        s = functools.partial(scale_width, width_mult=width_mult)

        def inception(key: str, ch_in: int) -> Inception:
            return Inception(ch_in, *(s(c) for c in INCEPTION_CFGS[key]), conv_block=conv,
                             kernel_size_5x5=kernel_size_5x5)

        if small_input:
            self.conv1 = conv(in_channels, s(64), kernel_size=3, stride=1, padding=1)  # 32×32
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # 16×16
            self.conv2 = conv(s(64), s(64), kernel_size=1)
            self.conv3 = conv(s(64), s(192), kernel_size=3, padding=1)
            self.maxpool2 = nn.Identity()
        else:
            self.conv1 = conv(in_channels, s(64), kernel_size=7, stride=2, padding=3)  # 112×112
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # 56×56
            self.conv2 = conv(s(64), s(64), kernel_size=1)
            self.conv3 = conv(s(64), s(192), kernel_size=3, padding=1)
            self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # 28×28

        self.inception3a = inception("inception3a", s(192))
        self.inception3b = inception("inception3b", self.inception3a.out_channels)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # 14×14

        self.inception4a = inception("inception4a", self.inception3b.out_channels)
        self.inception4b = inception("inception4b", self.inception4a.out_channels)
        self.inception4c = inception("inception4c", self.inception4b.out_channels)
        self.inception4d = inception("inception4d", self.inception4c.out_channels)
        self.inception4e = inception("inception4e", self.inception4d.out_channels)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)  # 7×7

        self.inception5a = inception("inception5a", self.inception4e.out_channels)
        self.inception5b = inception("inception5b", self.inception5a.out_channels)

        if aux_logits:
            aux = dict(conv_block=conv, dropout=dropout_aux, pool_size=2 if small_input else 4,
                       conv_channels=s(128), hidden_features=s(1024))
            self.aux1 = InceptionAux(self.inception4a.out_channels, num_classes, **aux)
            self.aux2 = InceptionAux(self.inception4d.out_channels, num_classes, **aux)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # global average pooling instead of fc layers
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(self.inception5b.out_channels, num_classes)

        if init_weights is None or init_weights:  # torchvision's initialisation (None counts as True there too)
            init_inception_weights(self, std=0.01)

    def _body(self, x: torch.Tensor, aux: list[torch.Tensor] | None) -> torch.Tensor:
        """Stem and Inception stages; appends the auxiliary logits to ``aux`` when it is a list.
        Shapes below are for a 224×224 input at full width (``googlenet_cifar``: 16/8/4/2 instead
        of 28/14/7)."""
        if self.transform_input:
            x = imagenet_to_inception_input(x)
        x = self.conv1(x)  # (N, 64, 112, 112)
        x = self.maxpool1(x)  # (N, 64, 56, 56)
        x = self.conv2(x)  # (N, 64, 56, 56)
        x = self.conv3(x)  # (N, 192, 56, 56)
        x = self.maxpool2(x)  # (N, 192, 28, 28)

        x = self.inception3a(x)  # (N, 256, 28, 28)
        x = self.inception3b(x)  # (N, 480, 28, 28)
        x = self.maxpool3(x)  # (N, 480, 14, 14)
        x = self.inception4a(x)  # (N, 512, 14, 14)
        if aux is not None and self.aux1 is not None:
            aux.append(self.aux1(x))
        x = self.inception4b(x)  # (N, 512, 14, 14)
        x = self.inception4c(x)  # (N, 512, 14, 14)
        x = self.inception4d(x)  # (N, 528, 14, 14)
        if aux is not None and self.aux2 is not None:
            aux.append(self.aux2(x))
        x = self.inception4e(x)  # (N, 832, 14, 14)
        x = self.maxpool4(x)  # (N, 832, 7, 7)
        x = self.inception5a(x)  # (N, 832, 7, 7)
        x = self.inception5b(x)  # (N, 1024, 7, 7)
        return x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, H, W) -> (N, 1024, H/32, W/32)`` (no auxiliary heads)."""
        return self._body(x, aux=None)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, 1024, h, w) -> (N, num_classes)``: global average pooling, dropout, fc."""
        x = self.avgpool(x)  # (N, 1024, 1, 1)
        x = torch.flatten(x, 1)  # (N, 1024)
        x = self.dropout(x)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        """(N, in_channels, H, W), H, W >= 15 (224 by design; 32 for ``small_input``) -> (N, num_classes)
        logits, or ``GoogLeNetOutputs`` of three such tensors in training mode with ``aux_logits``."""
        self.check_input(x)
        with_aux = self.training and self.aux_logits
        aux: list[torch.Tensor] = []
        x = self._body(x, aux if with_aux else None)
        x = self.forward_head(x)  # (N, num_classes)
        if with_aux:
            aux1, aux2 = aux
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def googlenet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> GoogLeNet:
    """GoogLeNet (Inception v1) from "Going Deeper with Convolutions" (Szegedy et al., 2014), torchvision's layout."""
    return GoogLeNet(num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def googlenet_cifar(num_classes: int = 10, in_channels: int = 3, aux_logits: bool = False,
                    kernel_size_5x5: int = 5, **kwargs) -> GoogLeNet:
    """GoogLeNet (Szegedy et al., 2014) adapted for 32×32 inputs: 3×3 stride-1 conv1, Inception stages at 16/8/4."""
    # Our own variant, free of torchvision's weights: the 5×5 branches are 5×5 as in the paper, and
    # the auxiliary heads are off by default so that forward() returns plain logits for simple
    # training loops (pass aux_logits=True to train with them).
    return GoogLeNet(num_classes, in_channels, small_input=True, aux_logits=aux_logits,
                     kernel_size_5x5=kernel_size_5x5, **kwargs)
