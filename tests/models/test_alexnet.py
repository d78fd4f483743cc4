"""AlexNet: torchvision's one-GPU variant and the 2012 paper's network (conv1 sizes, LRN, two-GPU
groups, initialisation). Parity with torchvision is in test_torchvision_parity.py."""
from __future__ import annotations

import torch
from model_helpers import meta
from torch import nn

from cnnlab.analysis import conv_params, count_params, summary
from cnnlab.models import get_model


def test_alexnet_original_conv1_and_parameters():
    """Krizhevsky et al. (2012), Section 3.5 / Fig. 2: on 227×227×3, conv1's 96 11×11 filters with stride 4 give (227-11)/4+1 = 55, i.e.
    55×55×96, with 11·11·3·96 ≈ 35K weights (34,944 parameters with the biases)."""
    model = meta("alexnet_original")
    assert model.default_input_size == (3, 227, 227)
    table = summary(model, (1, 3, 227, 227))
    conv1 = table.rows[0]
    assert conv1.name == "features.0" and conv1.output_shape == (1, 96, 55, 55)
    assert conv1.params == 34_944 == 11 * 11 * 3 * 96 + 96 and round(11 * 11 * 3 * 96, -3) == 35_000
    convs = [r for r in table.rows if r.kind == "Conv2d"]
    assert [r.output_shape[1:] for r in convs] == [(96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13)]
    pools = [r.output_shape[-1] for r in table.rows if r.kind == "MaxPool2d"]
    assert pools == [27, 13, 6]  # overlapping 3×3/2 pooling
    assert [m.groups for m in model.features if isinstance(m, nn.Conv2d)] == [1, 2, 1, 2, 2]
    # the two-GPU split halves the weights of conv2, conv4 and conv5
    one_gpu = meta("alexnet_original", two_gpu_groups=False)
    halved = (conv_params(96, 256, 5, bias=False) + conv_params(384, 384, 3, bias=False)
              + conv_params(384, 256, 3, bias=False)) // 2
    assert count_params(one_gpu) - count_params(model) == halved
    assert count_params(model) == 60_965_224  # "60 million parameters"


def test_alexnet_original_lrn_is_the_paper_formula():
    """b = a / (k + alpha * sum over 5 neighbouring channels of a^2) ** beta, k=2, alpha=1e-4, beta=0.75."""
    lrn = meta("alexnet_original").features[2]
    assert isinstance(lrn, nn.LocalResponseNorm)
    torch.manual_seed(0)
    a = torch.randn(2, 12, 5, 5) * 30  # large enough for the normalisation to matter
    padded = nn.functional.pad(a.pow(2), (0, 0, 0, 0, 2, 2))  # zero channels beyond the ends
    sums = torch.stack([padded[:, i:i + 5].sum(1) for i in range(12)], 1)
    expected = a / (2 + 1e-4 * sums) ** 0.75
    lrn_cpu = nn.LocalResponseNorm(lrn.size, alpha=lrn.alpha, beta=lrn.beta, k=lrn.k)
    torch.testing.assert_close(lrn_cpu(a), expected)
    assert not torch.allclose(expected, a / 2 ** 0.75)


def test_alexnet_original_paper_initialisation():
    torch.manual_seed(0)
    model = get_model("alexnet_original", num_classes=10)
    conv = [m for m in model.features if isinstance(m, nn.Conv2d)]
    fc = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [float(m.bias.detach().mean()) for m in conv + fc] == [0, 1, 0, 1, 1, 1, 1, 0]
    assert abs(float(fc[0].weight.detach().std()) - 0.01) < 1e-4


def test_alexnet_is_torchvisions_one_gpu_variant():
    widths = [m.out_channels for m in meta("alexnet").features if isinstance(m, nn.Conv2d)]
    assert widths == [64, 192, 384, 256, 256]  # "One weird trick", not the paper's 96/256/384/384/256
    widths = [m.out_channels for m in meta("alexnet_original").features if isinstance(m, nn.Conv2d)]
    assert widths == [96, 256, 384, 384, 256]
