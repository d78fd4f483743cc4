"""cnnlab: reference code for a course on convolutional network architectures.

Modules: ``models`` (architectures behind ``get_model``), ``layers`` (shared blocks), ``losses``
(label smoothing), ``data`` (offline-first data sets), ``train`` (``fit``/``evaluate``, schedules),
``analysis`` (parameters, MACs, receptive fields), ``viz`` (plots), ``widgets`` (interactive
explorers), ``scratch`` (PyTorch operations written out for the lectures).
"""
from .device import get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["get_device", "seed_everything", "__version__"]
