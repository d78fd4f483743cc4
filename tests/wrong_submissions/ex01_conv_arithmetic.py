"""Designed wrong submission of ex01_conv_arithmetic and the score each graded cell must get."""

REPLACE = {
    # ceil_mode rounds up but forgets that a window starting in the right padding is dropped: right on
    # the visible cases, wrong on the hidden ones that hit that rule
    "output_size": (
        "def output_size(size, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False):\n"
        "    room = size + 2 * padding - dilation * (kernel_size - 1) - 1\n"
        "    if ceil_mode:\n"
        "        return -(-room // stride) + 1\n"
        "    return room // stride + 1\n"
    ),
    # counts one MAC per bias as well: the visible AlexNet case catches it
    "conv_cost": (
        "def conv_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1,\n"
        "              groups=1, bias=True):\n"
        "    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)\n"
        "    (kh, kw), (h, w), (sh, sw), (ph, pw) = pair(kernel_size), pair(input_size), pair(stride), pair(padding)\n"
        "    oh = output_size(h, kh, sh, ph, dilation)\n"
        "    ow = output_size(w, kw, sw, pw, dilation)\n"
        "    per_output = in_channels // groups * kh * kw + (1 if bias else 0)\n"
        "    return out_channels * per_output, out_channels * oh * ow * per_output\n"
    ),
    # integer division in (span - 1) // 2: right for odd kernels (all visible cases), wrong for the
    # even kernels that only the hidden tests draw
    "receptive_field": (
        "def receptive_field(layers, input_size):\n"
        "    n, j, r, start = input_size, 1, 1, 0.5\n"
        "    rows = []\n"
        "    for k, s, p, *d in layers:\n"
        "        span = (d[0] if d else 1) * (k - 1) + 1\n"
        "        n = output_size(n, k, s, p, d[0] if d else 1)\n"
        "        start = start + ((span - 1) // 2 - p) * j\n"
        "        r = r + (span - 1) * j\n"
        "        j = j * s\n"
        "        rows.append((n, j, r, start))\n"
        "    return rows\n"
    ),
    # the plain stack the prompt warns about: right output shape (0.75 of 3 points), too small a field,
    # over both budgets; its receptive field and parameters predicted right, its MACs not (2 of 3)
    "design": (
        "DESIGN = [('conv', 16, 3, 1, 1), ('maxpool', 2, 2), ('conv', 32, 3, 1, 1), ('maxpool', 2, 2),\n"
        "          ('conv', 64, 3, 1, 1), ('maxpool', 2, 2), ('conv', 64, 3, 1, 1), ('maxpool', 2, 2),\n"
        "          ('maxpool', 2, 2)]\n"
        "PREDICTION = dict(receptive_field=62, params=60_512, macs=30_000_000)\n"
    ),
}
EXPECTED = {
    "output_size_visible": 1, "output_size_hidden": 0,
    "conv_cost_visible": 0, "conv_cost_hidden": 0,
    "receptive_field_visible": 1, "receptive_field_hidden": 0,
    "design_visible": 0.75, "prediction_hidden": 2,
}
