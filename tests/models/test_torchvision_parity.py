"""Every model tagged ``torchvision`` against torchvision's model of the same name.

Adding a torchvision-compatible model to the registry with that tag is all it takes to cover it:
parameters equal torchvision's ``num_params``, MACs within 1 % of its ``_ops`` (torchvision's
"GFLOPS" are MACs), identical ``state_dict`` keys and shapes with a ``strict=True`` load, and the
same outputs after loading torchvision's (randomly filled) weights. The output check runs at a
reduced input size on CPU; at full size it is behind the ``slow`` marker.
"""
from __future__ import annotations

import pytest
import torch
from model_helpers import meta, reduced_size, tv_filled, tv_meta_info

from cnnlab.analysis import count_macs, count_params
from cnnlab.models import list_models

TORCHVISION = list_models(tags="torchvision")
# torchvision's published weights (and so its metadata) come without some training-only heads
# (inception_v3's keep their auxiliary head: its 27,161,264 parameters include it)
WEIGHTS_KWARGS = {"googlenet": {"aux_logits": False}}
# torchvision counts its ops at the weights' crop size
MACS_SIZE = {"inception_v3": (299, 299)}
# torchvision arguments that skip a slow initialisation (the weights are overwritten anyway)
TV_KWARGS = {"googlenet": {"init_weights": False}, "inception_v3": {"init_weights": False}}


def test_there_are_torchvision_models():
    assert {"alexnet", "vgg11", "vgg16_bn", "googlenet"} <= set(TORCHVISION)


@pytest.mark.parametrize("name", TORCHVISION)
def test_params_and_macs_match_torchvision_meta(name):
    model = meta(name, **WEIGHTS_KWARGS.get(name, {}))
    info = tv_meta_info(name)
    assert count_params(model) == info["num_params"]
    size = info.get("min_size", (224, 224))
    size = MACS_SIZE.get(name, (max(224, size[0]), max(224, size[1])))
    macs = count_macs(model, (1, 3, *size))
    ops = info["_ops"] * 1e9
    assert abs(macs / ops - 1) < 0.01, f"{name}: {macs:,} MACs vs torchvision's {ops:,.0f}"


@pytest.mark.parametrize("name", TORCHVISION)
def test_state_dict_keys_and_shapes_match(name):
    ours = meta(name)
    with torch.device("meta"):
        import torchvision
        theirs = torchvision.models.get_model(name, weights=None, **TV_KWARGS.get(name, {}))
    ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    theirs_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours_shapes == theirs_shapes
    result = ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def _same_outputs(name: str, full_size: bool) -> None:
    theirs = tv_filled(name, seed=1, **TV_KWARGS.get(name, {}))
    ours = meta(name)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)  # takes over the tensors
    c, h, w = ours.default_input_size if full_size else reduced_size(name, ours, target=64)
    x = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.abs().max() > 1e-4  # not a trivially small output
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_weights_give_the_same_outputs(name):
    _same_outputs(name, full_size=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_weights_give_the_same_outputs_at_full_size(name):
    _same_outputs(name, full_size=True)
