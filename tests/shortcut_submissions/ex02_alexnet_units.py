"""ex02_alexnet_units answered with autograd, F.dropout and F.max_pool2d: zero on those parts (the
design is plain data and keeps its points)."""

REPLACE = {
    "lrn_backward": (
        "def lrn_backward(x, grad_output, size=5, alpha=1e-4, beta=0.75, k=2.0):\n"
        "    x = x.detach().requires_grad_(True)\n"
        "    squares = F.pad(x * x, (0, 0, 0, 0, size // 2, size // 2))\n"
        "    d = k + alpha * sum(squares[:, o:o + x.shape[1]] for o in range(2 * (size // 2) + 1))\n"
        "    return torch.autograd.grad(x / d ** beta, x, grad_output)[0]\n"
    ),
    "dropout": (
        "def dropout(x, p=0.5, training=True, channelwise=False):\n"
        "    return (F.dropout2d if channelwise else F.dropout)(x, p, training)\n"
    ),
    "max_pool2d": (
        "def max_pool2d(x, kernel_size=3, stride=2, padding=0):\n"
        "    return F.max_pool2d(x, kernel_size, stride, padding, return_indices=True)\n"
    ),
}
EXPECTED = {
    "lrn_backward_visible": 0, "lrn_backward_hidden": 0,
    "dropout_eval_visible": 0, "dropout_train_visible": 0, "dropout_hidden": 0,
    "max_pool_visible": 0, "max_pool_hidden": 0,
    "design_visible": 1, "design_hidden": 3,
}
