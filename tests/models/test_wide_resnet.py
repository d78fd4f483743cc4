"""Wide ResNets (Zagoruyko & Komodakis 2016) for CIFAR: the paper's parameter counts, the depth rule
and the pre-activation block."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import fill_, meta

from cnnlab.analysis import count_params
from cnnlab.models import model_info
from cnnlab.models.wide_resnet import WideBasicBlock, WideResNet

# Zagoruyko & Komodakis 2016, Table 4 (test error of various wide networks on CIFAR) and, for
# WRN-16-4, Table 6 (dropout in residual blocks): parameters in millions as printed, for CIFAR-10.
PAPER_PARAMS_M = {
    (40, 1): 0.6, (40, 2): 2.2, (40, 4): 8.9, (40, 8): 35.7, (28, 10): 36.5, (28, 12): 52.5,
    (22, 8): 17.2, (22, 10): 26.8, (16, 8): 11.0, (16, 10): 17.1, (16, 4): 2.7,
}


def params_from_the_layer_formula(depth: int, k: int, num_classes: int = 10) -> int:
    """Stem 3×3 (3 -> 16); per stage of width w = 16k, 32k, 64k: n blocks of two BNs (of their inputs)
    and two 3×3 convs, a 1×1 shortcut in the first block when the width changes; final BN; fc."""
    n = (depth - 4) // 6
    total, c_in = 3 * 16 * 9, 16
    for w in (16 * k, 32 * k, 64 * k):
        total += 2 * c_in + c_in * w * 9 + 2 * w + w * w * 9 + (c_in * w if c_in != w else 0)
        total += (n - 1) * (2 * w + w * w * 9 + 2 * w + w * w * 9)
        c_in = w
    return total + 2 * c_in + c_in * num_classes + num_classes


@pytest.mark.parametrize("depth, k", sorted(PAPER_PARAMS_M))
def test_parameters_are_the_papers(depth, k):
    """Exactly the layer formula, and the paper's figure at its printed precision (one decimal of a
    million: WRN-28-10 36,479,194 is 0.06 % from 36.5M; WRN-16-4 2,748,890 is 1.8 % above 2.7M)."""
    with torch.device("meta"):
        n_params = count_params(WideResNet(depth=depth, widen_factor=k))
    assert n_params == params_from_the_layer_formula(depth, k)
    assert round(n_params / 1e6, 1) == PAPER_PARAMS_M[(depth, k)]


def test_registered_wrns_are_within_1_percent_where_the_paper_prints_enough_digits():
    assert abs(count_params(meta("wrn28_10")) / 36.5e6 - 1) < 0.01
    assert abs(count_params(meta("wrn16_4")) / 2.7e6 - 1) < 0.02  # 2.7 is rounded to two digits
    assert model_info("wrn28_10").tags == model_info("wrn16_4").tags == {"cifar", "paper"}


@pytest.mark.parametrize("depth", [15, 18, 26, 4, "28", True])
def test_depth_must_be_6n_plus_4(depth):
    with pytest.raises(ValueError, match=r"depth must be 6n \+ 4 with n >= 1"):
        WideResNet(depth=depth, widen_factor=1)


def test_other_bad_configurations():
    with pytest.raises(ValueError, match="widen_factor must be an integer >= 1, got 0"):
        WideResNet(depth=16, widen_factor=0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        WideResNet(depth=16, widen_factor=1, dropout=1.5)


def test_stages_widths_and_shortcuts():
    model = meta("wrn16_4")
    assert [len(s) for s in (model.layer1, model.layer2, model.layer3)] == [2, 2, 2]
    sizes = []
    for stage in (model.layer1, model.layer2, model.layer3):
        stage.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:])))
    model(torch.empty(1, 3, 32, 32, device="meta"))
    assert sizes == [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
    # a 1×1 shortcut opens every stage (16 -> 64 changes the width too); the others are identities
    assert [b.shortcut is not None for s in (model.layer1, model.layer2, model.layer3) for b in s] == [True, False] * 3
    thin = WideResNet(depth=16, widen_factor=1)
    assert thin.layer1[0].shortcut is None  # 16 -> 16 at stride 1: identity


def test_block_is_pre_activation_with_dropout_between_the_convolutions():
    torch.manual_seed(0)
    block = fill_(WideBasicBlock(8, 16, stride=2, dropout=0.5), seed=1)
    x = torch.randn(2, 8, 8, 8, generator=torch.Generator().manual_seed(2))

    def by_hand(x: torch.Tensor) -> torch.Tensor:  # eval mode: BN with running statistics, no dropout
        def bn(m, t):
            return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, training=False)
        o = F.relu(bn(block.bn1, x))
        out = block.conv2(F.relu(bn(block.bn2, block.conv1(o))))
        return out + block.shortcut(o)  # the 1×1 shortcut takes the activated input

    block.eval()
    with torch.no_grad():
        torch.testing.assert_close(block(x), by_hand(x))
    # in training mode, dropout acts on conv2's input: each activation after BN-ReLU is zeroed or
    # scaled by 1 / (1 - p)
    seen = {}
    block.relu2.register_forward_hook(lambda m, a, o: seen.__setitem__("act", o.clone()))
    block.conv2.register_forward_pre_hook(lambda m, a: seen.__setitem__("conv2_in", a[0].clone()))
    block.train()
    torch.manual_seed(7)
    with torch.no_grad():
        block(x)
    act, conv2_in = seen["act"], seen["conv2_in"]
    kept = conv2_in != 0
    torch.testing.assert_close(conv2_in[kept], act[kept] * 2)
    dropped = ((act > 0) & ~kept).sum() / (act > 0).sum()
    assert 0.4 < dropped < 0.6


def test_identity_block_adds_the_raw_input():
    block = fill_(WideBasicBlock(16, 16), seed=3).eval()
    assert block.shortcut is None
    x = torch.randn(2, 16, 4, 4, generator=torch.Generator().manual_seed(0))
    captured = {}
    block.conv2.register_forward_hook(lambda m, i, o: captured.__setitem__("branch", o.clone()))
    with torch.no_grad():
        out = block(x)
    torch.testing.assert_close(out, captured["branch"] + x)


def test_head_ends_with_bn_relu_and_pre_logits():
    model = meta("wrn16_4", num_classes=100)
    features = model.forward_features(torch.empty(2, 3, 32, 32, device="meta"))
    assert features.shape == (2, 256, 8, 8)
    assert model.forward_head(features, pre_logits=True).shape == (2, 256)
    assert model.fc.out_features == 100 and model.bn.num_features == 256
