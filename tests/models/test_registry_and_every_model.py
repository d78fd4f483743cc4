"""Every registered model, and the registry itself (as timm's tests/test_models.py does).

Models added later are covered by these tests automatically: each check is parametrised over
``list_models()``. Shapes are checked on the ``meta`` device (free); the numeric forward pass runs on
real CPU tensors filled cheaply (``model_helpers.filled``) at a reduced input size. Full-size forward
passes with each model's own initialisation are behind the ``slow`` marker (``pytest -m slow``).
"""
from __future__ import annotations

import pytest
import torch
from model_helpers import filled, meta, reduced_size

from cnnlab.analysis import count_params
from cnnlab.models import (
    KNOWN_TAGS,
    ImageClassifier,
    UnknownModelError,
    get_model,
    list_models,
    model_info,
    register_model,
)
from cnnlab.models import _registry

ALL_MODELS = list_models()


@pytest.mark.parametrize("name", ALL_MODELS)
def test_follows_the_convention(name):
    """The base class, the registry's input size, the name in messages, features + head = forward."""
    info = model_info(name)
    model = meta(name)
    assert isinstance(model, ImageClassifier), f"{name}: build it on cnnlab.models.ImageClassifier"
    assert model.default_input_size == info.input_size, f"{name}: registry says {info.input_size}"
    assert model.model_name == name
    assert info.tags and info.tags <= KNOWN_TAGS
    if "cifar" in info.tags:
        assert info.input_size[1:] == (32, 32)
    c, h, w = info.input_size
    x = torch.empty(2, c, h, w, device="meta")
    features = model.forward_features(x)
    assert features.dim() == 4 and features.shape[0] == 2
    assert tuple(model.forward_head(features).shape) == tuple(model(x).shape) == (2, model.num_classes)
    pre = model.forward_head(features, pre_logits=True)
    assert pre.dim() == 2 and pre.shape[0] == 2


@pytest.mark.parametrize("name", ALL_MODELS)
def test_custom_head_and_stem(name):
    c, h, w = model_info(name).input_size
    model = meta(name, num_classes=7, in_channels=c + 1)
    assert tuple(model(torch.empty(2, c + 1, h, w, device="meta")).shape) == (2, 7)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_forward_is_finite(name):
    """A real forward pass of a batch of 2 in eval mode at a reduced size: right shape, all finite."""
    model = filled(name)
    c, h, w = reduced_size(name, model)
    with torch.no_grad():
        out = model(torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(0)))
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2, model.num_classes)
    assert torch.isfinite(out).all(), f"{name}: NaN or inf in the output"


@pytest.mark.parametrize("name", [n for n in ALL_MODELS if "cifar" in model_info(n).tags or "digits" in model_info(n).tags])
def test_small_models_train_with_their_own_initialisation(name):
    """The models lectures train: their own init, a training step at the natural size, finite grads."""
    torch.manual_seed(0)
    kwargs = {"width_mult": 0.25} if "adapted" in model_info(name).tags else {}
    model = get_model(name, **kwargs).train()
    c, h, w = model.default_input_size
    out = model(torch.randn(4, c, h, w))
    out = out[0] if isinstance(out, tuple) else out
    out.logsumexp(1).sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_MODELS)
def test_full_size_forward_with_own_initialisation(name):
    torch.manual_seed(0)
    model = get_model(name).eval()
    c, h, w = model.default_input_size
    with torch.no_grad():
        out = model(torch.randn(2, c, h, w))
    assert tuple(out.shape) == (2, model.num_classes) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ALL_MODELS)
