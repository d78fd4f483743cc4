"""Reference architectures, one family per file, behind a registry.

    >>> from cnnlab.models import get_model, list_models
    >>> model = get_model("lenet5", num_classes=10)
"""
from ._registry import UnknownModelError, get_model, list_models, register_model

# Importing an architecture file registers its factories.
from . import lenet  # noqa: F401  (registers lenet5)
from . import alexnet  # noqa: F401  (registers alexnet, alexnet_original, alexnet_cifar)
from . import zfnet  # noqa: F401  (registers zfnet, zfnet_cifar)
from . import vgg  # noqa: F401  (registers vgg11 ... vgg19_bn, vgg11_cifar, vgg16_cifar and their _bn)
from . import googlenet  # noqa: F401  (registers googlenet, googlenet_cifar)

__all__ = ["get_model", "list_models", "register_model", "UnknownModelError"]
