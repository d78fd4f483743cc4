"""LeNet-5.

Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 1998. http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf

CONV-POOL-CONV-POOL-FC-FC (the paper's Fig. 2): 5×5 convolutions with stride 1 and 2×2
sub-sampling with stride 2, on a 32×32 input:

    32×32×1 --conv5--> 28×28×6 --pool2--> 14×14×6 --conv5--> 10×10×16 --pool2--> 5×5×16
            --fc--> 120 --fc--> 84 --fc--> classes
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from ..layers import make_activation
from ._base import ImageClassifier
from ._registry import register_model

__all__ = ["LeNet5", "lenet5"]


class LeNet5(ImageClassifier):
    """LeNet-5 for ``in_channels``×32×32 images: ``(N, in_channels, 32, 32) -> (N, num_classes)``.

    Departures from the 1998 paper, as in most modern re-implementations: max pooling instead of
    trainable sub-sampling, ReLU instead of scaled tanh, every C3 map connected to every S2 map, and
    a plain linear classifier instead of the RBF output layer. ``act_layer=nn.Tanh`` and
    ``pool_layer=nn.AvgPool2d`` come closer to the original.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, *,
                 act_layer: Callable[..., nn.Module] = nn.ReLU,
                 pool_layer: Callable[..., nn.Module] = nn.MaxPool2d) -> None:
        # the classifier expects 16×5×5 features, i.e. exactly a 32×32 input
        super().__init__(num_classes, in_channels, input_size=(32, 32), min_input_size=(32, 32))
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),  # C1: 6@28×28
            make_activation(act_layer),
            pool_layer(kernel_size=2, stride=2),  # S2: 6@14×14
            nn.Conv2d(6, 16, kernel_size=5),  # C3: 16@10×10
            make_activation(act_layer),
            pool_layer(kernel_size=2, stride=2),  # S4: 16@5×5
        )
        self.avgpool = nn.Identity()  # no pooling: the 5×5 maps are flattened as they are
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),  # C5 (a 5×5 conv on a 5×5 map is a fully connected layer)
            make_activation(act_layer),
            nn.Linear(120, 84),  # F6
            make_activation(act_layer),
            nn.Linear(84, num_classes),  # output
        )


@register_model(input_size=(1, 32, 32), tags=("digits",))
def lenet5(num_classes: int = 10, in_channels: int = 1, **kwargs) -> LeNet5:
    """LeNet-5 from "Gradient-Based Learning Applied to Document Recognition" (LeCun et al., 1998)."""
    return LeNet5(num_classes, in_channels, **kwargs)
