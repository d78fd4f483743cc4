"""The orderings that lectures 02 and 03 assert, checked again at smaller settings and other seeds.

Each test trains a few tiny networks on the embedded digits (a few seconds on one CPU thread):
- lecture 02: LeNet-5 keeps its accuracy on shifted digits better than a fully connected network
  with as many parameters, trained the same way (LeCun et al. 1998, Section II.A);
- lecture 03: under SGD, a sigmoid network stays near chance while ReLU and tanh networks learn
  (Krizhevsky et al. 2012, Section 3.1 and Fig. 1);
- lecture 03: dropout narrows the gap between training and test accuracy of ``alexnet_cifar``
  that over-fits a small training set (Krizhevsky et al. 2012, Section 4.2; Srivastava et al. 2014).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnlab
from cnnlab import analysis, data, layers, models, train

QUIET = dict(progress=False, plot=False, verbose=False, device="cpu")


@pytest.fixture(scope="module")
def digits() -> data.ImageData:
    return data.load("digits", seed=1, image_size=32)


def small_alexnet(act_layer: type[nn.Module], width: int = 8) -> nn.Sequential:
    """Lecture 03's four-layer network: three conv -> act -> 3×3/2 max-pool stages and a linear layer."""
    c1, c2, c3 = width, 2 * width, 4 * width
    return nn.Sequential(
        layers.ConvNormAct(1, c1, 3, norm_layer=None, act_layer=act_layer), nn.MaxPool2d(3, 2, 1),
        layers.ConvNormAct(c1, c2, 3, norm_layer=None, act_layer=act_layer), nn.MaxPool2d(3, 2, 1),
        layers.ConvNormAct(c2, c3, 3, norm_layer=None, act_layer=act_layer), nn.MaxPool2d(3, 2, 1),
        nn.Flatten(), nn.Linear(c3 * 16, 10))


def shift_images(x: torch.Tensor, s: int, generator: torch.Generator) -> torch.Tensor:
    """Lecture 02's test shift: each image moved by s pixels in one of 8 directions, edges replicated."""
    n, _, h, w = x.shape
    padded = F.pad(x, (s, s, s, s), mode="replicate")
    steps = torch.tensor([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)])
    dy, dx = (s * steps[torch.randint(8, (n,), generator=generator)]).T
    return torch.stack([padded[i, :, s - dy[i]:s - dy[i] + h, s - dx[i]:s - dx[i] + w] for i in range(n)])


def test_shift_images_moves_content_by_s_pixels():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1.0
    moved = shift_images(x, 2, torch.Generator().manual_seed(0))
    (i, j), = (moved[0, 0] == 1).nonzero().tolist()
    assert max(abs(i - 4), abs(j - 4)) == 2 and moved.sum() == 1


def test_lenet_tolerates_shifts_better_than_a_fully_connected_net_of_the_same_size(digits):
    schedule = dict(epochs=6, lr=4e-3, batch_size=64, scheduler="onecycle",
                    augment=data.Augment(flip=False, shift=2), seed=1, **QUIET)
    cnnlab.seed_everything(1)
    lenet = models.get_model("lenet5", num_classes=10)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 60), nn.ReLU(), nn.Linear(60, 10))
    assert abs(analysis.count_params(lenet) - analysis.count_params(mlp)) < 0.02 * analysis.count_params(mlp)
    moved = shift_images(digits.x_test, 4, torch.Generator().manual_seed(1))
    acc = {}
    for name, model in (("lenet", lenet), ("mlp", mlp)):
        train.fit(model, digits, **schedule)
        acc[name] = (train.evaluate(model, digits)["acc"], train.evaluate(model, (moved, digits.y_test))["acc"])
    assert min(acc["lenet"][0], acc["mlp"][0]) > 0.9  # both learn the centred digits
    assert acc["lenet"][1] > acc["mlp"][1] + 0.05, acc


def test_sigmoid_stays_near_chance_under_sgd_while_relu_and_tanh_learn(digits):
    small = data.load("digits", n_train=300, n_test=50, image_size=32, seed=1)
    final = {}
    for act in (nn.ReLU, nn.Tanh, nn.Sigmoid):
        errors = []
        for seed in (3, 4):
            cnnlab.seed_everything(seed)
            history = train.fit(small_alexnet(act), small, epochs=3, lr=0.01, optimizer="sgd", momentum=0.9,
                                batch_size=16, seed=seed, eval_every=3, **QUIET)
            errors.append(1 - history.train_acc[-1])
        final[act.__name__] = errors
    assert min(final["Sigmoid"]) > max(final["ReLU"] + final["Tanh"]) + 0.2, final


def test_dropout_narrows_the_gap_between_train_and_test_accuracy():
    small = data.load("digits", n_train=120, n_test=200, image_size=32, seed=2)
    gap = {0.0: [], 0.5: []}
    for seed in (5, 6):
        for p in gap:
            cnnlab.seed_everything(seed)
            model = models.get_model("alexnet_cifar", num_classes=10, in_channels=1, width_mult=0.125,
                                     hidden_features=2048, dropout=p)
            train.fit(model, small, epochs=15, lr=2e-3, batch_size=32, seed=seed, eval_every=15, **QUIET)
            gap[p].append(train.evaluate(model, small, split="train")["acc"] - train.evaluate(model, small)["acc"])
    assert sum(gap[0.5]) / 2 < sum(gap[0.0]) / 2, gap
