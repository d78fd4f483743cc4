"""ResNet.

K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
https://arxiv.org/abs/1512.03385

A residual block learns ``F(x)`` and outputs ``relu(F(x) + x)``: when the best a block can do is
nothing, it only has to push ``F`` to zero, which stacks of plain layers find hard (the paper's
"degradation" of deep plain nets, Fig. 1 and 4). The shortcut is the identity, or a 1×1 projection
(with BatchNorm) where the shape changes (the paper's option B). Two blocks (Fig. 5): the *basic*
block, two 3×3 convolutions (ResNet-18/34), and the *bottleneck*, 1×1 reduce -> 3×3 -> 1×1 expand
by 4 (ResNet-50/101/152), which keeps the 3×3 convolution at a quarter of the block's width.

The layout is torchvision's (``conv1 bn1 relu maxpool layer1..layer4 avgpool fc``, blocks with
``conv1 bn1 conv2 bn2 [conv3 bn3] downsample.0 downsample.1``), so torchvision's weights load with
``strict=True`` and give the same outputs. Departures from the paper, all torchvision's:

* ``Bottleneck`` strides in its 3×3 convolution ("ResNet v1.5"); the paper strides in the first
  1×1 (``stride_in_1x1=True`` gives the paper's block: same parameters, fewer MACs, since that 1×1
  then skips three of every four input positions; ResNet-50: 3.86 instead of 4.09 GMACs, the
  paper's Table 1 says 3.8 GFLOPs, counting multiply-adds).
* projection shortcuts only where the shape changes (the paper's option B, its choice for the
  ImageNet models), BatchNorm after every convolution, He initialisation with ``fan_out``.

The knobs later families need are here rather than in copies: ``groups`` and ``width_per_group``
(ResNeXt, Wide ResNet-50-2), ``attn_layer`` (SE-ResNet: applied after the last norm of a block and
stored as ``se``, timm's key), ``conv_layer`` (every convolution inside the blocks, and the
projection shortcuts: Ghost, Lego and Adder ResNets swap it; the stem stays ``nn.Conv2d``),
``norm_layer``, ``act_layer``, ``replace_stride_with_dilation`` and ``zero_init_residual``
(torchvision's). Stem options give the three ResNet-18 variants of Zhu et al., "ScratchDet:
Training Single-Shot Object Detectors from Scratch" (CVPR 2019, Fig. 3): ResNet-18-A (no first
max pool), ResNet-18-B (stride-1 first conv) and Root-ResNet-18 (three 3×3 convs instead of the 7×7,
on ResNet-18-B), which detect better from scratch (PASCAL VOC 2007 mAP 73.1, 75.3, 77.6 and 78.5 %
for ResNet-18, -A, -B and Root) because the small objects keep more resolution.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Type, Union

import torch
from torch import nn

from ..layers import make_activation, scale_width
from ._base import ImageClassifier
from ._registry import register_model

__all__ = [
    "BasicBlock", "Bottleneck", "ResNet", "RESNET_LAYERS",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2", "wide_resnet101_2",
    "resnet18_a", "resnet18_b", "root_resnet18", "resnet18_cifar",
]

ConvLayer = Callable[..., nn.Module]


def _conv3x3(conv_layer: ConvLayer, in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
             dilation: int = 1) -> nn.Module:
    """3×3 convolution, "same" padding, no bias (BatchNorm follows)."""
    return conv_layer(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                      bias=False, dilation=dilation)


def _conv1x1(conv_layer: ConvLayer, in_planes: int, out_planes: int, stride: int = 1) -> nn.Module:
    """1×1 convolution, no bias."""
    return conv_layer(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """The basic residual block (He et al. 2016, Fig. 2; left of Fig. 5), used by ResNet-18/34.

    ``(N, inplanes, H, W) -> (N, planes, H/stride, W/stride)``::

        out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

    with ``conv1`` a 3×3 convolution with ``stride`` and ``conv2`` a 3×3 convolution, and
    ``shortcut`` the identity or ``downsample`` (a module mapping ``(N, inplanes, H, W)`` to
    ``(N, planes, H/stride, W/stride)``: torchvision's 1×1 conv + BN, or the CIFAR nets' zero padding).
    The positional arguments are torchvision's; ``groups`` must be 1 and ``base_width`` 64 (as there).

    Keyword-only knobs: ``act_layer`` (the activation class), ``conv_layer`` (builds both
    convolutions, called as ``nn.Conv2d``), ``attn_layer`` (``attn_layer(planes) -> nn.Module``,
    applied after ``bn2`` and before the addition, stored as ``se``), ``residual=False`` (a *plain*
    block: no addition, the paper's plain baselines).
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None, *,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, conv_layer: ConvLayer = nn.Conv2d,
                 attn_layer: Optional[Callable[[int], nn.Module]] = None, residual: bool = True) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock only supports groups=1 and base_width=64, got groups={groups}, "
                             f"base_width={base_width} (use Bottleneck for grouped or wider blocks)")
        if not residual and downsample is not None:
            raise ValueError("BasicBlock: a plain block (residual=False) has no shortcut, so downsample must be None")
        norm_layer = norm_layer or nn.BatchNorm2d
        # conv1 and downsample both subsample when stride != 1
        self.conv1 = _conv3x3(conv_layer, inplanes, planes, stride, dilation=dilation)
        self.bn1 = norm_layer(planes)
        self.relu = make_activation(act_layer)
        self.conv2 = _conv3x3(conv_layer, planes, planes, dilation=dilation)
        self.bn2 = norm_layer(planes)
        self.se = attn_layer(planes) if attn_layer is not None else None
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def zero_init_last(self) -> None:
        """Zero the last norm's scale: the block starts as the identity (Goyal et al. 2017)."""
        if getattr(self.bn2, "weight", None) is not None:
            nn.init.zeros_(self.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, inplanes, H, W) -> (N, planes, H/stride, W/stride)``."""
        identity = x
        out = self.conv1(x)  # (N, planes, H/stride, W/stride)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.se is not None:
            out = self.se(out)
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """The bottleneck residual block (He et al. 2016, right of Fig. 5), used by ResNet-50/101/152.

    ``(N, inplanes, H, W) -> (N, 4 * planes, H/stride, W/stride)``: 1×1 conv to ``width`` channels,
    3×3 conv (``groups``, ``dilation``), 1×1 conv to ``planes * expansion``, each followed by norm
    (and ReLU but the last), then the addition of the shortcut (identity or ``downsample``) and ReLU.
    ``width = int(planes * base_width / 64) * groups``: ``planes`` for ResNet, ``2 * planes`` for
    Wide ResNet-50-2 (``base_width=128``), ``groups * d`` for ResNeXt ``(groups)x(d)d``.

    Where the stride goes: torchvision (and so our default) strides in the 3×3 convolution
    ``conv2`` ("ResNet v1.5", better accuracy); the paper strides in the first 1×1 convolution,
    ``stride_in_1x1=True``, which throws away three of every four input positions before any 3×3
    has seen them (same weights, fewer MACs: the 1×1 runs on the subsampled map).

    Keyword-only knobs as in :class:`BasicBlock` (``attn_layer(planes * 4)`` after ``bn3``).
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None, *,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, conv_layer: ConvLayer = nn.Conv2d,
                 attn_layer: Optional[Callable[[int], nn.Module]] = None, residual: bool = True,
                 stride_in_1x1: bool = False) -> None:
        super().__init__()
        if not residual and downsample is not None:
            raise ValueError("Bottleneck: a plain block (residual=False) has no shortcut, so downsample must be None")
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        if width < 1:
            raise ValueError(f"Bottleneck: planes={planes}, base_width={base_width}, groups={groups} give "
                             f"width {width}; it must be at least 1")
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = _conv1x1(conv_layer, inplanes, width, stride_1x1)  # reduce
        self.bn1 = norm_layer(width)
        self.conv2 = _conv3x3(conv_layer, width, width, stride_3x3, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = _conv1x1(conv_layer, width, planes * self.expansion)  # expand
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = make_activation(act_layer)
        self.se = attn_layer(planes * self.expansion) if attn_layer is not None else None
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def zero_init_last(self) -> None:
        """Zero the last norm's scale: the block starts as the identity (Goyal et al. 2017)."""
        if getattr(self.bn3, "weight", None) is not None:
            nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, inplanes, H, W) -> (N, 4 * planes, H/stride, W/stride)``."""
        identity = x
        out = self.conv1(x)  # (N, width, H, W)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)  # (N, width, H/stride, W/stride)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)  # (N, 4 * planes, H/stride, W/stride)
        out = self.bn3(out)
        if self.se is not None:
            out = self.se(out)
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        return self.relu(out)


# The paper's Table 1: the block and the number of blocks in conv2_x .. conv5_x (layer1 .. layer4).
# depth: block, layers
RESNET_LAYERS: dict[int, tuple[Type[Union[BasicBlock, Bottleneck]], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}

STEMS = ("7x7", "root", "3x3")


class ResNet(ImageClassifier):
    """A ResNet with torchvision's layout: ``(N, in_channels, H, W) -> (N, num_classes)``.

    Stem (``conv1 bn1 relu maxpool``), four stages ``layer1..layer4`` of ``layers[i]`` blocks with
    64, 128, 256, 512 ``planes`` (times ``block.expansion`` output channels; stages 2-4 halve the
    map in their first block), global average pooling, (dropout), ``fc``.

    Args:
        block, layers: the block class and blocks per stage (``RESNET_LAYERS[depth]``).
        groups, width_per_group: the bottleneck's 3×3 width ``int(planes * width_per_group / 64) * groups``
            (ResNeXt, Wide ResNet-50-2).
        replace_stride_with_dilation: three bools; ``True`` keeps that stage's resolution and dilates
            its 3×3 convolutions instead (torchvision's, for segmentation).
        zero_init_residual: zero the last norm of every block so that each starts as the identity.
        norm_layer, act_layer, conv_layer, attn_layer: passed to every block (see :class:`BasicBlock`);
            ``conv_layer`` also builds the projection shortcuts; the stem is always ``nn.Conv2d``.
        stem: ``"7x7"`` (the paper's 7×7/2 conv), ``"root"`` (three 3×3 convs, 64 channels each,
            the first with ``stem_stride``; Zhu et al. 2019's Root-ResNet) or ``"3x3"`` (one 3×3 conv).
        stem_stride: the first convolution's stride (2 in the paper; 1 for ResNet-18-B).
        stem_pool: the 3×3/2 max pool after the stem (``False`` for ResNet-18-A).
        small_input: the 32×32 variant (``resnet18_cifar``): ``stem="3x3"``, stride 1, no max pool,
            so that the stages run at 32, 16, 8 and 4 pixels.
        width_mult: scales every width (rounded to multiples of 8, ``layers.scale_width``).
        drop_rate: dropout before ``fc`` (none by default, as in the paper).
        stride_in_1x1: the paper's bottleneck (stride in the first 1×1, see :class:`Bottleneck`).

    With the ``"root"`` stem, ``conv1`` is an ``nn.Sequential`` (conv, norm, act, conv, norm, act,
    conv) and ``bn1``/``relu`` follow its last conv, so the keys differ from torchvision's only there.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *,
                 block: Type[Union[BasicBlock, Bottleneck]] = BasicBlock, layers: Sequence[int] = (2, 2, 2, 2),
                 groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation: Optional[Sequence[bool]] = None, zero_init_residual: bool = False,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None, act_layer: Callable[..., nn.Module] = nn.ReLU,
                 conv_layer: ConvLayer = nn.Conv2d, attn_layer: Optional[Callable[[int], nn.Module]] = None,
                 stem: str = "7x7", stem_stride: int = 2, stem_pool: bool = True, small_input: bool = False,
                 width_mult: float = 1.0, drop_rate: float = 0.0, stride_in_1x1: bool = False) -> None:
        super().__init__(num_classes, in_channels, input_size=(32, 32) if small_input else (224, 224))
        if small_input:
            stem, stem_stride, stem_pool = "3x3", 1, False
        if stem not in STEMS:
            raise ValueError(f"ResNet: stem must be one of {STEMS}, got {stem!r}")
        if len(layers) != 4 or not all(isinstance(n, int) and n >= 1 for n in layers):
            raise ValueError(f"ResNet: layers must be four block counts >= 1, got {layers!r}")
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = (False, False, False)
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("ResNet: replace_stride_with_dilation should be None or three bools, "
                             f"got {replace_stride_with_dilation!r}")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"ResNet: drop_rate must be in [0, 1), got {drop_rate!r}")
        norm_layer = norm_layer or nn.BatchNorm2d
        self._norm_layer = norm_layer
        self._block_kwargs = dict(act_layer=act_layer, conv_layer=conv_layer, attn_layer=attn_layer)
        if stride_in_1x1:
            if block is not Bottleneck and not issubclass(block, Bottleneck):
                raise ValueError("ResNet: stride_in_1x1 is a Bottleneck option")
            self._block_kwargs["stride_in_1x1"] = True
        self._conv_layer = conv_layer
        self.groups = groups
        self.base_width = width_per_group
        self.dilation = 1
        self.inplanes = scale_width(64, width_mult)

        # stem: (N, C, 224, 224) -> (N, 64, 112, 112) -> max pool -> (N, 64, 56, 56)
        if stem == "root":
            root = scale_width(64, width_mult)
            self.conv1 = nn.Sequential(
                nn.Conv2d(in_channels, root, 3, stem_stride, 1, bias=False), norm_layer(root),
                make_activation(act_layer),
                nn.Conv2d(root, root, 3, 1, 1, bias=False), norm_layer(root), make_activation(act_layer),
                nn.Conv2d(root, self.inplanes, 3, 1, 1, bias=False),
            )
        else:
            k = 7 if stem == "7x7" else 3
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=k, stride=stem_stride, padding=k // 2,
                                   bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = make_activation(act_layer)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if stem_pool else nn.Identity()
        widths = [scale_width(c, width_mult) for c in (64, 128, 256, 512)]
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.num_features = widths[3] * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.fc = nn.Linear(self.num_features, num_classes)

        for m in self.modules():  # torchvision's initialisation (He et al. 2015, fan_out)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:  # Goyal et al. 2017: every block starts as the identity
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    m.zero_init_last()

    def _make_layer(self, block: Type[Union[BasicBlock, Bottleneck]], planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        """One stage: ``blocks`` blocks of ``planes``; the first changes the stride and width and gets a
        1×1 projection shortcut (conv + norm) when the shape changes (the paper's option B)."""
        previous_dilation = self.dilation
        if dilate:  # keep the resolution, widen the 3×3 kernels' reach instead
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self._conv_layer, self.inplanes, planes * block.expansion, stride),
                self._norm_layer(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        self._norm_layer, **self._block_kwargs)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=self._norm_layer, **self._block_kwargs))
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, H, W) -> (N, num_features, H/32, W/32)`` (shapes for resnet50 at 224×224)."""
        x = self.conv1(x)  # (N, 64, 112, 112)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)  # (N, 64, 56, 56)
        x = self.layer1(x)  # (N, 256, 56, 56)
        x = self.layer2(x)  # (N, 512, 28, 28)
        x = self.layer3(x)  # (N, 1024, 14, 14)
        x = self.layer4(x)  # (N, 2048, 7, 7)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, num_features, h, w) -> (N, num_classes)``: global average pooling, dropout, fc."""
        x = self.avgpool(x)  # (N, 2048, 1, 1)
        x = torch.flatten(x, 1)
        x = self.dropout(x)
        return x if pre_logits else self.fc(x)


