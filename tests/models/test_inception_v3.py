"""Inception v3 (Szegedy et al., 2016, "Rethinking the Inception Architecture for Computer Vision"):
the grid sizes of the paper's Table 1, the auxiliary classifier (training only), the 2048-wide
features, torchvision's initialisation, and each block against torchvision's class of the same name
after loading its weights. Whole-network parity in eval mode (parameters, MACs, keys, outputs) is in
test_torchvision_parity.py."""
from __future__ import annotations

import pytest
import torch
import torchvision.models.inception as tv_inception
from model_helpers import fill_, filled, meta, tv_filled, tv_meta_info
from torch import nn

from cnnlab.analysis import count_params
from cnnlab.models import get_model
from cnnlab.models.inception_v3 import (
    InceptionA,
    InceptionAux,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
    InceptionOutputs,
)


def _inputs_and_outputs(model: nn.Module, names: list[str], x: torch.Tensor) -> dict[str, tuple]:
    """``name -> (input shape (C, H, W), output shape (C, H, W))`` of the named children in one forward."""
    seen: dict[str, tuple] = {}
    hooks = [getattr(model, n).register_forward_hook(
        lambda m, args, out, n=n: seen.__setitem__(n, (tuple(args[0].shape[1:]), tuple(out.shape[1:]))))
        for n in names]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def test_grid_sizes_follow_the_paper_table_1():
    """Table 1's "input size" column at 299×299: the 35×35 modules hand 35×35×288 to the first grid
    reduction, the 17×17 modules see 17×17×768, the 8×8 modules 8×8×1280, the final pool 8×8×2048."""
    model = meta("inception_v3")
    names = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "maxpool2",
             "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_7a", "Mixed_7b", "avgpool"]
    shapes = _inputs_and_outputs(model, names, torch.empty(1, 3, 299, 299, device="meta"))
    # the stem rows of Table 1 that the released network shares with it
    assert shapes["Conv2d_1a_3x3"] == ((3, 299, 299), (32, 149, 149))  # conv 3×3/2
    assert shapes["Conv2d_2a_3x3"][1] == (32, 147, 147)  # conv 3×3/1
    assert shapes["Conv2d_2b_3x3"][1] == (64, 147, 147)  # conv padded 3×3/1
    assert shapes["maxpool1"][1] == (64, 73, 73)  # pool 3×3/2
    assert shapes["maxpool2"][1] == (192, 35, 35)
    assert shapes["Mixed_5d"][1] == shapes["Mixed_6a"][0] == (288, 35, 35)
    assert shapes["Mixed_6a"][1] == shapes["Mixed_6b"][0] == (768, 17, 17)
    assert shapes["Mixed_7a"][1] == shapes["Mixed_7b"][0] == (1280, 8, 8)
    assert shapes["avgpool"][0] == (2048, 8, 8)
    assert tuple(model.forward_features(torch.empty(1, 3, 299, 299, device="meta")).shape) == (1, 2048, 8, 8)
    # three 35×35 modules, one reduction, four 17×17 modules, one reduction, two 8×8 modules
    kinds = [type(m).__name__ for n, m in model.named_children() if n.startswith("Mixed")]
    assert kinds == ["InceptionA"] * 3 + ["InceptionB"] + ["InceptionC"] * 4 + ["InceptionD"] + ["InceptionE"] * 2


def test_auxiliary_classifier_in_training_only():
    model = meta("inception_v3")
    x = torch.empty(2, 3, 299, 299, device="meta")  # a batch of 2: batch norm in training mode
    out = model.train()(x)
    assert isinstance(out, InceptionOutputs) and out._fields == ("logits", "aux_logits")
    assert all(tuple(t.shape) == (2, 1000) for t in out)
    assert isinstance(model.eval()(x), torch.Tensor)
    without = meta("inception_v3", aux_logits=False)
    assert without.AuxLogits is None and not any(k.startswith("AuxLogits") for k in without.state_dict())
    assert isinstance(without.train()(x), torch.Tensor)
    # torchvision's count for its weights includes the head; without it, the paper's "less than 25 million"
    assert count_params(model) == tv_meta_info("inception_v3")["num_params"] == 27_161_264
    assert count_params(without) == count_params(model) - count_params(model.AuxLogits) < 25_000_000


def test_auxiliary_classifier_needs_299_pixels_in_training():
    """Its 5×5 conv must fit on the 5×5/3-pooled 17×17 map: a clear error below 299, tight at 298."""
    model = meta("inception_v3").train()
    message = r"^inception_v3 with its auxiliary classifier .* at least 299×299, got 298×299"
    with pytest.raises(ValueError, match=message):
        model(torch.empty(2, 3, 298, 299, device="meta"))
    model.min_aux_input_size = (1, 1)
    with pytest.raises((RuntimeError, ValueError), match="kernel"):  # now inside the head's 5×5 conv
        model(torch.empty(2, 3, 298, 299, device="meta"))
    # smaller images train with aux_logits=False, or run in eval mode, down to 75×75
    small = torch.empty(2, 3, 75, 75, device="meta")
    assert isinstance(meta("inception_v3", aux_logits=False).train()(small), torch.Tensor)


