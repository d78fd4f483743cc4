"""ex04_residual_blocks with the blocks taken from torchvision and cnnlab and the parameters counted on a
built block: zero on those parts (the design is the master's and keeps its points)."""

REPLACE = {
    "basic_block": (
        "from torchvision.models.resnet import BasicBlock as _Block\n"
        "\n"
        "class BasicBlock(_Block):\n"
        "    def __init__(self, inplanes, planes, stride=1):\n"
        "        down = None\n"
        "        if stride != 1 or inplanes != planes:\n"
        "            down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))\n"
        "        super().__init__(inplanes, planes, stride, down)\n"
    ),
    "bottleneck": (
        "from cnnlab.models import resnet as _r\n"
        "\n"
        "class Bottleneck(_r.Bottleneck):\n"
        "    def __init__(self, inplanes, planes, stride=1):\n"
        "        down = None\n"
        "        if stride != 1 or inplanes != 4 * planes:\n"
        "            down = nn.Sequential(nn.Conv2d(inplanes, 4 * planes, 1, stride, bias=False),\n"
        "                                 nn.BatchNorm2d(4 * planes))\n"
        "        super().__init__(inplanes, planes, stride, down)\n"
    ),
    "block_params": (
        "def block_params(block, inplanes, planes, stride):\n"
        "    cls = BasicBlock if block == 'basic' else Bottleneck\n"
        "    return sum(p.numel() for p in cls(inplanes, planes, stride).parameters())\n"
    ),
}
EXPECTED = {
    "basic_visible": 0, "basic_hidden": 0,
    "bottleneck_visible": 0, "bottleneck_hidden": 0,
    "params_visible": 0, "params_hidden": 0,
    "design_visible": 1, "design_hidden": 4,
}
