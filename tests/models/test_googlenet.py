"""GoogLeNet (Szegedy et al., 2015): torchvision's layout with auxiliary heads, the paper's Table 1
widths, the bottleneck arithmetic of Section 4, and the 32×32 variant. Parity with torchvision
(parameters, MACs, weights, outputs in eval mode) is in test_torchvision_parity.py."""
from __future__ import annotations

import torch
from model_helpers import meta, tv_filled, tv_meta_info
from torch import nn

import functools

from cnnlab.analysis import count_macs, count_params
from cnnlab.models.googlenet import INCEPTION_CFGS, GoogLeNetOutputs, Inception, NaiveInception


def test_googlenet_train_mode_matches_torchvision_with_aux_heads_and_transform_input():
    """Same weights, same seed: logits and both auxiliary logits agree in training mode (batch
    statistics, dropout drawn in the same order), and ``transform_input`` is applied the same way."""
    torch.manual_seed(0)
    theirs = tv_filled("googlenet", init_weights=False, transform_input=True).train()
    ours = meta("googlenet", transform_input=True).train()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    x = torch.randn(2, 3, 64, 64)
    torch.manual_seed(1)
    expected = theirs(x)
    torch.manual_seed(1)
    got = ours(x)
    assert isinstance(got, GoogLeNetOutputs) and got._fields == ("logits", "aux_logits2", "aux_logits1")
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    ours.eval()
    with torch.no_grad():
        assert isinstance(ours(x), torch.Tensor)


def test_googlenet_aux_heads():
    with_aux, without = meta("googlenet"), meta("googlenet", aux_logits=False)
    assert with_aux.aux1 is not None and without.aux1 is None and without.aux2 is None
    assert not any(k.startswith("aux") for k in without.state_dict())
    assert count_params(without) == tv_meta_info("googlenet")["num_params"] == 6_624_904
    aux_params = count_params(with_aux.aux1) + count_params(with_aux.aux2)
    assert count_params(with_aux) == count_params(without) + aux_params
    # training mode: three outputs with aux heads, plain logits without (batch of 2 needed for BN)
    x = torch.empty(2, 3, 224, 224, device="meta")
    out = with_aux.train()(x)
    assert isinstance(out, GoogLeNetOutputs) and all(tuple(t.shape) == (2, 1000) for t in out)
    assert isinstance(without.train()(x), torch.Tensor)
    assert isinstance(with_aux.eval()(x), torch.Tensor)


def test_googlenet_inception_widths_follow_the_paper_table():
    model = meta("googlenet")
    outs = {name: getattr(model, name).out_channels for name in INCEPTION_CFGS}
    assert outs == {"inception3a": 256, "inception3b": 480, "inception4a": 512, "inception4b": 512,
                    "inception4c": 512, "inception4d": 528, "inception4e": 832, "inception5a": 832,
                    "inception5b": 1024}
    # torchvision's "5×5" branch is 3×3 (pytorch/vision#906); kernel_size_5x5=5 gives the paper's
    assert model.inception3a.branch3[1].conv.kernel_size == (3, 3)
    paper = meta("googlenet", aux_logits=False, kernel_size_5x5=5)
    assert paper.inception3a.branch3[1].conv.kernel_size == (5, 5)
    extra = sum(red * out * (25 - 9) for _, _, _, red, out, _ in INCEPTION_CFGS.values())
    assert count_params(paper) == count_params(meta("googlenet", aux_logits=False)) + extra


def test_naive_vs_dimension_reduction_inception_bottleneck_arithmetic():
    """Szegedy et al. (2015), Section 4: a 5×5 conv from 128 to 256 channels costs 128×5×5×256
    weights; with a 32-channel 1×1 bottleneck in front, 128×1×1×32 + 32×5×5×256."""
    bare = functools.partial(nn.Conv2d, bias=False)  # count weights only, as the paper's arithmetic does
    naive = NaiveInception(128, ch1x1=128, ch3x3=192, ch5x5=256, conv_block=bare)
    reduced = Inception(128, ch1x1=128, ch3x3red=64, ch3x3=192, ch5x5red=32, ch5x5=256, pool_proj=64,
                        conv_block=bare, kernel_size_5x5=5)
    assert count_params(naive.branch3) == 128 * 5 * 5 * 256 == 819_200
    assert count_params(reduced.branch3) == 128 * 1 * 1 * 32 + 32 * 5 * 5 * 256 == 208_896
    # whole modules on a 28×28 map: the pool branch makes the naive output grow by in_channels
    x = torch.randn(1, 128, 28, 28)
    assert naive(x).shape == (1, 128 + 192 + 256 + 128, 28, 28) and naive.out_channels == 704
    assert reduced(x).shape == (1, 128 + 192 + 256 + 64, 28, 28) and reduced.out_channels == 640
    assert count_params(reduced) < count_params(naive) / 2
    assert count_macs(naive, (1, 128, 28, 28)) == count_params(naive) * 28 * 28  # every weight once per pixel
    # the default building block is conv -> BN -> ReLU, as in the network
    assert isinstance(Inception(192, 64, 96, 128, 16, 32, 32).branch1.bn, nn.BatchNorm2d)


def test_googlenet_cifar_aux_heads_optional():
    model = meta("googlenet_cifar")
    assert model.aux1 is None and isinstance(model.train()(torch.empty(2, 3, 32, 32, device="meta")), torch.Tensor)
    out = meta("googlenet_cifar", aux_logits=True).train()(torch.empty(2, 3, 32, 32, device="meta"))
    assert isinstance(out, GoogLeNetOutputs) and all(tuple(t.shape) == (2, 10) for t in out)
    assert meta("googlenet_cifar").inception3a.branch3[1].conv.kernel_size == (5, 5)  # the paper's 5×5
