"""Plots and architecture diagrams: the figures build, and the shapes drawn are the shapes the models
produce (the papers' tables, or the model's own forward pass traced independently here)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from cnnlab import viz
from cnnlab.models import get_model
from cnnlab.models.googlenet import Inception, NaiveInception


def texts(fig: plt.Figure) -> list[str]:
    """Every text artist of the figure, in drawing order."""
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
    return out


def positions(fig: plt.Figure, wanted: list[str]) -> list[int]:
    """Index of the first text (in drawing order) containing each wanted string, each after the previous."""
    found, start, all_texts = [], 0, texts(fig)
    for w in wanted:
        idx = next((i for i in range(start, len(all_texts)) if w in all_texts[i]), None)
        assert idx is not None, f"{w!r} not drawn after position {start}: {all_texts}"
        found.append(idx)
        start = idx
    return found


def child_shapes(model: nn.Module, input_size: tuple[int, ...]) -> dict[str, str]:
    """The output shape (C×H×W) of each top-level child, from a forward pass of our own."""
    shapes: dict[str, str] = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, "×".join(map(str, o.shape[1:]))))
               for n, m in model.named_children()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(input_size))
    for h in handles:
        h.remove()
    return shapes


def meta_model(name: str) -> nn.Module:
    """The model on PyTorch's meta device: shapes without storage, so tracing a 224×224 net is free."""
    with torch.device("meta"):
        return get_model(name)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# Output shapes in the order the papers' tables list them.
PAPER_SHAPES = {
    # LeCun et al. 1998, Fig. 2: C1 6@28×28, S2 6@14×14, C3 16@10×10, S4 16@5×5, C5 120, F6 84, output 10
    "lenet5": ((1, 1, 32, 32), ["6×28×28", "6×14×14", "16×10×10", "16×5×5", "→ 120", "→ 84", "→ 10"]),
    # torchvision's AlexNet (the one-GPU variant of Krizhevsky et al. 2012): 64-192-384-256-256 channels
    "alexnet": ((1, 3, 224, 224), ["64×55×55", "64×27×27", "192×27×27", "192×13×13", "384×13×13",
                                   "256×13×13", "256×6×6", "→ 4096", "→ 1000"]),
    # Simonyan & Zisserman 2015, Table 1, configuration D: five stages halving 224 down to 7
    "vgg16": ((1, 3, 224, 224), ["2 × Conv 3×3, 64", "64×224×224", "64×112×112", "128×112×112", "3 × Conv 3×3, 256",
                                 "256×56×56", "512×28×28", "512×14×14", "512×7×7", "→ 4096", "→ 1000"]),
}


@pytest.mark.parametrize("name", list(PAPER_SHAPES))
def test_draw_network_shows_the_papers_shapes_in_order(name):
    input_size, shapes = PAPER_SHAPES[name]
    fig = viz.draw_network(meta_model(name), input_size, depth=2)
    positions(fig, shapes)


def test_vgg16_stages_collapse_to_table1_rows():
    # Table 1, D: conv3-64 ×2, conv3-128 ×2, conv3-256 ×3, conv3-512 ×3, conv3-512 ×3
    drawn = " | ".join(texts(viz.draw_network(meta_model("vgg16"), (1, 3, 224, 224), depth=2)))
    for row in ["2 × Conv 3×3, 64", "2 × Conv 3×3, 128", "3 × Conv 3×3, 256", "3 × Conv 3×3, 512"]:
        assert row in drawn
    assert drawn.count("MaxPool 2×2/2") == 5
    # without collapsing, one box per convolution: 13 of them
    flat = " | ".join(texts(viz.draw_network(meta_model("vgg16"), (1, 3, 224, 224), depth=2, collapse=False)))
    assert flat.count("Conv 3×3") == 13 and " × Conv" not in flat


def test_googlenet_shows_table1_sizes_and_the_inception_splits():
    # Szegedy et al. 2015, Table 1: output sizes and the #1×1 / #3×3 / #5×5 / pool proj columns
    fig = viz.draw_network(meta_model("googlenet"), (1, 3, 224, 224))
    positions(fig, ["64×112×112", "64×56×56", "192×56×56", "192×28×28",
                    "concat 64 + 128 + 32 + 32", "256×28×28", "concat 128 + 192 + 96 + 64", "480×28×28",
                    "480×14×14", "512×14×14", "528×14×14", "832×14×14", "832×7×7",
                    "concat 384 + 384 + 128 + 128", "1024×7×7", "1024×1×1", "→ 1000"])
    note = [t for t in texts(fig) if "not run" in t]
    assert note and "aux1" in note[0] and "aux2" in note[0]  # eval mode skips the auxiliary heads


