"""ex05_training answered with F.cross_entropy(label_smoothing=...), cnnlab's schedule and PyTorch's
ready-made schedulers: zero on those parts (the recipe is plain data and keeps its points)."""

REPLACE = {
    "label_smoothing": (
        "import torch.nn.functional as F\n"
        "def label_smoothing_cross_entropy(logits, target, epsilon=0.1, reduction='mean'):\n"
        "    return F.cross_entropy(logits, target, label_smoothing=epsilon, reduction=reduction)\n"
    ),
    "lr_at": (
        "from cnnlab.train.schedules import warmup_cosine_lr\n"
        "def lr_at(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):\n"
        "    return warmup_cosine_lr(step, total_steps, base_lr=base_lr, warmup_steps=warmup_steps, min_lr=min_lr)\n"
    ),
    "make_scheduler": (
        "from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR\n"
        "def make_scheduler(optimizer, total_steps, warmup_steps=0, min_lr=0.0):\n"
        "    warm = LinearLR(optimizer, 1 / max(1, warmup_steps), 1.0, max(1, warmup_steps) - 1)\n"
        "    cos = CosineAnnealingLR(optimizer, max(1, total_steps - 1 - warmup_steps), eta_min=min_lr)\n"
        "    return SequentialLR(optimizer, [warm, cos], milestones=[warmup_steps])\n"
    ),
}
EXPECTED = {
    "label_smoothing_visible": 0, "label_smoothing_hidden": 0,
    "lr_at_visible": 0, "lr_at_hidden": 0,
    "scheduler_visible": 0, "scheduler_hidden": 0,
    "recipe_visible": 1, "recipe_hidden": 3,
}
