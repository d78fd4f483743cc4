"""LeNet-5 (LeCun et al., 1998): the sizes of the paper's Fig. 2 and the options towards the original."""
from __future__ import annotations

import torch
from model_helpers import meta
from torch import nn

from cnnlab.analysis import count_params, summary


def test_lenet5_sizes_follow_the_paper_fig2():
    """32×32 -> C1 6@28×28 -> S2 6@14×14 -> C3 16@10×10 -> S4 16@5×5 -> C5 120 -> F6 84 -> 10."""
    table = summary(meta("lenet5"), (1, 1, 32, 32))
    shapes = [r.output_shape[1:] for r in table.rows]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]
    # every C3 map sees all six S2 maps (the paper's Table I connects each to 3-6 of them), so the count
    # is the plain sum of conv and fc weights and biases
    layers = [(6, 1 * 5 * 5), (16, 6 * 5 * 5), (120, 16 * 5 * 5), (84, 120), (10, 84)]  # (outputs, fan-in)
    assert count_params(meta("lenet5")) == sum(n * (fan_in + 1) for n, fan_in in layers) == 61_706


def test_lenet5_takes_the_original_activation_and_pooling():
    model = meta("lenet5", act_layer=nn.Tanh, pool_layer=nn.AvgPool2d)
    assert sum(isinstance(m, nn.Tanh) for m in model.modules()) == 4
    assert sum(isinstance(m, nn.AvgPool2d) for m in model.modules()) == 2
    assert tuple(model(torch.empty(3, 1, 32, 32, device="meta")).shape) == (3, 10)
