"""Every registered model, and the registry itself (as timm's tests/test_models.py does).

A model states the input it is built for as ``model.default_input_size`` -- ``(C, H, W)`` without
the batch, e.g. ``(3, 224, 224)`` -- and, where the network cannot run on smaller images,
``model.min_input_size`` -- ``(H, W)``. Models added later are covered by these tests automatically.

Building a big model on the ``meta`` device costs nothing (no memory, no initialisation) and still
runs ``forward`` to check shapes, so the natural-size checks run there. The numeric forward pass on
real tensors uses a smaller input for models above ``MAX_FWD_MACS`` at their natural size that
declare how small an input they take.
"""
from __future__ import annotations

import pytest
import torch

from cnnlab.analysis import count_macs
from cnnlab.models import UnknownModelError, get_model, list_models, register_model
from cnnlab.models import _registry

# For models that do not (yet) carry a ``default_input_size`` attribute.
MAX_FWD_MACS = 1e9  # per image; above this (and given a min_input_size) the real forward runs on
REDUCED_SIZE = 32  # a REDUCED_SIZE×REDUCED_SIZE input, or min_input_size if that is larger

ALL_MODELS = list_models()


def input_size_of(name: str, model: torch.nn.Module) -> tuple[int, int, int]:
    size = getattr(model, "default_input_size", None)
    assert size is not None, f"{name}: set model.default_input_size = (C, H, W) in its constructor"
    assert len(size) == 3 and all(isinstance(v, int) and v > 0 for v in size), f"{name}: bad default_input_size {size}"
    return tuple(size)


def meta_model(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return get_model(name, **kwargs).eval()


@pytest.mark.parametrize("name", ALL_MODELS)
def test_model_shapes_at_natural_size(name):
    """Shape-only forward (meta device) at the natural size, with the default and a custom head/stem."""
    model = meta_model(name)
    c, h, w = input_size_of(name, model)
    out = model(torch.empty(2, c, h, w, device="meta"))
    num_classes = out.shape[-1]
    assert tuple(out.shape) == (2, num_classes), f"{name}: output shape {tuple(out.shape)}"

    model = meta_model(name, num_classes=7, in_channels=c + 1)
    out = model(torch.empty(2, c + 1, h, w, device="meta"))
    assert tuple(out.shape) == (2, 7), f"{name}(num_classes=7, in_channels={c + 1}): output shape {tuple(out.shape)}"


@pytest.mark.parametrize("name", ALL_MODELS)
def test_model_forward(name):
    """Real forward pass of a batch of 2 in eval mode: right shape, nothing NaN or infinite."""
    torch.manual_seed(0)
    shapes = meta_model(name)
    c, h, w = input_size_of(name, shapes)
    if hasattr(shapes, "min_input_size") and count_macs(shapes, (1, c, h, w)) > MAX_FWD_MACS:
        low_h, low_w = shapes.min_input_size
        h, w = min(h, max(low_h, REDUCED_SIZE)), min(w, max(low_w, REDUCED_SIZE))
    expected = tuple(shapes(torch.empty(2, c, h, w, device="meta")).shape)
    model = get_model(name).eval()
    with torch.no_grad():
        out = model(torch.randn(2, c, h, w))
    assert isinstance(out, torch.Tensor), f"{name}: eval-mode forward returned {type(out).__name__}"
    assert tuple(out.shape) == expected and len(expected) == 2, \
        f"{name}: output shape {tuple(out.shape)} on input {(2, c, h, w)}, expected {expected}"
    assert torch.isfinite(out).all(), f"{name}: NaN or inf in the output"


@pytest.mark.parametrize("name", [n for n in ALL_MODELS if hasattr(meta_model(n), "min_input_size")])
def test_min_input_size(name):
    """The smallest input the model claims to take runs; one pixel less is a clear ValueError."""
    model = meta_model(name)
    c = input_size_of(name, model)[0]
    h, w = model.min_input_size
    assert tuple(model(torch.empty(1, c, h, w, device="meta")).shape)[0] == 1
    if h > 1:
        with pytest.raises(ValueError, match=f"{name} needs inputs of at least {h}×{w}, got {h - 1}×{w}"):
            model(torch.empty(1, c, h - 1, w, device="meta"))


# --- the registry -------------------------------------------------------------------------------

def test_list_models_sorted_and_filtered():
    assert ALL_MODELS == sorted(ALL_MODELS) and len(set(ALL_MODELS)) == len(ALL_MODELS)
    vggs = list_models("vgg*")
    assert vggs and all(n.startswith("vgg") for n in vggs)
    assert {"vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"} <= set(vggs)
    assert set(list_models("*_cifar")) >= {"alexnet_cifar", "zfnet_cifar", "vgg11_cifar", "vgg16_cifar", "googlenet_cifar"}
    assert list_models("no-such-model*") == []


@pytest.mark.parametrize("typo, meant", [("alexnett", "alexnet"), ("VGG16", "vgg16"), ("googlenett", "googlenet")])
def test_unknown_name_suggests_close_matches(typo, meant):
    with pytest.raises(UnknownModelError, match=f"unknown model '{typo}'.*'{meant}'"):
        get_model(typo)


def test_unknown_name_is_a_key_error_with_a_readable_message():
    with pytest.raises(KeyError) as info:
        get_model("resnet-18")
    message = str(info.value)
    assert message.startswith("unknown model 'resnet-18'") and "list_models()" in message
    if "resnet18" in ALL_MODELS:
        assert "'resnet18'" in message


def test_duplicate_registration_raises():
    name = "_test_duplicate_model"
    try:
        register_model(name)(lambda **kwargs: torch.nn.Identity())
        with pytest.raises(ValueError, match="already registered"):
            register_model(name)(lambda **kwargs: torch.nn.Identity())
        with pytest.raises(ValueError, match="already registered"):
            register_model("alexnet")(lambda **kwargs: torch.nn.Identity())
    finally:
        _registry._MODELS.pop(name, None)
    assert name not in list_models()


def test_get_model_passes_kwargs_and_rejects_non_strings():
    model = meta_model("alexnet", num_classes=10, dropout=0.1)
    assert model.classifier[-1].out_features == 10 and model.classifier[0].p == 0.1
    with pytest.raises(TypeError):
        get_model(None)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_factory_has_a_one_line_docstring(name):
    """STYLE.md: each model factory has a one-line docstring naming the variant and paper."""
    doc = (_registry._MODELS[name].__doc__ or "").strip()
    assert doc and "\n" not in doc, f"{name}: factory docstring should be one line, got {doc!r}"
