"""Designed wrong submission of ex03_inception and the score each graded cell must get."""

REPLACE = {
    # forgets the ReLU after the 1×1 reductions of branch 2 and branch 3: convolutions, parameters and
    # output shape are right (structure test), the outputs with the grader's weights are not
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
    # a truncated SVD of the kernel reshaped without moving the axes: right for one channel in and out
    # (the hand example), not the best pair once there are several channels
    "factorize": (
        "def factorize(weight, mid_channels):\n"
        "    c_out, c_in, n, _ = weight.shape\n"
        "    u, s, vh = torch.linalg.svd(weight.reshape(c_out * n, c_in * n), full_matrices=False)\n"
        "    m = mid_channels\n"
        "    left, right = u[:, :m] * s[:m].sqrt(), s[:m].sqrt()[:, None] * vh[:m]\n"
        "    return right.reshape(m, c_in, n).unsqueeze(2), left.reshape(c_out, n, m).permute(0, 2, 1).unsqueeze(-1)\n"
    ),
    # within budget, but a stride-4 stem throws the image away before the Inception module
    "design": "DESIGN = [('conv', 8, 5, 4, 2), ('inception', 4, 4, 8, 2, 4, 4), ('gap',)]\n",
}
EXPECTED = {
    "inception_shape_visible": 1, "inception_outputs_visible": 0, "inception_hidden": 0,
    "factorize_visible": 0, "factorize_hidden": 0,
    "design_visible": 1, "design_hidden": 0,
}
