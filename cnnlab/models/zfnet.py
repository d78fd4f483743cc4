"""ZFNet.

M. D. Zeiler, R. Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014
(arXiv 2013). https://arxiv.org/abs/1311.2901

AlexNet with a finer first layer: the visualisations of the paper showed AlexNet's 11×11 stride-4
filters aliasing and many dead ones, so layer 1 becomes 7×7 with stride 2, and layer 2 strides by 2.
Single-GPU, so layers 3-5 see all the previous maps. The paper's Fig. 3, for a 224×224×3 input:

    conv7/2, 96 -> 110×110 --pool3/2--> 55×55 --norm--> conv5/2, 256 -> 26×26 --pool3/2--> 13×13 --norm-->
    conv3, 384 -> 13×13 --> conv3, 384 -> 13×13 --> conv3, 256 -> 13×13 --pool3/2--> 6×6×256
    --> fc 4096 --> fc 4096 --> classes

Fig. 3 gives the sizes but not the paddings. The ones below are chosen to reproduce those sizes:
padding 1 in conv1 ((224 + 2 - 7) // 2 + 1 = 110; without it 109), none in conv2
((55 - 5) // 2 + 1 = 26), padding 1 in the 3×3 convolutions, and ``ceil_mode=True`` in the max
poolings (110 -> 55 and 26 -> 13; rounding down would give 54 and 12).
"""
from __future__ import annotations

import torch
from torch import nn

from ._registry import register_model
from ._utils import check_image_input, scale_channels

__all__ = ["ZFNet", "ZFNetCIFAR", "zfnet", "zfnet_cifar"]


def _lrn(alpha: float) -> nn.LocalResponseNorm:
    # The paper "contrast normalises across feature maps" as AlexNet does; we use AlexNet's LRN
    # (n=5, k=2, beta=0.75, paper alpha 1e-4). nn.LocalResponseNorm averages the squares where
    # the formula sums them, hence alpha * 5.
    return nn.LocalResponseNorm(size=5, alpha=5 * alpha, beta=0.75, k=2.0)


class ZFNet(nn.Module):
    """ZFNet (Zeiler & Fergus 2013) for 224×224 images, sizes as in the paper's Fig. 3.

    Each of the first two stages is conv -> ReLU -> 3×3/2 max pool -> normalisation across maps,
    in the order of the paper's Fig. 3 caption. ``init_weights`` follows the paper: weights from
    N(0, 0.01²), biases 0. Not in the paper: the ``AdaptiveAvgPool2d((6, 6))`` before the
    classifier (a no-op at 224×224), so that other input sizes also work.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                 lrn_alpha: float = 1e-4, init_weights: bool = True, name: str = "zfnet") -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.default_input_size = (in_channels, 224, 224)
        self.min_input_size = (47, 47)  # 47 -> 22 -> 11 -> 4 -> 2 -> 2 -> 1; at 46 the last pool gets 1×1
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=7, stride=2, padding=1),  # 0 conv1: 110×110×96
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 2: 55×55×96
            _lrn(lrn_alpha),  # 3
            nn.Conv2d(96, 256, kernel_size=5, stride=2),  # 4 conv2: 26×26×256
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 6: 13×13×256
            _lrn(lrn_alpha),  # 7
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # 8 conv3: 13×13×384
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1),  # 10 conv4: 13×13×384
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),  # 12 conv5: 13×13×256
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 14: 6×6×256
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096),  # 0 fc6
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),  # dropout 0.5 in layers 6 and 7
            nn.Linear(4096, 4096),  # 3 fc7
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),  # 6
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) with H, W >= 47 (224 by design) -> (N, num_classes) logits."""
        check_image_input(x, self.name, self.in_channels, self.min_input_size)
        x = self.features(x)  # (N, 256, 6, 6) at 224×224
        x = self.avgpool(x)
        x = torch.flatten(x, 1)  # (N, 9216)
        return self.classifier(x)


class ZFNetCIFAR(nn.Module):
    """ZFNet's block structure for 32×32 images.

    Adapted for 32×32 inputs: conv1 is 3×3 with stride 1 (not 7×7/2) and conv2 has stride 1 with
    padding 2 (not stride 2), so the three 3×3/2 max poolings (``ceil_mode``) take 32 -> 16 -> 8 -> 4;
    a 4×4 map enters a classifier of ``hidden_features`` (512) units instead of 4096. All widths are
    multiplied by ``width_mult``. Weights use Kaiming initialisation rather than the paper's
    N(0, 0.01²) so that the small network trains quickly.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
                 hidden_features: int = 512, dropout: float = 0.5, lrn_alpha: float = 1e-4,
                 name: str = "zfnet_cifar") -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.default_input_size = (in_channels, 32, 32)
        self.min_input_size = (8, 8)  # 8 -> 4 -> 2 -> 1; at 7 the last pool gets 1×1
        c1, c2, c3, c4, c5 = (scale_channels(c, width_mult) for c in (96, 256, 384, 384, 256))
        hidden = scale_channels(hidden_features, width_mult)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=3, padding=1),  # 0: 32×32
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 2: 16×16
            _lrn(lrn_alpha),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2),  # 4: 16×16
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 6: 8×8
            _lrn(lrn_alpha),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # 8: 8×8
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),  # 10
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),  # 12
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 14: 4×4
        )
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.classifier = nn.Sequential(
            nn.Linear(c5 * 4 * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, 32, 32) -> (N, num_classes) logits."""
        check_image_input(x, self.name, self.in_channels, self.min_input_size)
        x = self.features(x)  # (N, c5, 4, 4) at 32×32
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


@register_model()
def zfnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ZFNet:
    """ZFNet from "Visualizing and Understanding Convolutional Networks" (Zeiler & Fergus, 2013)."""
    return ZFNet(num_classes=num_classes, in_channels=in_channels, **kwargs)


@register_model()
def zfnet_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> ZFNetCIFAR:
    """ZFNet (Zeiler & Fergus, 2013) adapted for 32×32 inputs: 3×3 stride-1 conv1, stride-1 conv2, 512-unit classifier."""
    return ZFNetCIFAR(num_classes=num_classes, in_channels=in_channels, **kwargs)
