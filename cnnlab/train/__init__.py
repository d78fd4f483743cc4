"""Training and evaluation: ``fit`` a model on a data set, ``evaluate`` it, keep a ``History``.

    >>> from cnnlab.data import load
    >>> from cnnlab.models import get_model
    >>> from cnnlab.train import fit
    >>> history = fit(get_model("lenet5"), load("digits"), epochs=5)
    >>> history.best("test_acc"), history.plot()

The same ``fit`` runs on a laptop CPU, on one GPU (data held on the device, mixed precision,
channels-last) and under ``torchrun`` on many GPUs and machines (``DistributedDataParallel``);
it saves checkpoints that resume exactly. From a shell: ``python -m cnnlab.train --help``.

Modules: ``loop`` (fit, evaluate), ``setup`` (checks, loaders, optimizer, schedule),
``schedules`` (warm-up + cosine as a function of the step), ``distributed`` (torchrun, sharded loaders), ``checkpoint`` (save, resume), ``display``
(progress, live figure), ``history`` (History), ``__main__`` (the command).
"""
from .history import History
from .loop import accuracy, evaluate, fit
from .schedules import warmup_cosine, warmup_cosine_lr
from .setup import OPTIMIZERS, SCHEDULERS

__all__ = ["History", "fit", "evaluate", "accuracy", "OPTIMIZERS", "SCHEDULERS", "warmup_cosine",
           "warmup_cosine_lr"]
