"""The ordering that lecture 07 (ResNet) asserts, at smaller settings and over several seeds.

Degradation (He et al. 2016, Fig. 1 and 6): a deeper *plain* CIFAR network ends with a higher
training loss than a shallower one, while the residual version of the deep network — the same
layers, parameters and MACs, plus the additions of the shortcuts — ends lower than both. The
lecture trains plain20, plain56 and resnet56 at half width on 1000 digits for 4 epochs; here 256
digits, 3 epochs, two seeds (over seeds 0-2 the final losses were about 1.8, 2.3 and 0.5).
"""
from __future__ import annotations

import pytest
import torch

import cnnlab
from cnnlab import analysis, data, models, train
from cnnlab.models.resnet_cifar import ZeroPadShortcut

ARMS = ("plain20", "plain56", "resnet56")
WIDTH = 0.5  # 8, 16, 32 channels


@pytest.fixture(scope="module")
def digits16():
    return data.load("digits", n_train=256, n_test=64, image_size=16, seed=0)


def build(name: str, ds, seed: int) -> torch.nn.Module:
    cnnlab.seed_everything(seed)
    return models.get_model(name, num_classes=ds.num_classes, in_channels=ds.in_channels, width_mult=WIDTH)


def test_the_arms_differ_only_in_the_shortcuts(digits16):
    plain, residual = build("plain56", digits16, 0), build("resnet56", digits16, 0)
    size = (1, digits16.in_channels, 16, 16)
    assert analysis.count_params(plain) == analysis.count_params(residual)
    assert analysis.count_macs(plain, size) == analysis.count_macs(residual, size)
    # same initial weights under the same seed: option A's shortcuts carry no parameters
    for (name, p), (name_r, r) in zip(plain.state_dict().items(), residual.state_dict().items(), strict=True):
        assert name == name_r and torch.equal(p, r), name
    shortcuts = [m for m in residual.modules() if isinstance(m, ZeroPadShortcut)]
    assert len(shortcuts) == 2 and not any(isinstance(m, ZeroPadShortcut) for m in plain.modules())
    x = torch.randn(4, *size[1:])
    assert not torch.allclose(plain.eval()(x), residual.eval()(x))  # the additions do change the function


@pytest.mark.parametrize("seed", (0, 1))
def test_deeper_plain_trains_worse_and_its_residual_version_does_not(digits16, seed):
    losses = {}
    for name in ARMS:
        history = train.fit(build(name, digits16, seed), digits16, epochs=3, lr=3e-3, batch_size=32, device="cpu",
                            seed=seed, progress=False, plot=False, verbose=False)
        losses[name] = history.train_loss[-1]
    assert losses["plain56"] > losses["plain20"] > losses["resnet56"], losses
