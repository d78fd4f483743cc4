"""The worked example of cnnlab/models/README.md runs as written and meets the convention."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from cnnlab.models import ImageClassifier, _registry, get_model, list_models, model_info

README = Path(__file__).resolve().parents[2] / "cnnlab" / "models" / "README.md"


def test_worked_example_builds_registers_and_runs():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    code = re.sub(r"from \.(\.?)(\w+)", lambda m: f"from cnnlab.{'' if m.group(1) else 'models.'}{m.group(2)}", code)
    try:
        exec(compile(code, str(README), "exec"), {})
        assert "tinynet" in list_models(tags="cifar") and model_info("tinynet").input_size == (3, 32, 32)
        model = get_model("tinynet", width_mult=0.5)
        assert isinstance(model, ImageClassifier) and model.model_name == "tinynet"
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
        assert model.forward_features(torch.randn(1, 3, 32, 32)).shape == (1, 32, 16, 16)
    finally:
        _registry._MODELS.pop("tinynet", None)
