"""Designed wrong submission of ex02_alexnet_units and the score each graded cell must get."""

REPLACE = {
    # PyTorch's window of exactly `size` channels, i - size//2 ... i + (size-1)//2: the same as the
    # paper's for the odd sizes of the visible tests, wrong for the even sizes only hidden tests draw
    "lrn_backward": (
        "def lrn_backward(x, grad_output, size=5, alpha=1e-4, beta=0.75, k=2.0):\n"
        "    before, after = size // 2, (size - 1) // 2\n"
        "    def window_sum(t, front, back):\n"
        "        padded = F.pad(t, (0, 0, 0, 0, front, back))\n"
        "        return sum(padded[:, o:o + t.shape[1]] for o in range(front + back + 1))\n"
        "    d = k + alpha * window_sum(x * x, before, after)\n"
        "    back = window_sum(grad_output * x * d.pow(-beta - 1), after, before)\n"
        "    return grad_output * d.pow(-beta) - 2 * alpha * beta * x * back\n"
    ),
    # ignores channelwise: evaluation mode is right, the channel-wise training cases are not
    "dropout": (
        "def dropout(x, p=0.5, training=True, channelwise=False):\n"
        "    if not training or p == 0:\n"
        "        return x\n"
        "    return x * (torch.rand_like(x) >= p) / (1 - p)\n"
    ),
    # maxima right, but the indices count positions in the padded map
    "max_pool2d": (
        "def max_pool2d(x, kernel_size=3, stride=2, padding=0):\n"
        "    values = F.pad(x, (padding,) * 4, value=float('-inf'))\n"
        "    n, c, h, w = values.shape\n"
        "    positions = torch.arange(h * w).view(1, 1, h, w).expand(n, c, h, w)\n"
        "    win = lambda t: t.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride).flatten(-2)\n"
        "    best = win(values).argmax(-1, keepdim=True)\n"
        "    return win(values).gather(-1, best).squeeze(-1), win(positions).gather(-1, best).squeeze(-1)\n"
    ),
    # within budget, but strided convolutions without pooling learn little in 10 epochs (16-24 %)
    "design": "DESIGN = [('conv', 4, 5, 2, 2), ('conv', 8, 3, 2, 1)]\n",
}
EXPECTED = {
    "lrn_backward_visible": 1, "lrn_backward_hidden": 0,
    "dropout_eval_visible": 1, "dropout_train_visible": 0, "dropout_hidden": 0,
    "max_pool_visible": 0, "max_pool_hidden": 0,
    "design_visible": 1, "design_hidden": 0,
}
