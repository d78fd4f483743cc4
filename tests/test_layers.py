"""The shared blocks of ``cnnlab.layers`` against the torchvision blocks they stand in for."""
from __future__ import annotations

import functools

import pytest
import torch
from torchvision.models.googlenet import BasicConv2d
from torch import nn
from torchvision.models._utils import _make_divisible
from torchvision.ops import Conv2dNormActivation, SqueezeExcitation, stochastic_depth

from cnnlab.layers import (
    ChannelShuffle,
    ConvNormAct,
    DropPath,
    SqueezeExcite,
    channel_shuffle,
    get_act_layer,
    make_divisible,
    scale_width,
)


def _same_outputs(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> None:
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("groups, stride, act", [(1, 1, nn.ReLU), (4, 2, nn.Hardswish), (8, 1, None)])
def test_conv_norm_act_is_torchvisions_conv2d_norm_activation(groups, stride, act):
    torch.manual_seed(0)
    theirs = Conv2dNormActivation(8, 16, 3, stride, groups=groups, activation_layer=act)
    ours = ConvNormAct(8, 16, 3, stride, groups=groups, act_layer=act)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs[1].running_mean.uniform_(-1, 1)
    _same_outputs(ours, theirs, torch.randn(2, 8, 9, 9))


def test_conv_norm_act_named_is_torchvisions_basic_conv2d():
    torch.manual_seed(0)
    theirs = BasicConv2d(8, 16, kernel_size=3, padding=1)
    ours = ConvNormAct(8, 16, 3, padding=1, norm_layer=functools.partial(nn.BatchNorm2d, eps=1e-3), named=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.bn.eps == theirs.bn.eps == 1e-3 and ours.conv.bias is None
    _same_outputs(ours, theirs, torch.randn(2, 8, 7, 7))
    with pytest.raises(ValueError, match=r"ConvNormAct \(conv\) expects 8 input channels, got 3"):
        ours(torch.randn(1, 3, 7, 7))


def test_squeeze_excite_is_torchvisions_squeeze_excitation():
    torch.manual_seed(0)
    theirs = SqueezeExcitation(32, 8, scale_activation=nn.Hardsigmoid)
    ours = SqueezeExcite(32, 8, gate_layer=nn.Hardsigmoid)
    x = torch.randn(2, 32, 5, 5)
    _same_outputs(ours, theirs, x)
    assert SqueezeExcite(64).fc1.out_channels == 4  # the paper's reduction r = 16
    with pytest.raises(ValueError, match=r"SqueezeExcite expects \(N, 32, H, W\) inputs, got \(2, 16, 5, 5\)"):
        ours(torch.randn(2, 16, 5, 5))


def test_channel_shuffle_matches_nn_channel_shuffle_and_the_paper():
    x = torch.randn(2, 12, 3, 3)
    torch.testing.assert_close(channel_shuffle(x, 3), nn.ChannelShuffle(3)(x))
    # channels of group i, position j move to j * g + i: with g = 2, [a0 a1 a2 b0 b1 b2] -> [a0 b0 a1 b1 a2 b2]
    order = channel_shuffle(torch.arange(6.0).view(1, 6, 1, 1), 2).flatten().tolist()
    assert order == [0, 3, 1, 4, 2, 5]
    assert ChannelShuffle(4)(x).shape == x.shape
    with pytest.raises(ValueError, match="groups=5 must divide the 12 channels"):
        channel_shuffle(x, 5)


@pytest.mark.parametrize("divisor", [4, 8])
def test_make_divisible_is_torchvisions_rule(divisor):
    for channels in range(1, 400):
        for mult in (0.25, 0.35, 0.5, 0.75, 1.0, 1.3):
            assert make_divisible(channels * mult, divisor) == _make_divisible(channels * mult, divisor)
    assert make_divisible(90, 8) == 88 and make_divisible(10, 8) == 16  # never more than 10 % below


def test_scale_width_and_its_errors():
    assert scale_width(64, 1.0) == 64 and scale_width(64, 0.25) == 16 and scale_width(100, 1.0) == 100
    with pytest.raises(ValueError, match="width_mult must be a positive number, got 0"):
        scale_width(64, 0)


def test_drop_path_is_torchvisions_stochastic_depth():
    x = torch.randn(64, 3, 4, 4)
    torch.manual_seed(1)
    expected = stochastic_depth(x, 0.3, "row", training=True)
    torch.manual_seed(1)
    got = DropPath(0.3).train()(x)
    torch.testing.assert_close(got, expected)
    dropped = (got.flatten(1) == 0).all(1).float().mean()
    assert 0.1 < dropped < 0.5  # whole samples, about 30 % of them
    assert torch.equal(DropPath(0.3).eval()(x), x)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        DropPath(1.0)


def test_activations_by_name():
    assert get_act_layer("hswish") is nn.Hardswish and get_act_layer("Swish") is nn.SiLU
    assert get_act_layer(nn.ReLU) is nn.ReLU and get_act_layer(None) is None
    with pytest.raises(ValueError, match="unknown activation 'hswsh'; did you mean 'hswish'"):
        get_act_layer("hswsh")
