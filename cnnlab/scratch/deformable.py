"""Deformable convolution (v1, and v2's modulation), written out with bilinear sampling.

J. Dai, H. Qi, Y. Xiong, Y. Li, G. Zhang, H. Hu, Y. Wei, "Deformable Convolutional Networks",
ICCV 2017, arXiv:1703.06211.
X. Zhu, H. Hu, S. Lin, J. Dai, "Deformable ConvNets v2: More Deformable, Better Results",
CVPR 2019, arXiv:1811.11168 (the modulation mask).

A regular convolution samples the input on a fixed grid ``R`` around each output position ``p0``
(for a 3×3 kernel ``R = {(-1, -1), (-1, 0), ..., (1, 1)}``; Dai et al. 2017, Eq. 2)::

    y(p0) = sum_{pn in R} w(pn) * x(p0 + pn)

A deformable convolution adds a learned, fractional offset ``Δpn`` per tap and per output position,
and v2 also a modulation scalar ``Δmn`` in [0, 1]::

    y(p0) = sum_{pn in R} w(pn) * x(p0 + pn + Δpn) * Δmn

``x`` at a fractional position is read by bilinear interpolation from its 4 integer neighbours,
with zeros outside the image. The offsets come from an ordinary convolution over the same input
(same kernel, stride, padding, dilation) with ``2 * offset_groups * k_h * k_w`` output channels.

Offset layout (as ``torchvision.ops.deform_conv2d``): channel ``2 * (g * k_h * k_w + i * k_w + j)``
holds the vertical (y) offset and the next channel the horizontal (x) offset of tap ``(i, j)`` for
offset group ``g``; the mask has ``offset_groups * k_h * k_w`` channels, tap ``g * k_h * k_w + i * k_w + j``.
"""
from __future__ import annotations


import torch
from torch import nn

from .._utils import IntOrPair, check_at_least, check_channels_and_groups, check_int, init_like_conv, pair, size_str

__all__ = ["deform_conv2d", "bilinear_sample", "ScratchDeformConv2d"]



def bilinear_sample(x: torch.Tensor, py: torch.Tensor, px: torch.Tensor) -> torch.Tensor:
    """Read ``x`` at fractional positions by bilinear interpolation, zero outside the image.

    ``x``: ``(N, G, C, H, W)`` (``G`` groups of ``C`` channels that share positions);
    ``py``, ``px``: ``(N, G, P)`` row and column coordinates in pixels (pixel centres at integers).
    Returns ``(N, G, C, P)``: ``sum over the 4 neighbours (y_n, x_n) of (1 - |py - y_n|)(1 - |px - x_n|) x[y_n, x_n]``,
    where a neighbour outside the image contributes 0.
    """
    n, g, c, h, w = x.shape
    y0 = torch.floor(py)  # (N, G, P): the row above
    x0 = torch.floor(px)  # (N, G, P): the column to the left
    dy = py - y0  # (N, G, P): in [0, 1), carries the gradient to the offsets
    dx = px - x0
    flat = x.reshape(n, g, c, h * w)  # (N, G, C, H*W)
    out = torch.zeros(n, g, c, py.shape[-1], dtype=x.dtype, device=x.device)  # (N, G, C, P)
    for ry, rx, weight in ((0, 0, (1 - dy) * (1 - dx)), (0, 1, (1 - dy) * dx),
                           (1, 0, dy * (1 - dx)), (1, 1, dy * dx)):
        yn = (y0 + ry).long()  # (N, G, P): this neighbour's row
        xn = (x0 + rx).long()  # (N, G, P): and column
        inside = (yn >= 0) & (yn < h) & (xn >= 0) & (xn < w)  # (N, G, P)
        index = (yn.clamp(0, h - 1) * w + xn.clamp(0, w - 1))  # (N, G, P): flat index, clamped to be safe
        index = index.unsqueeze(2).expand(n, g, c, index.shape[-1])  # (N, G, C, P)
        values = flat.gather(3, index)  # (N, G, C, P)
        out = out + values * (weight * inside).unsqueeze(2)  # zero for neighbours outside the image
    return out


