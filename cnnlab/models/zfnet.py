"""ZFNet.

M. D. Zeiler, R. Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014
(arXiv 2013). https://arxiv.org/abs/1311.2901

AlexNet with a finer first layer: the visualisations of the paper showed AlexNet's 11×11 stride-4
filters aliasing and many dead ones, so layer 1 becomes 7×7 with stride 2, and layer 2 strides by 2.
Single-GPU, so layers 3-5 see all the previous maps. The paper's Fig. 3, for a 224×224×3 input:

    conv7/2, 96 -> 110×110 --pool3/2--> 55×55 --norm--> conv5/2, 256 -> 26×26 --pool3/2--> 13×13 --norm-->
    conv3, 384 -> 13×13 --> conv3, 384 -> 13×13 --> conv3, 256 -> 13×13 --pool3/2--> 6×6×256
    --> fc 4096 --> fc 4096 --> classes

Fig. 3 gives the sizes but not the paddings; the comments in ``ZFNet`` say which ones reproduce them.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from ..layers import make_activation, scale_width
from ._base import ImageClassifier, fc_classifier
from ._registry import register_model
from .alexnet import paper_lrn

__all__ = ["ZFNet", "zfnet", "zfnet_cifar"]


class ZFNet(ImageClassifier):
    """ZFNet (Zeiler & Fergus 2013) for 224×224 images, sizes as in the paper's Fig. 3.

    Each of the first two stages is conv -> ReLU -> 3×3/2 max pool -> normalisation across maps,
    in the order of the paper's Fig. 3 caption. The paper "contrast normalises across feature maps"
    as AlexNet does; we use AlexNet's LRN (n=5, k=2, beta=0.75, paper alpha 1e-4). ``init_weights``
    follows the paper: weights from N(0, 0.01²), biases 0. Not in the paper: the
    ``AdaptiveAvgPool2d((6, 6))`` before the classifier (a no-op at 224×224), so that other input
    sizes also work.

    ``small_input=True`` (``zfnet_cifar``) adapts it to 32×32 images with the same layers: conv1 3×3
    with stride 1 (not 7×7/2), conv2 stride 1 with padding 2 (not stride 2), so the three 3×3/2 max
    poolings take 32 -> 16 -> 8 -> 4; a 4×4 map enters a classifier of ``hidden_features`` (default
    512) units; Kaiming initialisation instead of the paper's N(0, 0.01²), so that the small network
    trains quickly. ``width_mult`` scales every width (rounded to multiples of 8).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, small_input: bool = False,
                 width_mult: float = 1.0, hidden_features: int | None = None, dropout: float = 0.5,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, lrn_alpha: float = 1e-4,
                 init_weights: bool = True) -> None:
        if small_input:  # 8 -> 4 -> 2 -> 1; at 7 the last pool gets 1×1
            super().__init__(num_classes, in_channels, input_size=(32, 32), min_input_size=(8, 8))
        else:  # 47 -> 22 -> 11 -> 4 -> 2 -> 2 -> 1; at 46 the last pool gets 1×1
            super().__init__(num_classes, in_channels, input_size=(224, 224), min_input_size=(47, 47))
        c1, c2, c3, c4, c5 = (scale_width(c, width_mult) for c in (96, 256, 384, 384, 256))
        hidden = scale_width(hidden_features or (512 if small_input else 4096), width_mult)
        pool_out = 4 if small_input else 6
        if small_input:
            conv1 = nn.Conv2d(in_channels, c1, kernel_size=3, padding=1)  # 32×32
            conv2 = nn.Conv2d(c1, c2, kernel_size=5, padding=2)  # 16×16
        else:
            # Fig. 3 gives the sizes, not the paddings; these reproduce them: padding 1 in conv1
            # ((224 + 2 - 7) // 2 + 1 = 110; without it 109), none in conv2 ((55 - 5) // 2 + 1 = 26)
            conv1 = nn.Conv2d(in_channels, c1, kernel_size=7, stride=2, padding=1)  # 110×110×96
            conv2 = nn.Conv2d(c1, c2, kernel_size=5, stride=2)  # 26×26×256
        self.features = nn.Sequential(
            conv1,  # 0 conv1
            make_activation(act_layer),
            # ceil_mode: 110 -> 55 and 26 -> 13 as in Fig. 3 (rounding down would give 54 and 12)
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 2: 55×55×96
            paper_lrn(lrn_alpha),  # 3
            conv2,  # 4 conv2
            make_activation(act_layer),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 6: 13×13×256
            paper_lrn(lrn_alpha),  # 7
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # 8 conv3: 13×13×384
            make_activation(act_layer),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),  # 10 conv4: 13×13×384
            make_activation(act_layer),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),  # 12 conv5: 13×13×256
            make_activation(act_layer),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 14: 6×6×256 (sizes at 224×224)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pool_out, pool_out))
        # dropout 0.5 in layers 6 and 7: fc6, fc7, fc8 at indices 0, 3, 6
        self.classifier = fc_classifier(c5 * pool_out * pool_out, hidden, num_classes, dropout, act_layer)
        if small_input:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(m.bias)
        elif init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                    nn.init.zeros_(m.bias)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "paper"))
def zfnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ZFNet:
    """ZFNet from "Visualizing and Understanding Convolutional Networks" (Zeiler & Fergus, 2013)."""
    return ZFNet(num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def zfnet_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> ZFNet:
    """ZFNet (Zeiler & Fergus, 2013) adapted for 32×32 inputs: 3×3 stride-1 conv1, stride-1 conv2, 512-unit classifier."""
    return ZFNet(num_classes, in_channels, small_input=True, **kwargs)
