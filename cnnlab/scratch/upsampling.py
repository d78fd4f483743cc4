"""Upsampling: nearest neighbour, bilinear interpolation, and the learnable transposed convolution.

Nearest and bilinear interpolation are classic image resampling (no paper); as upsampling layers in
a network: J. Long, E. Shelhamer, T. Darrell, "Fully Convolutional Networks for Semantic
Segmentation", CVPR 2015, arXiv:1411.4038 (bilinear initialisation of learnable upsampling).
Transposed ("fractionally strided", "deconvolution") convolution: M. D. Zeiler, D. Krishnan,
G. W. Taylor, R. Fergus, "Deconvolutional Networks", CVPR 2010; the arithmetic: V. Dumoulin,
F. Visin, "A guide to convolution arithmetic for deep learning", 2016, arXiv:1603.07285.

Index arithmetic, as PyTorch's ``F.interpolate`` does it. Output pixel ``i`` along an axis of input
length ``n_in`` and output length ``n_out`` reads the source coordinate

* nearest: ``floor(i * scale)`` with ``scale = 1 / scale_factor`` (or ``n_in / n_out`` when a
  ``size`` is given), capped at ``n_in - 1``;
* bilinear, ``align_corners=False`` (pixel *areas* line up): ``(i + 0.5) * scale - 0.5``, negative
  values raised to 0; ``align_corners=True`` (the corner pixel *centres* line up):
  ``i * (n_in - 1) / (n_out - 1)``. The value there is the mix of its two neighbours per axis,
  ``(1 - t) * x[i0] + t * x[i0 + 1]`` with ``t`` the fractional part -- four neighbours in 2-D.

The usual 2×2 → 4×4 textbook example (input ``[[1, 2], [3, 4]]``) is the ``align_corners=False`` result.

A transposed convolution with stride ``s`` goes the other way from a convolution: each **input**
pixel scales a copy of the kernel, the copies are placed ``s`` pixels apart in the output and summed
where they overlap; ``padding`` then crops that many pixels from every border and
``output_padding`` adds extra rows/columns at the bottom/right::

    H_out = (H - 1) * s - 2 * padding + d * (k - 1) + output_padding + 1
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .._utils import IntOrPair, check_at_least, check_channels_and_groups, init_like_conv, pair, size_str

__all__ = [
    "upsample_nearest", "upsample_bilinear", "transpose_conv2d",
    "ScratchUpsampleNearest", "ScratchUpsampleBilinear", "ScratchConvTranspose2d",
]

FloatOrPair = float | Sequence[float]


def _output_size_and_scales(x: torch.Tensor, scale_factor: FloatOrPair | None, size: IntOrPair | None,
                            layer: str) -> tuple[tuple[int, int], tuple[float | None, float | None]]:
    """Output ``(H_out, W_out)`` and the given scale factors per axis (None where ``size`` was given)."""
    if x.dim() != 4:
        raise ValueError(f"{layer}: expects an input of shape (N, C, H, W), got {tuple(x.shape)}")
    if (scale_factor is None) == (size is None):
        raise ValueError(f"{layer}: give exactly one of scale_factor and size, got scale_factor={scale_factor!r}, size={size!r}")
    h, w = x.shape[-2:]
    if size is not None:
        out = pair(size, "size", layer)
        check_at_least(out, 1, "size", layer)
        return out, (None, None)
    factors = (scale_factor, scale_factor) if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(factors) != 2 or any(not isinstance(f, (int, float)) or f <= 0 for f in factors):
        raise ValueError(f"{layer}: scale_factor must be a positive number or a pair of them, got {scale_factor!r}")
    out = (math.floor(h * factors[0]), math.floor(w * factors[1]))
    if min(out) < 1:
        raise ValueError(f"{layer}: scale_factor {scale_factor} turns a {size_str(h, w)} input into an empty output")
    return out, (float(factors[0]), float(factors[1]))


def _scale(n_in: int, n_out: int, scale_factor: float | None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Input pixels per output pixel, rounded to ``dtype`` as PyTorch does: ``1/scale_factor`` when a
    scale factor was given (even if ``n_out / n_in`` differs from it), else ``n_in / n_out``."""
    value = 1.0 / scale_factor if scale_factor is not None else n_in / n_out
    return torch.tensor(value, dtype=dtype)


def _nearest_index(n_in: int, n_out: int, scale_factor: float | None, device: torch.device) -> torch.Tensor:
    """``(n_out,)`` source index of each output pixel: ``min(floor(i * scale), n_in - 1)``."""
    i = torch.arange(n_out, dtype=torch.float32, device=device)
    source = torch.floor(i * _scale(n_in, n_out, scale_factor).to(device))
    return source.long().clamp(max=n_in - 1)


