"""The base every classifier in ``cnnlab.models`` is built on (timm's ``forward_features`` /
``forward_head`` split, with torchvision's names for the parts).

    x --check_input--> forward_features --> (N, C, h, w) feature map
      --forward_head--> avgpool --> flatten --> classifier --> (N, num_classes) logits

A subclass builds ``self.features`` (or overrides ``forward_features``), ``self.avgpool`` and
``self.classifier`` (or overrides ``forward_head``), and passes the input it is designed for to
``__init__``. Lectures use the split for feature maps, latency per stage and transfer learning
(``forward_head(features, pre_logits=True)`` gives the penultimate features).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .._utils import check_int, size_str
from ..layers import make_activation


class ImageClassifier(nn.Module):
    """An image classifier ``(N, in_channels, H, W) -> (N, num_classes)`` that checks its input.

    Args:
        num_classes: size of the output layer.
        in_channels: image channels the stem expects (3 for RGB, 1 for grey).
        input_size: ``(H, W)`` the network was designed for; ``default_input_size`` is
            ``(in_channels, H, W)``.
        min_input_size: the smallest ``(H, W)`` that reaches the classifier; smaller inputs raise a
            ``ValueError`` that names the model, instead of an error from deep inside a layer.

    ``model_name`` (set by the registry to the name the model was built under, e.g. ``"vgg16"``)
    names the model in error messages; it defaults to the class name.
    """

    def __init__(self, num_classes: int, in_channels: int, input_size: tuple[int, int],
                 min_input_size: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        check_int(num_classes, "num_classes", type(self).__name__)
        check_int(in_channels, "in_channels", type(self).__name__)
        self.model_name = type(self).__name__  # the registry replaces it with the registered name
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.default_input_size = (in_channels, *input_size)
        self.min_input_size = tuple(min_input_size)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ``ValueError`` naming the model unless ``x`` is ``(N, in_channels, H, W)`` with
        ``H, W`` at least ``min_input_size``. Cheap: it only reads ``x.shape``."""
        name = self.model_name
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expects a tensor of images, got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"{name} expects a batch of images of shape (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{name} expects {self.in_channels} input channels, got {x.shape[1]}")
        h, w = x.shape[-2:]
        min_h, min_w = self.min_input_size
        if h < min_h or w < min_w:
            raise ValueError(f"{name} needs inputs of at least {size_str(min_h, min_w)}, got {size_str(h, w)}")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, H, W) -> (N, C, h, w)``: the convolutional body."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, C, h, w) -> (N, num_classes)`` logits; with ``pre_logits`` the input of the last
        linear layer instead (the features a transfer-learning head would take)."""
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        if pre_logits:
            return self.classifier[:-1](x)
        return self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, H, W) -> (N, num_classes)`` logits."""
        self.check_input(x)
        x = self.forward_features(x)
        return self.forward_head(x)


def fc_classifier(in_features: int, hidden_features: int, num_classes: int, dropout: float = 0.5,
                  act_layer: Callable[..., nn.Module] = nn.ReLU, dropout_first: bool = False) -> nn.Sequential:
    """The three fully connected layers of AlexNet, ZFNet and VGG (fc6, fc7, fc8) with dropout on the
    two hidden ones: ``(N, in_features) -> (N, num_classes)``.

    ``dropout_first=False``: ``Linear, act, Dropout, Linear, act, Dropout, Linear`` (the papers' order,
    and torchvision's VGG); ``True``: ``Dropout, Linear, act, Dropout, Linear, act, Linear``
    (torchvision's AlexNet). Either way the linear layers sit at indices 0/1, 3/4 and 6, as in
    torchvision's ``state_dict``.
    """
    hidden = [nn.Linear(in_features, hidden_features), make_activation(act_layer),
              nn.Linear(hidden_features, hidden_features), make_activation(act_layer)]
    layers: list[nn.Module] = []
    for i in (0, 2):  # fc6 + act, then fc7 + act, each with its dropout
        block = [hidden[i], hidden[i + 1]]
        layers += [nn.Dropout(p=dropout), *block] if dropout_first else [*block, nn.Dropout(p=dropout)]
    layers.append(nn.Linear(hidden_features, num_classes))  # fc8
    return nn.Sequential(*layers)
