"""The CIFAR ResNets and plain nets of He et al. 2016 (Sec. 4.2, Table 6), and the option-A shortcut."""
from __future__ import annotations

import functools

import pytest
import torch
from model_helpers import filled, meta

from cnnlab.analysis import count_macs, count_params
from cnnlab.layers import SqueezeExcite
from cnnlab.models import get_model, model_info
from cnnlab.models.resnet import BasicBlock
from cnnlab.models.resnet_cifar import CifarResNet, ZeroPadShortcut
from cnnlab.viz import draw_block

# He et al. 2016, Table 6: parameters of the CIFAR-10 ResNets, as printed (millions).
PAPER_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}
# Chen et al. 2020, "AdderNet: Do We Really Need Multiplications in Deep Learning?", Table 2:
# multiplications of the CNN versions of ResNet-20 and ResNet-32 on 32×32 CIFAR images.
ADDERNET_MULS = {20: 41.17e6, 32: 69.12e6}


def params_from_the_layer_formula(depth: int, num_classes: int = 10) -> int:
    """3×3 stem (3 -> 16) + BN, then per stage of width w: n blocks of two 3×3 convs and two BNs
    (the first block's first conv comes from the previous width), then fc 64 -> classes."""
    n = (depth - 2) // 6
    total, c_in = 3 * 16 * 9 + 2 * 16, 16
    for w in (16, 32, 64):
        total += c_in * w * 9 + w * w * 9 + 2 * 2 * w  # first block
        total += (n - 1) * (2 * w * w * 9 + 2 * 2 * w)  # the others
        c_in = w
    return total + 64 * num_classes + num_classes


@pytest.mark.parametrize("depth", sorted(PAPER_PARAMS_M))
def test_parameters_are_the_papers_table_6(depth):
    """Exactly the layer formula; equal to Table 6 at the paper's printed precision (two significant
    digits: ResNet-20's 269,722 is 0.1 % from 0.27M, ResNet-110's 1,727,962 is 1.6 % above 1.7M)."""
    n_params = count_params(meta(f"resnet{depth}"))
    assert n_params == params_from_the_layer_formula(depth)
    printed = PAPER_PARAMS_M[depth]
    digits = 1 if printed >= 1 else 2
    assert round(n_params / 1e6, digits) == printed
    # the plain net has exactly the same weights: option A adds none
    assert count_params(meta(f"plain{depth}")) == n_params


def test_resnet20_is_within_1_percent_of_027m():
    assert abs(count_params(meta("resnet20")) / 0.27e6 - 1) < 0.01


@pytest.mark.parametrize("depth", sorted(ADDERNET_MULS))
def test_macs_match_the_addernet_table(depth):
    """Convolutions and fc: 40.55M MACs for ResNet-20 (1.5 % under the table's 41.17M) and 68.86M for
    ResNet-32 (0.4 % under 69.12M). The gaps (0.62M and 0.26M) do not grow with depth, so they are
    not batch norm or additions, which would; the table does not say what else it counted."""
    macs = count_macs(get_model(f"resnet{depth}"), (1, 3, 32, 32))
    assert abs(macs / ADDERNET_MULS[depth] - 1) < 0.02
    n = (depth - 2) // 6
    convs = 32 * 32 * (27 * 16 + 2 * n * 16 * 16 * 9) \
        + 16 * 16 * (16 * 32 * 9 + (2 * n - 1) * 32 * 32 * 9) + 8 * 8 * (32 * 64 * 9 + (2 * n - 1) * 64 * 64 * 9)
    assert macs == convs + 64 * 10


def test_depth_6n_plus_2_and_stage_shapes():
    for depth in PAPER_PARAMS_M:
        model = meta(f"resnet{depth}")
        n = (depth - 2) // 6
        assert [len(s) for s in (model.layer1, model.layer2, model.layer3)] == [n, n, n]
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) + 1 == depth  # 6n + 1 convolutions and the fc
    model = meta("resnet20")
    sizes = []
    for stage in (model.layer1, model.layer2, model.layer3):
        stage.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:])))
    model(torch.empty(1, 3, 32, 32, device="meta"))
    assert sizes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    for bad in (21, 8 - 6, "20", True):
        with pytest.raises(ValueError, match="depth must be 6n \\+ 2"):
            CifarResNet(depth=bad)
    with pytest.raises(ValueError, match="shortcut must be 'A'"):
        CifarResNet(shortcut="C")


