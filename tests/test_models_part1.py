"""Part I architectures -- AlexNet, ZFNet, VGG, GoogLeNet -- against torchvision and the slides.

torchvision is the reference: parameter counts and MACs against its weights' metadata (read from
the enum, nothing is downloaded), ``state_dict`` keys and shapes, and identical outputs after
loading its (randomly initialised) weights. Most checks build the models on the ``meta`` device,
which allocates nothing and still runs ``forward`` for shapes and MAC counts.
"""
from __future__ import annotations

import functools

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.analysis import conv_output_size, conv_params, count_macs, count_params, summary
from cnnlab.models import get_model, list_models
from cnnlab.models.googlenet import INCEPTION_CFGS, GoogLeNetOutputs, Inception, NaiveInception

TV_NAMES = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "googlenet"]
CIFAR_NAMES = ["alexnet_cifar", "zfnet_cifar", "vgg11_cifar", "vgg11_bn_cifar", "vgg16_cifar", "vgg16_bn_cifar",
               "googlenet_cifar"]
PART1_NAMES = TV_NAMES + ["alexnet_original", "zfnet"] + CIFAR_NAMES


def meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return get_model(name, **kwargs).eval()


def tv_model(name: str, device: str = "meta", **kwargs) -> nn.Module:
    if name == "googlenet":
        kwargs.setdefault("init_weights", False)  # no FutureWarning; the values are ours to set
    with torch.device(device):
        return torchvision.models.get_model(name, weights=None, **kwargs).eval()


def tv_meta(name: str) -> dict:
    return torchvision.models.get_model_weights(name).DEFAULT.meta


def test_every_part1_model_is_registered():
    assert set(PART1_NAMES) <= set(list_models())


# --- against torchvision ------------------------------------------------------------------------

@pytest.mark.parametrize("name", TV_NAMES)
def test_params_and_macs_match_torchvision(name):
    # torchvision's googlenet weights (and so its meta) come without the auxiliary heads
    model = meta(name, **({"aux_logits": False} if name == "googlenet" else {}))
    assert count_params(model) == tv_meta(name)["num_params"]
    macs = count_macs(model, (1, 3, 224, 224))
    ops = tv_meta(name)["_ops"] * 1e9  # torchvision's "GFLOPS" are MACs
    assert abs(macs / ops - 1) < 0.01, f"{name}: {macs:,} MACs vs torchvision's {ops:,.0f}"


@pytest.mark.parametrize("name", TV_NAMES)
def test_state_dict_keys_and_shapes_match_torchvision(name):
    ours, theirs = meta(name), tv_model(name)
    ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    theirs_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours_shapes == theirs_shapes
    assert not ours.load_state_dict(theirs.state_dict(), strict=True).missing_keys