def upsample_nearest(x: torch.Tensor, scale_factor: FloatOrPair | None = None,
                     size: IntOrPair | None = None) -> torch.Tensor:
    """Nearest-neighbour resizing: every output pixel copies the input pixel it falls in.

    ``(N, C, H, W) -> (N, C, H_out, W_out)`` with ``H_out = floor(H * scale_factor)`` or ``size``.
    Equals ``F.interpolate(x, size, scale_factor, mode="nearest")``.
    """
    (out_h, out_w), (fh, fw) = _output_size_and_scales(x, scale_factor, size, "upsample_nearest")
    h, w = x.shape[-2:]
    rows = _nearest_index(h, out_h, fh, x.device)  # (H_out,): source row of each output row
    cols = _nearest_index(w, out_w, fw, x.device)  # (W_out,)
    out = x[:, :, rows, :]  # (N, C, H_out, W)
    out = out[:, :, :, cols]  # (N, C, H_out, W_out)
    return out


def _linear_weights(n_in: int, n_out: int, scale_factor: float | None, align_corners: bool,
                    dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each output pixel along one axis: the two source indices ``i0, i1`` and the weight ``t`` of ``i1``.

    Arithmetic as PyTorch's CPU kernel, so that the results agree to the last bits: float32
    coordinates for float32 (and lower-precision) inputs, float64 for float64 inputs; the
    ``(i + 0.5) * scale - 0.5`` is rounded once (PyTorch's compiled loop fuses the multiply-add).
    """
    coord_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    i = torch.arange(n_out, dtype=torch.float64, device=device)
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        scale = torch.tensor(scale, dtype=coord_dtype, device=device)
        source = i.to(coord_dtype) * scale  # corner centres coincide
    else:
        scale = _scale(n_in, n_out, scale_factor, coord_dtype).to(device)
        source = (i + 0.5) * scale.double() - 0.5  # pixel areas coincide
        source = source.to(coord_dtype)  # one rounding, like a fused multiply-add
        source = source.clamp(min=0.0)  # left of the first centre: copy the edge
    i0 = source.long().clamp(max=n_in - 1)  # floor, as source >= 0
    i1 = (i0 + 1).clamp(max=n_in - 1)  # right of the last centre: copy the edge
    t = (source - i0).clamp(0.0, 1.0)  # (n_out,): weight of i1
    return i0, i1, t


def upsample_bilinear(x: torch.Tensor, scale_factor: FloatOrPair | None = None, size: IntOrPair | None = None,
                      align_corners: bool = False) -> torch.Tensor:
    """Bilinear resizing: each output pixel mixes its 4 nearest input pixels by distance.

    ``(N, C, H, W) -> (N, C, H_out, W_out)``. Equals ``F.interpolate(x, size, scale_factor,
    mode="bilinear", align_corners=align_corners)``; see the module docstring for the conventions.
    """
    (out_h, out_w), (fh, fw) = _output_size_and_scales(x, scale_factor, size, "upsample_bilinear")
    h, w = x.shape[-2:]
    y0, y1, ty = _linear_weights(h, out_h, fh, align_corners, x.dtype, x.device)  # (H_out,) each
    x0, x1, tx = _linear_weights(w, out_w, fw, align_corners, x.dtype, x.device)  # (W_out,) each
    ty = ty.to(x.dtype).view(out_h, 1)  # (H_out, 1)
    tx = tx.to(x.dtype).view(1, out_w)  # (1, W_out)
    top_left = x[:, :, y0][:, :, :, x0]  # (N, C, H_out, W_out)
    top_right = x[:, :, y0][:, :, :, x1]
    bottom_left = x[:, :, y1][:, :, :, x0]
    bottom_right = x[:, :, y1][:, :, :, x1]
    top = (1 - tx) * top_left + tx * top_right  # interpolate along the row
    bottom = (1 - tx) * bottom_left + tx * bottom_right
    return (1 - ty) * top + ty * bottom  # then between the two rows


def transpose_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: IntOrPair = 1,
                     padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1,
                     dilation: IntOrPair = 1) -> torch.Tensor:
    """Transposed convolution by scattering: every input pixel adds ``input × kernel`` into the output.

    ``x`` ``(N, C_in, H, W)``, ``weight`` ``(C_in, C_out / groups, k_h, k_w)`` (PyTorch's layout for
    transposed convolutions), ``bias`` ``(C_out,)`` or None. Returns ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H - 1) * stride - 2 * padding + dilation * (k_h - 1) + output_padding + 1``; equals
    ``F.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)``.
    """
    layer = "transpose_conv2d"
    sh, sw = pair(stride, "stride", layer)
    ph, pw = pair(padding, "padding", layer)
    oph, opw = pair(output_padding, "output_padding", layer)
    dh, dw = pair(dilation, "dilation", layer)
    check_at_least((sh, sw), 1, "stride", layer)
    check_at_least((ph, pw, oph, opw), 0, "padding and output_padding", layer)
    check_at_least((dh, dw), 1, "dilation", layer)
    if oph >= max(sh, dh) or opw >= max(sw, dw):
        raise ValueError(f"{layer}: output_padding {size_str(oph, opw)} must be smaller than the stride "
                         f"{size_str(sh, sw)} or the dilation {size_str(dh, dw)}")
    if x.dim() != 4 or weight.dim() != 4:
        raise ValueError(f"{layer}: expects x (N, C_in, H, W) and weight (C_in, C_out/groups, k_h, k_w), "
                         f"got {tuple(x.shape)} and {tuple(weight.shape)}")
    n, c_in, h, w = x.shape
    if weight.shape[0] != c_in or c_in % groups:
        raise ValueError(f"{layer}: weight {tuple(weight.shape)} with groups={groups} does not fit an input "
                         f"with {c_in} channels")
    c_out_per_group, kh, kw = weight.shape[1:]
    c_out = groups * c_out_per_group
    canvas_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph  # everything the kernel copies touch (+ output_padding)
    canvas_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    out_h, out_w = canvas_h - 2 * ph, canvas_w - 2 * pw
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{layer}: padding {size_str(ph, pw)} crops the whole {size_str(canvas_h, canvas_w)} output "
                         f"of a {size_str(h, w)} input")
    xg = x.view(n, groups, c_in // groups, h, w)  # (N, g, C_in/g, H, W)
    wg = weight.view(groups, c_in // groups, c_out_per_group, kh, kw)  # (g, C_in/g, C_out/g, k_h, k_w)
    canvas = x.new_zeros(n, groups, c_out_per_group, canvas_h, canvas_w)  # (N, g, C_out/g, H_canvas, W_canvas)
    for i in range(kh):
        for j in range(kw):
            # tap (i, j) of every input pixel's kernel copy: input pixel (y, x) lands on (y*s + i*d, x*s + j*d)
            contribution = torch.einsum("ngchw,gco->ngohw", xg, wg[:, :, :, i, j])  # (N, g, C_out/g, H, W)
            rows = slice(i * dh, i * dh + (h - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (w - 1) * sw + 1, sw)
            canvas[:, :, :, rows, cols] += contribution  # summed where the copies overlap
    out = canvas.reshape(n, c_out, canvas_h, canvas_w)  # (N, C_out, H_canvas, W_canvas)
    out = out[:, :, ph:ph + out_h, pw:pw + out_w]  # crop `padding` from each border
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


class ScratchUpsampleNearest(nn.Module):
    """Nearest-neighbour upsampling module (see :func:`upsample_nearest`); no parameters."""

    def __init__(self, scale_factor: FloatOrPair | None = None, size: IntOrPair | None = None) -> None:
        super().__init__()
        if (scale_factor is None) == (size is None):
            raise ValueError("ScratchUpsampleNearest: give exactly one of scale_factor and size")
        self.scale_factor = scale_factor
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H_out, W_out)``."""
        return upsample_nearest(x, self.scale_factor, self.size)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, size={self.size}"


