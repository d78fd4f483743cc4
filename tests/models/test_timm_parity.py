"""Every model tagged ``timm`` against timm's model of the same name (the reference: timm 1.0.x,
built with ``pretrained=False``, nothing downloaded), as test_torchvision_parity.py does for
torchvision: identical ``state_dict`` keys and shapes with a ``strict=True`` load, equal parameter
counts and MACs, and the same outputs and features after loading timm's (randomly filled) weights.
The output check runs at a reduced input size on CPU; at full size it is behind the ``slow`` marker.
"""
from __future__ import annotations

import pytest
import timm
import torch
from model_helpers import meta, reduced_size, timm_filled

from cnnlab.analysis import count_macs, count_params
from cnnlab.models import list_models

TIMM = list_models(tags="timm")


def test_there_are_timm_models_and_the_reference_is_timm_1_0():
    assert {"inception_v4", "inception_resnet_v2"} <= set(TIMM)
    assert timm.__version__.startswith("1.0."), f"the reference is timm 1.0.x, got {timm.__version__}"


@pytest.mark.parametrize("name", TIMM)
def test_state_dict_params_and_macs_match_timm(name):
    with torch.device("meta"):
        theirs = timm.create_model(name, pretrained=False)
    ours = meta(name)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)
    assert count_params(ours) == count_params(theirs)
    size = (1, *ours.default_input_size)
    assert count_macs(ours, size) == count_macs(theirs, size)


def _same_outputs(name: str, full_size: bool) -> None:
    theirs = timm_filled(name)
    ours = meta(name)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)  # takes over the tensors
    c, h, w = ours.default_input_size if full_size else reduced_size(name, ours, target=80)
    x = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = theirs(x)
        assert torch.isfinite(expected).all() and expected.std() > 0
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(ours.forward_features(x), theirs.forward_features(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", TIMM)
def test_timm_weights_give_the_same_outputs(name):
    _same_outputs(name, full_size=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", TIMM)
def test_timm_weights_give_the_same_outputs_at_full_size(name):
    _same_outputs(name, full_size=True)
