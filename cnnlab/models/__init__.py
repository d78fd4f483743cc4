"""Reference architectures, one family per file, behind a registry.

    >>> from cnnlab.models import get_model, list_models, model_info
    >>> model = get_model("lenet5", num_classes=10)
    >>> list_models("vgg*", tags="cifar")
    ['vgg11_bn_cifar', 'vgg11_cifar', 'vgg16_bn_cifar', 'vgg16_cifar']
    >>> sorted(model_info("alexnet").tags)
    ['imagenet', 'torchvision']

The conventions every model follows are written down, with a worked example, in
``cnnlab/models/README.md``: the ``ImageClassifier`` base (``forward_features`` / ``forward_head``,
the input check), the registry's metadata (input size, tags), the ``<name>_cifar`` rule for
small-input variants, one argument order, and norm/activation layers passed in.
"""
from ._base import ImageClassifier
from ._registry import KNOWN_TAGS, ModelInfo, UnknownModelError, get_model, list_models, model_info, register_model

# Importing an architecture file registers its factories.
from . import lenet  # noqa: F401,E402  (lenet5)
from . import alexnet  # noqa: F401,E402  (alexnet, alexnet_original, alexnet_cifar)
from . import zfnet  # noqa: F401,E402  (zfnet, zfnet_cifar)
from . import vgg  # noqa: F401,E402  (vgg11 ... vgg19_bn and some of their _cifar variants)
from . import googlenet  # noqa: F401,E402  (googlenet, googlenet_cifar)
from . import inception_v3  # noqa: F401,E402  (inception_v3)
from . import inception_v4  # noqa: F401,E402  (inception_v4)
from . import inception_resnet  # noqa: F401,E402  (inception_resnet_v1, inception_resnet_v2)
from . import resnet  # noqa: F401,E402  (resnet18 ... resnet152, wide_resnet50_2, wide_resnet101_2, ResNet-18 A/B/Root)
from . import resnet_cifar  # noqa: F401,E402  (resnet20 ... resnet110, plain20 ... plain110)
from . import wide_resnet  # noqa: F401,E402  (wrn28_10, wrn16_4: CIFAR Wide ResNets)

__all__ = ["get_model", "list_models", "model_info", "register_model", "ModelInfo", "UnknownModelError",
           "ImageClassifier", "KNOWN_TAGS"]
