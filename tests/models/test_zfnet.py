"""ZFNet (Zeiler & Fergus, 2014): the sizes of the paper's Fig. 3."""
from __future__ import annotations

from model_helpers import meta

from cnnlab.analysis import conv_output_size, summary


def test_zfnet_sizes_follow_the_paper_fig3():
    """224×224 -> conv 7×7/2 -> 110×110×96 -> pool -> 55 -> conv 5×5/2 -> 26×26×256 -> pool -> 13 ->
    three 3×3 convs 384, 384, 256 at 13×13 -> pool -> 6×6×256 -> 4096 -> 4096."""
    table = summary(meta("zfnet"), (1, 3, 224, 224))
    shapes = [r.output_shape[1:] for r in table.rows if r.kind in ("Conv2d", "MaxPool2d")]
    assert shapes == [(96, 110, 110), (96, 55, 55), (256, 26, 26), (256, 13, 13),
                      (384, 13, 13), (384, 13, 13), (256, 13, 13), (256, 6, 6)]
    first = meta("zfnet").features[0]
    assert first.kernel_size == (7, 7) and first.stride == (2, 2) and first.out_channels == 96
    assert [r.output_shape[1] for r in table.rows if r.kind == "Linear"][:2] == [4096, 4096]
    # why the padding choices: without them conv1 gives 109 and the pools round 110 -> 54, 26 -> 12
    assert conv_output_size(224, 7, 2, 0) == 109 and conv_output_size(224, 7, 2, 1) == 110
    assert conv_output_size(110, 3, 2) == 54 and conv_output_size(26, 3, 2) == 12
