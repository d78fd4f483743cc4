"""Sandbox adapter of ex05_training: decodes the judge's inputs, calls the student's functions and
returns their outputs as plain data (the loss and its gradient by autograd, the learning rates an
optimizer sees). Runs on the untrusted side; decides nothing."""
from __future__ import annotations

from typing import Any

import torch

from autograder import codec


def label_smoothing(ns: dict, case: dict) -> Any:
    logits = codec.decode_tensor(case["logits"]).clone().requires_grad_(True)
    target = codec.decode_tensor(case["target"])
    loss = ns["label_smoothing_cross_entropy"](logits, target, epsilon=case["epsilon"], reduction=case["reduction"])
    if not isinstance(loss, torch.Tensor):
        return {"loss": loss, "grad": None}
    if not loss.requires_grad:
        return {"loss": loss, "grad": None, "why": "the loss does not depend on the logits through autograd "
                "(detached, .item(), NumPy?); training could not back-propagate through it"}
    if case["reduction"] == "none":
        grad_output = codec.decode_tensor(case["grad_output"]).to(loss.dtype)
        if loss.shape != grad_output.shape:
            return {"loss": loss, "grad": None}
    else:
        grad_output = torch.ones_like(loss)
    (grad,) = torch.autograd.grad(loss, logits, grad_output, allow_unused=True)
    why = None if grad is not None else "the loss has no gradient with respect to the logits"
    return {"loss": loss.detach(), "grad": grad, "why": why}


def lr_at(ns: dict, case: dict) -> Any:
    fn = ns["lr_at"]
    out = []
    for step in case["steps"]:
        v = fn(step, case["total_steps"], base_lr=case["base_lr"], warmup_steps=case["warmup_steps"],
               min_lr=case["min_lr"])
        out.append(v.item() if isinstance(v, torch.Tensor) and v.numel() == 1 else v)
    return out


def scheduler(ns: dict, case: dict) -> Any:
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in case["base_lrs"]]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, case["base_lrs"])],
                          lr=case["base_lrs"][0])
    sched = ns["make_scheduler"](opt, case["total_steps"], warmup_steps=case["warmup_steps"], min_lr=case["min_lr"])
    if not isinstance(sched, torch.optim.lr_scheduler.LambdaLR):
        return {"lambda_lr": False, "type": type(sched).__name__, "lrs": []}
    lrs = []
    for _ in range(case["total_steps"]):  # what a training loop sees: the rate at each optimizer step
        lrs.append([float(group["lr"]) for group in opt.param_groups])
        opt.step()
        sched.step()
    return {"lambda_lr": True, "type": "LambdaLR", "lrs": lrs}


def recipe(ns: dict, case: dict) -> Any:
    return ns.get("RECIPE")
