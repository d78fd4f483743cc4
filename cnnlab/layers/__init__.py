"""Building blocks that the architectures in ``cnnlab.models`` import, one concept per file (as
timm's ``layers``). A block that only one family uses, or whose ``state_dict`` keys must match a
torchvision model, lives in that family's file instead (e.g. ResNet's blocks in ``models/resnet.py``).

* ``conv`` -- :class:`GroupConv2d` (a checked ``nn.Conv2d``) and the grouped / depthwise / pointwise
  constructors, :func:`effective_kernel_size` of a dilated kernel.
* ``conv_norm_act`` -- :class:`ConvNormAct`, conv -> norm -> activation (torchvision's
  ``Conv2dNormActivation`` and ``BasicConv2d`` layouts).
* ``separable`` -- :class:`DepthwiseSeparableConv` (MobileNet v1, Xception).
* ``squeeze_excite`` -- :class:`SqueezeExcite` (SENet, MobileNet v3, EfficientNet).
* ``channel_shuffle`` -- :func:`channel_shuffle` / :class:`ChannelShuffle` (ShuffleNet).
* ``activations`` -- :func:`get_act_layer`: activation classes by name (``"hswish"``, ``"swish"`` ...).
* ``helpers`` -- :func:`make_divisible`, the width rounding of MobileNet / EfficientNet / GhostNet.
* ``drop_path`` -- stochastic depth, :class:`DropPath`.

The from-scratch versions of PyTorch's own operations that the lectures teach (pooling, dropout,
LRN, upsampling, transposed and deformable convolution) are in :mod:`cnnlab.scratch`, not here.
"""
from .activations import ACTIVATIONS, get_act_layer
from .channel_shuffle import ChannelShuffle, channel_shuffle
from .conv import GroupConv2d, depthwise_conv, effective_kernel_size, grouped_conv, pointwise_conv
from .conv_norm_act import ConvNormAct, make_activation
from .drop_path import DropPath, drop_path
from .helpers import make_divisible, scale_width
from .separable import DepthwiseSeparableConv
from .squeeze_excite import SqueezeExcite

__all__ = [
    "GroupConv2d", "grouped_conv", "depthwise_conv", "pointwise_conv", "effective_kernel_size",
    "ConvNormAct", "make_activation", "DepthwiseSeparableConv", "SqueezeExcite",
    "channel_shuffle", "ChannelShuffle", "ACTIVATIONS", "get_act_layer", "make_divisible", "scale_width",
    "drop_path", "DropPath",
]