def test_option_a_shortcut_subsamples_and_pads_the_new_channels_with_zeros():
    x = torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    out = ZeroPadShortcut(16, 32, stride=2)(x)
    assert out.shape == (2, 32, 4, 4)
    torch.testing.assert_close(out[:, :16], x[:, :, ::2, ::2])  # the input's channels first, every other pixel
    assert out[:, 16:].abs().sum() == 0  # then zeros
    assert ZeroPadShortcut(16, 32, 2)(torch.zeros(1, 16, 7, 7)).shape[-1] == 4  # odd sizes: as a stride-2 conv
    assert not list(ZeroPadShortcut(16, 32).parameters())
    with pytest.raises(ValueError, match="out_channels \\(8\\) must be >= in_channels \\(16\\)"):
        ZeroPadShortcut(16, 8)


def test_the_shortcuts_sit_where_the_shape_changes_and_viz_draws_them():
    model = meta("resnet20")
    shortcuts = {name: m for name, m in model.named_modules() if isinstance(m, ZeroPadShortcut)}
    assert set(shortcuts) == {"layer2.0.downsample", "layer3.0.downsample"}
    assert all(type(b) is BasicBlock for b in model.modules() if isinstance(b, BasicBlock))
    plain = meta("plain20")
    assert not any(isinstance(m, ZeroPadShortcut) for m in plain.modules())
    assert all(not b.residual and b.downsample is None for b in plain.modules() if isinstance(b, BasicBlock))
    block = filled("resnet20").layer2[0]
    fig = draw_block(block, (1, 16, 32, 32))
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert "shortcut: downsample" in texts  # draw_block found the option-A shortcut by its name
    assert any("ZeroPadShortcut" in t for t in texts)


def test_option_b_projects_where_the_shape_changes():
    model = meta("resnet20", shortcut="B")
    assert count_params(model) - count_params(meta("resnet20")) == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)


def test_plain_and_residual_differ_only_by_the_additions():
    residual = filled("resnet20", seed=3)
    plain = get_model("plain20").eval()
    plain.load_state_dict(residual.state_dict(), strict=True)  # the same weights
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    # take the shortcuts out of the residual net by hand: then it computes exactly the plain net
    for m in residual.modules():
        if isinstance(m, BasicBlock):
            m.residual = False
    with torch.no_grad():
        same_plain = residual(x)
        torch.testing.assert_close(plain(x), same_plain)
        for m in residual.modules():
            if isinstance(m, BasicBlock):
                m.residual = True
        assert not torch.allclose(residual(x), same_plain, atol=1e-3)


def test_knobs_pass_through_and_width_mult_keeps_the_doubling():
    model = meta("resnet20", width_mult=0.25, act_layer=torch.nn.SiLU,
                 attn_layer=functools.partial(SqueezeExcite, reduction=4))
    assert [model.layer1[0].conv1.out_channels, model.layer2[0].conv1.out_channels,
            model.layer3[0].conv1.out_channels] == [4, 8, 16]
    assert all(isinstance(b.se, SqueezeExcite) and isinstance(b.relu, torch.nn.SiLU)
               for b in model.modules() if isinstance(b, BasicBlock))
    half = meta("plain56", width_mult=0.5, norm_layer=lambda c: torch.nn.GroupNorm(2, c))
    assert half.layer3[-1].conv2.out_channels == 32 and isinstance(half.layer3[-1].bn2, torch.nn.GroupNorm)
    with pytest.raises(ValueError, match="width_mult must be a positive number"):
        get_model("resnet20", width_mult=0)


def test_registry_tags():
    for depth in PAPER_PARAMS_M:
        assert model_info(f"resnet{depth}").tags == {"cifar", "paper"}
        assert model_info(f"plain{depth}").tags == {"cifar"}

