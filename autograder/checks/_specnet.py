"""Networks described as *specs* (plain data), for the open-ended design parts of the exercises.

The student writes a list of layers from a fixed vocabulary. The judge builds the network with this
code (its own installed copy, outside the sandbox), counts parameters and MACs with
``cnnlab.analysis``, trains it with one fixed, seeded recipe on the embedded data and measures the
accuracy on a held-out split; nothing of the student's code runs there, a spec is data. Students
call the same functions through the visible checks to try a design on another split.

Vocabulary (each layer a list or tuple; which names an assignment allows is its choice):

    ("conv", out_channels, kernel_size, stride, padding)   Conv2d (with bias) + ReLU
    ("maxpool", kernel_size, stride[, padding])            max pooling
    ("avgpool", kernel_size, stride[, padding])            average pooling
    ("lrn", size)                                          AlexNet's LRN (the paper's k, alpha, beta)
    ("dropout", p)                                         dropout (active while training only)
    ("inception", ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)   GoogLeNet's module, conv + ReLU
    ("factorized", out_channels, n)                        1×n then n×1 convolution, + ReLU
    ("gap",)                                               global average pooling
    ("linear", out_features)                               fully connected + ReLU (flattens first)
    ("convbn", out_channels, kernel_size, stride, padding) Conv2d (no bias) + BatchNorm + ReLU
    ("residual", out_channels, stride)                     ResNet's basic block (He et al. 2016, Fig. 2):
                                                           two 3×3 conv + BN, identity shortcut, or a
                                                           1×1 conv + BN projection when the shape changes
    ("plain", out_channels, stride)                        the same two 3×3 conv + BN + ReLU, no shortcut
    ("bottleneck", planes, stride)                         ResNet's bottleneck (Fig. 5 right, stride on the
                                                           3×3), 4 × planes out, projection when needed

A final ``Linear(features, num_classes)`` classifier is always appended (its parameters count).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

ARITY = {"conv": (4, 4), "maxpool": (2, 3), "avgpool": (2, 3), "lrn": (1, 1), "dropout": (1, 1),
         "inception": (6, 6), "factorized": (2, 2), "gap": (0, 0), "linear": (1, 1),
         "convbn": (4, 4), "residual": (2, 2), "plain": (2, 2), "bottleneck": (2, 2)}


class SpecError(ValueError):
    """A spec that does not describe a network of the vocabulary; the message says which layer."""


class _Inception(nn.Module):
    """GoogLeNet's module with dimension reductions, conv + bias + ReLU (Szegedy et al. 2015, Fig. 2b)."""

    def __init__(self, c_in: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int) -> None:
        super().__init__()
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.b1 = nn.Sequential(nn.Conv2d(c_in, c1, 1), relu())
        self.b2 = nn.Sequential(nn.Conv2d(c_in, c3r, 1), relu(), nn.Conv2d(c3r, c3, 3, padding=1), relu())
        self.b3 = nn.Sequential(nn.Conv2d(c_in, c5r, 1), relu(), nn.Conv2d(c5r, c5, 5, padding=2), relu())
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c_in, cp, 1), relu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def _int(v: Any, low: int, high: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise SpecError(f"{what} must be an integer in [{low}, {high}], got {v!r}")
    return v


def build(spec: Sequence, allowed: Sequence[str], in_channels: int, image_size: int,
          num_classes: int) -> nn.Module:
    """The network a spec describes, with the classifier appended. Raises ``SpecError``."""
    if not isinstance(spec, (list, tuple)) or not spec:
        raise SpecError(f"the design must be a non-empty list of layers, got {type(spec).__name__}")
    if len(spec) > 40:
        raise SpecError(f"the design has {len(spec)} layers; at most 40 are allowed")
    layers: list[nn.Module] = []
    c, size, flat = in_channels, image_size, False
    for i, layer in enumerate(spec, start=1):
        if not isinstance(layer, (list, tuple)) or not layer or not isinstance(layer[0], str):
            raise SpecError(f"layer {i} is {layer!r}; each layer is a tuple like ('conv', 16, 3, 1, 1)")
        name, args = layer[0], list(layer[1:])
        if name not in ARITY or name not in allowed:
            raise SpecError(f"layer {i}: unknown layer type {name!r} (allowed: {', '.join(allowed)})")
        lo, hi = ARITY[name]
        if not lo <= len(args) <= hi:
            raise SpecError(f"layer {i} {tuple(layer)!r}: {name!r} takes {lo}" + (f"-{hi}" if hi > lo else "")
                            + f" arguments, got {len(args)}")
        where = f"layer {i} {tuple(layer)!r}:"
        if flat and name not in ("linear", "dropout"):
            raise SpecError(f"{where} after a 'linear' layer only 'linear' and 'dropout' may follow")
        if name == "conv":
            out, k, s, p = (_int(args[0], 1, 512, f"{where} out_channels"), _int(args[1], 1, 11, f"{where} kernel"),
                            _int(args[2], 1, 8, f"{where} stride"), _int(args[3], 0, 5, f"{where} padding"))
            layers += [nn.Conv2d(c, out, k, s, p), nn.ReLU(inplace=True)]
            c, size = out, (size + 2 * p - k) // s + 1
        elif name in ("maxpool", "avgpool"):
            k, s = _int(args[0], 1, 8, f"{where} kernel"), _int(args[1], 1, 8, f"{where} stride")
            p = _int(args[2], 0, k // 2, f"{where} padding (at most kernel // 2)") if len(args) > 2 else 0
            layers.append((nn.MaxPool2d if name == "maxpool" else nn.AvgPool2d)(k, s, p))
            size = (size + 2 * p - k) // s + 1
        elif name == "lrn":
            n = _int(args[0], 1, 15, f"{where} size")
            # the paper's alpha multiplies the sum of squares; PyTorch's multiplies their mean
            layers.append(nn.LocalResponseNorm(n, alpha=1e-4 * n, beta=0.75, k=2.0))
        elif name == "dropout":
            p = args[0]
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
                raise SpecError(f"{where} p must be a number in [0, 1), got {p!r}")
            layers.append(nn.Dropout(float(p)))
        elif name == "inception":
            widths = [_int(a, 1, 256, f"{where} width") for a in args]
            layers.append(_Inception(c, *widths))
            c = widths[0] + widths[2] + widths[4] + widths[5]
        elif name == "factorized":
            out, n = _int(args[0], 1, 512, f"{where} out_channels"), _int(args[1], 1, 9, f"{where} n")
            layers += [nn.Conv2d(c, out, (1, n), padding=(0, n // 2)), nn.Conv2d(out, out, (n, 1), padding=(n // 2, 0)),
                       nn.ReLU(inplace=True)]
            c, size = out, size + 2 * (n // 2) - n + 1
        elif name == "convbn":
            out, k, s, p = (_int(args[0], 1, 512, f"{where} out_channels"), _int(args[1], 1, 11, f"{where} kernel"),
                            _int(args[2], 1, 8, f"{where} stride"), _int(args[3], 0, 5, f"{where} padding"))
            layers += [nn.Conv2d(c, out, k, s, p, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            c, size = out, (size + 2 * p - k) // s + 1
        elif name in ("residual", "plain", "bottleneck"):
            out, s = _int(args[0], 1, 512, f"{where} out_channels"), _int(args[1], 1, 2, f"{where} stride")
            layers.append(_ResBlock(name, c, out, s))
            c, size = layers[-1].out_channels, (size - 1) // s + 1
        elif name == "gap":
            layers += [nn.AdaptiveAvgPool2d(1)]
            size = 1
        elif name == "linear":
            out = _int(args[0], 1, 4096, f"{where} out_features")
            if not flat:
                layers.append(nn.Flatten())
                c, flat = c * size * size, True
            layers += [nn.Linear(c, out), nn.ReLU(inplace=True)]
            c = out
        if size < 1:
            raise SpecError(f"{where} the feature map is empty after this layer")
    if not flat:
        layers.append(nn.Flatten())
        c = c * size * size
    layers.append(nn.Linear(c, num_classes))
    return nn.Sequential(*layers)


@dataclass
class Result:
    params: int
    macs: int
    accuracy: float  # on the held-out split, in [0, 1]
    cpu_seconds: float


_DATA: dict = {}


def dataset(name: str, image_size: int, n_train: int | None = None, split_seed: int = 0, **options):
    """The embedded data set, loaded once per process; ``split_seed`` chooses the train/test split."""
    key = (name, image_size, n_train, split_seed, tuple(sorted(options.items())))
    if key not in _DATA:
        from cnnlab import data

        _DATA[key] = data.load(name, image_size=image_size, n_train=n_train, seed=split_seed, **options)
    return _DATA[key]


def evaluate(spec: Sequence, allowed: Sequence[str], data_name: str = "digits", image_size: int = 16,
             n_train: int | None = None, epochs: int = 10, batch_size: int = 64, lr: float = 3e-3,
             seed: int = 0, max_macs: int | None = None, max_params: int | None = None,
             cpu_limit: float = 30.0, split_seed: int = 0, data_options: dict | None = None) -> Result:
    """Build, count and (when within the budgets) train ``spec``; returns its numbers.

    Training: Adam(lr), cross-entropy, ``epochs`` passes over the training split in shuffled
    mini-batches, all seeded by ``seed``; the accuracy is measured on the held-out split.
    A design over ``max_macs``/``max_params`` is not trained (accuracy 0); one that runs past
    ``cpu_limit`` seconds of process CPU time stops training where it is."""
    data = dataset(data_name, image_size, n_train, split_seed, **(data_options or {}))
    torch.manual_seed(seed)
    model = build(spec, allowed, data.in_channels, image_size, data.num_classes)
    from cnnlab import analysis

    params = analysis.count_params(model)
    macs = analysis.count_macs(model, (1, data.in_channels, image_size, image_size))
    if (max_macs is not None and macs > max_macs) or (max_params is not None and params > max_params):
        return Result(params, macs, 0.0, 0.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is as fast, the same everywhere, and CPU time is honest
    try:
        return Result(params, macs, *_train(model, data, epochs, batch_size, lr, seed, cpu_limit))
    finally:
        torch.set_num_threads(threads)


def _train(model: nn.Module, data, epochs: int, batch_size: int, lr: float, seed: int,
           cpu_limit: float) -> tuple[float, float]:
    """(held-out accuracy, CPU seconds) after the fixed recipe."""
    start = time.process_time()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    x, y = data.x_train, data.y_train
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if time.process_time() - start > cpu_limit:
            break
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(data.x_test[i:i + 256]).argmax(1) for i in range(0, len(data.y_test), 256)])
    acc = (pred == data.y_test).double().mean().item()
    if not math.isfinite(acc):
        acc = 0.0
    return acc, time.process_time() - start


@dataclass(frozen=True)
class DesignTask:
    """One open-ended design part: the layer vocabulary it allows, its budget, the held-out accuracy
    it requires and the one training recipe every design gets (16×16 "shapes", 1,500 training
    images, 10 epochs of Adam). The judge scores with ``verdict`` on its own split (1); the visible
    check tries a design with ``try_design`` on the notebook's split (0)."""

    allowed: tuple[str, ...]
    max_params: int
    max_macs: int
    threshold: float
    required: str | None = None  # a layer kind the design must contain, e.g. "inception"
    recipe: tuple = (("data_name", "shapes"), ("image_size", 16), ("n_train", 1500), ("epochs", 10),
                     ("batch_size", 64), ("lr", 3e-3), ("seed", 0), ("cpu_limit", 30.0))

    def measure(self, spec: Any, split_seed: int = 1) -> Result:
        """Build and count ``spec`` without training it (accuracy 0): all the budget check needs.
        ``SpecError`` says what is wrong with it."""
        if not isinstance(spec, (list, tuple)):
            raise SpecError(f"DESIGN must be a list of layers, got {type(spec).__name__}")
        if self.required and not any(isinstance(layer, (list, tuple)) and layer and layer[0] == self.required
                                     for layer in spec):
            raise SpecError(f"DESIGN must contain at least one ('{self.required}', ...) layer")
        recipe = dict(self.recipe)
        size = recipe["image_size"]
        data = dataset(recipe["data_name"], size, recipe["n_train"], split_seed, difficulty=0.0)  # cached
        model = build(spec, self.allowed, data.in_channels, size, data.num_classes)
        from cnnlab import analysis

        return Result(analysis.count_params(model), analysis.count_macs(model, (1, data.in_channels, size, size)),
                      0.0, 0.0)

    def evaluate(self, spec: Any, split_seed: int) -> Result:
        """Build, count and (within the budget) train ``spec``; ``SpecError`` says what is wrong with it."""
        self.measure(spec, split_seed)  # a malformed design is refused before any training
        return evaluate(spec, self.allowed, max_params=self.max_params, max_macs=self.max_macs,
                        split_seed=split_seed, data_options={"difficulty": 0.0}, **dict(self.recipe))

    def over_budget(self, result: Result) -> bool:
        return result.params > self.max_params or result.macs > self.max_macs

    def budget_text(self, result: Result) -> str:
        return (f"{result.params:,} parameters and {result.macs:,} MACs; the budget is {self.max_params:,} "
                f"and {self.max_macs:,}")

    def verdict(self, spec: Any, check: str, split_seed: int = 1) -> tuple[bool, str]:
        """The judge's score of one design check: ``"budget"`` or ``"accuracy"`` (on ``split_seed``)."""
        try:  # the budget check only counts; the accuracy check trains
            result = self.measure(spec, split_seed) if check == "budget" else self.evaluate(spec, split_seed)
        except SpecError as err:
            return False, f"DESIGN: {err}"
        except (TypeError, ValueError) as err:
            return False, f"DESIGN is not a list of layers: {err}"
        if check == "budget":
            return not self.over_budget(result), f"your network has {self.budget_text(result)}"
        if self.over_budget(result):
            return False, "over the budget: not trained"
        return result.accuracy >= self.threshold, (f"held-out accuracy {result.accuracy:.1%} after the fixed "
                                                   f"training; required {self.threshold:.0%}")

    def try_design(self, spec: Any, split_seed: int = 0) -> Result:
        """What a student's visible check runs: the grader's recipe on the notebook's own split.
        Raises ``SpecError`` for a malformed spec or one over the budget."""
        result = self.evaluate(spec, split_seed)
        if self.over_budget(result):
            raise SpecError(f"{self.budget_text(result)}: over it, so not trained")
        return result


# --- residual layer kinds (ex04): ResNet's blocks, He et al. 2016 ---------------------------------------


class _ResBlock(nn.Module):
    """``kind`` "residual": basic block (3×3, 3×3) with shortcut; "plain": the same without it;
    "bottleneck": 1×1, 3×3 (stride here, torchvision's layout), 1×1 to 4 × ``planes``, with shortcut.
    Every conv is bias-free and followed by BN; the shortcut is the identity, or a 1×1 conv + BN
    projection (the paper's option B) when the stride or the width changes; ReLU after the addition."""

    def __init__(self, kind: str, c_in: int, planes: int, stride: int) -> None:
        super().__init__()
        self.kind = kind
        self.out_channels = planes * 4 if kind == "bottleneck" else planes
        if kind == "bottleneck":
            widths = [(c_in, planes, 1, 1), (planes, planes, 3, stride), (planes, self.out_channels, 1, 1)]
        else:
            widths = [(c_in, planes, 3, stride), (planes, planes, 3, 1)]
        body: list[nn.Module] = []
        for i, (a, b, k, s) in enumerate(widths):
            body += [nn.Conv2d(a, b, k, s, k // 2, bias=False), nn.BatchNorm2d(b)]
            if i < len(widths) - 1:
                body.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*body)
        self.shortcut = None
        if kind != "plain" and (stride != 1 or c_in != self.out_channels):
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, self.out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.kind != "plain":
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return F.relu(out)


def weight_layers(spec: Sequence) -> int:
    """Weight layers on the main path, counted as the ResNet paper names its networks (ResNet-18 is
    1 + 8 × 2 + 1): one per "conv"/"convbn"/"factorized"/"linear", two per "residual"/"plain" block,
    three per "bottleneck", one for the final classifier; pooling, dropout and "inception" count 0,
    projection shortcuts too. Assumes ``spec`` was accepted by ``build``."""
    per = {"conv": 1, "convbn": 1, "factorized": 1, "linear": 1, "residual": 2, "plain": 2, "bottleneck": 3}
    return 1 + sum(per.get(layer[0], 0) for layer in spec)
