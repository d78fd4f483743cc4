"""Building blocks that several architectures share, one concept per file (as timm's ``layers``).

Unit layers of Part I, written out from the papers' formulas and tested against PyTorch's built-ins:

* ``lrn`` -- AlexNet's local response normalisation (:class:`LocalResponseNorm`).
* ``dropout`` -- inverted dropout (:class:`Dropout`).
* ``pooling`` -- max / average pooling with ``unfold``, overlapping pooling (:class:`MaxPool2d`, :class:`AvgPool2d`).
* ``conv`` -- grouped, depthwise, pointwise and depthwise separable convolutions, dilation,
  conv-norm-activation (:class:`GroupConv2d`, :class:`ConvNormAct`, :class:`DepthwiseSeparableConv`).
* ``deformable`` -- deformable convolution v1/v2 with bilinear sampling (:class:`DeformConv2d`).
* ``upsampling`` -- nearest, bilinear and transposed-convolution upsampling.
"""
from .conv import (
    ConvNormAct,
    DepthwiseSeparableConv,
    GroupConv2d,
    depthwise_conv,
    effective_kernel_size,
    grouped_conv,
    grouped_conv_from_groups,
    pointwise_conv,
)
from .deformable import DeformConv2d, bilinear_sample, deform_conv2d
from .dropout import Dropout, dropout
from .lrn import LocalResponseNorm, local_response_norm
from .pooling import AvgPool2d, MaxPool2d, avg_pool2d, max_pool2d
from .upsampling import (
    TransposeConv2d,
    UpsampleBilinear,
    UpsampleNearest,
    transpose_conv2d,
    upsample_bilinear,
    upsample_nearest,
)

__all__ = [
    # lrn
    "LocalResponseNorm", "local_response_norm",
    # dropout
    "Dropout", "dropout",
    # pooling
    "MaxPool2d", "AvgPool2d", "max_pool2d", "avg_pool2d",
    # conv
    "effective_kernel_size", "GroupConv2d", "grouped_conv", "depthwise_conv", "pointwise_conv",
    "grouped_conv_from_groups", "ConvNormAct", "DepthwiseSeparableConv",
    # deformable
    "DeformConv2d", "deform_conv2d", "bilinear_sample",
    # upsampling
    "UpsampleNearest", "UpsampleBilinear", "TransposeConv2d",
    "upsample_nearest", "upsample_bilinear", "transpose_conv2d",
]
