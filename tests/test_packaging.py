"""The repository's own promises: environment.yml agrees with pyproject.toml, students get the
course without nbgrader, CI runs the README's test command, and every notebook is committed clean,
with the Colab badge and install cell that `make.py publish` stamps for the published repository."""
from __future__ import annotations

import copy
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make", REPO / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)
NOTEBOOKS = make.notebooks()
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _requirement_names(reqs: list[str]) -> dict[str, str]:
    out = {}
    for req in reqs:
        name = re.split(r"[<>=!~ \[;]", req, maxsplit=1)[0].lower().replace("_", "-")
        out[name] = req.replace(" ", "")
    return out


def _extra(name: str) -> list[str]:
    return PROJECT["optional-dependencies"][name]


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    wanted = list(PROJECT["dependencies"])
    for reqs in PROJECT["optional-dependencies"].values():
        wanted += [r for r in reqs if not r.startswith("cnnlab[")]  # extras that include other extras
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["name"] == "cnnlab" and env["channels"]
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python == [f"python{PROJECT['requires-python']}"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip_reqs = [r for r in pip_section if not r.startswith("-e")]
    assert _requirement_names(pip_reqs) == _requirement_names(wanted)
    assert "-e ." in pip_section, "environment.yml must install cnnlab itself"


def test_students_get_the_course_without_nbgrader():
    extras = PROJECT["optional-dependencies"]
    assert "nbgrader" not in _requirement_names(extras["course"]), "students must not get nbgrader's UI"
    assert {"jupyterlab", "ipywidgets", "ipykernel"} <= set(_requirement_names(extras["course"]))
    assert "cnnlab[course]" in extras["instructor"] and "nbgrader" in _requirement_names(extras["instructor"])
    assert "cnnlab[instructor]" in extras["test"], "the nbgrader round trips need the instructor tools"
    assert make.COMMAND_EXTRA["lab"] == "course" and make.COMMAND_EXTRA["instructor-lab"] == "instructor"
    assert make.COMMAND_EXTRA["test"] == "test"
    assert tuple(extras) == make.EXTRAS, "make.py ranks the extras in pyproject's order"


def test_set_up_installs_the_extra_a_command_needs_and_keeps_larger_ones():
    pick = make.extra_to_install
    assert pick("course", "", "", "h1") == "course"  # a fresh clone's `make.py lab`: no nbgrader
    assert pick("course", "h1", "course", "h1") is None
    assert pick("test", "h1", "course", "h1") == "test"  # then `make.py test`
    assert pick("course", "h1", "test", "h1") is None  # `lab` again: nothing to do (UI hidden instead)
    assert pick("course", "h0", "test", "h1") == "test"  # pyproject changed: reinstall, keep the tools
    assert pick("instructor", "h1", "course", "h1") == "instructor"
    with pytest.raises(ValueError, match="unknown extra 'grading'"):
        pick("grading", "h1", "course", "h1")


def test_lab_config_hides_instructor_tools_and_the_news_pop_up():
    config = REPO / "jupyter-config"
    student = make.lab_env("lab")["JUPYTER_CONFIG_PATH"].split(make.os.pathsep)
    instructor = make.lab_env("instructor-lab")["JUPYTER_CONFIG_PATH"].split(make.os.pathsep)
    assert student[:2] == [str(config / "student"), str(config / "common")]
    assert instructor[0] == str(config / "common") and str(config / "student") not in instructor
    overrides = json.loads((config / "common/labconfig/default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    page = json.loads((config / "student/labconfig/page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader"] is True
    server = json.loads((config / "student/jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] and not any(server["ServerApp"]["jpserver_extensions"].values())


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
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        f"{path.name} was committed with outputs: clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_colab_badge_and_install_cell_point_at_the_published_repository(path):
    nb = json.loads(path.read_text())
    rel = make.colab_path(path)
    problems = make.check_notebook(nb, rel)
    assert not problems, f"{path.relative_to(REPO)}: " + "; ".join(problems) + " (run `python3 make.py publish`)"
    # what Colab opens is a file of this repository, at the path the badge names
    assert (REPO / rel).exists() or path.is_relative_to(REPO / "solutions"), rel


def test_colab_install_cell_keeps_colabs_torch():
    cell = make.install_cell("someone/course", "fall-2027")
    (pip,) = [line for line in cell.splitlines() if "%pip install" in line]
    # from the published repository and branch, no extras (Colab has ipywidgets), nothing forced:
    # pip then keeps every preinstalled package that satisfies pyproject's ranges, torch included
    assert pip.strip() == '%pip install --quiet "cnnlab @ git+https://github.com/someone/course@fall-2027"'
    assert not re.search(r"--upgrade|-U\b|--force|torch", pip)
    assert 'if "google.colab" in sys.modules:' in cell
    # anywhere else it prints one line and installs nothing
    out = subprocess.run([sys.executable, "-c", cell.replace("%pip", "raise SystemExit #")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "Not in Colab: nothing to install, cnnlab comes with this environment."


def _toy_notebook() -> dict:
    def md(text):
        return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}

    def code(text):
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": text.splitlines(keepends=True)}

    old_install = '# In Colab\nimport sys\nif "google.colab" in sys.modules:\n    %pip install "cnnlab[course] @ git+https://github.com/x/y"'
    return {"cells": [md("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                         "(https://colab.research.google.com/github/x/y/blob/main/course/other.ipynb)\n\n# 07 · Title"),
                      code("FULL = False"), code(old_install), code("print(1)")],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_publish_stamps_badges_and_install_cells_idempotently():
    nb = _toy_notebook()
    rel = "course/07_title.ipynb"
    problems = make.check_notebook(nb, rel, "me/cnn", "dev")
    assert any("links to https://colab.research.google.com/github/x/y" in p for p in problems)
    assert any("first code cell is not the install cell" in p for p in problems)
    assert make.stamp_notebook(nb, rel, "me/cnn", "dev") == ["badge", "install cell moved"]
    assert make.check_notebook(nb, rel, "me/cnn", "dev") == []
    first = "".join(nb["cells"][0]["source"])
    assert first == make.colab_badge(rel, "me/cnn", "dev") + "\n\n# 07 · Title"
    assert [c["cell_type"] for c in nb["cells"]] == ["markdown", "code", "code", "code"]
    assert "".join(nb["cells"][2]["source"]) == "FULL = False"  # the old, misplaced install cell is gone
    stamped = copy.deepcopy(nb)
    assert make.stamp_notebook(nb, rel, "me/cnn", "dev") == [] and nb == stamped  # idempotent
    # a notebook with neither gets both
    bare = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                       "source": ["x = 1"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert make.stamp_notebook(bare, rel) == ["badge", "install cell added"]
    assert make.check_notebook(bare, rel) == []


def test_publish_command_on_a_copy(tmp_path):
    """`make.py publish --root COPY` rewrites a copy of the notebooks, twice gives the same bytes,
    and `--check` names the notebook that is off."""
    for name in ("course", "solutions"):
        for path in (REPO / name).rglob("*.ipynb"):
            if "exercises" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                target = tmp_path / path.relative_to(REPO)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())

    def publish(*args):
        return subprocess.run([sys.executable, str(REPO / "make.py"), "publish", "--root", str(tmp_path), *args],
                              capture_output=True, text=True)

    assert publish().returncode == 0
    once = {p: p.read_bytes() for p in tmp_path.rglob("*.ipynb")}
    assert publish().returncode == 0
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.ipynb")} == once
    checked = publish("--check")
    assert checked.returncode == 0 and "notebooks point at" in checked.stdout
    for path in once:  # stamping leaves the layout JupyterLab writes: only the stamped lines change
        nb = json.loads(path.read_text())
        assert path.read_text() == json.dumps(nb, indent=1, ensure_ascii=False) + "\n"

    lecture = tmp_path / "course" / "00_setup_and_tour.ipynb"
    nb = json.loads(lecture.read_text())
    nb["cells"][0]["source"][0] = nb["cells"][0]["source"][0].replace(make.PUBLISHED_REPO, "someone/else")
    lecture.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    checked = publish("--check")
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[0].startswith("course/00_setup_and_tour.ipynb: the first cell")
    assert "1 of" in checked.stdout
    bad = publish("not a repo")
    assert bad.returncode == 2 and "OWNER/NAME" in bad.stderr
