"""ResNet (He et al. 2016): the blocks against torchvision's, the knobs later families use, the
ImageNet models' stage table, and the ResNet-18 variants of Zhu et al. (ScratchDet, 2019).

The factories tagged ``torchvision`` (resnet18 ... wide_resnet101_2) are also covered by
tests/models/test_torchvision_parity.py (parameters, MACs, strict load, identical outputs).
"""
from __future__ import annotations

import functools

import pytest
import torch
import torchvision.models.resnet as tv
from model_helpers import fill_, meta

from cnnlab.analysis import count_macs, count_params
from cnnlab.layers import SqueezeExcite
from cnnlab.models.resnet import BasicBlock, Bottleneck


def _x(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _tv_downsample(inplanes: int, outplanes: int, stride: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(tv.conv1x1(inplanes, outplanes, stride), torch.nn.BatchNorm2d(outplanes))


def _same_as_torchvision(ours: torch.nn.Module, theirs: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    fill_(theirs, seed=3).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval()
    with torch.no_grad():
        expected, got = theirs(x.clone()), ours(x.clone())
    assert expected.abs().max() > 1e-3
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    return got


# --- the blocks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("inplanes, planes, stride", [(16, 16, 1), (16, 32, 2), (8, 16, 1)])
def test_basic_block_is_torchvisions(inplanes, planes, stride):
    needs_projection = stride != 1 or inplanes != planes
    down = (lambda: _tv_downsample(inplanes, planes, stride)) if needs_projection else (lambda: None)
    theirs = tv.BasicBlock(inplanes, planes, stride, down())
    ours = BasicBlock(inplanes, planes, stride, down())
    out = _same_as_torchvision(ours, theirs, _x(2, inplanes, 9, 9))
    assert out.shape == (2, planes, (9 - 1) // stride + 1, (9 - 1) // stride + 1)
    keys = {"conv1.weight", "bn1.weight", "conv2.weight", "bn2.weight"}
    assert keys <= set(ours.state_dict())
    assert ("downsample.0.weight" in ours.state_dict()) == needs_projection


@pytest.mark.parametrize("inplanes, planes, stride, groups, base_width, dilation", [
    (64, 16, 1, 1, 64, 1),    # identity shortcut (inplanes == 4 * planes)
    (32, 16, 1, 1, 64, 1),    # projection without stride (the first block of layer1)
    (64, 32, 2, 1, 64, 1),    # projection with stride (the first block of layer2..4)
    (64, 32, 2, 4, 8, 1),     # grouped 3×3: ResNeXt's (groups)x(d)d, width = 4 * 8 = 32
    (64, 16, 1, 1, 128, 1),   # Wide ResNet-50-2: twice the bottleneck width
    (64, 16, 1, 1, 64, 2),    # dilated 3×3 (replace_stride_with_dilation)
])
def test_bottleneck_is_torchvisions(inplanes, planes, stride, groups, base_width, dilation):
    needs_projection = stride != 1 or inplanes != 4 * planes
    down = (lambda: _tv_downsample(inplanes, 4 * planes, stride)) if needs_projection else (lambda: None)
    theirs = tv.Bottleneck(inplanes, planes, stride, down(), groups, base_width, dilation)
    ours = Bottleneck(inplanes, planes, stride, down(), groups, base_width, dilation)
    out = _same_as_torchvision(ours, theirs, _x(2, inplanes, 8, 8))
    assert out.shape == (2, 4 * planes, 8 // stride, 8 // stride)
    assert ours.conv2.groups == groups and ours.conv2.out_channels == int(planes * base_width / 64) * groups
    assert ours.conv2.stride == (stride, stride) and ours.conv1.stride == (1, 1)  # v1.5: stride in the 3×3


def test_bottleneck_stride_in_1x1_is_the_papers_block():
    """Same weights, the stride moved to the first 1×1: same parameters, the 3×3 on a quarter of the
    positions, so fewer MACs."""
    v15 = Bottleneck(64, 32, 2, _tv_downsample(64, 128, 2))
    v1 = Bottleneck(64, 32, 2, _tv_downsample(64, 128, 2), stride_in_1x1=True)
    assert v1.conv1.stride == (2, 2) and v1.conv2.stride == (1, 1)
    v1.load_state_dict(v15.state_dict(), strict=True)
    assert count_params(v1) == count_params(v15)
    macs_v15, macs_v1 = count_macs(v15, (1, 64, 16, 16)), count_macs(v1, (1, 64, 16, 16))
    # conv1 at 16×16 and conv2 at 8×8 (v1.5) versus both at 8×8 (v1): the 1×1 reduce gets 4× cheaper
    assert macs_v15 - macs_v1 == 64 * 32 * (16 * 16 - 8 * 8)


def test_basic_block_rejects_groups_and_width():
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        BasicBlock(16, 16, groups=2)
    with pytest.raises(ValueError, match="base_width=32"):
        BasicBlock(16, 16, base_width=32)


@pytest.mark.parametrize("block, planes", [(BasicBlock, 16), (Bottleneck, 4)])
def test_attention_goes_after_the_last_norm_before_the_addition(block, planes):
    """``attn_layer`` is stored as ``se`` (timm's key) and scales the residual branch only."""
    torch.manual_seed(0)
    attn = functools.partial(SqueezeExcite, reduction=4)
    with_se = block(16, planes, attn_layer=attn).eval()
    assert isinstance(with_se.se, SqueezeExcite) and any(k.startswith("se.fc1") for k in with_se.state_dict())
    plain = block(16, planes).eval()
    assert plain.se is None
    fill_(with_se, seed=1)
    x = _x(2, 16, 6, 6)
    last_bn = with_se.bn2 if block is BasicBlock else with_se.bn3
    captured = {}
    last_bn.register_forward_hook(lambda m, i, o: captured.__setitem__("branch", o.clone()))
    with torch.no_grad():
        out = with_se(x)
        expected = torch.relu(with_se.se(captured["branch"]) + x)
    torch.testing.assert_close(out, expected)
    # the other weights are the plain block's: it loads them once "se" is left out
    missing = plain.load_state_dict({k: v for k, v in with_se.state_dict().items() if not k.startswith("se.")})
    assert not missing.missing_keys and not missing.unexpected_keys


@pytest.mark.parametrize("block, planes", [(BasicBlock, 16), (Bottleneck, 4)])
def test_plain_block_is_the_residual_block_without_the_addition(block, planes):
    residual = fill_(block(16, planes), seed=2).eval()
    plain = block(16, planes, residual=False).eval()
    plain.load_state_dict(residual.state_dict(), strict=True)
    x = _x(2, 16, 5, 5)
    captured = {}
    last_bn = plain.bn2 if block is BasicBlock else plain.bn3
    last_bn.register_forward_hook(lambda m, i, o: captured.__setitem__("branch", o.clone()))
    with torch.no_grad():
        out_plain, out_res = plain(x), residual(x)
    torch.testing.assert_close(out_plain, torch.relu(captured["branch"]))
    torch.testing.assert_close(out_res, torch.relu(captured["branch"] + x))
    assert not torch.allclose(out_plain, out_res)
    with pytest.raises(ValueError, match="residual=False.*downsample must be None"):
        block(16, 16, 2, _tv_downsample(16, 16 * block.expansion, 2), residual=False)


class _CountingConv(torch.nn.Conv2d):
    built = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).built += 1


@pytest.mark.parametrize("block, n_convs", [(BasicBlock, 2), (Bottleneck, 3)])
def test_conv_layer_builds_every_convolution_and_act_layer_every_activation(block, n_convs):
    _CountingConv.built = 0
    b = block(16, 4 if block is Bottleneck else 16, conv_layer=_CountingConv, act_layer=torch.nn.GELU)
    assert _CountingConv.built == n_convs
    assert all(type(m) is _CountingConv for m in b.modules() if isinstance(m, torch.nn.Conv2d))
    assert isinstance(b.relu, torch.nn.GELU) and not any(isinstance(m, torch.nn.ReLU) for m in b.modules())


def test_zero_init_last_makes_the_block_the_identity_before_the_final_relu():
    for block in (BasicBlock(8, 8), Bottleneck(8, 2)):
        block.zero_init_last()
        block.eval()
        x = _x(2, 8, 4, 4)
        with torch.no_grad():
            torch.testing.assert_close(block(x), torch.relu(x))