def test_googlenet_training_mode_draws_the_auxiliary_heads_beside_the_main_path():
    model = get_model("googlenet")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fig = viz.draw_network(model, (1, 3, 224, 224), training=True)
    drawn = texts(fig)
    assert any(t == "aux1" for t in drawn) and any(t == "aux2" for t in drawn)
    assert not any("not run" in t for t in drawn)
    # a copy ran in training mode: the model's BatchNorm statistics and mode are untouched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training


@pytest.mark.parametrize("name, depth", [("alexnet_cifar", 2), ("vgg11_cifar", 2), ("googlenet_cifar", 1),
                                          ("googlenet", 1)])
def test_draw_network_shapes_match_an_independent_trace(name, depth):
    model = get_model(name, width_mult=0.25) if name.endswith("_cifar") else get_model(name)
    size = (1, 3, 32, 32) if name.endswith("_cifar") else (1, 3, 64, 64)
    drawn = " | ".join(texts(viz.draw_network(model, size, depth=depth)))
    for child, shape in child_shapes(model, size).items():
        if not isinstance(getattr(model, child), (nn.Identity, nn.Dropout)):
            assert f"→ {shape}" in drawn, f"{child}: {shape} not drawn"


def test_draw_network_default_input_size_and_depth_one():
    fig = viz.draw_network(get_model("lenet5"))  # default_input_size (1, 32, 32)
    drawn = texts(fig)
    assert "features" in drawn and "classifier" in drawn
    assert any("→ 16×5×5" in t for t in drawn) and any("→ 10" in t for t in drawn)


def test_draw_block_inception_columns_and_concatenation():
    # inception (3a) of Szegedy et al. 2015, Table 1, with the paper's 5×5 kernel
    block = Inception(192, 64, 96, 128, 16, 32, 32, kernel_size_5x5=5)
    drawn = texts(viz.draw_block(block, (1, 192, 28, 28)))
    joined = " | ".join(drawn)
    for name in ["branch1", "branch2", "branch3", "branch4"]:
        assert name in drawn
    for layer in ["Conv 1×1, 64", "Conv 1×1, 96", "Conv 3×3, 128", "Conv 1×1, 16", "Conv 5×5, 32", "MaxPool 3×3",
                  "Conv 1×1, 32"]:
        assert layer in joined
    for shape in ["64×28×28", "96×28×28", "128×28×28", "16×28×28", "192×28×28", "32×28×28"]:
        assert f"→ {shape}" in joined
    assert "concatenate 64 + 128 + 32 + 32" in joined and "→ 256×28×28" in joined


def test_draw_block_naive_inception_passes_the_input_channels_through():
    drawn = " | ".join(texts(viz.draw_block(NaiveInception(192, 64, 128, 32), (1, 192, 28, 28))))
    assert "concatenate 64 + 128 + 32 + 192" in drawn and "→ 416×28×28" in drawn
    assert "Conv 5×5, 32" in drawn and "MaxPool 3×3" in drawn


def test_draw_block_residual_with_downsample_places_the_add_before_the_last_relu():
    down = nn.Sequential(nn.Conv2d(64, 128, 1, stride=2, bias=False), nn.BatchNorm2d(128))
    block = BasicBlock(64, 128, stride=2, downsample=down)  # torchvision's, with its in-place "out += identity"
    fig = viz.draw_block(block, (1, 64, 16, 16))
    positions(fig, ["main path", "Conv 3×3/2, 128 + BN + ReLU", "Conv 3×3, 128 + BN", "shortcut: downsample",
                    "Conv 1×1/2, 128 + BN", "add", "ReLU", "output", "128×8×8"])


def test_draw_block_identity_shortcut():
    drawn = texts(viz.draw_block(BasicBlock(32, 32), (1, 32, 8, 8), shortcut="identity"))
    assert "identity" in drawn and any(t.startswith("add") for t in drawn)


