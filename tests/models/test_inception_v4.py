"""Inception-v4 (Szegedy, Ioffe, Vanhoucke & Alemi, 2017): the grid sizes of Figs. 3-9 and Reduction-A's
Table 1 widths. Parity with timm's ``inception_v4`` (keys, parameters, MACs, outputs): test_timm_parity.py."""
from __future__ import annotations

import pytest
import torch
from model_helpers import meta
from torch import nn

from cnnlab.models.inception_v4 import REDUCTION_A, InceptionA, InceptionB, InceptionC, ReductionA, ReductionB


def grid_sizes(model: nn.Module, layers: dict[str, nn.Module], size: int = 299) -> dict[str, tuple[int, ...]]:
    """Output shapes (C, H, W) of the named layers in a forward pass on the meta device."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, key=key: shapes.__setitem__(key, tuple(out.shape[1:])))
             for key, m in layers.items()]
    try:
        model(torch.empty(1, 3, size, size, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return shapes


def test_inception_v4_grid_sizes_follow_the_paper():
    """Figs. 3 and 9: the stem gives 35×35×384, Reduction-A 17×17×1024, Reduction-B 8×8×1536."""
    model = meta("inception_v4")
    f = model.features
    shapes = grid_sizes(model, {"conv1": f[0], "conv2": f[1], "conv3": f[2], "mixed3a": f[3], "mixed4a": f[4],
                                 "stem": f[5], "A": f[9], "reduction_a": f[10], "B": f[17],
                                 "reduction_b": f[18], "C": f[21]})
    assert shapes == {"conv1": (32, 149, 149), "conv2": (32, 147, 147), "conv3": (64, 147, 147),
                      "mixed3a": (160, 73, 73), "mixed4a": (192, 71, 71), "stem": (384, 35, 35),
                      "A": (384, 35, 35), "reduction_a": (1024, 17, 17), "B": (1024, 17, 17),
                      "reduction_b": (1536, 8, 8), "C": (1536, 8, 8)}
    kinds = [type(m) for m in f[6:]]
    assert kinds == [InceptionA] * 4 + [ReductionA] + [InceptionB] * 7 + [ReductionB] + [InceptionC] * 3


def test_reduction_a_widths_are_table_1():
    """Table 1's k, l, m, n: the 1×1, 3×3 and strided 3×3 of the deep branch, the strided 3×3 of the
    other; the output concatenates n + m + the pooled input."""
    for network, in_channels, out_channels in [("inception_v4", 384, 1024), ("inception_resnet_v1", 256, 896),
                                               ("inception_resnet_v2", 320, 1088)]:
        with torch.device("meta"):
            block = ReductionA(in_channels, *REDUCTION_A[network])
        k, l, m, n = (block.branch1[0].conv.out_channels, block.branch1[1].conv.out_channels,  # noqa: E741
                      block.branch1[2].conv.out_channels, block.branch0.conv.out_channels)
        assert (k, l, m, n) == REDUCTION_A[network]
        assert block(torch.empty(1, in_channels, 35, 35, device="meta")).shape == (1, out_channels, 17, 17)
    assert REDUCTION_A["inception_v4"] == (192, 224, 256, 384)


def test_inception_v4_modules_keep_their_width():
    """Inception-A/B/C map their grid to itself (Figs. 4-6): 384, 1024 and 1536 channels."""
    with torch.device("meta"):
        for block, c, s in [(InceptionA(), 384, 35), (InceptionB(), 1024, 17), (InceptionC(), 1536, 8)]:
            assert block(torch.empty(2, c, s, s)).shape == (2, c, s, s) and block.out_channels == c


def test_inception_v4_head_and_bad_input():
    model = meta("inception_v4", num_classes=10, dropout=0.5)
    assert model.last_linear.out_features == 10 and model.dropout.p == 0.5
    assert tuple(model(torch.empty(1, 3, 75, 75, device="meta")).shape) == (1, 10)
    with pytest.raises(ValueError, match="inception_v4 needs inputs of at least 75×75, got 74×74"):
        model(torch.empty(1, 3, 74, 74, device="meta"))
