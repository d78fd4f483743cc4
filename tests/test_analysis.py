"""cnnlab.analysis against torchvision's own metadata, PyTorch's FLOP counter and the slides."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlab.analysis import (conv_macs, conv_output_size, conv_params, count_macs, count_params,
                             measure_latency, receptive_field, summary)
from cnnlab.models import get_model


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg16", "mobilenet_v2"])
def test_count_macs_matches_torchvision_ops_meta(name):
    model = torchvision.models.get_model(name, weights=None)
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta  # metadata only, no download
    macs = count_macs(model, (1, 3, 224, 224))
    assert macs == pytest.approx(meta["_ops"] * 1e9, rel=0.01)
    assert count_params(model) == meta["num_params"]


@pytest.mark.parametrize("model", [
    nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, groups=8), nn.Flatten(),
                  nn.LazyLinear(10)),
    nn.Sequential(nn.Conv2d(4, 4, 5, dilation=2, groups=4), nn.Conv2d(4, 12, 1), nn.ConvTranspose2d(12, 6, 4, stride=2)),
])
def test_count_macs_equals_half_of_pytorch_flop_counter(model):
    x = torch.zeros(2, model[0].in_channels, 20, 20)
    model(x)  # materialise lazy layers
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert count_macs(model, tuple(x.shape)) * 2 == counter.get_total_flops()


def test_lenet5_summary_matches_the_slides_shapes():
    s = summary(get_model("lenet5"), (1, 1, 32, 32))
    convs = [r for r in s.rows if r.kind == "Conv2d"]
    pools = [r for r in s.rows if r.kind == "MaxPool2d"]
    assert [r.output_shape for r in convs] == [(1, 6, 28, 28), (1, 16, 10, 10)]
    assert [r.output_shape for r in pools] == [(1, 6, 14, 14), (1, 16, 5, 5)]
    assert s.total_params == count_params(get_model("lenet5")) == 61_706
    # conv1 by hand: 6 filters of 5×5×1 applied at 28×28 positions
    assert convs[0].macs == conv_macs(1, 6, 5, 28) == 6 * 28 * 28 * 25
    assert s.total_macs == count_macs(get_model("lenet5"), (1, 1, 32, 32))
    text = str(s)
    assert "features.0" in text and "61,706" in text


def test_alexnet_conv1_arithmetic_from_the_slides():
    # seed 002: 227×227×3 input, 96 11×11 filters with stride 4 -> 55×55×96, ~35K weights
    assert conv_output_size(227, 11, stride=4) == 55
    assert conv_params(3, 96, 11, bias=False) == 34_848
    conv = nn.Conv2d(3, 96, 11, stride=4)
    assert count_params(conv) == conv_params(3, 96, 11) == 34_944
    assert count_macs(conv, (1, 3, 227, 227)) == conv_macs(3, 96, 11, 55)


def test_closed_forms_agree_with_modules():
    for (cin, cout, k, g, s, p, d, n) in [(8, 16, 3, 1, 1, 1, 1, 17), (8, 16, 3, 4, 2, 0, 2, 31), (12, 12, 5, 12, 1, 2, 1, 9)]:
        conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g)
        out = conv(torch.zeros(1, cin, n, n))
        assert out.shape[-1] == conv_output_size(n, k, s, p, d)
        assert count_params(conv) == conv_params(cin, cout, k, groups=g)
        assert count_macs(conv, (1, cin, n, n)) == conv_macs(cin, cout, k, out.shape[-1], groups=g)


def test_receptive_field_slide_example_and_modules():
    # seed 004: 5×5 input, two 3×3 convolutions with stride 2 and padding 1
    rows = receptive_field([(3, 2, 1), (3, 2, 1)], 5)
    assert [(r.n, r.jump, r.size, r.start) for r in rows] == [(5, 1, 1, 0.5), (3, 2, 3, 0.5), (2, 4, 7, 0.5)]
    # three stacked 3×3 convs see what one 7×7 conv sees (VGG)
    assert receptive_field([(3, 1, 1)] * 3, 32)[-1].size == receptive_field([(7, 1, 3)], 32)[-1].size == 7
    # walking a module gives the same as the tuple list; dilation widens the kernel to d(k-1)+1
    lenet_rows = receptive_field(get_model("lenet5"), 32)
    assert [r.n for r in lenet_rows] == [32, 28, 14, 10, 5]
    assert lenet_rows[-1].size == 16 and lenet_rows[-1].jump == 4
    assert receptive_field([(3, 1, 0, 2)], 7)[-1].size == 5


def test_receptive_field_matches_gradient_support():
    """The field size is the extent of input pixels with a non-zero gradient for one output."""
    # average pooling: max pooling would send the gradient to one pixel only
    layers = [nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.AvgPool2d(2, 2), nn.Conv2d(1, 1, 3, padding=2, dilation=2)]
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0)
    x = torch.rand(1, 1, 64, 64, requires_grad=True)
    out = net(x)
    i = out.shape[-1] // 2
    out[0, 0, i, i].backward()
    cols = (x.grad[0, 0].abs().sum(0) > 0).nonzero().flatten()
    rf = receptive_field(net, 64)[-1]
    assert int(cols.max() - cols.min() + 1) == rf.size
    # the field's centre: start + i * jump, in pixel-centre coordinates (pixel c has centre c + 0.5)
    assert (cols.min() + cols.max() + 1) / 2 == pytest.approx(rf.start + i * rf.jump)


@pytest.mark.parametrize("bad", [(1, 3, 224), "224", (1, 3, -1, 5), (1.0, 3, 32, 32)])
def test_count_macs_bad_input_size_is_named(bad):
    model = get_model("lenet5")
    if isinstance(bad, tuple) and len(bad) == 3:
        with pytest.raises(ValueError, match=r"count_macs: LeNet5 cannot run on an input of size \(1, 3, 224\)"):
            count_macs(model, bad)
    else:
        with pytest.raises(ValueError, match="input_size must be a tuple of positive ints"):
            count_macs(model, bad)


def test_count_macs_wrong_channels_is_one_line():
    with pytest.raises(ValueError) as info:
        count_macs(get_model("lenet5"), (1, 3, 32, 32))
    message = str(info.value)
    assert "\n" not in message and "(1, 3, 32, 32)" in message and "channels" in message


def test_empty_outputs_are_refused_with_the_sizes():
    with pytest.raises(ValueError, match="effective size 5 does not fit an input of size 4"):
        conv_output_size(4, 3, dilation=2)
    with pytest.raises(ValueError, match=r"layer 2 .*does not fit"):
        receptive_field([(3, 2, 0), (7, 1, 0)], 9)
    with pytest.raises(ValueError, match="groups=3 must divide"):
        conv_params(8, 16, 3, groups=3)


def test_count_params_counts_shared_weights_once():
    lin = nn.Linear(4, 4)
    assert count_params(nn.Sequential(lin, lin)) == 20
    model = get_model("lenet5")
    model.features[0].weight.requires_grad_(False)
    assert count_params(model, trainable_only=True) == 61_706 - 150


def test_measure_latency_returns_positive_milliseconds():
    assert measure_latency(get_model("lenet5"), (1, 1, 32, 32), device="cpu", warmup=1, repeats=3) > 0
