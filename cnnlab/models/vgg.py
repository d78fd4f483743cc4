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

``<name>_cifar`` is the same class with ``small_input=True``: all five stages are kept (32 -> 1), so
the last map is 1×1×512 and the classifier 512 -> 512 -> 512 -> classes instead of
25088 -> 4096 -> 4096 -> classes; ``width_mult`` scales every width (rounded to multiples of 8).
"""
from __future__ import annotations

from typing import Callable, Union

from torch import nn

from ..layers import make_activation, scale_width
from ._base import ImageClassifier, fc_classifier
from ._registry import register_model

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


def make_layers(cfg: list[Union[str, int]], in_channels: int = 3, *,
                norm_layer: Callable[[int], nn.Module] | None = None,
                act_layer: Callable[..., nn.Module] = nn.ReLU, width_mult: float = 1.0) -> nn.Sequential:
    """The convolutional part of a VGG from one of ``cfgs``: ``(N, in_channels, H, W) -> (N, C_last, H/32, W/32)``.
    Each int is a 3×3 conv (padding 1) -> [norm] -> activation; ``"M"`` a 2×2/2 max pool."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out_channels = scale_width(int(v), width_mult)
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        layers.append(make_activation(act_layer))
        in_channels = out_channels
    return nn.Sequential(*layers)


class VGG(ImageClassifier):
    """A VGG network: ``features`` (from ``make_layers``), ``avgpool`` and a three-layer classifier.

    ``cfg`` is a key of ``cfgs`` ("A", "B", "D", "E") or a list in their format; ``batch_norm``
    adds ``norm_layer`` (default ``nn.BatchNorm2d``) after every conv. The defaults give the
    ImageNet network (7×7×512 -> 4096 -> 4096 -> classes); ``small_input=True`` the 32×32 one
    (1×1×512 -> 512 -> 512 -> classes).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, cfg: str | list = "D",
                 batch_norm: bool = False, small_input: bool = False, width_mult: float = 1.0,
                 hidden_features: int | None = None, dropout: float = 0.5,
                 norm_layer: Callable[[int], nn.Module] | None = None,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, init_weights: bool = True) -> None:
        # five 2×2 poolings: 32 -> 16 -> 8 -> 4 -> 2 -> 1
        super().__init__(num_classes, in_channels, input_size=(32, 32) if small_input else (224, 224),
                         min_input_size=(32, 32))
        layout = cfgs[cfg] if isinstance(cfg, str) else list(cfg)
        if batch_norm and norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.features = make_layers(layout, in_channels, norm_layer=norm_layer if batch_norm else None,
                                    act_layer=act_layer, width_mult=width_mult)
        feature_channels = scale_width([v for v in layout if v != "M"][-1], width_mult)
        pool = 1 if small_input else 7
        hidden = scale_width(hidden_features or (512 if small_input else 4096), width_mult)
        self.avgpool = nn.AdaptiveAvgPool2d((pool, pool))
        # fc6, fc7, fc8 at indices 0, 3, 6, dropout after the hidden ones
        self.classifier = fc_classifier(feature_channels * pool * pool, hidden, num_classes, dropout, act_layer)
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


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg11(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (configuration A) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return VGG(num_classes, in_channels, cfg="A", batch_norm=False, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (configuration A) of Simonyan & Zisserman (2014) with batch normalisation."""
    return VGG(num_classes, in_channels, cfg="A", batch_norm=True, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg13(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-13 (configuration B) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return VGG(num_classes, in_channels, cfg="B", batch_norm=False, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-13 (configuration B) of Simonyan & Zisserman (2014) with batch normalisation."""
    return VGG(num_classes, in_channels, cfg="B", batch_norm=True, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg16(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (configuration D) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return VGG(num_classes, in_channels, cfg="D", batch_norm=False, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (configuration D) of Simonyan & Zisserman (2014) with batch normalisation."""
    return VGG(num_classes, in_channels, cfg="D", batch_norm=True, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg19(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-19 (configuration E) from "Very Deep Convolutional Networks for Large-Scale Image Recognition" (2014)."""
    return VGG(num_classes, in_channels, cfg="E", batch_norm=False, **kwargs)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-19 (configuration E) of Simonyan & Zisserman (2014) with batch normalisation."""
    return VGG(num_classes, in_channels, cfg="E", batch_norm=True, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def vgg11_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 1×1×512 features, 512-unit classifier."""
    return VGG(num_classes, in_channels, cfg="A", batch_norm=False, small_input=True, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def vgg11_bn_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 with batch normalisation (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 512-unit classifier."""
    return VGG(num_classes, in_channels, cfg="A", batch_norm=True, small_input=True, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def vgg16_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 1×1×512 features, 512-unit classifier."""
    return VGG(num_classes, in_channels, cfg="D", batch_norm=False, small_input=True, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def vgg16_bn_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 with batch normalisation (Simonyan & Zisserman, 2014) adapted for 32×32 inputs: 512-unit classifier."""
    return VGG(num_classes, in_channels, cfg="D", batch_norm=True, small_input=True, **kwargs)
