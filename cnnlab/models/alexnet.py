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
* ``alexnet_cifar`` -- ``AlexNet`` with ``small_input=True``: the same layers with a 32×32 stem.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from ..layers import make_activation, scale_width
from ._base import ImageClassifier, fc_classifier
from ._registry import register_model

__all__ = ["AlexNet", "AlexNetOriginal", "alexnet", "alexnet_original", "alexnet_cifar"]


class AlexNet(ImageClassifier):
    """AlexNet as torchvision builds it: the one-GPU "One weird trick" variant (Krizhevsky 2014).

    Departures from the 2012 paper: 64/192/384/256/256 instead of 96/256/384/384/256 filters, no
    local response normalisation, no two-GPU grouping, padding 2 in conv1 so that a 224×224 input
    gives 55×55 (the paper's 227×227 does so without padding), an ``AdaptiveAvgPool2d((6, 6))`` so
    other input sizes reach the classifier as 6×6×256, and dropout *before* fc6 and fc7.

    ``small_input=True`` (``alexnet_cifar``) adapts it to 32×32 images with the same layers: a 3×3
    stride-1 conv1 instead of 11×11 stride 4, the overlapping 3×3/2 poolings padded by 1
    (32 -> 16 -> 8 -> 4), a 4×4 map into a classifier of ``hidden_features`` (default 512 instead of
    4096) units. ``width_mult`` scales every width (rounded to multiples of 8).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, small_input: bool = False,
                 width_mult: float = 1.0, hidden_features: int | None = None, dropout: float = 0.5,
                 act_layer: Callable[..., nn.Module] = nn.ReLU) -> None:
        if small_input:  # every pooling is padded, so any size reaches the classifier
            super().__init__(num_classes, in_channels, input_size=(32, 32), min_input_size=(1, 1))
        else:  # 63 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1; at 62 the last pool gets 2×2
            super().__init__(num_classes, in_channels, input_size=(224, 224), min_input_size=(63, 63))
        c1, c2, c3, c4, c5 = (scale_width(c, width_mult) for c in (64, 192, 384, 256, 256))
        hidden = scale_width(hidden_features or (512 if small_input else 4096), width_mult)
        pool_padding = 1 if small_input else 0
        pool_out = 4 if small_input else 6
        if small_input:
            conv1 = nn.Conv2d(in_channels, c1, kernel_size=3, stride=1, padding=1)  # 32×32
        else:
            conv1 = nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=2)  # 55×55 at 224
        self.features = nn.Sequential(
            conv1,  # 0
            make_activation(act_layer),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=pool_padding),  # 2: 27×27 (overlapping pooling)
            nn.Conv2d(c1, c2, kernel_size=5, padding=2),  # 3: 27×27×192
            make_activation(act_layer),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=pool_padding),  # 5: 13×13
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # 6: 13×13×384
            make_activation(act_layer),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),  # 8: 13×13×256
            make_activation(act_layer),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),  # 10: 13×13×256
            make_activation(act_layer),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=pool_padding),  # 12: 6×6×256 (sizes at 224×224)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pool_out, pool_out))
        # dropout before fc6 and fc7 (torchvision's order): fc6, fc7, fc8 at indices 1, 4, 6
        self.classifier = fc_classifier(c5 * pool_out * pool_out, hidden, num_classes, dropout, act_layer,
                                        dropout_first=True)


class AlexNetOriginal(ImageClassifier):
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

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, *, dropout: float = 0.5,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, two_gpu_groups: bool = True,
                 lrn_alpha: float = 1e-4, init_weights: bool = True) -> None:
        # 67 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1
        super().__init__(num_classes, in_channels, input_size=(227, 227), min_input_size=(67, 67))
        g = 2 if two_gpu_groups else 1
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),  # 0 conv1: (227-11)/4+1 = 55 -> 55×55×96
            make_activation(act_layer),
            paper_lrn(lrn_alpha),  # 2
            nn.MaxPool2d(kernel_size=3, stride=2),  # 3: 27×27×96
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=g),  # 4 conv2: 27×27×256
            make_activation(act_layer),
            paper_lrn(lrn_alpha),  # 6
            nn.MaxPool2d(kernel_size=3, stride=2),  # 7: 13×13×256
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # 8 conv3 (across both GPUs): 13×13×384
            make_activation(act_layer),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=g),  # 10 conv4: 13×13×384
            make_activation(act_layer),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=g),  # 12 conv5: 13×13×256
            make_activation(act_layer),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 14: 6×6×256
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        # "dropout in the first two fully-connected layers": fc6, fc7, fc8 at indices 0, 3, 6
        self.classifier = fc_classifier(256 * 6 * 6, 4096, num_classes, dropout, act_layer)
        if init_weights:
            ones = {self.features[4], self.features[10], self.features[12], self.classifier[0], self.classifier[3]}
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                    nn.init.constant_(m.bias, 1.0 if m in ones else 0.0)


def paper_lrn(alpha: float = 1e-4) -> nn.LocalResponseNorm:
    """AlexNet's LRN (Section 3.3: n=5, k=2, beta=0.75) as PyTorch's module. The paper's ``alpha``
    multiplies the *sum* of the squares over the window, ``nn.LocalResponseNorm``'s their *mean*,
    hence ``5 * alpha``. ZFNet uses the same layer."""
    return nn.LocalResponseNorm(size=5, alpha=5 * alpha, beta=0.75, k=2.0)


@register_model(input_size=(3, 224, 224), tags=("imagenet", "torchvision"))
def alexnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNet:
    """AlexNet, torchvision's one-GPU variant ("One weird trick", Krizhevsky 2014) of Krizhevsky et al. (2012)."""
    return AlexNet(num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 227, 227), tags=("imagenet", "paper"))
def alexnet_original(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNetOriginal:
    """AlexNet as in "ImageNet Classification with Deep Convolutional Neural Networks" (Krizhevsky et al., 2012)."""
    return AlexNetOriginal(num_classes, in_channels, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "adapted"))
def alexnet_cifar(num_classes: int = 10, in_channels: int = 3, **kwargs) -> AlexNet:
    """AlexNet (Krizhevsky et al., 2012) adapted for 32×32 inputs: 3×3 stride-1 conv1, padded pools, 512-unit classifier."""
    return AlexNet(num_classes, in_channels, small_input=True, **kwargs)
