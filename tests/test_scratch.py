"""From-scratch operations (``cnnlab.scratch``) and the convolution units of ``cnnlab.layers`` against
PyTorch / torchvision, and the numbers the lectures quote.

Seed numbers recomputed here:
* seed 000, AlexNet "Overlapping Pooling" slide: the 4×4 feature map and its 2×2/2 max and average pooling;
* seed 000, AlexNet LRN slide: the formula b^i = a^i / (k + α Σ_j (a^j)²)^β, written as a loop;
* seed 004, "Layers [Upsampling]": the 2×2 → 4×4 nearest-neighbour and bilinear outputs;
* seed 004, "Layers [Dilated Convolution]": 7×7 input, 3×3 kernel, dilation 2 → effective 5×5, output 3×3;
* seed 004, "Blocks [MobileNet V1]": depthwise separable / standard cost = 1/N + 1/D_K².
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from cnnlab.analysis import conv_macs, conv_output_size, conv_params, count_macs, count_params, receptive_field
from cnnlab.layers import (
    ConvNormAct,
    DepthwiseSeparableConv,
    GroupConv2d,
    depthwise_conv,
    effective_kernel_size,
    grouped_conv,
    pointwise_conv,
)
from cnnlab.scratch import (
    ScratchAvgPool2d,
    ScratchConvTranspose2d,
    ScratchDeformConv2d,
    ScratchDropout,
    ScratchLRN,
    ScratchMaxPool2d,
    ScratchUpsampleBilinear,
    ScratchUpsampleNearest,
    avg_pool2d,
    deform_conv2d,
    dropout,
    grouped_conv_from_groups,
    local_response_norm,
    max_pool2d,
    transpose_conv2d,
    upsample_bilinear,
    upsample_nearest,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=dtype)


# --- local response normalisation -------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("shape", [(2, 7, 3, 4), (2, 6, 5), (1, 9, 2, 3, 2)])
def test_lrn_pytorch_convention_equals_nn_local_response_norm(size, shape):
    x = _randn(*shape, seed=size) * 3
    ours = ScratchLRN(size, alpha=0.5, beta=0.75, k=1.0, alpha_is_averaged=True)(x)
    ref = nn.LocalResponseNorm(size, alpha=0.5, beta=0.75, k=1.0)(x)
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0)


def _lrn_by_the_formula(a: torch.Tensor, n: int, alpha: float, beta: float, k: float) -> torch.Tensor:
    """The slide's formula with explicit sum limits max(0, i - n/2) .. min(N - 1, i + n/2)."""
    channels = a.shape[1]
    b = torch.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        total = sum(a[:, j] ** 2 for j in range(lo, hi + 1))
        b[:, i] = a[:, i] / (k + alpha * total) ** beta
    return b


@pytest.mark.parametrize("size", [3, 4, 5])
def test_lrn_paper_formula_written_as_a_loop(size):
    a = _randn(2, 8, 3, 3, seed=10 + size, dtype=torch.float64) * 4
    expected = _lrn_by_the_formula(a, size, alpha=0.1, beta=0.75, k=2.0)
    torch.testing.assert_close(local_response_norm(a, size, alpha=0.1, beta=0.75, k=2.0), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(ScratchLRN(size, 0.1, 0.75, 2.0)(a), expected, atol=1e-12, rtol=0)


def test_lrn_paper_defaults_and_alpha_relation_to_pytorch():
    layer = ScratchLRN()
    assert (layer.size, layer.alpha, layer.beta, layer.k, layer.alpha_is_averaged) == (5, 1e-4, 0.75, 2.0, False)
    x = _randn(2, 16, 4, 4, seed=3) * 30  # large activations so that the normalisation matters
    # for odd n the paper's layer is PyTorch's with alpha multiplied by n
    torch.testing.assert_close(layer(x), nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)(x), atol=1e-6, rtol=1e-6)
    assert not torch.allclose(layer(x), nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(x), atol=1e-4)


def test_lrn_bad_arguments():
    with pytest.raises(ValueError, match="size .* got 0"):
        ScratchLRN(size=0)
    with pytest.raises(ValueError, match=r"\(N, C, \.\.\.\).*\(4, 5\)"):
        local_response_norm(torch.zeros(4, 5))


# --- dropout ----------------------------------------------------------------------------------------

