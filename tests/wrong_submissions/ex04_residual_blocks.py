"""Designed wrong submission of ex04_residual_blocks and the score each graded cell must get."""

REPLACE = {
    # projects the shortcut only when the block strides: right for the visible cases (stride 1 at the
    # same width, stride 2 doubling it), but a stride-1 block that changes the width (the first block
    # of a stage after a wider stem, conv2_1 of a bottleneck net) then adds tensors of different
    # widths; only the hidden tests draw that case
    "basic_block": (
        "class BasicBlock(nn.Module):\n"
        "    expansion = 1\n"
        "\n"
        "    def __init__(self, inplanes, planes, stride=1):\n"
        "        super().__init__()\n"
        "        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)\n"
        "        self.bn1 = nn.BatchNorm2d(planes)\n"
        "        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)\n"
        "        self.bn2 = nn.BatchNorm2d(planes)\n"
        "        self.downsample = None\n"
        "        if stride != 1:\n"
        "            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),\n"
        "                                            nn.BatchNorm2d(planes))\n"
        "\n"
        "    def forward(self, x):\n"
        "        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return F.relu(out + identity)\n"
    ),
    # the paper's placement of the stride (on the first 1×1), not torchvision's: same weights and
    # shapes, other outputs at stride 2, which the visible tests already show
    "bottleneck": (
        "class Bottleneck(nn.Module):\n"
        "    expansion = 4\n"
        "\n"
        "    def __init__(self, inplanes, planes, stride=1):\n"
        "        super().__init__()\n"
        "        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride, bias=False)\n"
        "        self.bn1 = nn.BatchNorm2d(planes)\n"
        "        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)\n"
        "        self.bn2 = nn.BatchNorm2d(planes)\n"
        "        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)\n"
        "        self.bn3 = nn.BatchNorm2d(4 * planes)\n"
        "        self.downsample = None\n"
        "        if stride != 1 or inplanes != 4 * planes:\n"
        "            self.downsample = nn.Sequential(nn.Conv2d(inplanes, 4 * planes, 1, stride, bias=False),\n"
        "                                            nn.BatchNorm2d(4 * planes))\n"
        "\n"
        "    def forward(self, x):\n"
        "        out = F.relu(self.bn1(self.conv1(x)))\n"
        "        out = F.relu(self.bn2(self.conv2(out)))\n"
        "        out = self.bn3(self.conv3(out))\n"
        "        return F.relu(out + (x if self.downsample is None else self.downsample(x)))\n"
    ),
    # crashes: math is used but never imported (NameError on every case)
    "block_params": (
        "def block_params(block, inplanes, planes, stride):\n"
        "    out = planes if block == 'basic' else 4 * planes\n"
        "    if block == 'basic':\n"
        "        shapes = [(planes, inplanes, 3, 3), (planes, planes, 3, 3)]\n"
        "    else:\n"
        "        shapes = [(planes, inplanes, 1, 1), (planes, planes, 3, 3), (out, planes, 1, 1)]\n"
        "    if stride != 1 or inplanes != out:\n"
        "        shapes.append((out, inplanes, 1, 1))\n"
        "    return sum(math.prod(s) + 2 * s[0] for s in shapes)\n"
    ),
    # deep enough and within the budget, but a stack of plain convolutions without BN or shortcuts:
    # it barely trains in the grader's ten epochs
    "design": ("DESIGN = [('conv', 8, 3, 1, 1)] + [('conv', 8, 3, 1, 1)] * 4 + [('conv', 16, 3, 2, 1)]"
               " + [('conv', 16, 3, 1, 1)] * 4 + [('conv', 32, 3, 2, 1)] + [('conv', 32, 3, 1, 1)] * 2 + [('gap',)]\n"),
}
EXPECTED = {
    "basic_visible": 2, "basic_hidden": 0,
    "bottleneck_visible": 0, "bottleneck_hidden": 0,
    "params_visible": 0, "params_hidden": 0,
    "design_visible": 1, "design_hidden": 0,
}
