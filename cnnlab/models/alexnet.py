"""AlexNet.

A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012.
https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks

A. Krizhevsky, "One weird trick for parallelizing convolutional neural networks", 2014.
https://arxiv.org/abs/1404.5997

Five convolutional layers and three fully connected ones, with ReLU, dropout, overlapping max
pooling (3×3 windows, stride 2) and, in the 2012 paper, local response normalisation (LRN):

    227×227×3 --conv11/4--> 55×55×96 --pool3/2--> 27×27×96 --conv5--> 27×27×256 --pool3/2--> 13×13×256
              --conv3--> 13×13×384 --conv3--> 13×13×384 --conv3--> 13×13×256 --pool3/2--> 6×6×256
              --fc--> 4096 --fc--> 4096 --fc--> classes

Three models live here:

* ``alexnet`` -- torchvision's layout, so that torchvision's weights load with ``strict=True``. Like
  torchvision's, it is the one-GPU variant of "One weird trick" (64/192/384/256/256 channels, no
  LRN, 224×224 input with padding 2 in conv1) rather than the 2012 paper's 96/256/384/384/256.
* ``alexnet_original`` -- the 2012 paper's network: 96/256/384/384/256 channels, 11×11/4 conv1 on
  227×227 inputs, LRN after conv1 and conv2, and the two-GPU split written as ``groups=2``.
* ``alexnet_cifar`` -- the same five-conv/three-fc block structure adapted for 32×32 images.

``check_image_input`` at the bottom of this file is the input check every Part I model calls at the
top of ``forward``.
"""
from __future__ import annotations

import torch
from torch import nn

from ._registry import register_model
from ._utils import check_image_input, scale_channels

__all__ = [
    "AlexNet", "AlexNetOriginal", "AlexNetCIFAR",
    "alexnet", "alexnet_original", "alexnet_cifar",
    "check_image_input", "scale_channels",
]


class AlexNet(nn.Module):
    """AlexNet as torchvision builds it: the one-GPU "One weird trick" variant (Krizhevsky 2014).

    Departures from the 2012 paper: 64/192/384/256/256 instead of 96/256/384/384/256 filters, no
    local response normalisation, no two-GPU grouping, padding 2 in conv1 so that a 224×224 input
    gives 55×55 (the paper's 227×227 does so without padding), an ``AdaptiveAvgPool2d((6, 6))`` so
    other input sizes reach the classifier as 6×6×256, and dropout *before* fc6 and fc7.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3,
                 name: str = "alexnet") -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.default_input_size = (in_channels, 224, 224)
        self.min_input_size = (63, 63)  # 63 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1; at 62 the last pool gets 2×2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2),  # 0: 55×55×64
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 2: 27×27×64 (overlapping pooling)
            nn.Conv2d(64, 192, kernel_size=5, padding=2),  # 3: 27×27×192
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 5: 13×13×192
            nn.Conv2d(192, 384, kernel_size=3, padding=1),  # 6: 13×13×384
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),  # 8: 13×13×256
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),  # 10: 13×13×256
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 12: 6×6×256
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),  # 1: fc6
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),  # 4: fc7
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),  # 6: fc8
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) with H, W >= 63 (224 by design) -> (N, num_classes) logits."""
        check_image_input(x, self.name, self.in_channels, self.min_input_size)
        x = self.features(x)  # (N, 256, 6, 6) at 224×224
        x = self.avgpool(x)
        x = torch.flatten(x, 1)  # (N, 9216)
        return self.classifier(x)


