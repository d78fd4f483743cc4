"""The ordering that lecture 06 (batch normalisation and Inception v2–v4) asserts, at smaller settings.

Ioffe & Szegedy 2015 (Sec. 4.2, Fig. 3): batch normalisation lets a network train at a learning rate
at which the same network without it fails, and train faster there. The lecture's experiment: one
six-convolution network with and without ``BatchNorm2d``, the same starting weights and batches,
SGD with momentum at learning rates 0.02 and 0.2. Here: narrower, fewer images and steps, two runs.
"""
from __future__ import annotations

import math
import statistics

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab import data
from cnnlab.layers import ConvNormAct

LOW, HIGH = 0.02, 0.2


def conv_net(bn: bool, in_channels: int, num_classes: int, w: int, seed: int) -> nn.Sequential:
    """Lecture 06's network: 2 × conv(w), pool, 2 × conv(2w), pool, 2 × conv(4w), GAP, linear."""
    norm = nn.BatchNorm2d if bn else None
    widths = [in_channels, w, w, 2 * w, 2 * w, 4 * w, 4 * w]
    layers = []
    for i in range(6):
        layers.append(ConvNormAct(widths[i], widths[i + 1], 3, norm_layer=norm))
        if i in (1, 3):
            layers.append(nn.MaxPool2d(2))
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, num_classes))
    torch.manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            m.reset_parameters()
    return net


def final_loss(ds, bn: bool, lr: float, seed: int, width: int, steps: int) -> float:
    """Mean loss of the last ten batches after ``steps`` SGD steps (inf if training diverged)."""
    net = conv_net(bn, ds.x_train.shape[1], ds.num_classes, width, seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    shuffle = torch.Generator().manual_seed(seed)
    per_epoch = len(ds.x_train) // 32
    curve = []
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(ds.x_train), generator=shuffle)
        idx = order[(step % per_epoch) * 32:(step % per_epoch + 1) * 32]
        loss = F.cross_entropy(net(ds.x_train[idx]), ds.y_train[idx])
        if not math.isfinite(loss.item()):
            return math.inf
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(loss.item())
    return statistics.mean(curve[-10:])


@pytest.fixture(scope="module")
def digits16():
    return data.load("digits", n_train=480, image_size=16, seed=0)


def test_first_layers_identical_at_start_with_and_without_bn():
    plain, bn = conv_net(False, 1, 10, 8, seed=3), conv_net(True, 1, 10, 8, seed=3)
    plain_convs = [m.weight for m in plain.modules() if isinstance(m, nn.Conv2d)]
    bn_convs = [m.weight for m in bn.modules() if isinstance(m, nn.Conv2d)]
    assert all(torch.equal(a, b) for a, b in zip(plain_convs, bn_convs))
    assert torch.equal(plain[-1].weight, bn[-1].weight)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 6
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())


def test_batchnorm_trains_at_a_learning_rate_where_the_plain_net_fails(digits16):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # cheap for these tiny layers on a busy CPU
    try:
        results = {(bn, lr): [final_loss(digits16, bn, lr, seed, width=8, steps=60) for seed in (0, 1)]
                   for bn in (False, True) for lr in (LOW, HIGH)}
    finally:
        torch.set_num_threads(threads)
    for run in range(2):
        assert results[(True, HIGH)][run] < results[(True, LOW)][run], results
        assert results[(True, HIGH)][run] < results[(False, LOW)][run], results
        assert results[(True, HIGH)][run] < results[(False, HIGH)][run], results
    assert min(results[(False, HIGH)]) > 0.9 * math.log(10), results  # the plain net learns nothing at 0.2