@pytest.mark.parametrize("call, match", [
    (lambda: viz.draw_network(get_model("lenet5"), (1, 3, 32, 32), depth=2), "cannot run on an input"),
    (lambda: viz.draw_network(get_model("lenet5"), (3, 32, 32)), "four positive ints"),
    (lambda: viz.draw_network(get_model("lenet5"), (1, 1, 32, 0)), "four positive ints"),
    (lambda: viz.draw_network(get_model("lenet5"), depth=0), "depth"),
    (lambda: viz.draw_network(nn.Conv2d(3, 8, 3), (1, 3, 8, 8)), "no sub-modules"),
    (lambda: viz.draw_network(nn.Sequential(nn.Conv2d(3, 8, 3))), "default_input_size"),
    (lambda: viz.draw_network("lenet5", (1, 1, 32, 32)), "nn.Module"),
    (lambda: viz.draw_block(nn.Sequential(nn.Conv2d(3, 8, 3)), (1, 3, 8, 8)), "no parallel branches"),
    (lambda: viz.draw_block(Inception(16, 8, 8, 8, 4, 4, 4), (1, 16, 8, 8), branches=["branch1", "left"]),
     "no children named"),
    (lambda: viz.draw_block(Inception(16, 8, 8, 8, 4, 4, 4), (1, 3, 8, 8)), "cannot run on an input"),
])
def test_wrong_input_gives_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_existing_plots_still_build():
    model = get_model("lenet5")
    assert viz.show_images(torch.rand(4, 1, 8, 8), labels=[0, 1, 2, 3]).axes
    assert len(viz.plot_filters(model.features[0]).axes) >= 6
    maps = viz.feature_maps(model, torch.zeros(1, 1, 32, 32), ["features.0"])
    assert maps["features.0"].shape == (1, 6, 28, 28)


def test_draw_block_gathers_torchvisions_chained_inception_v3_branches():
    from torchvision.models.inception import InceptionB, InceptionC, InceptionE
    # Fig. 6 of Szegedy et al. 2016 (n = 7): branch7x7_1.._3 and branch7x7dbl_1.._5 are two chains
    drawn = " | ".join(texts(viz.draw_block(InceptionC(768, 128), (1, 768, 17, 17))))
    assert "branch7x7dbl" in drawn and "branch7x7 |" in drawn + " |"
    assert "concatenate 192 + 192 + 192 + 192" in drawn and "→ 768×17×17" in drawn
    # Fig. 7: the 1×3 and 3×1 at the end of a branch run side by side and both reach the concatenation
    drawn = " | ".join(texts(viz.draw_block(InceptionE(1280), (1, 1280, 8, 8))))
    # ... so the branch forks: branch3x3_2b gets a column of its own, fed by branch3x3_1
    fig = viz.draw_block(InceptionE(1280), (1, 1280, 8, 8))
    positions(fig, ["branch3x3", "branch3x3_1", "Conv 1×3, 384", "branch3x3_2b", "Conv 3×1, 384", "branch3x3dbl"])
    assert "concatenate 320 + 384 + 384 + 384 + 384 + 192" in drawn and "→ 2048×8×8" in drawn
    # the max-pool branch of the grid reduction is F.max_pool2d in forward: no child to draw
    drawn = " | ".join(texts(viz.draw_block(InceptionB(288), (1, 288, 35, 35))))
    assert "concatenate 384 + 96 + 288 (unnamed)" in drawn and "→ 768×17×17" in drawn


def test_draw_block_cnnlab_inception_v3_pool_joins_its_branch():
    from cnnlab.models.inception_v3 import InceptionA
    # the average pool is a child named "pool" whose output feeds branch_pool only: it is drawn in that column
    fig = viz.draw_block(InceptionA(192, pool_features=32), (1, 192, 35, 35))
    positions(fig, ["branch_pool", "AvgPool 3×3", "Conv 1×1, 32 + BN + ReLU", "concatenate 64 + 64 + 96 + 32"])


def test_draw_block_inception_resnet_adds_the_scaled_residual_after_the_linear_conv():
    from cnnlab.models.inception_resnet import InceptionResNetB
    block = InceptionResNetB(1088, 192, (128, 160, 192), scale=0.1)  # Fig. 17 of Szegedy et al. 2017 (Inception-ResNet-v2)
    fig = viz.draw_block(block, (1, 1088, 17, 17))
    positions(fig, ["concatenate 192 + 192", "Conv 1×1, 1088", "add shortcut + 0.1 × residual", "ReLU", "output"])
    assert "shortcut: shortcut" in texts(fig)


def test_draw_block_resnet_block_without_downsample_has_an_identity_shortcut():
    from cnnlab.models.resnet import BasicBlock as OurBasicBlock
    drawn = texts(viz.draw_block(OurBasicBlock(64, 64), (1, 64, 16, 16)))  # no shortcut= needed
    assert "shortcut: identity" in drawn and "identity" in drawn
    with pytest.raises(ValueError, match="no parallel branches"):  # a plain block has no shortcut to draw
        viz.draw_block(OurBasicBlock(64, 64, residual=False), (1, 64, 16, 16))