def _randomise_batchnorm(model: nn.Module) -> None:
    """Non-trivial running statistics and affine parameters, so that eval-mode BN matters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "googlenet"])
def test_torchvision_weights_give_the_same_outputs(name):
    torch.manual_seed(0)
    kwargs = {"init_weights": False} if name.startswith(("vgg", "googlenet")) else {}  # skip a slow init
    theirs = tv_model(name, device="cpu", **kwargs)
    _randomise_batchnorm(theirs)
    if name == "alexnet":
        ours = get_model(name).eval()
        ours.load_state_dict(theirs.state_dict(), strict=True)
    else:  # big: load onto the meta model (assign=True takes over the tensors instead of copying)
        ours = meta(name)
        ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.abs().max() > 1e-4  # not a trivially small output
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_googlenet_train_mode_matches_torchvision_with_aux_heads_and_transform_input():
    """Same weights, same seed: logits and both auxiliary logits agree in training mode (batch
    statistics, dropout drawn in the same order), and ``transform_input`` is applied the same way."""
    torch.manual_seed(0)
    theirs = tv_model("googlenet", device="cpu", transform_input=True).train()
    ours = meta("googlenet", transform_input=True).train()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    x = torch.randn(2, 3, 64, 64)
    torch.manual_seed(1)
    expected = theirs(x)
    torch.manual_seed(1)
    got = ours(x)
    assert isinstance(got, GoogLeNetOutputs) and got._fields == ("logits", "aux_logits2", "aux_logits1")
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    ours.eval()
    with torch.no_grad():
        assert isinstance(ours(x), torch.Tensor)


# --- GoogLeNet ----------------------------------------------------------------------------------

def test_googlenet_aux_heads():
    with_aux, without = meta("googlenet"), meta("googlenet", aux_logits=False)
    assert with_aux.aux1 is not None and without.aux1 is None and without.aux2 is None
    assert not any(k.startswith("aux") for k in without.state_dict())
    assert count_params(without) == tv_meta("googlenet")["num_params"] == 6_624_904
    aux_params = count_params(with_aux.aux1) + count_params(with_aux.aux2)
    assert count_params(with_aux) == count_params(without) + aux_params
    # training mode: three outputs with aux heads, plain logits without (batch of 2 needed for BN)
    x = torch.empty(2, 3, 224, 224, device="meta")
    out = with_aux.train()(x)
    assert isinstance(out, GoogLeNetOutputs) and all(tuple(t.shape) == (2, 1000) for t in out)
    assert isinstance(without.train()(x), torch.Tensor)
    assert isinstance(with_aux.eval()(x), torch.Tensor)


def test_googlenet_inception_widths_follow_the_paper_table():
    model = meta("googlenet")
    outs = {name: getattr(model, name).out_channels for name in INCEPTION_CFGS}
    assert outs == {"inception3a": 256, "inception3b": 480, "inception4a": 512, "inception4b": 512,
                    "inception4c": 512, "inception4d": 528, "inception4e": 832, "inception5a": 832,
                    "inception5b": 1024}
    # torchvision's "5×5" branch is 3×3 (pytorch/vision#906); kernel_size_5x5=5 gives the paper's
    assert model.inception3a.branch3[1].conv.kernel_size == (3, 3)
    paper = meta("googlenet", aux_logits=False, kernel_size_5x5=5)
    assert paper.inception3a.branch3[1].conv.kernel_size == (5, 5)
    extra = sum(red * out * (25 - 9) for _, _, _, red, out, _ in INCEPTION_CFGS.values())
    assert count_params(paper) == count_params(meta("googlenet", aux_logits=False)) + extra


def test_naive_vs_dimension_reduction_inception_seed000():
    """Seed 000: a 5×5 conv from 128 to 256 channels costs 128×5×5×256 weights; with a 32-channel
    1×1 bottleneck in front, 128×1×1×32 + 32×5×5×256."""
    bare = functools.partial(nn.Conv2d, bias=False)  # count weights only, as the slide does
    naive = NaiveInception(128, ch1x1=128, ch3x3=192, ch5x5=256, conv_block=bare)
    reduced = Inception(128, ch1x1=128, ch3x3red=64, ch3x3=192, ch5x5red=32, ch5x5=256, pool_proj=64,
                        conv_block=bare, kernel_size_5x5=5)
    assert count_params(naive.branch3) == 128 * 5 * 5 * 256 == 819_200
    assert count_params(reduced.branch3) == 128 * 1 * 1 * 32 + 32 * 5 * 5 * 256 == 208_896
    # whole modules on a 28×28 map: the pool branch makes the naive output grow by in_channels
    x = torch.randn(1, 128, 28, 28)
    assert naive(x).shape == (1, 128 + 192 + 256 + 128, 28, 28) and naive.out_channels == 704
    assert reduced(x).shape == (1, 128 + 192 + 256 + 64, 28, 28) and reduced.out_channels == 640
    assert count_params(reduced) < count_params(naive) / 2
    assert count_macs(naive, (1, 128, 28, 28)) == count_params(naive) * 28 * 28  # every weight once per pixel
    # the default building block is conv -> BN -> ReLU, as in the network
    assert isinstance(Inception(192, 64, 96, 128, 16, 32, 32).branch1.bn, nn.BatchNorm2d)


# --- AlexNet ------------------------------------------------------------------------------------

def test_alexnet_original_conv1_and_parameters():
    """Seed 002: on 227×227×3, conv1's 96 11×11 filters with stride 4 give (227-11)/4+1 = 55, i.e.
    55×55×96, with 11·11·3·96 ≈ 35K weights (34,944 parameters with the biases)."""
    model = meta("alexnet_original")
    assert model.default_input_size == (3, 227, 227)
    table = summary(model, (1, 3, 227, 227))
    conv1 = table.rows[0]
    assert conv1.name == "features.0" and conv1.output_shape == (1, 96, 55, 55)
    assert conv1.params == 34_944 == 11 * 11 * 3 * 96 + 96 and round(11 * 11 * 3 * 96, -3) == 35_000
    convs = [r for r in table.rows if r.kind == "Conv2d"]
    assert [r.output_shape[1:] for r in convs] == [(96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13)]
    pools = [r.output_shape[-1] for r in table.rows if r.kind == "MaxPool2d"]
    assert pools == [27, 13, 6]  # overlapping 3×3/2 pooling
    assert [m.groups for m in model.features if isinstance(m, nn.Conv2d)] == [1, 2, 1, 2, 2]
    # the two-GPU split halves the weights of conv2, conv4 and conv5
    one_gpu = meta("alexnet_original", two_gpu_groups=False)
    halved = (conv_params(96, 256, 5, bias=False) + conv_params(384, 384, 3, bias=False)
              + conv_params(384, 256, 3, bias=False)) // 2
    assert count_params(one_gpu) - count_params(model) == halved
    assert count_params(model) == 60_965_224  # "60 million parameters"


def test_alexnet_original_lrn_is_the_paper_formula():
    """b = a / (k + alpha * sum over 5 neighbouring channels of a^2) ** beta, k=2, alpha=1e-4, beta=0.75."""
    lrn = meta("alexnet_original").features[2]
    assert isinstance(lrn, nn.LocalResponseNorm)
    torch.manual_seed(0)
    a = torch.randn(2, 12, 5, 5) * 30  # large enough for the normalisation to matter
    padded = nn.functional.pad(a.pow(2), (0, 0, 0, 0, 2, 2))  # zero channels beyond the ends
    sums = torch.stack([padded[:, i:i + 5].sum(1) for i in range(12)], 1)
    expected = a / (2 + 1e-4 * sums) ** 0.75
    lrn_cpu = nn.LocalResponseNorm(lrn.size, alpha=lrn.alpha, beta=lrn.beta, k=lrn.k)
    torch.testing.assert_close(lrn_cpu(a), expected)
    assert not torch.allclose(expected, a / 2 ** 0.75)


def test_alexnet_original_paper_initialisation():
    torch.manual_seed(0)
    model = get_model("alexnet_original", num_classes=10)
    conv = [m for m in model.features if isinstance(m, nn.Conv2d)]
    fc = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [float(m.bias.detach().mean()) for m in conv + fc] == [0, 1, 0, 1, 1, 1, 1, 0]
    assert abs(float(fc[0].weight.detach().std()) - 0.01) < 1e-4


def test_alexnet_is_torchvisions_one_gpu_variant():
    widths = [m.out_channels for m in meta("alexnet").features if isinstance(m, nn.Conv2d)]
    assert widths == [64, 192, 384, 256, 256]  # "One weird trick", not the paper's 96/256/384/384/256
    widths = [m.out_channels for m in meta("alexnet_original").features if isinstance(m, nn.Conv2d)]
    assert widths == [96, 256, 384, 384, 256]


# --- ZFNet --------------------------------------------------------------------------------------

def test_zfnet_sizes_follow_the_paper_fig3():
    """224×224 -> conv 7×7/2 -> 110×110×96 -> pool -> 55 -> conv 5×5/2 -> 26×26×256 -> pool -> 13 ->
    three 3×3 convs 384, 384, 256 at 13×13 -> pool -> 6×6×256 -> 4096 -> 4096."""
    table = summary(meta("zfnet"), (1, 3, 224, 224))
    shapes = [r.output_shape[1:] for r in table.rows if r.kind in ("Conv2d", "MaxPool2d")]
    assert shapes == [(96, 110, 110), (96, 55, 55), (256, 26, 26), (256, 13, 13),
                      (384, 13, 13), (384, 13, 13), (256, 13, 13), (256, 6, 6)]
    first = meta("zfnet").features[0]
    assert first.kernel_size == (7, 7) and first.stride == (2, 2) and first.out_channels == 96
    assert [r.output_shape[1] for r in table.rows if r.kind == "Linear"][:2] == [4096, 4096]
    # why the padding choices: without them conv1 gives 109 and the pools round 110 -> 54, 26 -> 12
    assert conv_output_size(224, 7, 2, 0) == 109 and conv_output_size(224, 7, 2, 1) == 110
    assert conv_output_size(110, 3, 2) == 54 and conv_output_size(26, 3, 2) == 12


# --- VGG ----------------------------------------------------------------------------------------

def test_vgg16_per_layer_table_seed002():
    """Seed 002's VGG16 table: activations per layer and weights (not counting biases)."""
    table = summary(meta("vgg16"), (1, 3, 224, 224))
    convs = [r for r in table.rows if r.kind == "Conv2d"]
    assert [r.output_shape[1] * r.output_shape[2] * r.output_shape[3] for r in convs][:2] == [224 * 224 * 64] * 2
    conv_weights = [m.weight.numel() for m in meta("vgg16").features if isinstance(m, nn.Conv2d)]
    assert conv_weights == [1_728, 36_864, 73_728, 147_456, 294_912, 589_824, 589_824, 1_179_648,
                            2_359_296, 2_359_296, 2_359_296, 2_359_296, 2_359_296]
    fc_weights = [m.weight.numel() for m in meta("vgg16").classifier if isinstance(m, nn.Linear)]
    assert fc_weights == [7 * 7 * 512 * 4096, 4096 * 4096, 4096 * 1000] == [102_760_448, 16_777_216, 4_096_000]
    pools = [r.output_shape[1:] for r in table.rows if r.kind == "MaxPool2d"]
    assert pools == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7)]
    assert round(count_params(meta("vgg16")) / 1e6) == 138


