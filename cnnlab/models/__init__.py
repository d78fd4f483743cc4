"""Reference architectures, one family per file, behind a registry.

    >>> from cnnlab.models import get_model, list_models
    >>> model = get_model("lenet5", num_classes=10)
"""
from ._registry import UnknownModelError, get_model, list_models, register_model

# Importing an architecture file registers its factories.
from . import lenet  # noqa: F401  (registers lenet5)

__all__ = ["get_model", "list_models", "register_model", "UnknownModelError"]
