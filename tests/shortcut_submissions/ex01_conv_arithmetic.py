"""ex01_conv_arithmetic answered with cnnlab's references and PyTorch layers: zero on every part."""

REPLACE = {
    "output_size": (
        "import torch\n"
        "def output_size(size, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False):\n"
        "    pool = torch.nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)\n"
        "    return pool(torch.zeros(1, 1, size)).shape[-1]\n"
    ),
    "conv_cost": (
        "from cnnlab import analysis\n"
        "import torch\n"
        "def conv_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1,\n"
        "              groups=1, bias=True):\n"
        "    conv = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)\n"
        "    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size\n"
        "    return analysis.count_params(conv), analysis.count_macs(conv, (1, in_channels, h, w))\n"
    ),
    "receptive_field": (
        "import cnnlab.analysis\n"
        "def receptive_field(layers, input_size):\n"
        "    rows = cnnlab.analysis.receptive_field(layers, input_size)[1:]\n"
        "    return [(r.n, r.jump, r.size, r.start) for r in rows]\n"
    ),
    "design": (
        "from cnnlab.analysis import count_macs, count_params\n"
        "DESIGN = [('conv', 16, 3, 2, 1), ('maxpool', 3, 2, 1), ('conv', 32, 3, 2, 1), ('conv', 64, 3, 2, 1),\n"
        "          ('maxpool', 3, 2, 1), ('conv', 64, 3, 1, 1, 1, 64)]\n"
        "PREDICTION = dict(receptive_field=127, params=24_224, macs=2_327_616)\n"
    ),
}
EXPECTED = {
    "output_size_visible": 0, "output_size_hidden": 0,
    "conv_cost_visible": 0, "conv_cost_hidden": 0,
    "receptive_field_visible": 0, "receptive_field_hidden": 0,
    "design_visible": 0, "prediction_hidden": 0,
}