def deform_conv2d(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Deformable convolution from scratch; the same arguments and result as ``torchvision.ops.deform_conv2d``.

    Shapes: ``x`` ``(N, C_in, H, W)``; ``weight`` ``(C_out, C_in / groups, k_h, k_w)`` (``groups`` is
    read from it); ``offset`` ``(N, 2 * offset_groups * k_h * k_w, H_out, W_out)`` in pixels, (y, x)
    pairs; ``mask`` ``(N, offset_groups * k_h * k_w, H_out, W_out)`` or None (v1); ``bias``
    ``(C_out,)`` or None. Returns ``(N, C_out, H_out, W_out)`` with the usual convolution output size.
    With zero offsets and no mask it equals ``F.conv2d(x, weight, bias, stride, padding, dilation, groups)``.
    """
    layer = "deform_conv2d"
    sh, sw = pair(stride, "stride", layer)
    ph, pw = pair(padding, "padding", layer)
    dh, dw = pair(dilation, "dilation", layer)
    check_at_least((sh, sw), 1, "stride", layer)
    check_at_least((ph, pw), 0, "padding", layer)
    check_at_least((dh, dw), 1, "dilation", layer)
    if x.dim() != 4 or weight.dim() != 4:
        raise ValueError(f"{layer}: expects x (N, C, H, W) and weight (C_out, C_in/groups, k_h, k_w), "
                         f"got {tuple(x.shape)} and {tuple(weight.shape)}")
    n, c_in, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    if c_in % c_per_group:
        raise ValueError(f"{layer}: weight {tuple(weight.shape)} takes groups of {c_per_group} channels, "
                         f"which does not divide the {c_in} input channels")
    groups = c_in // c_per_group
    if c_out % groups:
        raise ValueError(f"{layer}: {groups} groups must divide the {c_out} filters")
    kk = kh * kw
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if h + 2 * ph < span_h or w + 2 * pw < span_w:
        raise ValueError(f"{layer}: a {size_str(kh, kw)} kernel with dilation {(dh, dw)} spans {size_str(span_h, span_w)} "
                         f"pixels and does not fit an input of {size_str(h, w)} with padding {(ph, pw)}")
    out_h = (h + 2 * ph - span_h) // sh + 1
    out_w = (w + 2 * pw - span_w) // sw + 1
    if offset.dim() != 4 or offset.shape[1] % (2 * kk) or offset.shape[0] != n or tuple(offset.shape[2:]) != (out_h, out_w):
        raise ValueError(f"{layer}: offset must be (N, 2 * offset_groups * {kk}, {out_h}, {out_w}) for this input and "
                         f"kernel, got {tuple(offset.shape)}")
    offset_groups = offset.shape[1] // (2 * kk)
    if c_in % offset_groups:
        raise ValueError(f"{layer}: offset_groups={offset_groups} must divide the {c_in} input channels")
    if mask is not None and tuple(mask.shape) != (n, offset_groups * kk, out_h, out_w):
        raise ValueError(f"{layer}: mask must be {(n, offset_groups * kk, out_h, out_w)}, got {tuple(mask.shape)}")
    # the regular grid p0 + pn, in input pixels (padding shifts it up and left)
    rows = torch.arange(out_h, dtype=x.dtype, device=x.device) * sh - ph  # (H_out,): p0's row
    cols = torch.arange(out_w, dtype=x.dtype, device=x.device) * sw - pw  # (W_out,)
    taps_y = torch.arange(kh, dtype=x.dtype, device=x.device) * dh  # (k_h,): pn's row
    taps_x = torch.arange(kw, dtype=x.dtype, device=x.device) * dw  # (k_w,)
    grid_y = taps_y.view(kh, 1, 1, 1) + rows.view(1, 1, out_h, 1)  # (k_h, 1, H_out, 1)
    grid_x = taps_x.view(1, kw, 1, 1) + cols.view(1, 1, 1, out_w)  # (1, k_w, 1, W_out)
    grid_y = grid_y.expand(kh, kw, out_h, out_w).reshape(1, 1, kk, out_h, out_w)  # (1, 1, K, H_out, W_out)
    grid_x = grid_x.expand(kh, kw, out_h, out_w).reshape(1, 1, kk, out_h, out_w)
    # + the learned offsets Δpn
    offset = offset.view(n, offset_groups, kk, 2, out_h, out_w)  # (N, G_off, K, (dy, dx), H_out, W_out)
    py = grid_y + offset[:, :, :, 0]  # (N, G_off, K, H_out, W_out)
    px = grid_x + offset[:, :, :, 1]
    # bilinear sampling: x(p0 + pn + Δpn) for every channel, tap and output position
    grouped = x.view(n, offset_groups, c_in // offset_groups, h, w)  # (N, G_off, C_in/G_off, H, W)
    sampled = bilinear_sample(grouped, py.reshape(n, offset_groups, -1), px.reshape(n, offset_groups, -1))  # (N, G_off, C_in/G_off, K*L)
    sampled = sampled.view(n, offset_groups, c_in // offset_groups, kk, out_h * out_w)  # (N, G_off, C_in/G_off, K, L)
    if mask is not None:  # v2: modulate each sample by Δmn
        sampled = sampled * mask.view(n, offset_groups, 1, kk, out_h * out_w)
    # the weighted sum: an im2col matrix product per group, as in an unfolded convolution
    columns = sampled.reshape(n, groups, c_per_group * kk, out_h * out_w)  # (N, g, C_in/g * K, L)
    filters = weight.reshape(groups, c_out // groups, c_per_group * kk)  # (g, C_out/g, C_in/g * K)
    out = torch.einsum("gok,ngkl->ngol", filters, columns)  # (N, g, C_out/g, L)
    out = out.reshape(n, c_out, out_h, out_w)  # (N, C_out, H_out, W_out)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


class ScratchDeformConv2d(nn.Module):
    """Deformable convolution with its own offset predictor (Dai et al., 2017; ``modulated=True``:
    DCN v2, Zhu et al., 2018).

    ``offset_conv`` is a regular ``kernel_size`` convolution (same stride, padding and dilation)
    predicting ``2 * offset_groups * k * k`` offsets per output position; ``mask_conv`` (v2 only)
    predicts ``offset_groups * k * k`` modulation logits, passed through a sigmoid. Both are
    zero-initialised, as in the papers: the layer starts as a plain convolution (v2: with every
    sample scaled by sigmoid(0) = 0.5). ``weight`` ``(C_out, C_in / groups, k, k)`` and ``bias`` are
    initialised like ``nn.Conv2d``'s and named like ``torchvision.ops.DeformConv2d``'s.

    Input ``(N, C_in, H, W)``, output ``(N, C_out, H_out, W_out)``.

    Departure: the papers predict offsets and mask with one convolution (``3 * k * k`` channels for
    v2); two separate convolutions are the same model, split for readability.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 1,
                 dilation: int = 1, groups: int = 1, offset_groups: int = 1, bias: bool = True,
                 modulated: bool = False) -> None:
        super().__init__()
        check_channels_and_groups(in_channels, out_channels, groups, "ScratchDeformConv2d")
        check_int(offset_groups, "offset_groups", "ScratchDeformConv2d")
        if in_channels % offset_groups:
            raise ValueError(f"ScratchDeformConv2d: offset_groups={offset_groups} must divide in_channels={in_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size", "ScratchDeformConv2d")
        self.stride = pair(stride, "stride", "ScratchDeformConv2d")
        self.padding = pair(padding, "padding", "ScratchDeformConv2d")
        self.dilation = pair(dilation, "dilation", "ScratchDeformConv2d")
        self.groups = groups
        self.offset_groups = offset_groups
        self.modulated = modulated
        kh, kw = self.kernel_size
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kh, kw))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.offset_conv = nn.Conv2d(in_channels, 2 * offset_groups * kh * kw, self.kernel_size, self.stride,
                                     self.padding, self.dilation)
        self.mask_conv = (nn.Conv2d(in_channels, offset_groups * kh * kw, self.kernel_size, self.stride,
                                    self.padding, self.dilation) if modulated else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Conv2d``'s initialisation for ``weight``/``bias``; zeros for the offset (and mask) predictors."""
        init_like_conv(self.weight, self.bias)
        for conv in (self.offset_conv, self.mask_conv):
            if conv is not None:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ScratchDeformConv2d expects (N, {self.in_channels}, H, W) inputs, got {tuple(x.shape)}")
        offset = self.offset_conv(x)  # (N, 2 * G_off * k * k, H_out, W_out): (dy, dx) per tap
        mask = torch.sigmoid(self.mask_conv(x)) if self.mask_conv is not None else None  # (N, G_off * k * k, H_out, W_out)
        return deform_conv2d(x, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask)

    def macs(self, inputs: tuple, output: torch.Tensor) -> int:
        """MACs of the deformable weighted sum: ``C_out * H_out * W_out * (C_in / g) * k_h * k_w`` per image,
        the same as a regular convolution of this shape (``cnnlab.analysis.count_macs`` calls this).

        Not included: ``offset_conv`` and ``mask_conv`` -- ``count_macs`` counts them separately as the
        ordinary convolutions they are -- and the bilinear sampling (4 multiply-adds per sampled value,
        ``N * C_in * k_h * k_w * H_out * W_out * 4``), which has no weights, like pooling.
        """
        return output.numel() * (self.in_channels // self.groups) * self.kernel_size[0] * self.kernel_size[1]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"offset_groups={self.offset_groups}, bias={self.bias is not None}, modulated={self.modulated}")