class ScratchUpsampleBilinear(nn.Module):
    """Bilinear upsampling module (see :func:`upsample_bilinear`); no parameters."""

    def __init__(self, scale_factor: FloatOrPair | None = None, size: IntOrPair | None = None,
                 align_corners: bool = False) -> None:
        super().__init__()
        if (scale_factor is None) == (size is None):
            raise ValueError("ScratchUpsampleBilinear: give exactly one of scale_factor and size")
        self.scale_factor = scale_factor
        self.size = size
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H_out, W_out)``."""
        return upsample_bilinear(x, self.scale_factor, self.size, self.align_corners)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, size={self.size}, align_corners={self.align_corners}"


class ScratchConvTranspose2d(nn.Module):
    """Learnable upsampling: a transposed convolution (see :func:`transpose_conv2d`).

    Same arguments, parameter shapes (``weight`` ``(C_in, C_out / groups, k_h, k_w)``), initialisation
    and ``state_dict`` keys as ``nn.ConvTranspose2d``, so its weights load here and give the same
    output. ``macs`` counts ``C_in * H * W * (C_out / groups) * k_h * k_w`` per image: every input
    pixel scatters one kernel copy (what ``cnnlab.analysis`` counts for ``nn.ConvTranspose2d``).
    Input ``(N, C_in, H, W)``, output ``(N, C_out, H_out, W_out)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrPair = 1) -> None:
        super().__init__()
        check_channels_and_groups(in_channels, out_channels, groups, "ScratchConvTranspose2d")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size", "ScratchConvTranspose2d")
        self.stride = pair(stride, "stride", "ScratchConvTranspose2d")
        self.padding = pair(padding, "padding", "ScratchConvTranspose2d")
        self.output_padding = pair(output_padding, "output_padding", "ScratchConvTranspose2d")
        self.groups = groups
        self.dilation = pair(dilation, "dilation", "ScratchConvTranspose2d")
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """As ``nn.ConvTranspose2d``: Kaiming-uniform with ``a = sqrt(5)``, bias uniform in ``±1/sqrt(fan_in)``."""
        init_like_conv(self.weight, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ScratchConvTranspose2d expects (N, {self.in_channels}, H, W) inputs, got {tuple(x.shape)}")
        return transpose_conv2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.groups, self.dilation)

    def macs(self, inputs: tuple, output: torch.Tensor) -> int:
        """``C_in * H * W * (C_out / groups) * k_h * k_w`` per image (``cnnlab.analysis.count_macs`` calls this)."""
        x = inputs[0]
        return x.numel() * (self.out_channels // self.groups) * self.kernel_size[0] * self.kernel_size[1]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}, groups={self.groups}, "
                f"bias={self.bias is not None}, dilation={self.dilation}")
