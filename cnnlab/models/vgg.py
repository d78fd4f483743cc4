"""VGG.

K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015. https://arxiv.org/abs/1409.1556

Only 3×3 convolutions (stride 1, padding 1) and 2×2 max pooling (stride 2), stacked deep: two 3×3
layers see a 5×5 field and three see 7×7, with fewer weights (27C² instead of 49C² for 7×7) and
more non-linearities. Five stages halve 224×224 down to 7×7×512, then fc 4096 -> 4096 -> classes.
The configurations of the paper's Table 1 are data (``cfgs``): an int is a 3×3 conv with that many
output channels followed by ReLU (and BatchNorm before it in the ``_bn`` models), ``"M"`` a max pool.

The layout (``features``, ``avgpool``, ``classifier`` and their indices) is torchvision's, so
torchvision's weights load with ``strict=True``. Departures from the paper: the ``_bn`` models add
batch normalisation (Ioffe & Szegedy 2015, after VGG), an ``AdaptiveAvgPool2d((7, 7))`` lets inputs
other than 224×224 reach the classifier, and configurations A-LRN and C (with 1×1 convs) are left out.
"""
from __future__ import annotations

from typing import Union

import torch
from torch import nn

from ._registry import register_model
from ._utils import check_image_input, scale_channels

__all__ = [
    "VGG", "cfgs", "make_layers",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "vgg11_cifar", "vgg11_bn_cifar", "vgg16_cifar", "vgg16_bn_cifar",
]

# The paper's Table 1 (weight layers: A = 11, B = 13, D = 16, E = 19): conv widths, "M" = 2×2 max pool.
cfgs: dict[str, list[Union[str, int]]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg: list[Union[str, int]], batch_norm: bool = False, in_channels: int = 3,
                width_mult: float = 1.0) -> nn.Sequential:
    """The convolutional part of a VGG from one of ``cfgs``: (N, in_channels, H, W) -> (N, C_last, H/32, W/32)."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out_channels = scale_channels(int(v), width_mult)
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out_channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network: ``features`` (from ``make_layers``), ``avgpool`` and a three-layer classifier.

    The defaults give the ImageNet network (7×7×512 -> 4096 -> 4096 -> classes); the ``*_cifar``
    factories pass ``avgpool_size=1`` and ``hidden_features=512`` for 32×32 inputs.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5, *, in_channels: int = 3, feature_channels: int = 512,
                 avgpool_size: int = 7, hidden_features: int = 4096, name: str = "vgg",
                 default_input_size: tuple[int, int, int] | None = None) -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.default_input_size = default_input_size or (in_channels, 224, 224)
        self.min_input_size = (32, 32)  # five 2×2 poolings: 32 -> 16 -> 8 -> 4 -> 2 -> 1
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((avgpool_size, avgpool_size))
        self.classifier = nn.Sequential(
            nn.Linear(feature_channels * avgpool_size * avgpool_size, hidden_features),  # 0 fc6
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden_features, hidden_features),  # 3 fc7
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden_features, num_classes),  # 6 fc8
        )
        if init_weights:  # torchvision's initialisation (the paper pre-trained A and copied its layers)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) with H, W >= 32 -> (N, num_classes) logits."""
        check_image_input(x, self.name, self.in_channels, self.min_input_size)
        x = self.features(x)  # (N, 512, 7, 7) at 224×224
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _vgg(cfg: str, batch_norm: bool, name: str, num_classes: int, in_channels: int, **kwargs) -> VGG:
    features = make_layers(cfgs[cfg], batch_norm=batch_norm, in_channels=in_channels)
    return VGG(features, num_classes=num_classes, in_channels=in_channels, name=name, **kwargs)


def _vgg_cifar(cfg: str, batch_norm: bool, name: str, num_classes: int, in_channels: int,
               width_mult: float = 1.0, hidden_features: int = 512, **kwargs) -> VGG:
    features = make_layers(cfgs[cfg], batch_norm=batch_norm, in_channels=in_channels, width_mult=width_mult)
    return VGG(features, num_classes=num_classes, in_channels=in_channels, name=name,
               feature_channels=scale_channels(512, width_mult), avgpool_size=1,
               hidden_features=scale_channels(hidden_features, width_mult),
               default_input_size=(in_channels, 32, 32), **kwargs)


@register_model()
def vgg11(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (configuration A) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return _vgg("A", False, "vgg11", num_classes, in_channels, **kwargs)


@register_model()
def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (configuration A) of Simonyan & Zisserman (2014) with batch normalisation."""
    return _vgg("A", True, "vgg11_bn", num_classes, in_channels, **kwargs)


@register_model()
def vgg13(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-13 (configuration B) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return _vgg("B", False, "vgg13", num_classes, in_channels, **kwargs)


@register_model()
def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-13 (configuration B) of Simonyan & Zisserman (2014) with batch normalisation."""
    return _vgg("B", True, "vgg13_bn", num_classes, in_channels, **kwargs)


@register_model()
def vgg16(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (configuration D) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return _vgg("D", False, "vgg16", num_classes, in_channels, **kwargs)


@register_model()
def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (configuration D) of Simonyan & Zisserman (2014) with batch normalisation."""
    return _vgg("D", True, "vgg16_bn", num_classes, in_channels, **kwargs)


@register_model()
def vgg19(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-19 (configuration E) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return _vgg("E", False, "vgg19", num_classes, in_channels, **kwargs)


@register_model()
def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-19 (configuration E) of Simonyan & Zisserman (2014) with batch normalisation."""
    return _vgg("E", True, "vgg19_bn", num_classes, in_channels, **kwargs)


# Adapted for 32×32 inputs: the five stages are kept (32 -> 1), so the last map is 1×1×512 and the
# classifier is 512 -> 512 -> 512 -> classes instead of 25088 -> 4096 -> 4096 -> classes;
# ``width_mult`` scales every conv width and the hidden units.

@register_model()
def vgg11_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 1×1×512 features, 512-unit classifier."""
    return _vgg_cifar("A", False, "vgg11_cifar", num_classes, in_channels, **kwargs)


@register_model()
def vgg11_bn_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 with batch normalisation (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 512-unit classifier."""
    return _vgg_cifar("A", True, "vgg11_bn_cifar", num_classes, in_channels, **kwargs)


@register_model()
def vgg16_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 1×1×512 features, 512-unit classifier."""
    return _vgg_cifar("D", False, "vgg16_cifar", num_classes, in_channels, **kwargs)


@register_model()
def vgg16_bn_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 with batch normalisation (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 512-unit classifier."""
    return _vgg_cifar("D", True, "vgg16_bn_cifar", num_classes, in_channels, **kwargs)
