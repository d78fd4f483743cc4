"""The orderings that lectures 04 (VGG) and 05 (GoogLeNet) assert, at smaller settings.

Lecture 04: two 3×3 convolutions with no ReLU between them are a factorised 5×5 convolution; they
fit worse than the full 5×5, and the same stack with the ReLU fits better than without it.
Lecture 05: the Inception module with 1×1 reductions costs fewer parameters, MACs and time than
the naive module, and at equal MACs a network of reduced modules fits better than a naive one.
"""
from __future__ import annotations

import statistics

import pytest
import torch
from torch import nn

import cnnlab
from cnnlab import analysis, data, train
from cnnlab.models.googlenet import INCEPTION_CFGS, Inception, NaiveInception

BODIES = ("5×5", "3×3 → 3×3 (linear)", "3×3 → ReLU → 3×3")


def vgg_small_net(body: str, width: int, in_channels: int, num_classes: int, stages: int = 2) -> nn.Sequential:
    """Lecture 04's network: 3×3 stem, stages × (body + 2×2 max pool), global average pooling, linear."""
    c = width
    layers = [nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
    for _ in range(stages):
        if body == "5×5":
            layers += [nn.Conv2d(c, c, 5, padding=2, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        else:
            middle = [nn.ReLU(inplace=True)] if body == "3×3 → ReLU → 3×3" else []
            layers += [nn.Conv2d(c, c, 3, padding=1, bias=False), *middle,
                       nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))


def tiny_inception_net(reduce: bool, in_channels: int, num_classes: int, w: float = 1.0) -> nn.Sequential:
    """Lecture 05's network: stem conv (16w) -> pool -> module -> pool -> module -> GAP -> fc."""
    c = lambda v: max(1, round(v * w))  # noqa: E731
    stem = c(16)
    if reduce:
        m1 = Inception(stem, c(8), c(8), c(16), c(4), c(8), c(8), kernel_size_5x5=5)
        m2 = Inception(m1.out_channels, c(16), c(16), c(32), c(8), c(16), c(16), kernel_size_5x5=5)
    else:
        m1 = NaiveInception(stem, c(8), c(16), c(8))
        m2 = NaiveInception(m1.out_channels, c(16), c(32), c(16))
    return nn.Sequential(nn.Conv2d(in_channels, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem),
                         nn.ReLU(inplace=True), nn.MaxPool2d(2), m1, nn.MaxPool2d(2), m2,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(m2.out_channels, num_classes))


@pytest.fixture(scope="module")
def digits16():
    return data.load("digits", n_train=1000, image_size=16, seed=0)


def final_losses(build, ds, runs: int, epochs: int) -> list[float]:
    losses = []
    for run in range(runs):
        cnnlab.seed_everything(run)
        net = build()
        history = train.fit(net, ds, epochs=epochs, lr=3e-3, batch_size=32, scheduler="cosine", device="cpu",
                            seed=run, progress=False, plot=False, verbose=False)
        losses.append(history.train_loss[-1])
    return losses


# --- lecture 04 -------------------------------------------------------------------------------------

def test_vgg_arms_share_field_and_weights_and_differ_only_as_designed():
    nets = {}
    for body in BODIES:
        cnnlab.seed_everything(0)
        nets[body] = vgg_small_net(body, 16, 1, 10)
    fields = {analysis.receptive_field(n, 16)[-1].size for n in nets.values()}
    assert len(fields) == 1
    # per stage: 25C² weights for the 5×5, 18C² for both stacks
    five, linear, relu = (analysis.count_params(n) for n in nets.values())
    assert linear == relu and five - linear == 2 * (25 - 18) * 16 * 16
    # the two stacks start from the same weights: the ReLU is the only difference
    assert all(torch.equal(p, q) for p, q in zip(nets[BODIES[1]].parameters(), nets[BODIES[2]].parameters()))
    # without the ReLU, two 3×3 convolutions are one 5×5 convolution: the composed kernel reproduces them
    conv_a, conv_b = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.Conv2d(4, 4, 3, padding=1, bias=False)
    x = torch.randn(1, 4, 11, 11)
    kernel = torch.einsum("omhw,mikl->oihwkl", conv_b.weight, conv_a.weight)  # (out, in, 3, 3, 3, 3)
    k5 = torch.zeros(4, 4, 5, 5)
    for h in range(3):
        for w in range(3):
            k5[:, :, h:h + 3, w:w + 3] += kernel[:, :, h, w]
    with torch.no_grad():
        assert torch.allclose(conv_b(conv_a(x))[..., 2:-2, 2:-2], nn.functional.conv2d(x, k5), atol=1e-5)


def test_vgg_factorised_linear_stack_fits_worse_than_5x5_and_relu_helps(digits16):
    runs, epochs = 3, 2
    loss = {body: final_losses(lambda b=body: vgg_small_net(b, 16, 1, digits16.num_classes), digits16, runs, epochs)
            for body in BODIES}
    five, linear, relu = (loss[b] for b in BODIES)
    # the factorisation alone costs, beyond the run-to-run spread
    assert statistics.mean(linear) - statistics.mean(five) > 2 * max(statistics.stdev(five), statistics.stdev(linear))
    # the ReLU in between helps, run by run (same initial weights and batches)
    gain = [r - lin for r, lin in zip(relu, linear)]
    assert sum(g < 0 for g in gain) >= runs - 1 and statistics.mean(gain) < 0


# --- lecture 05 -------------------------------------------------------------------------------------

def test_reduced_inception_costs_less_params_and_macs():
    # Lecture 05 also measures the time of both modules; timings are printed there, never asserted
    # (tests stay deterministic on a loaded machine).
    shape = (1, 192, 28, 28)
    naive = NaiveInception(192, ch1x1=64, ch3x3=128, ch5x5=32).eval()
    reduced = Inception(192, *INCEPTION_CFGS["inception3a"], kernel_size_5x5=5).eval()
    assert analysis.count_params(naive) > 2 * analysis.count_params(reduced)
    assert analysis.count_macs(naive, shape) > 2 * analysis.count_macs(reduced, shape)


def test_naive_stage_width_and_macs_blow_up():
    with torch.device("meta"):
        naive = nn.Sequential(*[NaiveInception(c, 64, 128, 32) for c in (192, 416, 640, 864)])
        reduced = nn.Sequential(*[Inception(c, *INCEPTION_CFGS["inception3a"], kernel_size_5x5=5)
                                  for c in (192, 256, 256, 256)])
    shape = (1, 192, 28, 28)
    assert naive(torch.zeros(shape, device="meta")).shape[1] == 1088  # + 224 channels per module
    assert analysis.count_macs(naive, shape) > 5 * analysis.count_macs(reduced, shape)


def test_reduced_inception_at_equal_macs_fits_better(digits16):
    size, k = 16, digits16.num_classes

    def macs(reduce: bool, w: float = 1.0) -> int:
        return analysis.count_macs(tiny_inception_net(reduce, 1, k, w), (1, 1, size, size))

    w_equal = max(1 + j / 8 for j in range(9) if macs(True, 1 + j / 8) <= macs(False))
    assert w_equal > 1.5  # the reductions pay for more than half as much width again
    runs, epochs = 2, 2
    naive = final_losses(lambda: tiny_inception_net(False, 1, k), digits16, runs, epochs)
    reduced = final_losses(lambda: tiny_inception_net(True, 1, k, w_equal), digits16, runs, epochs)
    assert statistics.mean(naive) - statistics.mean(reduced) > 2 * max(statistics.stdev(naive), statistics.stdev(reduced))
