"""ResNet (He et al. 2016): the blocks against torchvision's, the knobs later families use, the
ImageNet models' stage table, and the ResNet-18 variants of Zhu et al. (ScratchDet, 2019).

The factories tagged ``torchvision`` (resnet18 ... wide_resnet101_2) are also covered by
tests/models/test_torchvision_parity.py (parameters, MACs, strict load, identical outputs).
"""
from __future__ import annotations

import functools

import pytest
import torch
import torchvision.models.resnet as tv
from model_helpers import fill_, meta

from cnnlab.analysis import count_macs, count_params
from cnnlab.layers import SqueezeExcite
from cnnlab.models.resnet import BasicBlock, Bottleneck


def _x(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _tv_downsample(inplanes: int, outplanes: int, stride: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(tv.conv1x1(inplanes, outplanes, stride), torch.nn.BatchNorm2d(outplanes))


def _same_as_torchvision(ours: torch.nn.Module, theirs: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    fill_(theirs, seed=3).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval()
    with torch.no_grad():
        expected, got = theirs(x.clone()), ours(x.clone())
    assert expected.abs().max() > 1e-3
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    return got


# --- the blocks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("inplanes, planes, stride", [(16, 16, 1), (16, 32, 2), (8, 16, 1)])
def test_basic_block_is_torchvisions(inplanes, planes, stride):
    needs_projection = stride != 1 or inplanes != planes
    down = (lambda: _tv_downsample(inplanes, planes, stride)) if needs_projection else (lambda: None)
    theirs = tv.BasicBlock(inplanes, planes, stride, down())
    ours = BasicBlock(inplanes, planes, stride, down())
    out = _same_as_torchvision(ours, theirs, _x(2, inplanes, 9, 9))
    assert out.shape == (2, planes, (9 - 1) // stride + 1, (9 - 1) // stride + 1)
    keys = {"conv1.weight", "bn1.weight", "conv2.weight", "bn2.weight"}
    assert keys <= set(ours.state_dict())
    assert ("downsample.0.weight" in ours.state_dict()) == needs_projection


@pytest.mark.parametrize("inplanes, planes, stride, groups, base_width, dilation", [
    (64, 16, 1, 1, 64, 1),    # identity shortcut (inplanes == 4 * planes)
    (32, 16, 1, 1, 64, 1),    # projection without stride (the first block of layer1)
    (64, 32, 2, 1, 64, 1),    # projection with stride (the first block of layer2..4)
    (64, 32, 2, 4, 8, 1),     # grouped 3×3: ResNeXt's (groups)x(d)d, width = 4 * 8 = 32
    (64, 16, 1, 1, 128, 1),   # Wide ResNet-50-2: twice the bottleneck width
    (64, 16, 1, 1, 64, 2),    # dilated 3×3 (replace_stride_with_dilation)
])
def test_bottleneck_is_torchvisions(inplanes, planes, stride, groups, base_width, dilation):
    needs_projection = stride != 1 or inplanes != 4 * planes
    down = (lambda: _tv_downsample(inplanes, 4 * planes, stride)) if needs_projection else (lambda: None)
    theirs = tv.Bottleneck(inplanes, planes, stride, down(), groups, base_width, dilation)
    ours = Bottleneck(inplanes, planes, stride, down(), groups, base_width, dilation)
    out = _same_as_torchvision(ours, theirs, _x(2, inplanes, 8, 8))
    assert out.shape == (2, 4 * planes, 8 // stride, 8 // stride)
    assert ours.conv2.groups == groups and ours.conv2.out_channels == int(planes * base_width / 64) * groups
    assert ours.conv2.stride == (stride, stride) and ours.conv1.stride == (1, 1)  # v1.5: stride in the 3×3


def test_bottleneck_stride_in_1x1_is_the_papers_block():
    """Same weights, the stride moved to the first 1×1: same parameters, the 3×3 on a quarter of the
    positions, so fewer MACs."""
    v15 = Bottleneck(64, 32, 2, _tv_downsample(64, 128, 2))
    v1 = Bottleneck(64, 32, 2, _tv_downsample(64, 128, 2), stride_in_1x1=True)
    assert v1.conv1.stride == (2, 2) and v1.conv2.stride == (1, 1)
    v1.load_state_dict(v15.state_dict(), strict=True)
    assert count_params(v1) == count_params(v15)
    macs_v15, macs_v1 = count_macs(v15, (1, 64, 16, 16)), count_macs(v1, (1, 64, 16, 16))
    # conv1 at 16×16 and conv2 at 8×8 (v1.5) versus both at 8×8 (v1): the 1×1 reduce gets 4× cheaper
    assert macs_v15 - macs_v1 == 64 * 32 * (16 * 16 - 8 * 8)


def test_basic_block_rejects_groups_and_width():
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        BasicBlock(16, 16, groups=2)
    with pytest.raises(ValueError, match="base_width=32"):
        BasicBlock(16, 16, base_width=32)


@pytest.mark.parametrize("block, planes", [(BasicBlock, 16), (Bottleneck, 4)])
def test_attention_goes_after_the_last_norm_before_the_addition(block, planes):
    """``attn_layer`` is stored as ``se`` (timm's key) and scales the residual branch only."""
    torch.manual_seed(0)
    attn = functools.partial(SqueezeExcite, reduction=4)
    with_se = block(16, planes, attn_layer=attn).eval()
    assert isinstance(with_se.se, SqueezeExcite) and any(k.startswith("se.fc1") for k in with_se.state_dict())
    plain = block(16, planes).eval()
    assert plain.se is None
    fill_(with_se, seed=1)
    x = _x(2, 16, 6, 6)
    last_bn = with_se.bn2 if block is BasicBlock else with_se.bn3
    captured = {}
    last_bn.register_forward_hook(lambda m, i, o: captured.__setitem__("branch", o.clone()))
    with torch.no_grad():
        out = with_se(x)
        expected = torch.relu(with_se.se(captured["branch"]) + x)
    torch.testing.assert_close(out, expected)
    # the other weights are the plain block's: it loads them once "se" is left out
    missing = plain.load_state_dict({k: v for k, v in with_se.state_dict().items() if not k.startswith("se.")})
    assert not missing.missing_keys and not missing.unexpected_keys


@pytest.mark.parametrize("block, planes", [(BasicBlock, 16), (Bottleneck, 4)])
def test_plain_block_is_the_residual_block_without_the_addition(block, planes):
    residual = fill_(block(16, planes), seed=2).eval()
    plain = block(16, planes, residual=False).eval()
    plain.load_state_dict(residual.state_dict(), strict=True)
    x = _x(2, 16, 5, 5)
    captured = {}
    last_bn = plain.bn2 if block is BasicBlock else plain.bn3
    last_bn.register_forward_hook(lambda m, i, o: captured.__setitem__("branch", o.clone()))
    with torch.no_grad():
        out_plain, out_res = plain(x), residual(x)
    torch.testing.assert_close(out_plain, torch.relu(captured["branch"]))
    torch.testing.assert_close(out_res, torch.relu(captured["branch"] + x))
    assert not torch.allclose(out_plain, out_res)
    with pytest.raises(ValueError, match="residual=False.*downsample must be None"):
        block(16, 16, 2, _tv_downsample(16, 16 * block.expansion, 2), residual=False)


class _CountingConv(torch.nn.Conv2d):
    built = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).built += 1


@pytest.mark.parametrize("block, n_convs", [(BasicBlock, 2), (Bottleneck, 3)])
def test_conv_layer_builds_every_convolution_and_act_layer_every_activation(block, n_convs):
    _CountingConv.built = 0
    b = block(16, 4 if block is Bottleneck else 16, conv_layer=_CountingConv, act_layer=torch.nn.GELU)
    assert _CountingConv.built == n_convs
    assert all(type(m) is _CountingConv for m in b.modules() if isinstance(m, torch.nn.Conv2d))
    assert isinstance(b.relu, torch.nn.GELU) and not any(isinstance(m, torch.nn.ReLU) for m in b.modules())


def test_zero_init_last_makes_the_block_the_identity_before_the_final_relu():
    for block in (BasicBlock(8, 8), Bottleneck(8, 2)):
        block.zero_init_last()
        block.eval()
        x = _x(2, 8, 4, 4)
        with torch.no_grad():
            torch.testing.assert_close(block(x), torch.relu(x))


# --- the network --------------------------------------------------------------------------------

from cnnlab.models.resnet import RESNET_LAYERS, ResNet  # noqa: E402

# He et al. 2016, Table 1, bottom row: FLOPs (multiply-adds) of each depth, ×10⁹.
PAPER_GFLOPS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}


@pytest.mark.parametrize("depth", sorted(PAPER_GFLOPS))
def test_macs_match_the_papers_table_1_with_the_papers_stride(depth):
    """With the stride in the first 1×1 (the paper's bottleneck) the MACs are Table 1's within 2 %;
    torchvision's v1.5 bottleneck (stride in the 3×3) costs 0.23 GMACs more at depths 50, 101, 152."""
    kwargs = {"stride_in_1x1": True} if depth >= 50 else {}
    macs = count_macs(meta(f"resnet{depth}", **kwargs), (1, 3, 224, 224))
    assert abs(macs / (PAPER_GFLOPS[depth] * 1e9) - 1) < 0.02
    if depth >= 50:
        v15 = count_macs(meta(f"resnet{depth}"), (1, 3, 224, 224))
        # the 3×3's output size is the same either way; v1.5's first 1×1 of layer2..4's first block
        # runs at the input's resolution, (2s)² positions instead of s²: 3·s² more per in×width weight
        extra = sum(3 * c_in * w * s * s for c_in, w, s in ((256, 128, 28), (512, 256, 14), (1024, 512, 7)))
        assert v15 - macs == extra


def test_stage_table_gives_the_papers_depths():
    """Depth = 2 (stem conv, fc) + layers per block × blocks (Table 1)."""
    for depth, (block, layers) in RESNET_LAYERS.items():
        per_block = 2 if block is BasicBlock else 3
        assert 2 + per_block * sum(layers) == depth


def test_wide_resnet50_2_has_the_papers_parameters():
    """Zagoruyko & Komodakis 2016, the ImageNet table: WRN-50-2-bottleneck, 68.9M parameters."""
    assert round(count_params(meta("wide_resnet50_2")) / 1e6, 1) == 68.9


def test_groups_and_width_per_group_give_torchvisions_resnext():
    """The knobs ResNeXt will use: resnext50_32x4d is ResNet-50 with 32 groups of width 4."""
    theirs = tv.resnext50_32x4d(weights=None).eval()
    fill_(theirs, seed=4)
    ours = ResNet(block=Bottleneck, layers=(3, 4, 6, 3), groups=32, width_per_group=4).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = _x(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_dilation_replaces_the_stride_as_torchvision_does():
    theirs = tv.resnet50(weights=None, replace_stride_with_dilation=[False, True, True]).eval()
    fill_(theirs, seed=5)
    ours = meta("resnet50", replace_stride_with_dilation=[False, True, True]).to_empty(device="cpu").eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = _x(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
        assert ours.forward_features(x).shape[-1] == 64 // 8  # output stride 8
    with pytest.raises(ValueError, match="replace_stride_with_dilation should be None or three bools"):
        ResNet(replace_stride_with_dilation=[True])


def test_knobs_reach_every_block():
    _CountingConv.built = 0
    model = meta("resnet50", conv_layer=_CountingConv, act_layer=torch.nn.SiLU,
                 attn_layer=functools.partial(SqueezeExcite, reduction=16))
    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 16 and all(isinstance(b.se, SqueezeExcite) for b in blocks)
    assert _CountingConv.built == 16 * 3 + 4  # three per block and the four projection shortcuts
    assert type(model.conv1) is torch.nn.Conv2d  # the stem stays a plain convolution
    assert isinstance(model.relu, torch.nn.SiLU) and all(isinstance(b.relu, torch.nn.SiLU) for b in blocks)
    assert "layer1.0.se.fc1.weight" in model.state_dict()  # timm's SE-ResNet key


def test_zero_init_residual_zeroes_the_last_norm_of_every_block():
    torch.manual_seed(0)
    model = ResNet(num_classes=10, block=BasicBlock, layers=(1, 1, 1, 1), zero_init_residual=True, width_mult=0.25)
    for m in model.modules():
        if isinstance(m, BasicBlock):
            assert m.bn2.weight.abs().sum() == 0 and m.bn1.weight.abs().sum() > 0


def test_head_dropout_and_pre_logits():
    model = meta("resnet50", drop_rate=0.3)
    assert isinstance(model.dropout, torch.nn.Dropout) and model.dropout.p == 0.3
    assert isinstance(meta("resnet50").dropout, torch.nn.Identity)
    features = model.forward_features(torch.empty(2, 3, 224, 224, device="meta"))
    assert features.shape == (2, 2048, 7, 7)
    assert model.forward_head(features, pre_logits=True).shape == (2, 2048) == (2, model.fc.in_features)
    with pytest.raises(ValueError, match=r"drop_rate must be in \[0, 1\)"):
        ResNet(drop_rate=1.0)


def test_bad_configurations_are_clear_errors():
    with pytest.raises(ValueError, match="stem must be one of"):
        ResNet(stem="5x5")
    with pytest.raises(ValueError, match="layers must be four block counts"):
        ResNet(layers=(2, 2, 2))
    with pytest.raises(ValueError, match="stride_in_1x1 is a Bottleneck option"):
        ResNet(block=BasicBlock, stride_in_1x1=True)


# --- Zhu et al. 2019 (ScratchDet, Fig. 3): ResNet-18, -A, -B and Root-ResNet-18 ------------------

def test_resnet18_variants_keep_resolution_in_the_stem():
    """A and B change no weight (torchvision's resnet18 loads strictly) and halve the output stride
    (16 instead of 32); Root replaces the 7×7 by three 3×3 convolutions (its own ``conv1.*`` keys)."""
    base = meta("resnet18")
    x = torch.empty(1, 3, 224, 224, device="meta")
    assert base.forward_features(x).shape[-1] == 7
    for name in ("resnet18_a", "resnet18_b", "root_resnet18"):
        assert meta(name).forward_features(x).shape[-1] == 14, name
    with torch.device("meta"):
        tv_keys = set(tv.resnet18().state_dict())
    for name in ("resnet18_a", "resnet18_b"):
        model = meta(name)
        assert set(model.state_dict()) == tv_keys and count_params(model) == count_params(base)
    assert isinstance(meta("resnet18_a").maxpool, torch.nn.Identity)
    assert meta("resnet18_b").conv1.stride == (1, 1) and meta("resnet18_b").conv1.kernel_size == (7, 7)
    root = meta("root_resnet18")
    convs = [m for m in root.conv1 if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.stride) for c in convs] == [((3, 3), (1, 1))] * 3
    assert isinstance(root.maxpool, torch.nn.MaxPool2d)  # Root is built on ResNet-18-B, which keeps it
    # three 3×3 convs (3->64, 64->64, 64->64) and two BNs instead of one 7×7 conv (3->64)
    extra = (3 * 64 * 9 + 2 * 64 * 64 * 9 + 2 * 2 * 64) - 3 * 64 * 49
    assert count_params(root) - count_params(base) == extra
    assert {k for k in root.state_dict() if k not in tv_keys} == {k for k in root.state_dict() if k.startswith("conv1.")}


def test_resnet18_cifar_runs_its_stages_at_32_16_8_4():
    model = meta("resnet18_cifar")
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, torch.nn.Identity)
    x = torch.empty(1, 3, 32, 32, device="meta")
    sizes = []
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        stage.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
    model(x)
    assert sizes == [32, 16, 8, 4]
    # 11.17M: resnet18's 11.69M less the 7×7 stem (3·64·49 -> 3·64·9) and a 10-way instead of 1000-way fc
    assert count_params(model) == count_params(meta("resnet18")) - 3 * 64 * (49 - 9) - 990 * 513
    assert count_params(meta("resnet18_cifar", width_mult=0.25)) < count_params(model) / 8
