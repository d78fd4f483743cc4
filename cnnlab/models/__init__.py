"""Reference architectures, one family per file, behind a registry.

    >>> from cnnlab.models import get_model, list_models
    >>> model = get_model("lenet5", num_classes=10)
    >>> list_models("vgg*")[:3]
    ['vgg11', 'vgg11_bn', 'vgg11_bn_cifar']

Conventions every factory follows: ``num_classes`` and ``in_channels`` arguments (ImageNet models
default to 1000 / 3, the ``*_cifar`` ones to 10 / 3), further keyword arguments passed on to the
model class (``dropout``, ``init_weights``, ``aux_logits``, ``width_mult`` ...), and where
torchvision has the architecture, its name and ``state_dict`` layout.

A built model also states the input it expects, which tests and notebooks read:

* ``model.default_input_size`` -- ``(C, H, W)`` it was designed for, e.g. ``(3, 224, 224)``;
* ``model.min_input_size`` -- ``(H, W)`` of the smallest input it can run on, e.g. ``(32, 32)``
  for VGG; ``forward`` raises a ``ValueError`` naming the model for smaller inputs or a wrong
  number of channels.
"""
from ._registry import UnknownModelError, get_model, list_models, register_model

# Importing an architecture file registers its factories.
from . import lenet  # noqa: F401  (registers lenet5)
from . import alexnet  # noqa: F401  (registers alexnet, alexnet_original, alexnet_cifar)
from . import zfnet  # noqa: F401  (registers zfnet, zfnet_cifar)
from . import vgg  # noqa: F401  (registers vgg11 ... vgg19_bn, vgg11_cifar, vgg16_cifar and their _bn)
from . import googlenet  # noqa: F401  (registers googlenet, googlenet_cifar)

__all__ = ["get_model", "list_models", "register_model", "UnknownModelError"]
