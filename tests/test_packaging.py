"""The repository's own promises: environment.yml agrees with pyproject.toml, CI runs the README's
test command, and every notebook is committed clean, with a Colab badge and install cell."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for d in ("course", "solutions") for p in (REPO / d).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def _requirement_names(reqs: list[str]) -> dict[str, str]:
    out = {}
    for req in reqs:
        name = re.split(r"[<>=!~ \[;]", req, maxsplit=1)[0].lower().replace("_", "-")
        out[name] = req.replace(" ", "")
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("course", "test"):
        wanted += project["optional-dependencies"][extra]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["name"] == "cnnlab" and env["channels"]
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python == [f"python{project['requires-python']}"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip_reqs = [r for r in pip_section if not r.startswith("-e")]
    assert _requirement_names(pip_reqs) == _requirement_names(wanted)
    assert "-e ." in pip_section, "environment.yml must install cnnlab itself"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh|shell)?\n(.*?)```", readme, re.S)
    commands = [line.strip() for b in blocks for line in b.splitlines() if line.strip().startswith("python3 make.py")]
    assert "python3 make.py test" in commands and "python3 make.py lab" in commands
    ci = (REPO / ".ci" / "run").read_text()
    assert "python3 make.py test" in ci


def test_there_are_notebooks():
    assert (REPO / "course" / "00_setup_and_tour.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_is_clean_with_colab_badge_and_install_cell(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        f"{path.name} was committed with outputs: clear them"
    first = "".join(nb["cells"][0]["source"])
    rel = path.relative_to(REPO).as_posix()
    if rel.startswith("solutions/"):  # the badge points at the student version it becomes
        rel = "course/exercises/" + rel.removeprefix("solutions/")
    assert f"colab.research.google.com/github/cnnlab/cnnlab/blob/main/{rel}" in first, \
        f"{path.name}: the first cell needs a Colab badge linking to {rel}"
    install = "".join(code[0]["source"])
    assert '"google.colab" in sys.modules' in install and "pip install" in install, \
        f"{path.name}: the first code cell must install cnnlab in Colab (and do nothing elsewhere)"