def test_input_errors_name_the_model(name):
    """Wrong channels, a missing batch axis, and the smallest input the model claims to take: it
    runs, one pixel less is a clear ValueError, and the claim is tight (without the check, one
    pixel less fails inside a layer)."""
    model = meta(name)
    c, h, w = model.default_input_size
    with pytest.raises(ValueError, match=f"^{name} expects {c} input channels, got {c + 1}$"):
        model(torch.empty(1, c + 1, h, w, device="meta"))
    with pytest.raises(ValueError, match=rf"^{name} expects a batch of images of shape \(N, C, H, W\)"):
        model(torch.empty(c, h, w, device="meta"))
    low_h, low_w = model.min_input_size
    assert tuple(model(torch.empty(1, c, low_h, low_w, device="meta")).shape)[0] == 1
    if low_h > 1:
        with pytest.raises(ValueError, match=f"^{name} needs inputs of at least {low_h}×{low_w}, got {low_h - 1}×{low_w}$"):
            model(torch.empty(1, c, low_h - 1, low_w, device="meta"))
        model.min_input_size = (1, 1)
        # PyTorch's layers raise RuntimeError; cnnlab's checked convolutions a ValueError
        with pytest.raises((RuntimeError, ValueError)):
            model(torch.empty(1, c, low_h - 1, low_w - 1, device="meta"))


# --- the small-input rule ------------------------------------------------------------------------

ADAPTED = list_models(tags="adapted")


@pytest.mark.parametrize("name", ADAPTED)
def test_adapted_variant_is_the_same_class_with_a_small_stem_and_width(name):
    """``<name>_cifar`` = the ImageNet model's class with a 32×32 stem and ``width_mult``."""
    assert name.endswith("_cifar") and "cifar" in model_info(name).tags
    base = name.removesuffix("_cifar")
    assert base in ALL_MODELS, f"{name}: no registered {base} to adapt"
    assert type(meta(name)) is type(meta(base))
    full, quarter = count_params(meta(name)), count_params(meta(name, width_mult=0.25))
    assert quarter < full / 8
    with pytest.raises(ValueError, match="width_mult must be a positive number"):
        get_model(name, width_mult=0)


# --- the registry -------------------------------------------------------------------------------

def test_list_models_sorted_and_filtered():
    assert ALL_MODELS == sorted(ALL_MODELS) and len(set(ALL_MODELS)) == len(ALL_MODELS)
    vggs = list_models("vgg*")
    assert {"vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"} <= set(vggs)
    assert all(n.startswith("vgg") for n in vggs)
    assert list_models("no-such-model*") == []
    tv = list_models(tags="torchvision")
    assert {"alexnet", "vgg16", "googlenet"} <= set(tv) and "alexnet_original" not in tv
    assert set(list_models(tags=["cifar", "adapted"])) == set(ADAPTED) >= {"vgg11_cifar", "googlenet_cifar"}
    assert set(list_models("vgg*", tags="cifar")) == {n for n in vggs if n.endswith("_cifar")}
    assert "alexnet" not in list_models(exclude_tags="torchvision")
    assert set(list_models(tags="imagenet")) | set(list_models(tags="cifar")) | set(list_models(tags="digits")) == set(ALL_MODELS)
    with pytest.raises(ValueError, match="unknown tags"):
        list_models(tags="imagnet")


def test_model_info_is_metadata_without_building():
    info = model_info("vgg16_cifar")
    assert info.input_size == (3, 32, 32) and info.tags == {"cifar", "adapted"}
    assert "Simonyan" in info.paper
    with pytest.raises(UnknownModelError):
        model_info("vgg17")


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


def test_duplicate_registration_and_unknown_tags_raise():
    name = "_test_duplicate_model"
    try:
        register_model(name, tags=("cifar",))(lambda **kwargs: torch.nn.Identity())
        with pytest.raises(ValueError, match="already registered"):
            register_model(name)(lambda **kwargs: torch.nn.Identity())
        with pytest.raises(ValueError, match="already registered"):
            register_model("alexnet")(lambda **kwargs: torch.nn.Identity())
    finally:
        _registry._MODELS.pop(name, None)
    assert name not in list_models()
    with pytest.raises(ValueError, match="unknown tags"):
        register_model("_x", tags=("cifar10",))


def test_get_model_passes_kwargs_and_rejects_non_strings():
    model = meta("alexnet", num_classes=10, dropout=0.1)
    assert model.classifier[-1].out_features == 10 and model.classifier[0].p == 0.1
    with pytest.raises(TypeError):
        get_model(None)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1, got 0"):
        get_model("lenet5", num_classes=0)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_factory_has_a_one_line_docstring(name):
    """STYLE.md: each model factory has a one-line docstring naming the variant and paper."""
    doc = model_info(name).paper
    assert doc and "\n" not in doc, f"{name}: factory docstring should be one line, got {doc!r}"
