"""Designed wrong submission of ex03_inception and the score each graded cell must get."""

REPLACE = {
    # forgets the ReLU after the 1×1 reductions of branch2 and branch3: shapes and parameter counts
    # are right, but the outputs differ once the reference's weights are copied in (visible tests)
    "inception_block": (
        "class InceptionBlock(nn.Module):\n"
        "    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):\n"
        "        super().__init__()\n"
        "        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, ch1x1, 1), nn.ReLU())\n"
        "        self.branch2 = nn.Sequential(nn.Conv2d(in_channels, ch3x3red, 1),\n"
        "                                     nn.Conv2d(ch3x3red, ch3x3, 3, padding=1), nn.ReLU())\n"
        "        self.branch3 = nn.Sequential(nn.Conv2d(in_channels, ch5x5red, 1),\n"
        "                                     nn.Conv2d(ch5x5red, ch5x5, 5, padding=2), nn.ReLU())\n"
        "        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),\n"
        "                                     nn.Conv2d(in_channels, pool_proj, 1), nn.ReLU())\n"
        "\n"
        "    def forward(self, x):\n"
        "        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)\n"
    ),
    # crashes with a NameError (a typo)
    "inception_cost": (
        "def inception_cost(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, size):\n"
        "    convs = [(in_channels, ch1x1, 1), (in_channels, ch3x3red, 1), (ch3x3red, ch3x3, 3),\n"
        "             (in_channels, ch5x5red, 1), (ch5x5red, ch5x5, 5), (in_channels, pool_proj, 1)]\n"
        "    params = sum(c_out * c_in * k * k + c_out for c_in, c_out, k in convs)\n"
        "    macs = sum(c_out * size * size * c_in * k * k for c_in, c_out, k in conv)\n"
        "    return params, macs\n"
    ),
    # symmetric padding n // 2: right for the odd n of the visible tests, one pixel too much for the
    # even n that only the hidden tests draw
    "factorized_conv": (
        "def factorized_conv(in_channels, out_channels, n):\n"
        "    return nn.Sequential(\n"
        "        nn.Conv2d(in_channels, out_channels, (1, n), padding=(0, n // 2), bias=False),\n"
        "        nn.Conv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0), bias=False),\n"
        "    )\n"
    ),
}
EXPECTED = {
    "inception_shape_visible": 1, "inception_params_visible": 1,
    "inception_outputs_visible": 0, "inception_hidden": 0,
    "inception_cost_visible": 0, "inception_cost_hidden": 0,
    "factorized_structure_visible": 1, "factorized_receptive_field_visible": 1,
    "factorized_rank1_visible": 1, "factorized_hidden": 0,
}
