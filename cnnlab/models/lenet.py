"""LeNet-5.

Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 1998. http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf

The slides' shape of it: CONV-POOL-CONV-POOL-FC-FC, 5×5 convolutions with stride 1 and 2×2
pooling with stride 2, on a 32×32 input:

    32×32×1 --conv5--> 28×28×6 --pool2--> 14×14×6 --conv5--> 10×10×16 --pool2--> 5×5×16
            --fc--> 120 --fc--> 84 --fc--> classes
"""
from __future__ import annotations

import torch
from torch import nn

from ._registry import register_model
from ._utils import check_image_input


class LeNet5(nn.Module):
    """LeNet-5 for ``in_channels``×32×32 images.

    Departures from the 1998 paper, as in most modern re-implementations: max pooling instead of
    trainable sub-sampling, ReLU instead of scaled tanh, every C3 map connected to every S2 map, and
    a plain linear classifier instead of the RBF output layer.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        act_layer: type[nn.Module] = nn.ReLU,
        pool_layer: type[nn.Module] = nn.MaxPool2d,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.default_input_size = (in_channels, 32, 32)
        self.min_input_size = (32, 32)  # the classifier expects 16×5×5 features, i.e. a 32×32 input
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),  # C1: 6@28×28
            act_layer(),
            pool_layer(kernel_size=2, stride=2),  # S2: 6@14×14
            nn.Conv2d(6, 16, kernel_size=5),  # C3: 16@10×10
            act_layer(),
            pool_layer(kernel_size=2, stride=2),  # S4: 16@5×5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),  # C5 (a 5×5 conv on a 5×5 map is a fully connected layer)
            act_layer(),
            nn.Linear(120, 84),  # F6
            act_layer(),
            nn.Linear(84, num_classes),  # output
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, 32, 32) -> (N, num_classes) logits."""
        check_image_input(x, "lenet5", self.in_channels, self.min_input_size)
        return self.classifier(self.features(x))


@register_model()
def lenet5(num_classes: int = 10, in_channels: int = 1, **kwargs) -> LeNet5:
    """LeNet-5 from "Gradient-Based Learning Applied to Document Recognition" (LeCun et al., 1998)."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, **kwargs)