def test_dropout_eval_is_identity_and_p0_is_identity():
    x = _randn(4, 10)
    layer = ScratchDropout(0.5).eval()
    assert torch.equal(layer(x), x)
    assert torch.equal(dropout(x, 0.0, training=True), x)
    assert torch.equal(dropout(x, 0.7, training=False), x)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_and_exact_scaling(p):
    x = torch.rand(100_000, generator=_gen(1)) + 0.5
    y = ScratchDropout(p, generator=_gen(2)).train()(x)
    kept = y != 0
    assert abs((1 - kept.float().mean()).item() - p) < 0.01  # fraction zeroed ≈ p
    assert torch.equal(y[kept], x[kept] / (1 - p))  # kept elements scaled by exactly 1/(1-p)
    assert abs(y.mean().item() - x.mean().item()) < 0.02 * x.mean().item()  # the mean is preserved
    ref = F.dropout(x, p, training=True)  # PyTorch's RNG differs: compare statistics only
    assert abs((ref == 0).float().mean().item() - (y == 0).float().mean().item()) < 0.01


def test_dropout_generator_reproducible_and_gradient_is_the_mask():
    x = torch.ones(1000, requires_grad=True)
    y1 = dropout(x, 0.3, generator=_gen(7))
    y2 = dropout(x, 0.3, generator=_gen(7))
    y3 = dropout(x, 0.3, generator=_gen(8))
    assert torch.equal(y1, y2)
    assert not torch.equal(y1, y3)
    y1.sum().backward()
    torch.testing.assert_close(x.grad, (y1 != 0).float() / 0.7)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match=rf"\[0, 1\), got {p}"):
        ScratchDropout(p)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dropout(torch.zeros(3), p)


# --- pooling ----------------------------------------------------------------------------------------

# seed 000, slide "Overlapping Pooling" (AlexNet): the 4×4 feature map as printed on the slide
SEED000_FEATURE_MAP = [[-1, 4, 1, 2],
                       [0, 1, 3, -2],
                       [1, 5, -2, 6],
                       [3, -1, -2, -2]]


def test_seed000_pooling_example():
    x = torch.tensor(SEED000_FEATURE_MAP, dtype=torch.float32).view(1, 1, 4, 4)
    assert max_pool2d(x, 2, 2).view(2, 2).tolist() == [[4, 3], [5, 6]]  # slide: "Max pooling"
    assert avg_pool2d(x, 2, 2).view(2, 2).tolist() == [[1, 1], [2, 0]]  # slide: "Average pooling"
    assert ScratchMaxPool2d(2)(x).view(2, 2).tolist() == [[4, 3], [5, 6]]
    assert ScratchAvgPool2d(2)(x).view(2, 2).tolist() == [[1, 1], [2, 0]]


@pytest.mark.parametrize("kernel_size, stride, padding", [
    (2, None, 0), (2, 2, 1), (3, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1)), (5, 3, 2),
])
@pytest.mark.parametrize("hw", [(9, 9), (8, 11)])
def test_pooling_equals_pytorch(kernel_size, stride, padding, hw):
    x = _randn(2, 3, *hw, seed=sum(hw))
    torch.testing.assert_close(max_pool2d(x, kernel_size, stride, padding), F.max_pool2d(x, kernel_size, stride, padding),
                               atol=0, rtol=0)
    torch.testing.assert_close(avg_pool2d(x, kernel_size, stride, padding),
                               F.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=True), atol=1e-6, rtol=0)
    torch.testing.assert_close(ScratchMaxPool2d(kernel_size, stride, padding)(x), nn.MaxPool2d(kernel_size, stride, padding)(x),
                               atol=0, rtol=0)
    torch.testing.assert_close(ScratchAvgPool2d(kernel_size, stride, padding)(x), nn.AvgPool2d(kernel_size, stride, padding)(x),
                               atol=1e-6, rtol=0)


def test_alexnet_overlapping_pooling_shape_and_unbatched_input():
    x = _randn(2, 55, 55, seed=5)  # (C, H, W): AlexNet conv1's 55×55 maps, 2 channels
    out = max_pool2d(x, 3, 2)
    assert out.shape == (2, 27, 27) == F.max_pool2d(x, 3, 2).shape
    torch.testing.assert_close(out, F.max_pool2d(x, 3, 2), atol=0, rtol=0)
    # stride < kernel: neighbouring windows share a row/column of inputs
    rows = receptive_field(nn.Sequential(ScratchMaxPool2d(3, 2)), 55)  # cnnlab's ScratchMaxPool2d is an nn.MaxPool2d
    assert (rows[-1].n, rows[-1].size, rows[-1].jump) == (27, 3, 2)


