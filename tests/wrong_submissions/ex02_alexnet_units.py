"""Designed wrong submission of ex02_alexnet_units and the score each graded cell must get."""

REPLACE = {
    # PyTorch's convention: alpha multiplies the mean of the squares (alpha / size), not their sum.
    # The visible tests with the paper's constants catch it.
    "local_response_norm": (
        "def local_response_norm(x, size=5, alpha=1e-4, beta=0.75, k=2.0):\n"
        "    channels = x.shape[1]\n"
        "    out = torch.empty_like(x)\n"
        "    for i in range(channels):\n"
        "        lo, hi = max(0, i - size // 2), min(channels - 1, i + size // 2)\n"
        "        mean = (x[:, lo:hi + 1] ** 2).sum(dim=1) / size\n"
        "        out[:, i] = x[:, i] / (k + alpha * mean) ** beta\n"
        "    return out\n"
    ),
    # evaluation mode is right; training crashes with a TypeError (x.size is a method, not a shape)
    "dropout": (
        "def dropout(x, p=0.5, training=True):\n"
        "    if not training:\n"
        "        return x\n"
        "    keep = torch.rand(x.size) >= p\n"
        "    return x * keep / (1 - p)\n"
    ),
    # uses H for both output sides: right on the square maps of the visible tests (the slide's 4×4,
    # AlexNet's 55×55 …), wrong when H != W, which only the hidden tests draw
    "max_pool2d": (
        "def max_pool2d(x, kernel_size=3, stride=2):\n"
        "    n, c, h, w = x.shape\n"
        "    out_h = (h - kernel_size) // stride + 1\n"
        "    out_w = (h - kernel_size) // stride + 1\n"
        "    out = x.new_empty(n, c, out_h, out_w)\n"
        "    for i in range(out_h):\n"
        "        for j in range(out_w):\n"
        "            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]\n"
        "            out[:, :, i, j] = window.amax(dim=(-2, -1))\n"
        "    return out\n"
    ),
}
EXPECTED = {
    "lrn_visible": 0, "lrn_hidden": 0,
    "dropout_eval_visible": 1, "dropout_train_visible": 0, "dropout_hidden": 0,
    "max_pool_visible": 2, "max_pool_hidden": 0,
}
