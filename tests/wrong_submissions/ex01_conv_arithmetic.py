"""Designed wrong submission of ex01_conv_arithmetic and the score each graded cell must get."""

REPLACE = {
    # output_size is left correct (3 points)
    # forgets the biases: the visible AlexNet check catches it
    "conv_params": (
        "def conv_params(in_channels, out_channels, kernel_size, bias=True):\n"
        "    return out_channels * in_channels * kernel_size * kernel_size\n"
    ),
    # crashes with a NameError (a typo)
    "conv_macs": (
        "def conv_macs(in_channels, out_channels, kernel_size, output_size):\n"
        "    return out_channel * output_size ** 2 * in_channels * kernel_size ** 2\n"
    ),
    # integer division in (k - 1) / 2: right for the odd kernels of the visible example,
    # wrong for even kernels, which only the hidden tests draw
    "receptive_field": (
        "def receptive_field(layers, input_size):\n"
        "    n, j, r, start = input_size, 1, 1, 0.5\n"
        "    rows = []\n"
        "    for k, s, p in layers:\n"
        "        n = (n + 2 * p - k) // s + 1\n"
        "        start = start + ((k - 1) // 2 - p) * j\n"
        "        r = r + (k - 1) * j\n"
        "        j = j * s\n"
        "        rows.append((n, j, r, start))\n"
        "    return rows\n"
    ),
}
EXPECTED = {
    "output_size_visible": 1, "output_size_hidden": 2,
    "conv_params_visible": 0, "conv_params_hidden": 0,
    "conv_macs_visible": 0, "conv_macs_hidden": 0,
    "receptive_field_visible": 2, "receptive_field_hidden": 0,
}
