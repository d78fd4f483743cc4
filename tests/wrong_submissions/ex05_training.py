"""Designed wrong submission of ex05_training and the score each graded cell must get."""

REPLACE = {
    # the other smoothing convention: 1 - eps on the true class and eps / (K - 1) on each other one
    # (no eps / K on the true class); the visible tests catch it at once
    "label_smoothing": (
        "def label_smoothing_cross_entropy(logits, target, epsilon=0.1, reduction='mean'):\n"
        "    k = logits.shape[1]\n"
        "    shifted = logits - logits.max(dim=1, keepdim=True).values\n"
        "    log_p = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n"
        "    q = torch.full_like(log_p, epsilon / (k - 1)).scatter(1, target[:, None], 1 - epsilon)\n"
        "    loss = -(q * log_p).sum(dim=1)\n"
        "    return {'mean': loss.mean(), 'sum': loss.sum()}.get(reduction, loss)\n"
    ),
    # right wherever the cosine has steps to go over; a warm-up that leaves none (warmup_steps >=
    # total_steps - 1, only in the hidden tests) divides by zero: a crash
    "lr_at": (
        "def lr_at(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):\n"
        "    if step < warmup_steps:\n"
        "        return base_lr * (step + 1) / warmup_steps\n"
        "    t = min(1.0, (step - warmup_steps) / (total_steps - 1 - warmup_steps))\n"
        "    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))\n"
    ),
    # one factor for all parameter groups, from the first group's rate: right for one group, and for
    # several when min_lr = 0; the hidden tests' two groups with a floor see it
    "make_scheduler": (
        "def make_scheduler(optimizer, total_steps, warmup_steps=0, min_lr=0.0):\n"
        "    base = optimizer.param_groups[0]['lr']\n"
        "    return LambdaLR(optimizer, lambda s: lr_at(s, total_steps, base, warmup_steps, min_lr) / base)\n"
    ),
    # valid, but a rate this small moves the network too little in 240 steps (52 % on the grader's split)
    "recipe": "RECIPE = {'peak_lr': 0.01, 'warmup_steps': 0, 'min_lr': 0.0, 'label_smoothing': 0.0}\n",
}
EXPECTED = {
    "label_smoothing_visible": 0, "label_smoothing_hidden": 0,
    "lr_at_visible": 1, "lr_at_hidden": 0,
    "scheduler_visible": 1, "scheduler_hidden": 0,
    "recipe_visible": 1, "recipe_hidden": 0,
}
