"""PyTorch operations written out from the papers' formulas, for the lectures to take apart.

Each is tested against the PyTorch / torchvision built-in it re-implements, and each module class
carries a ``Scratch`` prefix so that it cannot be mistaken for ``torch.nn``'s: the built-ins are
faster and have more options (``ceil_mode``, dilation, indices), so models use those, never these.

* ``pooling`` -- max / average pooling by ``unfold`` (:func:`max_pool2d`, :class:`ScratchMaxPool2d`).
* ``dropout`` -- inverted dropout (:func:`dropout`, :class:`ScratchDropout`).
* ``lrn`` -- AlexNet's local response normalisation with the paper's alpha (:func:`local_response_norm`, :class:`ScratchLRN`).
* ``grouped_conv`` -- a grouped convolution as ``g`` separate convolutions (:func:`grouped_conv_from_groups`).
* ``upsampling`` -- nearest, bilinear and transposed-convolution upsampling.
* ``batchnorm`` -- batch normalisation with running statistics (:func:`batch_norm`, :class:`ScratchBatchNorm2d`).
* ``deformable`` -- deformable convolution v1/v2 with bilinear sampling (:class:`ScratchDeformConv2d`).
"""
from .batchnorm import ScratchBatchNorm2d, batch_norm
from .deformable import ScratchDeformConv2d, bilinear_sample, deform_conv2d
from .dropout import ScratchDropout, dropout
from .grouped_conv import grouped_conv_from_groups
from .lrn import ScratchLRN, local_response_norm
from .pooling import ScratchAvgPool2d, ScratchMaxPool2d, avg_pool2d, max_pool2d
from .upsampling import (
    ScratchConvTranspose2d,
    ScratchUpsampleBilinear,
    ScratchUpsampleNearest,
    transpose_conv2d,
    upsample_bilinear,
    upsample_nearest,
)

__all__ = [
    "max_pool2d", "avg_pool2d", "ScratchMaxPool2d", "ScratchAvgPool2d",
    "dropout", "ScratchDropout",
    "local_response_norm", "ScratchLRN",
    "grouped_conv_from_groups",
    "upsample_nearest", "upsample_bilinear", "transpose_conv2d",
    "ScratchUpsampleNearest", "ScratchUpsampleBilinear", "ScratchConvTranspose2d",
    "deform_conv2d", "bilinear_sample", "ScratchDeformConv2d",
    "batch_norm", "ScratchBatchNorm2d",
]