def _resnet(depth: int, num_classes: int, in_channels: int, **kwargs) -> ResNet:
    block, layers = RESNET_LAYERS[depth]
    return ResNet(num_classes, in_channels, block=block, layers=layers, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def resnet18(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18 from "Deep Residual Learning for Image Recognition" (He et al., 2016), torchvision's layout."""
    return _resnet(18, num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def resnet34(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-34 from "Deep Residual Learning for Image Recognition" (He et al., 2016), torchvision's layout."""
    return _resnet(34, num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def resnet50(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-50 (He et al., 2016) with torchvision's v1.5 bottleneck (stride in the 3×3 conv)."""
    return _resnet(50, num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def resnet101(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-101 (He et al., 2016) with torchvision's v1.5 bottleneck (stride in the 3×3 conv)."""
    return _resnet(101, num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def resnet152(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-152 (He et al., 2016) with torchvision's v1.5 bottleneck (stride in the 3×3 conv)."""
    return _resnet(152, num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def wide_resnet50_2(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis, 2016): ResNet-50 with bottlenecks twice as wide."""
    return _resnet(50, num_classes, in_channels, width_per_group=64 * 2, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def wide_resnet101_2(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """Wide ResNet-101-2 (Zagoruyko & Komodakis, 2016): ResNet-101 with bottlenecks twice as wide."""
    return _resnet(101, num_classes, in_channels, width_per_group=64 * 2, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "paper"))
def resnet18_a(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18-A of Zhu et al. (ScratchDet, 2019): ResNet-18 without the first max pool."""
    return _resnet(18, num_classes, in_channels, stem_pool=False, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "paper"))
def resnet18_b(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18-B of Zhu et al. (ScratchDet, 2019): ResNet-18 with a stride-1 first convolution."""
    return _resnet(18, num_classes, in_channels, stem_stride=1, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "paper"))
def root_resnet18(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """Root-ResNet-18 of Zhu et al. (ScratchDet, 2019): ResNet-18-B with three 3×3 convs instead of the 7×7."""
    return _resnet(18, num_classes, in_channels, stem="root", stem_stride=1, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def resnet18_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18 (He et al., 2016) adapted for 32×32 inputs: 3×3 stride-1 stem, no max pool, stages at 32/16/8/4."""
    return _resnet(18, num_classes, in_channels, small_input=True, **kwargs)
