"""VGG (Simonyan & Zisserman, 2015): Table 1's configurations, the per-layer table, 3×3 stacks.
Parity with torchvision is in test_torchvision_parity.py."""
from __future__ import annotations

import pytest
from model_helpers import meta
from torch import nn

from cnnlab.analysis import conv_params, count_params, summary


def test_vgg16_per_layer_table():
    """VGG-16's per-layer activations and weights (biases not counted), as lecture 04 tabulates them."""
    table = summary(meta("vgg16"), (1, 3, 224, 224))
    convs = [r for r in table.rows if r.kind == "Conv2d"]
    assert [r.output_shape[1] * r.output_shape[2] * r.output_shape[3] for r in convs][:2] == [224 * 224 * 64] * 2
    conv_weights = [m.weight.numel() for m in meta("vgg16").features if isinstance(m, nn.Conv2d)]
    assert conv_weights == [1_728, 36_864, 73_728, 147_456, 294_912, 589_824, 589_824, 1_179_648,
                            2_359_296, 2_359_296, 2_359_296, 2_359_296, 2_359_296]
    fc_weights = [m.weight.numel() for m in meta("vgg16").classifier if isinstance(m, nn.Linear)]
    assert fc_weights == [7 * 7 * 512 * 4096, 4096 * 4096, 4096 * 1000] == [102_760_448, 16_777_216, 4_096_000]
    pools = [r.output_shape[1:] for r in table.rows if r.kind == "MaxPool2d"]
    assert pools == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7)]
    assert round(count_params(meta("vgg16")) / 1e6) == 138


def test_three_3x3_convs_vs_one_7x7():
    c = 64
    assert conv_params(c, c, 7, bias=False) == 49 * c * c
    assert 3 * conv_params(c, c, 3, bias=False) == 27 * c * c


@pytest.mark.parametrize("name, depth", [("vgg11", 11), ("vgg13", 13), ("vgg16", 16), ("vgg19", 19)])
def test_vgg_depth_and_bn(name, depth):
    plain, bn = meta(name), meta(name + "_bn")
    weight_layers = [m for m in plain.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weight_layers) == depth
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == depth - 3