def test_three_3x3_convs_vs_one_7x7_seed002():
    c = 64
    assert conv_params(c, c, 7, bias=False) == 49 * c * c
    assert 3 * conv_params(c, c, 3, bias=False) == 27 * c * c


@pytest.mark.parametrize("name, depth", [("vgg11", 11), ("vgg13", 13), ("vgg16", 16), ("vgg19", 19)])
def test_vgg_depth_and_bn(name, depth):
    plain, bn = meta(name), meta(name + "_bn")
    weight_layers = [m for m in plain.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weight_layers) == depth
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == depth - 3


# --- the 32×32 variants -------------------------------------------------------------------------

@pytest.mark.parametrize("name", CIFAR_NAMES)
def test_cifar_variants_are_small_and_scalable(name):
    model = meta(name)
    assert model.default_input_size == (3, 32, 32)
    assert model(torch.empty(2, 3, 32, 32, device="meta")).shape == (2, 10)
    full, quarter = count_params(model), count_params(meta(name, width_mult=0.25))
    assert quarter < full / 8
    assert count_macs(meta(name, width_mult=0.25), (1, 3, 32, 32)) < 50e6  # a CPU trains it in seconds
    torch.manual_seed(0)
    small = get_model(name, width_mult=0.25, in_channels=1, num_classes=4).train()
    out = small(torch.randn(2, 1, 32, 32))
    out.logsumexp(1).sum().backward()
    assert out.shape == (2, 4) and torch.isfinite(out).all()


