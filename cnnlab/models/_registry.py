"""The model registry behind ``get_model`` and ``list_models``.

Modelled on torchvision's ``models/_api.py``: a plain dict from name to factory, filled by the
``register_model`` decorator when each architecture file is imported.
"""
from __future__ import annotations

import difflib
import fnmatch
from typing import Callable

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


class UnknownModelError(KeyError):
    """Raised by ``get_model`` for a name that no architecture file registered."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0])


def register_model(name: str | None = None) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that files a model factory under ``name`` (default: the function's name)."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or fn.__name__
        if key in _MODELS:
            raise ValueError(f"a model named {key!r} is already registered (by {_MODELS[key].__module__})")
        _MODELS[key] = fn
        return fn

    return wrap


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted names of all registered models, optionally filtered by an fnmatch ``pattern``
    such as ``"resnet*"``."""
    names = sorted(_MODELS)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    return names


def get_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name``; ``kwargs`` go to its factory
    (e.g. ``num_classes=10``, ``in_channels=1``)."""
    if not isinstance(name, str):
        raise TypeError(f"model name must be a string, got {type(name).__name__}")
    try:
        factory = _MODELS[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower(), _MODELS, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}{hint} (cnnlab.models.list_models() gives all {len(_MODELS)} names)"
        ) from None
    return factory(**kwargs)
