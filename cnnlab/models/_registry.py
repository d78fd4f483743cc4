"""The model registry behind ``get_model``, ``list_models`` and ``model_info``.

Modelled on torchvision's ``models/_api.py``: a plain dict from name to factory, filled by the
``register_model`` decorator when each architecture file is imported. Each entry carries metadata
that can be read without building the model: the input size it was designed for and tags.

Tags (``list_models(tags=...)`` keeps the names that have all of them):

* ``imagenet`` -- designed for ImageNet-sized inputs (224×224 or so);
* ``cifar`` -- designed for, or adapted to, 32×32 inputs;
* ``adapted`` -- a ``<name>_cifar`` small-input variant of an ImageNet architecture (same class,
  32×32 stem, ``width_mult``); networks that the papers built for CIFAR keep their paper names;
* ``torchvision`` -- torchvision has the model under this name: same ``state_dict`` keys and
  shapes, its weights load with ``strict=True`` and give the same outputs (tested);
* ``paper`` -- the configuration of the paper itself where that differs from the common port
  (e.g. ``alexnet_original``).
"""
from __future__ import annotations

import difflib
import fnmatch
import functools
from dataclasses import dataclass, field
from typing import Callable, Iterable

from torch import nn

KNOWN_TAGS = frozenset({"imagenet", "cifar", "adapted", "torchvision", "timm", "paper", "digits"})


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model without building it."""
    name: str
    factory: Callable[..., nn.Module] = field(repr=False)
    input_size: tuple[int, int, int]  # (C, H, W) it was designed for
    tags: frozenset[str]
    paper: str  # the factory's one-line docstring: variant and paper


_MODELS: dict[str, ModelInfo] = {}


class UnknownModelError(KeyError):
    """Raised by ``get_model`` for a name that no architecture file registered."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0])


def register_model(name: str | None = None, *, input_size: tuple[int, int, int] = (3, 224, 224),
                   tags: Iterable[str] = ()) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that files a model factory under ``name`` (default: the function's name), with the
    ``input_size`` ``(C, H, W)`` it is designed for and its ``tags`` (see the module docstring).
    The registered factory names the models it builds (``model.model_name``), for error messages."""
    tags = frozenset(tags)
    unknown = tags - KNOWN_TAGS
    if unknown:
        raise ValueError(f"unknown tags {sorted(unknown)}; known: {sorted(KNOWN_TAGS)}")

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or fn.__name__
        if key in _MODELS:
            raise ValueError(f"a model named {key!r} is already registered (by {_MODELS[key].factory.__module__})")

        @functools.wraps(fn)
        def factory(*args, **kwargs) -> nn.Module:
            model = fn(*args, **kwargs)
            if hasattr(model, "model_name"):
                model.model_name = key
            return model

        _MODELS[key] = ModelInfo(key, factory, tuple(input_size), tags, (fn.__doc__ or "").strip())
        return factory

    return wrap


def _as_tags(tags: str | Iterable[str] | None) -> frozenset[str]:
    if tags is None:
        return frozenset()
    tags = frozenset([tags] if isinstance(tags, str) else tags)
    unknown = tags - KNOWN_TAGS
    if unknown:
        raise ValueError(f"unknown tags {sorted(unknown)}; known: {sorted(KNOWN_TAGS)}")
    return tags


def list_models(pattern: str | None = None, tags: str | Iterable[str] | None = None,
                exclude_tags: str | Iterable[str] | None = None) -> list[str]:
    """Sorted names of the registered models, optionally only those matching an fnmatch ``pattern``
    (``"resnet*"``), carrying every tag in ``tags`` (``"torchvision"``, ``["cifar", "adapted"]``)
    and none in ``exclude_tags``."""
    wanted, unwanted = _as_tags(tags), _as_tags(exclude_tags)
    return sorted(n for n, info in _MODELS.items()
                  if (pattern is None or fnmatch.fnmatch(n, pattern))
                  and wanted <= info.tags and not unwanted & info.tags)


def _lookup(name: str) -> ModelInfo:
    if not isinstance(name, str):
        raise TypeError(f"model name must be a string, got {type(name).__name__}")
    try:
        return _MODELS[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower(), _MODELS, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}{hint} (cnnlab.models.list_models() gives all {len(_MODELS)} names)"
        ) from None


def model_info(name: str) -> ModelInfo:
    """Registry metadata of ``name`` (input size, tags, paper) without building the model."""
    return _lookup(name)


def get_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name``; ``kwargs`` go to its factory
    (e.g. ``num_classes=10``, ``in_channels=1``, ``width_mult=0.25``)."""
    return _lookup(name).factory(**kwargs)