def test_googlenet_cifar_aux_heads_optional():
    model = meta("googlenet_cifar")
    assert model.aux1 is None and isinstance(model.train()(torch.empty(2, 3, 32, 32, device="meta")), torch.Tensor)
    out = meta("googlenet_cifar", aux_logits=True).train()(torch.empty(2, 3, 32, 32, device="meta"))
    assert isinstance(out, GoogLeNetOutputs) and all(tuple(t.shape) == (2, 10) for t in out)
    assert meta("googlenet_cifar").inception3a.branch3[1].conv.kernel_size == (5, 5)  # the paper's 5×5


# --- input checks -------------------------------------------------------------------------------

def test_input_errors_name_the_model_and_sizes():
    with pytest.raises(ValueError, match="^alexnet expects 3 input channels, got 1$"):
        meta("alexnet")(torch.empty(1, 1, 224, 224, device="meta"))
    with pytest.raises(ValueError, match="^vgg16 needs inputs of at least 32×32, got 16×16$"):
        meta("vgg16")(torch.empty(1, 3, 16, 16, device="meta"))
    with pytest.raises(ValueError, match=r"googlenet expects a batch of images of shape \(N, C, H, W\)"):
        meta("googlenet")(torch.empty(3, 224, 224, device="meta"))
    with pytest.raises(ValueError, match="transform_input"):
        get_model("googlenet", in_channels=1, transform_input=True)
    with pytest.raises(ValueError, match="width_mult"):
        get_model("vgg11_cifar", width_mult=0)


@pytest.mark.parametrize("name", PART1_NAMES)
def test_wrong_channels_and_tight_min_input_size(name):
    model = meta(name)
    c = model.default_input_size[0]
    with pytest.raises(ValueError, match=f"^{name} expects {c} input channels, got {c + 1}$"):
        model(torch.empty(1, c + 1, *model.default_input_size[1:], device="meta"))
    h, w = model.min_input_size
    if h > 1:  # the claimed minimum is the true one: without the check, one pixel less fails in a layer
        model.min_input_size = (1, 1)
        with pytest.raises(RuntimeError):
            model(torch.empty(1, c, h - 1, w - 1, device="meta"))