def test_train_mode_matches_torchvision_with_transform_input():
    """Same weights, same random state: batch statistics, dropout and ``transform_input`` as torchvision
    (at 75×75, so without the auxiliary head; with it, the slow test below)."""
    theirs = tv_filled("inception_v3", init_weights=False, aux_logits=False, transform_input=True).train()
    ours = meta("inception_v3", aux_logits=False, transform_input=True).train()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    x = torch.randn(2, 3, 75, 75, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    expected = theirs(x)
    torch.manual_seed(1)
    got = ours(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(ours.eval()(x), got, atol=1e-3)  # eval mode: running statistics, no dropout
    with pytest.raises(ValueError, match="transform_input .* needs in_channels=3"):
        get_model("inception_v3", in_channels=1, transform_input=True, init_weights=False)


@pytest.mark.slow
def test_train_mode_with_auxiliary_head_matches_torchvision_at_299():
    theirs = tv_filled("inception_v3", init_weights=False).train()
    ours = meta("inception_v3").train()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    expected = theirs(x)
    torch.manual_seed(1)
    got = ours(x)
    assert isinstance(got, InceptionOutputs) and type(expected).__name__ == "InceptionOutputs"
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_pre_logits_are_the_2048_features_the_classifier_sees():
    model = filled("inception_v3", aux_logits=False)
    x = torch.randn(2, 3, 75, 75, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = model.forward_features(x)
        pre = model.forward_head(features, pre_logits=True)
        logits = model(x)
    assert tuple(features.shape) == (2, 2048, 1, 1) and tuple(pre.shape) == (2, 2048)
    assert model.fc.in_features == 2048
    torch.testing.assert_close(model.fc(pre), logits)
    torch.testing.assert_close(pre, features.mean((2, 3)))  # global average pooling (dropout off in eval)


def test_initialisation_matches_torchvision():
    """N(0, 0.1²) for every conv and fc, 0.001 for the auxiliary fc, BN at weight 1 and bias 0
    (torchvision truncates at ±2, i.e. at 20 standard deviations or more: never in practice). Layers
    of 18k weights or more, so that the standard deviations are estimated within 1 %."""
    torch.manual_seed(0)
    ours = get_model("inception_v3")
    theirs = tv_inception.inception_v3(weights=None, init_weights=True)
    for name in ["Conv2d_2b_3x3.conv", "Conv2d_4a_3x3.conv", "Mixed_7c.branch3x3dbl_2.conv", "fc",
                 "AuxLogits.conv1.conv", "AuxLogits.fc"]:
        a, b = ours.get_submodule(name).weight, theirs.get_submodule(name).weight
        assert a.std().item() == pytest.approx(b.std().item(), rel=0.05), name
        assert abs(a.mean().item()) < 0.1 * a.std().item()
    assert ours.AuxLogits.fc.weight.std().item() == pytest.approx(0.001, rel=0.05)
    assert ours.fc.weight.std().item() == pytest.approx(0.1, rel=0.05)
    bn = ours.Mixed_6b.branch7x7_2.bn
    assert bn.eps == 1e-3 and torch.equal(bn.weight, torch.ones_like(bn.weight)) and not bn.bias.any()
    # init_weights=False keeps PyTorch's defaults (Kaiming-uniform: std 1/sqrt(3·fan_in), not 0.1)
    plain = get_model("inception_v3", aux_logits=False, init_weights=False)
    w = plain.Conv2d_4a_3x3.conv.weight
    assert w.std().item() == pytest.approx((3 * w[0].numel()) ** -0.5, rel=0.05)


# block, constructor arguments, input (C, H, W): each block on a small map, and its grid reductions
BLOCKS = [
    (InceptionA, tv_inception.InceptionA, (192, 32), (192, 9, 9)),
    (InceptionA, tv_inception.InceptionA, (288, 64), (288, 7, 7)),
    (InceptionB, tv_inception.InceptionB, (288,), (288, 9, 9)),
    (InceptionC, tv_inception.InceptionC, (768, 128), (768, 7, 7)),
    (InceptionC, tv_inception.InceptionC, (768, 192), (768, 5, 5)),
    (InceptionD, tv_inception.InceptionD, (768,), (768, 9, 9)),
    (InceptionE, tv_inception.InceptionE, (1280,), (1280, 4, 4)),
    (InceptionAux, tv_inception.InceptionAux, (768, 10), (768, 17, 17)),
]


@pytest.mark.parametrize("ours_cls, theirs_cls, args, size", BLOCKS,
                         ids=[f"{b[0].__name__}{b[2]}" for b in BLOCKS])
def test_blocks_match_torchvision(ours_cls, theirs_cls, args, size):
    """Each block loads the weights of torchvision's block of the same name (strict) and gives the
    same output, in eval mode (running statistics)."""
    with torch.device("meta"):
        theirs = theirs_cls(*args)
        ours = ours_cls(*args)
    fill_(theirs.to_empty(device="cpu"), seed=2).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    ours.eval()
    x = torch.randn(2, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.abs().max() > 1e-3
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    if hasattr(ours, "out_channels"):
        assert got.shape[1] == ours.out_channels