class AlexNetOriginal(nn.Module):
    """The 2012 paper's AlexNet: 96/256/384/384/256 filters on 227×227×3 inputs, with LRN.

    ``two_gpu_groups=True`` writes the paper's split over two GPUs as grouped convolutions: conv2,
    conv4 and conv5 only see the kernel maps of the previous layer that live on their own GPU
    (``groups=2``), while conv3 and the fully connected layers see all of them. conv1 needs no
    groups: each GPU's 48 filters already see the whole image. The grouping halves the weights of
    those three layers. One detail is not reproduced: on two GPUs each LRN saw only its own 48 maps,
    here it runs across all 96 (they differ only for the channels next to the split).

    LRN follows the paper's formula ``b = a / (k + alpha * sum of n squares)**beta`` with
    ``n=5, k=2, alpha=1e-4, beta=0.75``. PyTorch's ``nn.LocalResponseNorm`` multiplies ``alpha`` by
    the *mean* of the squares instead of their sum, so the paper's layer is
    ``nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2)``; ``lrn_alpha`` is the paper's alpha.
    (Caffe's reference "bvlc_alexnet" also averages and keeps 1e-4, i.e. a five times weaker LRN.)

    ``init_weights`` uses the paper's initialisation (Section 5): weights from N(0, 0.01²), biases 1
    in conv2, conv4, conv5 and the hidden fully connected layers, 0 elsewhere.

    Not in the paper: an ``AdaptiveAvgPool2d((6, 6))`` before the classifier, which does nothing on
    227×227 inputs and lets the network run on other sizes (e.g. 224×224).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                 two_gpu_groups: bool = True, lrn_alpha: float = 1e-4, init_weights: bool = True,
                 name: str = "alexnet_original") -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.default_input_size = (in_channels, 227, 227)
        self.min_input_size = (67, 67)  # 67 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1
        g = 2 if two_gpu_groups else 1

        def lrn() -> nn.LocalResponseNorm:
            return nn.LocalResponseNorm(size=5, alpha=5 * lrn_alpha, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),  # 0 conv1: (227-11)/4+1 = 55 -> 55×55×96
            nn.ReLU(inplace=True),
            lrn(),  # 2
            nn.MaxPool2d(kernel_size=3, stride=2),  # 3: 27×27×96
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=g),  # 4 conv2: 27×27×256
            nn.ReLU(inplace=True),
            lrn(),  # 6
            nn.MaxPool2d(kernel_size=3, stride=2),  # 7: 13×13×256
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # 8 conv3 (across both GPUs): 13×13×384
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=g),  # 10 conv4: 13×13×384
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=g),  # 12 conv5: 13×13×256
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 14: 6×6×256
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096),  # 0 fc6
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),  # "dropout in the first two fully-connected layers"
            nn.Linear(4096, 4096),  # 3 fc7
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),  # 6 fc8
        )
        if init_weights:
            ones = {self.features[4], self.features[10], self.features[12], self.classifier[0], self.classifier[3]}
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                    nn.init.constant_(m.bias, 1.0 if m in ones else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) with H, W >= 67 (227 by design) -> (N, num_classes) logits."""
        check_image_input(x, self.name, self.in_channels, self.min_input_size)
        x = self.features(x)  # (N, 256, 6, 6) at 227×227
        x = self.avgpool(x)
        x = torch.flatten(x, 1)  # (N, 9216)
        return self.classifier(x)


class AlexNetCIFAR(nn.Module):
    """AlexNet's block structure for 32×32 images.

    Adapted for 32×32 inputs: a 3×3 stride-1 conv1 instead of 11×11 stride 4, the overlapping 3×3
    stride-2 poolings padded by 1 (32 -> 16 -> 8 -> 4), a 4×4 map into the classifier, and
    ``hidden_features`` (512) instead of 4096 units in fc6 and fc7. All widths (channels and hidden
    units) are multiplied by ``width_mult``, so ``width_mult=0.25`` trains in seconds on a CPU.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
                 hidden_features: int = 512, dropout: float = 0.5, name: str = "alexnet_cifar") -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.default_input_size = (in_channels, 32, 32)
        self.min_input_size = (1, 1)  # every pooling is padded, so any size reaches the classifier
        c1, c2, c3, c4, c5 = (scale_channels(c, width_mult) for c in (64, 192, 384, 256, 256))
        hidden = scale_channels(hidden_features, width_mult)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=3, padding=1),  # 0: 32×32
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # 2: 16×16
            nn.Conv2d(c1, c2, kernel_size=5, padding=2),  # 3: 16×16
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # 5: 8×8
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # 6: 8×8
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),  # 8: 8×8
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),  # 10: 8×8
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # 12: 4×4
        )
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(c5 * 4 * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, 32, 32) -> (N, num_classes) logits."""
        check_image_input(x, self.name, self.in_channels, self.min_input_size)
        x = self.features(x)  # (N, c5, 4, 4) at 32×32
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


@register_model()
def alexnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNet:
    """AlexNet, torchvision's one-GPU variant ("One weird trick", Krizhevsky 2014) of Krizhevsky et al. (2012)."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, **kwargs)


@register_model()
def alexnet_original(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNetOriginal:
    """AlexNet as in "ImageNet Classification with Deep Convolutional Neural Networks" (Krizhevsky et al., 2012)."""
    return AlexNetOriginal(num_classes=num_classes, in_channels=in_channels, **kwargs)


@register_model()
def alexnet_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> AlexNetCIFAR:
    """AlexNet (Krizhevsky et al., 2012) adapted for 32×32 inputs: 3×3 stride-1 conv1, padded pools, 512-unit classifier."""
    return AlexNetCIFAR(num_classes=num_classes, in_channels=in_channels, **kwargs)
