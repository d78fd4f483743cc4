"""``cnnlab.scratch.batchnorm`` against ``nn.BatchNorm2d`` / ``F.batch_norm``: outputs, gradients,
running statistics after several steps (unbiased variance in the running average, biased in the
normalisation), eval mode, ``momentum=None`` and the errors on bad input.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.scratch import ScratchBatchNorm2d, batch_norm


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _pair(channels: int, momentum: float | None, seed: int = 0) -> tuple[ScratchBatchNorm2d, nn.BatchNorm2d]:
    """A scratch and a built-in layer with the same random gamma/beta, in float64."""
    ours = ScratchBatchNorm2d(channels, momentum=momentum).double()
    ref = nn.BatchNorm2d(channels, momentum=momentum).double()
    with torch.no_grad():
        ref.weight.copy_(1 + 0.5 * _randn(channels, seed=seed + 100))
        ref.bias.copy_(_randn(channels, seed=seed + 200))
    ours.load_state_dict(ref.state_dict())
    return ours, ref


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, None])
@pytest.mark.parametrize("shape", [(8, 3, 5, 5), (2, 4, 1, 3), (1, 2, 3, 2)])
def test_train_steps_then_eval_equal_nn_batchnorm2d(shape, momentum):
    ours, ref = _pair(shape[1], momentum)
    for step in range(4):  # batches with different means and scales, so the averages differ from step to step
        x = _randn(*shape, seed=step) * (1 + step) + step
        torch.testing.assert_close(ours(x), ref(x))
        torch.testing.assert_close(ours.running_mean, ref.running_mean)
        torch.testing.assert_close(ours.running_var, ref.running_var)
    assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == 4
    ours.eval()
    ref.eval()
    x = _randn(*shape, seed=99) * 3 - 1
    torch.testing.assert_close(ours(x), ref(x))
    # eval mode uses the running statistics: the output is NOT normalised to the batch's own mean/std
    assert not torch.allclose(ours(x).mean(dim=(0, 2, 3)), ours.bias.detach(), atol=1e-3)


def test_running_var_is_unbiased_and_normalisation_biased():
    x = _randn(4, 3, 2, 2, seed=1)
    m = 4 * 2 * 2
    rm, rv = torch.zeros(3, dtype=x.dtype), torch.ones(3, dtype=x.dtype)
    y = batch_norm(x, rm, rv, None, None, training=True, momentum=1.0, eps=0.0 + 1e-12)
    flat = x.transpose(0, 1).reshape(3, -1)  # (C, N*H*W)
    torch.testing.assert_close(rm, flat.mean(dim=1))
    torch.testing.assert_close(rv, flat.var(dim=1, unbiased=True))  # m / (m - 1) * biased
    torch.testing.assert_close(rv * (m - 1) / m, flat.var(dim=1, unbiased=False))
    # normalised with the biased variance: every channel of y has mean 0 and (biased) variance 1
    y_flat = y.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(y_flat.mean(dim=1), torch.zeros(3, dtype=x.dtype), atol=1e-12, rtol=0)
    torch.testing.assert_close(y_flat.var(dim=1, unbiased=False), torch.ones(3, dtype=x.dtype))


def test_functional_equals_f_batch_norm_including_no_buffers():
    x = _randn(6, 5, 4, 3, seed=3)
    w, b = _randn(5, seed=4), _randn(5, seed=5)
    for training in (True, False):
        rm, rv = _randn(5, seed=6), _randn(5, seed=7).abs() + 0.5
        rm2, rv2 = rm.clone(), rv.clone()
        ours = batch_norm(x, rm, rv, w, b, training, momentum=0.3, eps=1e-3)
        ref = F.batch_norm(x, rm2, rv2, w, b, training, momentum=0.3, eps=1e-3)
        torch.testing.assert_close(ours, ref)
        torch.testing.assert_close((rm, rv), (rm2, rv2))
    # no running buffers: batch statistics always, as F.batch_norm with None buffers
    torch.testing.assert_close(batch_norm(x, None, None, w, b, False), F.batch_norm(x, None, None, w, b, True))


def test_gradients_equal_nn_batchnorm2d():
    ours, ref = _pair(4, 0.1, seed=2)
    x1 = _randn(5, 4, 3, 3, seed=8).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    upstream = _randn(5, 4, 3, 3, seed=9)  # a loss that is not symmetric in the outputs
    (ours(x1) * upstream).sum().backward()
    (ref(x2) * upstream).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    torch.testing.assert_close(ours.bias.grad, ref.bias.grad)
    # the gradient flows through the batch mean and variance: without them it would not sum to 0
    torch.testing.assert_close(x1.grad.sum(dim=(0, 2, 3)), torch.zeros(4, dtype=x1.dtype), atol=1e-10, rtol=0)


def test_state_dict_loads_into_nn_batchnorm2d_and_back():
    ours = ScratchBatchNorm2d(3)
    ours(torch.randn(4, 3, 2, 2))
    ref = nn.BatchNorm2d(3)
    ref.load_state_dict(ours.state_dict(), strict=True)
    assert set(ours.state_dict()) == set(nn.BatchNorm2d(3).state_dict())


def test_default_init_and_repr():
    bn = ScratchBatchNorm2d(3)
    ref = nn.BatchNorm2d(3)
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(bn.state_dict()[key], value)
    assert "3, eps=1e-05, momentum=0.1" in repr(bn)


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 4, 4)])
def test_wrong_ndim_is_refused(shape):
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ScratchBatchNorm2d(3)(torch.randn(shape))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        batch_norm(torch.randn(shape), None, None, None, None, True)


def test_wrong_channel_count_is_refused():
    with pytest.raises(ValueError, match="expects 3 channels.*got 4"):
        ScratchBatchNorm2d(3)(torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"running_mean must have shape \(4,\)"):
        batch_norm(torch.randn(2, 4, 3, 3), torch.zeros(3), torch.ones(3), None, None, True)
    with pytest.raises(ValueError, match="both running_mean and running_var"):
        batch_norm(torch.randn(2, 4, 3, 3), torch.zeros(4), None, None, None, True)


def test_one_value_per_channel_in_training_is_refused():
    with pytest.raises(ValueError, match="more than one value per channel"):
        ScratchBatchNorm2d(3)(torch.randn(1, 3, 1, 1))
    ScratchBatchNorm2d(3).eval()(torch.randn(1, 3, 1, 1))  # eval mode uses the running statistics: fine


@pytest.mark.parametrize("kwargs", [{"momentum": -0.1}, {"momentum": 1.5}, {"eps": 0.0}, {"eps": -1e-5}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError, match="momentum|eps"):
        ScratchBatchNorm2d(3, **kwargs)
    with pytest.raises(ValueError, match="num_features"):
        ScratchBatchNorm2d(0)
    with pytest.raises(ValueError, match="momentum=None"):
        batch_norm(torch.randn(2, 3, 2, 2), torch.zeros(3), torch.ones(3), None, None, True, momentum=None)
