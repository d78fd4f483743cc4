"""ex03_inception with the Inception module taken from cnnlab's GoogLeNet: zero on that part (the
factorisation and the design are the master's and keep their points)."""

REPLACE = {
    "inception_block": (
        "from torch import nn\n"
        "from cnnlab.models.googlenet import Inception\n"
        "\n"
        "def _conv(in_channels, out_channels, **kwargs):\n"
        "    return nn.Sequential(nn.Conv2d(in_channels, out_channels, **kwargs), nn.ReLU())\n"
        "\n"
        "class InceptionBlock(Inception):\n"
        "    def __init__(self, *widths):\n"
        "        super().__init__(*widths, conv_block=_conv, kernel_size_5x5=5)\n"
    ),
}
EXPECTED = {
    "inception_shape_visible": 0, "inception_outputs_visible": 0, "inception_hidden": 0,
    "factorize_visible": 2, "factorize_hidden": 3,
    "design_visible": 1, "design_hidden": 4,
}