def test_pooling_errors_name_sizes():
    with pytest.raises(ValueError, match=r"max_pool2d: a 3×3 window with padding 0×0 needs .* 3×3 pixels, got 2×2"):
        max_pool2d(torch.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match=r"avg_pool2d: padding 2×2 must be at most half the kernel size 3×3"):
        avg_pool2d(torch.zeros(1, 1, 8, 8), 3, 1, 2)


# --- convolutions: dilation, groups, depthwise, pointwise ----------------------------------------------

def test_seed004_dilated_convolution_example():
    # seed 004: I = 7×7, F = 3×3, P = 0, S = 1, d = 2; F' = (F - 1)(d - 1) extra pixels
    f, d = 3, 2
    extra = (f - 1) * (d - 1)
    assert effective_kernel_size(f, d) == f + extra == 5
    assert effective_kernel_size(7, 2) == 13
    assert effective_kernel_size(3, 1) == 3
    out = GroupConv2d(1, 1, f, stride=1, padding=0, dilation=d)(_randn(1, 1, 7, 7))
    assert out.shape[-2:] == (3, 3) == (conv_output_size(7, f, 1, 0, d),) * 2


@pytest.mark.parametrize("groups, stride, padding, dilation", [
    (1, 1, 0, 1), (2, 1, 1, 1), (2, 2, 2, 1), (4, 1, 2, 2), (8, 3, 1, 1),
])
def test_grouped_conv_as_separate_convolutions_equals_groups_argument(groups, stride, padding, dilation):
    x = _randn(2, 8, 9, 10, seed=groups)
    weight = _randn(16, 8 // groups, 3, 3, seed=100 + groups)
    bias = _randn(16, seed=200 + groups)
    ours = grouped_conv_from_groups(x, weight, groups, bias, stride, padding, dilation)
    ref = F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_alexnet_two_gpu_split_is_groups_2():
    # AlexNet's conv2: 48 channels per GPU in, 128 filters per GPU out, 5×5 (done here on a small map)
    conv = nn.Conv2d(96, 256, 5, padding=2, groups=2)
    x = _randn(1, 96, 6, 6, seed=4)
    gpu1 = F.conv2d(x[:, :48], conv.weight[:128], conv.bias[:128], padding=2)
    gpu2 = F.conv2d(x[:, 48:], conv.weight[128:], conv.bias[128:], padding=2)
    torch.testing.assert_close(conv(x), torch.cat([gpu1, gpu2], dim=1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grouped_conv_from_groups(x, conv.weight, 2, conv.bias, padding=2), conv(x), atol=1e-5, rtol=1e-5)
    assert count_params(conv) == conv_params(96, 256, 5, groups=2) == 256 * 48 * 25 + 256


@pytest.mark.parametrize("make, in_ch, out_ch, k, groups", [
    (lambda: grouped_conv(8, 16, 3, groups=4), 8, 16, 3, 4),
    (lambda: depthwise_conv(12, 5, stride=2), 12, 12, 5, 12),
    (lambda: pointwise_conv(6, 10), 6, 10, 1, 1),
    (lambda: pointwise_conv(6, 9, groups=3), 6, 9, 1, 3),
    (lambda: GroupConv2d(4, 8, (3, 5), groups=2, dilation=2), 4, 8, (3, 5), 2),
])
def test_group_conv_params_macs_and_outputs_match_nn_conv2d(make, in_ch, out_ch, k, groups):
    layer = make()
    assert count_params(layer) == conv_params(in_ch, out_ch, k, groups=groups)
    x = _randn(2, in_ch, 11, 12, seed=in_ch)
    out = layer(x)
    assert count_macs(layer, (1, in_ch, 11, 12)) == conv_macs(in_ch, out_ch, k, tuple(out.shape[-2:]), groups)
    ref = nn.Conv2d(in_ch, out_ch, k, layer.stride, layer.padding, layer.dilation, groups)
    ref.load_state_dict(layer.state_dict())
    torch.testing.assert_close(out, ref(x), atol=1e-6, rtol=0)


def test_default_padding_keeps_size():
    for k, d in [(3, 1), (5, 1), (3, 2), (7, 3)]:
        assert depthwise_conv(4, k, dilation=d)(_randn(1, 4, 9, 9)).shape == (1, 4, 9, 9)
        assert ConvNormAct(4, 6, k, dilation=d)(_randn(2, 4, 9, 9)).shape == (2, 6, 9, 9)


def test_conv_norm_act_matches_torchvision_conv2d_norm_activation():
    from torchvision.ops.misc import Conv2dNormActivation

    for kwargs in [dict(kernel_size=3, stride=2), dict(kernel_size=3, groups=4), dict(kernel_size=1, norm_layer=None),
                   dict(kernel_size=5, dilation=2, act_layer=None), dict(kernel_size=3, act_layer=nn.Hardswish)]:
        ours = ConvNormAct(8, 12, **kwargs).eval()
        ref_kwargs = {("activation_layer" if key == "act_layer" else key): v for key, v in kwargs.items()}
        ref = Conv2dNormActivation(8, 12, **ref_kwargs).eval()
        ref.load_state_dict(ours.state_dict(), strict=True)  # same keys and shapes
        x = _randn(2, 8, 9, 9, seed=len(kwargs))
        torch.testing.assert_close(ours(x), ref(x), atol=1e-6, rtol=0)
        assert [type(m) for m in ours][1:] == [type(m) for m in ref][1:]


def test_depthwise_separable_cost_ratio_seed004():
    # MobileNet v1: (D_K² M D_F² + M N D_F²) / (D_K² M N D_F²) = 1/N + 1/D_K²
    m, n, dk, df = 16, 32, 3, 10
    separable = DepthwiseSeparableConv(m, n, dk, norm_layer=None, act_layer=None)
    standard = nn.Conv2d(m, n, dk, padding=1)
    ratio = count_macs(separable, (1, m, df, df)) / count_macs(standard, (1, m, df, df))
    assert ratio == pytest.approx(1 / n + 1 / dk ** 2, rel=1e-12)
    assert count_macs(separable, (1, m, df, df)) == dk * dk * m * df * df + m * n * df * df
    # with norm + act it is MobileNet's block: dw 3×3 + BN + ReLU, pw 1×1 + BN + ReLU, no conv biases
    block = DepthwiseSeparableConv(m, n, dk, stride=2)
    assert block(_randn(2, m, df, df)).shape == (2, n, 5, 5)
    assert count_params(block) == dk * dk * m + 2 * m + m * n + 2 * n
    assert isinstance(block.depthwise[1], nn.BatchNorm2d) and isinstance(block.pointwise[2], nn.ReLU)


def test_conv_errors_name_layer_and_sizes():
    with pytest.raises(ValueError, match=r"grouped conv: groups=3 must divide both in_channels=64 and out_channels=128"):
        grouped_conv(64, 128, 3, groups=3)
    with pytest.raises(ValueError, match=r"GroupConv2d expects 64 input channels, got 32"):
        GroupConv2d(64, 64, 3, groups=2)(torch.zeros(1, 32, 8, 8))
    with pytest.raises(ValueError, match=r"depthwise conv: a 7×7 kernel with dilation 2 spans 13×13 pixels, "
                                         r"so with padding 0 it needs at least 13×13 input pixels, got 5×5"):
        depthwise_conv(8, 7, padding=0, dilation=2)(torch.zeros(1, 8, 5, 5))
    with pytest.raises(ValueError, match=r"ConvNormAct \(depthwise conv\): a 7×7 kernel .* at least 7×7 input pixels, got 2×9"):
        ConvNormAct(4, 4, 7, padding=0, groups=4)(torch.zeros(1, 4, 2, 9))
    with pytest.raises(ValueError, match=r"ConvNormAct \(pointwise conv\) expects 4 input channels, got 6"):
        DepthwiseSeparableConv(4, 6).pointwise(torch.zeros(1, 6, 3, 3))
    with pytest.raises(ValueError, match=r"effective_kernel_size: dilation must be an integer >= 1, got 0"):
        effective_kernel_size(3, 0)
    with pytest.raises(ValueError, match=r"expects \(N, 12, H, W\) inputs.*got \(1, 12\)"):
        grouped_conv_from_groups(torch.zeros(1, 12), torch.zeros(6, 6, 3, 3), 2)


# --- deformable convolution ---------------------------------------------------------------------------

DEFORM_CASES = [
    # n, C_in, C_out, H, W, kernel, stride, padding, dilation, groups, offset_groups, modulated
    (2, 4, 6, 7, 8, 3, 1, 1, 1, 1, 1, False),
    (2, 4, 6, 9, 7, 3, 2, 1, 1, 2, 2, True),
    (1, 6, 4, 10, 9, 3, 1, 2, 2, 2, 3, True),
    (1, 4, 4, 6, 6, (2, 3), (2, 1), (0, 1), (1, 2), 4, 1, False),
    (1, 3, 2, 5, 5, 1, 1, 0, 1, 1, 1, True),
]


def _deform_inputs(case, dtype, seed):
    n, c_in, c_out, h, w, k, s, p, d, g, og, modulated = case
    kh, kw = (k, k) if isinstance(k, int) else k
    (sh, sw), (ph, pw), (dh, dw) = [(v, v) if isinstance(v, int) else v for v in (s, p, d)]
    out_h = conv_output_size(h, kh, sh, ph, dh)
    out_w = conv_output_size(w, kw, sw, pw, dw)
    x = _randn(n, c_in, h, w, seed=seed, dtype=dtype)
    weight = _randn(c_out, c_in // g, kh, kw, seed=seed + 1, dtype=dtype)
    bias = _randn(c_out, seed=seed + 2, dtype=dtype)
    offset = _randn(n, 2 * og * kh * kw, out_h, out_w, seed=seed + 3, dtype=dtype) * 2.5  # some land outside
    mask = torch.rand(n, og * kh * kw, out_h, out_w, generator=_gen(seed + 4), dtype=dtype) if modulated else None
    return x, offset, weight, bias, s, p, d, mask


@pytest.mark.parametrize("case", DEFORM_CASES)
def test_deform_conv2d_equals_torchvision(case):
    for dtype, tol in [(torch.float32, 1e-5), (torch.float64, 1e-10)]:
        x, offset, weight, bias, s, p, d, mask = _deform_inputs(case, dtype, seed=len(case) + case[1])
        ours = deform_conv2d(x, offset, weight, bias, s, p, d, mask)
        ref = torchvision.ops.deform_conv2d(x, offset, weight, bias, s, p, d, mask)
        torch.testing.assert_close(ours, ref, atol=tol, rtol=tol)


@pytest.mark.parametrize("case", DEFORM_CASES[1:3])
def test_deform_conv2d_gradients_equal_torchvision(case):
    inputs = _deform_inputs(case, torch.float64, seed=3)
    x, offset, weight, bias, s, p, d, mask = inputs
    tensors = [t.clone().requires_grad_() for t in (x, offset, weight, bias, mask)]
    grads = []
    for fn in (deform_conv2d, torchvision.ops.deform_conv2d):
        xs, off, wt, b, m = [t.detach().clone().requires_grad_() for t in tensors]
        out = fn(xs, off, wt, b, s, p, d, m)
        out.pow(2).sum().backward()
        grads.append([t.grad for t in (xs, off, wt, b, m)])
    for ours, ref in zip(*grads):
        torch.testing.assert_close(ours, ref, atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("case", DEFORM_CASES)
def test_deform_conv2d_zero_offsets_is_plain_conv(case):
    x, offset, weight, bias, s, p, d, _ = _deform_inputs(case, torch.float32, seed=11)
    groups = x.shape[1] // weight.shape[1]
    ours = deform_conv2d(x, torch.zeros_like(offset), weight, bias, s, p, d)
    torch.testing.assert_close(ours, F.conv2d(x, weight, bias, s, p, d, groups), atol=1e-5, rtol=1e-5)


def test_deform_conv2d_integer_offset_shifts_the_sampling_grid():
    # every tap moved one pixel right (dx = +1) = a plain conv of the input shifted one pixel left
    x = _randn(1, 2, 6, 7, seed=21)
    weight = _randn(3, 2, 3, 3, seed=22)
    offset = torch.zeros(1, 2 * 9, 6, 7)
    offset[:, 1::2] = 1.0
    shifted = F.pad(x, (0, 2, 1, 1))  # the zero padding, one column less on the left, one more on the right
    torch.testing.assert_close(deform_conv2d(x, offset, weight, None, 1, 1),
                               F.conv2d(shifted, weight, None, 1, 0), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(deform_conv2d(x, offset, weight, None, 1, 1), F.conv2d(x, weight, None, 1, 1), atol=1e-2)


@pytest.mark.parametrize("modulated", [False, True])
def test_deform_conv_module_starts_as_plain_conv_and_uses_its_offsets(modulated):
    layer = ScratchDeformConv2d(4, 6, 3, stride=2, padding=1, groups=2, offset_groups=2, modulated=modulated)
    x = _randn(2, 4, 9, 8, seed=31)
    plain = F.conv2d(x, layer.weight, None, 2, 1, 1, 2)
    scale = 0.5 if modulated else 1.0  # v2: sigmoid(0) = 0.5 at initialisation
    torch.testing.assert_close(layer(x), scale * plain + layer.bias.view(1, -1, 1, 1), atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        layer.offset_conv.weight.normal_(0, 0.3, generator=_gen(32))
        if modulated:
            layer.mask_conv.weight.normal_(0, 0.3, generator=_gen(33))
    offset = layer.offset_conv(x)
    mask = torch.sigmoid(layer.mask_conv(x)) if modulated else None
    ref = torchvision.ops.deform_conv2d(x, offset, layer.weight, layer.bias, 2, 1, 1, mask)
    torch.testing.assert_close(layer(x), ref, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(layer(x), scale * plain + layer.bias.view(1, -1, 1, 1), atol=1e-3)


def test_deform_conv_macs_and_params():
    layer = ScratchDeformConv2d(8, 16, 3, stride=1, padding=1, groups=2, offset_groups=2, modulated=True)
    out_hw = (10, 10)
    main = conv_macs(8, 16, 3, out_hw, groups=2)
    offsets = conv_macs(8, 2 * 2 * 9, 3, out_hw)
    masks = conv_macs(8, 2 * 9, 3, out_hw)
    assert count_macs(layer, (1, 8, 10, 10)) == main + offsets + masks
    assert count_params(layer) == conv_params(8, 16, 3, groups=2) + conv_params(8, 36, 3) + conv_params(8, 18, 3)


def test_deform_conv_errors():
    x = torch.zeros(1, 4, 6, 6)
    with pytest.raises(ValueError, match=r"offset must be \(N, 2 \* offset_groups \* 9, 6, 6\).*got \(1, 18, 5, 5\)"):
        deform_conv2d(x, torch.zeros(1, 18, 5, 5), torch.zeros(2, 4, 3, 3), padding=1)
    with pytest.raises(ValueError, match=r"offset_groups=3 must divide in_channels=4"):
        ScratchDeformConv2d(4, 4, offset_groups=3)
    with pytest.raises(ValueError, match=r"ScratchDeformConv2d expects \(N, 4, H, W\) inputs, got \(1, 3, 6, 6\)"):
        ScratchDeformConv2d(4, 4)(torch.zeros(1, 3, 6, 6))


# --- upsampling ---------------------------------------------------------------------------------------

# seed 004, "Layers [Upsampling]". The text extraction lost one "2" of the nearest-neighbour output's
# second row, and the slide labels both outputs "[2 x 2]" where they are 4×4.
SEED004_INPUT = [[1.0, 2.0], [3.0, 4.0]]
SEED004_NEAREST = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
# as printed on the slide; entry (1, 2) reads 2.00 there, but bilinear interpolation is separable,
# so row 1 must be 0.75 * row 0 + 0.25 * row 3 = 0.75 * 1.75 + 0.25 * 3.75 = 2.25 (a slide typo)
SEED004_BILINEAR = [[1.00, 1.25, 1.75, 2.00],
                    [1.50, 1.75, 2.00, 2.50],
                    [2.50, 2.75, 3.25, 3.50],
                    [3.00, 3.25, 3.75, 4.00]]


def test_seed004_nearest_upsampling():
    x = torch.tensor(SEED004_INPUT).view(1, 1, 2, 2)
    assert upsample_nearest(x, 2).view(4, 4).tolist() == SEED004_NEAREST
    assert ScratchUpsampleNearest(size=4)(x).view(4, 4).tolist() == SEED004_NEAREST


def test_seed004_bilinear_upsampling_is_align_corners_false():
    x = torch.tensor(SEED004_INPUT).view(1, 1, 2, 2)
    out = upsample_bilinear(x, 2, align_corners=False).view(4, 4)
    expected = torch.tensor(SEED004_BILINEAR)
    typo = torch.zeros(4, 4, dtype=torch.bool)
    typo[1, 2] = True
    assert torch.equal(out[~typo], expected[~typo])  # 15 of the 16 printed numbers, exactly
    assert out[1, 2].item() == 2.25  # the slide prints 2.00: see SEED004_BILINEAR
    assert torch.equal(out, F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False).view(4, 4))
    corners = upsample_bilinear(x, 2, align_corners=True).view(4, 4)  # the other convention does not give the slide
    assert not torch.allclose(corners[~typo], expected[~typo])
    assert corners[0, 1].item() == pytest.approx(4 / 3)


@pytest.mark.parametrize("scale_factor, size", [
    (2, None), (3, None), (1.5, None), (1.7, None), (2.5, None), ((2, 3), None), ((0.5, 1.3), None),
    (None, (10, 14)), (None, (9, 11)), (None, (3, 4)), (None, (1, 1)), (None, (13, 2)),
])
def test_upsampling_equals_interpolate(scale_factor, size):
    for dtype, tol in [(torch.float32, 1e-6), (torch.float64, 1e-12)]:
        x = _randn(2, 3, 5, 7, seed=41, dtype=dtype)
        torch.testing.assert_close(upsample_nearest(x, scale_factor, size),
                                   F.interpolate(x, size, scale_factor, mode="nearest"), atol=0, rtol=0)
        for align_corners in (False, True):
            torch.testing.assert_close(
                upsample_bilinear(x, scale_factor, size, align_corners),
                F.interpolate(x, size, scale_factor, mode="bilinear", align_corners=align_corners), atol=tol, rtol=0)
    layer = ScratchUpsampleBilinear(scale_factor, size, align_corners=True)
    torch.testing.assert_close(layer(x), nn.Upsample(size, scale_factor, "bilinear", align_corners=True)(x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("c_in, c_out, k, s, p, op, g, d", [
    (3, 4, 3, 2, 1, 1, 1, 1),
    (4, 6, (2, 3), (2, 1), (0, 1), (1, 0), 2, 1),
    (4, 4, 3, 3, 2, 2, 4, 1),
    (2, 3, 3, 1, 0, 0, 1, 2),
    (2, 3, 4, 2, 1, 0, 1, 1),
])
def test_transpose_conv_equals_pytorch(c_in, c_out, k, s, p, op, g, d):
    ref = nn.ConvTranspose2d(c_in, c_out, k, s, p, op, g, True, d)
    ours = ScratchConvTranspose2d(c_in, c_out, k, s, p, op, g, True, d)
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = _randn(2, c_in, 5, 4, seed=c_in * 10 + c_out)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(transpose_conv2d(x, ref.weight, ref.bias, s, p, op, g, d),
                               F.conv_transpose2d(x, ref.weight, ref.bias, s, p, op, g, d), atol=1e-5, rtol=1e-5)
    assert count_macs(ours, (1, c_in, 5, 4)) == count_macs(ref, (1, c_in, 5, 4))


def test_transpose_conv_is_copies_of_the_kernel_summed_where_they_overlap():
    # seed 004: "output contains copies of the filter weighted by the input, summing where it overlaps";
    # 2×2 input, 3×3 kernel, stride 2 -> 5×5, and cropping one pixel gives exactly 2× the input size
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    kernel = torch.arange(1.0, 10.0).view(1, 1, 3, 3)
    expected = torch.zeros(5, 5)
    for i in range(2):
        for j in range(2):
            expected[2 * i:2 * i + 3, 2 * j:2 * j + 3] += x[0, 0, i, j] * kernel[0, 0]
    full = transpose_conv2d(x, kernel, stride=2)
    assert torch.equal(full.view(5, 5), expected)
    cropped = transpose_conv2d(x, kernel, stride=2, padding=1, output_padding=1)
    assert cropped.shape[-2:] == (4, 4)
    assert torch.equal(cropped.view(4, 4), expected[1:, 1:])


def test_upsampling_errors():
    x = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="exactly one of scale_factor and size"):
        upsample_nearest(x, 2, (4, 4))
    with pytest.raises(ValueError, match="exactly one of scale_factor and size"):
        ScratchUpsampleBilinear()
    with pytest.raises(ValueError, match=r"scale_factor 0.2 turns a 2×2 input into an empty output"):
        upsample_bilinear(x, 0.2)
    with pytest.raises(ValueError, match=r"output_padding 2×2 must be smaller than the stride 2×2"):
        transpose_conv2d(x, torch.zeros(1, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"ScratchConvTranspose2d expects \(N, 3, H, W\) inputs, got \(1, 1, 2, 2\)"):
        ScratchConvTranspose2d(3, 3, 2)(x)
