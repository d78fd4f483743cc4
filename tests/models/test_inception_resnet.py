"""Inception-ResNet-v1 and -v2 (Szegedy, Ioffe, Vanhoucke & Alemi, 2017).

* v2's grid sizes; its parity with timm's ``inception_resnet_v2`` is in test_timm_parity.py.
* v1 (not in timm) against the paper: its grid sizes (Fig. 15) and a parameter count computed here,
  layer by layer, from the filter counts of Figs. 10-14 and Table 1 (the paper prints no count).
* The residual scaling of Section 3.3: the knob changes the output, scale 0 leaves the shortcut.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from model_helpers import filled, meta, tv_meta_info
from test_inception_v4 import grid_sizes

from cnnlab.analysis import count_macs, count_params
from cnnlab.models.inception_resnet import (
    BLOCK_WIDTHS,
    InceptionResNet,
    InceptionResNetA,
    InceptionResNetB,
    InceptionResNetC,
)
from cnnlab.viz import draw_block


# --- v2: timm's layout -------------------------------------------------------------------------

def _stage_shapes(name: str) -> dict[str, tuple[int, ...]]:
    model = meta(name)
    return grid_sizes(model, {key: getattr(model, key)
                               for key in ("repeat", "mixed_6a", "repeat_1", "mixed_7a", "repeat_2")})


def test_inception_resnet_v2_grid_sizes():
    """timm's port: 35×35×320 (its stem ends in an Inception module, not Fig. 3's 35×35×384),
    17×17×1088 after Reduction-A (320 + n + m = 320 + 384 + 384), 8×8×2080 after Reduction-B
    (1088 + 384 + 288 + 320, Fig. 18's widths), then a 1×1 conv to 1536."""
    assert _stage_shapes("inception_resnet_v2") == {
        "repeat": (320, 35, 35), "mixed_6a": (1088, 17, 17), "repeat_1": (1088, 17, 17),
        "mixed_7a": (2080, 8, 8), "repeat_2": (2080, 8, 8)}
    model = meta("inception_resnet_v2")
    assert (len(model.repeat), len(model.repeat_1), len(model.repeat_2) + 1) == (10, 20, 10)
    assert model.forward_features(torch.empty(1, 3, 299, 299, device="meta")).shape == (1, 1536, 8, 8)


# --- v1: the paper ------------------------------------------------------------------------------

def test_inception_resnet_v1_grid_sizes_follow_fig_15():
    """Fig. 15 with v1's blocks: 35×35×256 after the stem of Fig. 14, 17×17×896, 8×8×1792; 5, 10
    and 5 Inception-ResNet blocks."""
    assert _stage_shapes("inception_resnet_v1") == {
        "repeat": (256, 35, 35), "mixed_6a": (896, 17, 17), "repeat_1": (896, 17, 17),
        "mixed_7a": (1792, 8, 8), "repeat_2": (1792, 8, 8)}
    model = meta("inception_resnet_v1")
    assert (len(model.repeat), len(model.repeat_1), len(model.repeat_2)) == (5, 10, 5)
    assert grid_sizes(model, {"stem": model.conv2d_4b})["stem"] == (256, 35, 35)


def _conv_bn(c_in: int, c_out: int, kh: int, kw: int) -> int:
    return kh * kw * c_in * c_out + 2 * c_out  # conv without bias + BN's scale and shift


def _linear_1x1(c_in: int, c_out: int) -> int:
    return c_in * c_out + c_out  # the "1×1 conv, linear" of the residual blocks: with a bias, no BN


def _inception_resnet_v1_params_from_the_figures(num_classes: int = 1000) -> int:
    """Every layer of Figs. 10-15 and Table 1, written out independently of the model code."""
    stem = (_conv_bn(3, 32, 3, 3) + _conv_bn(32, 32, 3, 3) + _conv_bn(32, 64, 3, 3)  # Fig. 14
            + _conv_bn(64, 80, 1, 1) + _conv_bn(80, 192, 3, 3) + _conv_bn(192, 256, 3, 3))
    block_a = (_conv_bn(256, 32, 1, 1)  # Fig. 10 on 35×35×256
               + _conv_bn(256, 32, 1, 1) + _conv_bn(32, 32, 3, 3)
               + _conv_bn(256, 32, 1, 1) + _conv_bn(32, 32, 3, 3) + _conv_bn(32, 32, 3, 3)
               + _linear_1x1(96, 256))
    k, l, m, n = 192, 192, 256, 384  # noqa: E741  Table 1, Inception-ResNet-v1
    reduction_a = _conv_bn(256, n, 3, 3) + _conv_bn(256, k, 1, 1) + _conv_bn(k, l, 3, 3) + _conv_bn(l, m, 3, 3)
    c17 = 256 + n + m  # 896
    block_b = (_conv_bn(c17, 128, 1, 1)  # Fig. 11
               + _conv_bn(c17, 128, 1, 1) + _conv_bn(128, 128, 1, 7) + _conv_bn(128, 128, 7, 1)
               + _linear_1x1(256, c17))
    reduction_b = (_conv_bn(c17, 256, 1, 1) + _conv_bn(256, 384, 3, 3)  # Fig. 12
                   + _conv_bn(c17, 256, 1, 1) + _conv_bn(256, 256, 3, 3)
                   + _conv_bn(c17, 256, 1, 1) + _conv_bn(256, 256, 3, 3) + _conv_bn(256, 256, 3, 3))
    c8 = c17 + 384 + 256 + 256  # 1792
    block_c = (_conv_bn(c8, 192, 1, 1)  # Fig. 13
               + _conv_bn(c8, 192, 1, 1) + _conv_bn(192, 192, 1, 3) + _conv_bn(192, 192, 3, 1)
               + _linear_1x1(384, c8))
    classifier = c8 * num_classes + num_classes
    return stem + 5 * block_a + reduction_a + 10 * block_b + reduction_b + 5 * block_c + classifier


def test_inception_resnet_v1_parameter_count_from_the_paper_figures():
    """The paper prints no parameter count for Inception-ResNet-v1: the reference is the sum over the
    layers of its figures (conv-BN layers without bias; the linear 1×1 convs with a bias, as in the
    TensorFlow release), 22,756,328 with 1000 classes. Within 1 % -- in fact equal."""
    expected = _inception_resnet_v1_params_from_the_figures()
    got = count_params(meta("inception_resnet_v1"))
    assert abs(got / expected - 1) < 0.01
    assert got == expected
    assert count_params(meta("inception_resnet_v1", num_classes=10)) == _inception_resnet_v1_params_from_the_figures(10)


def test_costs_pair_up_as_section_3_2_says():
    """Section 3.2: Inception-ResNet-v1 has roughly the computational cost of Inception-v3,
    Inception-ResNet-v2 that of Inception-v4. Inception-v3's cost is torchvision's 5.71 GFLOPS
    (multiply-adds) at 299×299; both pairs agree within 10 %."""
    size = (1, 3, 299, 299)
    v1, v2, v4 = (count_macs(meta(n), size) for n in ("inception_resnet_v1", "inception_resnet_v2", "inception_v4"))
    assert abs(v1 / (tv_meta_info("inception_v3")["_ops"] * 1e9) - 1) < 0.10
    assert abs(v2 / v4 - 1) < 0.10


# --- residual scaling (Section 3.3) and the blocks ---------------------------------------------

def test_scale_zero_passes_the_shortcut_through():
    """With every residual scaled by 0, each stage of blocks returns its (non-negative, post-ReLU)
    input unchanged; the default scales change it."""
    x = torch.randn(1, 3, 80, 80, generator=torch.Generator().manual_seed(0))
    for scales, unchanged in [((0.0, 0.0, 0.0), True), ((0.17, 0.10, 0.20), False)]:
        model = filled("inception_resnet_v1", scales=scales)
        seen: list[tuple[torch.Tensor, torch.Tensor]] = []
        hooks = [getattr(model, s).register_forward_hook(lambda _m, inp, out: seen.append((inp[0], out)))
                 for s in ("repeat", "repeat_1", "repeat_2")]
        with torch.no_grad():
            model(x)
        for h in hooks:
            h.remove()
        assert len(seen) == 3
        assert all(torch.equal(i, o) for i, o in seen) == unchanged
        assert all(not torch.allclose(i, o) for i, o in seen) != unchanged


def test_residual_scale_knob_changes_the_output():
    x = torch.randn(2, 3, 80, 80, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        default = filled("inception_resnet_v1")(x)
        other = filled("inception_resnet_v1", scales=(0.3, 0.3, 0.3))(x)
    assert not torch.allclose(default, other, rtol=1e-3, atol=1e-3)
    assert [b.scale for b in meta("inception_resnet_v1", scales=(0.3, 0.2, 0.1)).repeat_1] == [0.2] * 10


@pytest.mark.parametrize("block_cls, key, channels, size", [
    (InceptionResNetA, "a", 320, 35), (InceptionResNetB, "b", 1088, 17), (InceptionResNetC, "c", 2080, 8)])
def test_residual_is_scaled_before_the_addition(block_cls, key, channels, size):
    """Without the final ReLU a block is x + s·r(x): its change to the input is linear in s."""
    torch.manual_seed(0)
    block = block_cls(channels, *BLOCK_WIDTHS["v2"][key], scale=1.0, act_layer=None).eval()
    x = torch.randn(1, channels, size, size)
    with torch.no_grad():
        full = block(x) - x
        block.scale = 0.2
        scaled = block(x) - x
    assert full.abs().max() > 1e-2
    torch.testing.assert_close(scaled, 0.2 * full, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("block_cls, key, channels, size", [
    (InceptionResNetA, "a", 320, 35), (InceptionResNetB, "b", 1088, 17), (InceptionResNetC, "c", 2080, 8)])
def test_draw_block_shows_the_shortcut(block_cls, key, channels, size):
    """Lecture 06 draws an Inception-ResNet block: the identity shortcut is a child that
    ``cnnlab.viz.draw_block`` finds by itself, beside the concatenated branches."""
    block = block_cls(channels, *BLOCK_WIDTHS["v2"][key], scale=0.1)
    fig = draw_block(block, (1, channels, size, size))
    texts = " | ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    plt.close(fig)
    # the scaled residual joins the shortcut after the linear 1×1 conv, not at the concatenation
    assert "add shortcut + 0.1 × residual" in texts and "identity" in texts and "(+ shortcut)" not in texts
    assert f"{channels}×{size}×{size}" in texts


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="version must be one of"):
        InceptionResNet(version="v3")
    with pytest.raises(ValueError, match="scales must give the A, B and C"):
        InceptionResNet(version="v1", scales=(0.1, 0.2))
