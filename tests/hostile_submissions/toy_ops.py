"""Hostile (and honest) submissions of the toy assignment, by class, with their exact expected scores.

Each entry: ``replace`` (answer cell grade id -> source), ``expected`` (graded test cell -> score),
``flag`` (a phrase the flag must contain, or None for no flag), ``problem`` (a phrase of a reading
problem, or None). ``{course}``, ``{port}``, ``{grader}``, ``{home}`` and ``{cnnlab}`` in a source are filled in by the test
(the temporary course directory, a port the test listens on, the autograder and cnnlab package
folders, the grader's home)."""

FULL = {"output_size_visible": 1, "output_size_hidden": 2, "relu_visible": 1, "relu_hidden": 2}
NONE = {k: 0 for k in FULL}
NO_RELU = {**FULL, "relu_visible": 0, "relu_hidden": 0}
NO_SIZE = {**FULL, "output_size_visible": 0, "output_size_hidden": 0}

GOOD_RELU = "def relu(x):\n    return x * (x > 0)\n"
STUB_SIZE = "def output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n    raise NotImplementedError()\n"

SUBMISSIONS = {
    # --- honest ---------------------------------------------------------------------------------------
    "honest_correct": dict(cls="honest", replace={}, expected=FULL),
    "honest_partly_wrong": dict(cls="honest", replace={"relu": "def relu(x):\n    return x.abs()\n"}, expected=NO_RELU),
    "honest_wrong_hidden_only": dict(cls="honest", replace={"output_size": (
        "def output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    return (size - dilation * (kernel_size - 1) - 1) // stride + 1  # forgets the padding\n")},
        expected={**FULL, "output_size_hidden": 0}),

    # --- verdict forged in the kernel: nothing implemented, everything faked ---------------------------
    "forge_rebind_checks": dict(cls="verdict", replace={"output_size": STUB_SIZE, "relu": (
        "import torch\n"
        "torch.equal = lambda *a, **k: True\n"
        "torch.allclose = lambda *a, **k: True\n"
        "abs = lambda v: 0\n"
        "check = None\n"
        "def relu(x):\n    return x\n")}, expected=NONE),
    "forge_equal_to_anything": dict(cls="verdict", replace={"output_size": (
        "class Anything(int):\n"
        "    __eq__ = lambda self, other: True\n"
        "    __ne__ = lambda self, other: False\n"
        "def output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    return Anything(0)\n"), "relu": (
        "class Whatever:\n    __eq__ = lambda self, other: True\n"
        "def relu(x):\n    return Whatever()\n")}, expected=NONE),
    "forge_tensor_subclass": dict(cls="verdict", flag="__torch_function__", replace={"output_size": STUB_SIZE, "relu": (
        "import torch\n"
        "class Liar(torch.Tensor):\n"
        "    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        return True\n"
        "def relu(x):\n    return x.as_subclass(Liar)\n")}, expected=NONE),
    "forge_caller_frame": dict(cls="verdict", flag="_getframe", replace={"output_size": (
        "import sys\n"
        "def output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    return sys._getframe(1).f_locals.get('expected', 0)\n"), "relu": "def relu(x):\n    return x\n"},
        expected=NONE),
    "forge_input_transformer": dict(cls="verdict", flag="get_ipython", replace={"output_size": STUB_SIZE, "relu": (
        "ip = get_ipython()\n"
        "ip.input_transformers_post.append(lambda lines: ['pass\\n'])\n"
        "def relu(x):\n    return x\n")}, expected=NONE),

    # --- grading changed for everyone after: writes outside the scratch folder ------------------------
    "persist_write_grader": dict(cls="persist", replace={"relu": (
        "import pathlib, sysconfig, os\n"
        "targets = ['{grader}/judge.py', '{grader}/nbgrader_config.py', '{grader}/checks/evil.py',\n"
        "           sysconfig.get_paths()['purelib'] + '/sitecustomize.py',\n"
        "           '{home}/.ipython/profile_default/startup/00-evil.py',\n"
        "           '{course}/gradebook.db', '{course}/nbgrader_config.py', '{cnnlab}/__init__.py']\n"
        "for t in targets:\n"
        "    try:\n"
        "        pathlib.Path(t).parent.mkdir(parents=True, exist_ok=True)\n"
        "        pathlib.Path(t).write_text('raise SystemExit(\"pwned\")')\n"
        "        print('WROTE', t)\n"
        "    except Exception as err:\n"
        "        print('refused', t, type(err).__name__)\n" + GOOD_RELU)}, expected=FULL),
    "persist_detached_process": dict(cls="persist", replace={"relu": (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n" + GOOD_RELU)}, expected=FULL),

    # --- secrets read ----------------------------------------------------------------------------------
    "secrets_read_files": dict(cls="secrets", replace={"relu": (
        "import pathlib\n"
        "for t in ['{course}/solutions/toy_ops/toy_ops.ipynb', '{course}/gradebook.db',\n"
        "          '{course}/submitted', '{course}/submitted/honest_correct/toy_ops/toy_ops.ipynb',\n"
        "          '{grader}/judges', '/root', '{cnnlab}/analysis.py']:\n"
        "    p = pathlib.Path(t)\n"
        "    try:\n"
        "        print('LEAK', t, list(p.iterdir()) if p.is_dir() else p.read_text()[:100000])\n"
        "    except Exception as err:\n"
        "        print('refused', t, type(err).__name__)\n" + GOOD_RELU)}, expected=FULL),
    "secrets_network": dict(cls="secrets", replace={"relu": (
        "from http import client\n"
        "try:\n"
        "    c = client.HTTPConnection('127.0.0.1', {port}, timeout=2)\n"
        "    c.request('GET', '/exfiltrate')\n"
        "    print('CONNECTED')\n"
        "except Exception as err:\n"
        "    print('refused', type(err).__name__)\n" + GOOD_RELU)}, expected=FULL),

    # --- references used -------------------------------------------------------------------------------
    "ref_import_cnnlab": dict(cls="reference", flag="cnnlab", replace={
        "output_size": "from cnnlab.analysis import conv_output_size as output_size\n"}, expected=NO_SIZE),
    "ref_setup_name": dict(cls="reference", flag="analysis.conv_output_size", replace={"output_size": (
        "def output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    return analysis.conv_output_size(size, kernel_size, stride, padding, dilation)\n")}, expected=NO_SIZE),
    "ref_getsource": dict(cls="reference", flag="inspect", replace={"output_size": (
        "import inspect\n"
        "src = inspect.getsource(analysis.conv_output_size)\n"
        "def output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    return 0\n")}, expected=NO_SIZE),
    "ref_copied_code": dict(cls="reference", flag="copied from the reference cnnlab.analysis", replace={"output_size": (
        "def output_size(n, k, stride=1, padding=0, dilation=1):\n"
        "    for what, v, low in (('size', n, 1), ('kernel_size', k, 1), ('stride', stride, 1),\n"
        "                         ('padding', padding, 0), ('dilation', dilation, 1)):\n"
        "        if not isinstance(v, int) or v < low:\n"
        "            raise ValueError(f'bad {{what}}')\n"
        "    effective = dilation * (k - 1) + 1\n"
        "    if n + 2 * padding < effective:\n"
        "        raise ValueError('empty output')\n"
        "    return (n + 2 * padding - effective) // stride + 1\n")}, expected=NO_SIZE),
    "ref_forbidden_builtin": dict(cls="reference", flag="clamp", replace={
        "relu": "def relu(x):\n    return x.clamp(min=0)\n"}, expected=NO_RELU),

    # --- one student stops the class --------------------------------------------------------------------
    "stop_kill_everything": dict(cls="stop", replace={"relu": (
        "import os\n"
        "for pid in (os.getppid(), -1):\n"
        "    try:\n"
        "        os.kill(pid, 9)\n"
        "    except Exception:\n"
        "        pass\n" + GOOD_RELU)}, expected=FULL),  # in a PID namespace there is nobody else to kill
    "stop_infinite_loop_cell": dict(cls="stop", replace={"relu": "while True:\n    pass\n" + GOOD_RELU}, expected=NO_RELU),
    "stop_sleep_in_function": dict(cls="stop", replace={"relu": (
        "import time\n"
        "def relu(x):\n    time.sleep(10_000)\n")}, expected=NO_RELU),
    "stop_exit": dict(cls="stop", replace={"relu": "import os\ndef relu(x):\n    os._exit(0)\n"}, expected=NO_RELU),
    "stop_print_flood": dict(cls="stop", replace={"relu": (
        "import os\n"
        "print('x' * 50_000_000)\n"
        "os.write(1, b'y' * 50_000_000)\n" + GOOD_RELU)}, expected=FULL),
    "stop_memory": dict(cls="stop", replace={"relu": (
        "def relu(x):\n    hog = bytearray(64 * 2**30)\n    return x * (x > 0)\n")}, expected=NO_RELU),
    "stop_processes_and_files": dict(cls="stop", replace={"relu": (
        "import os, time, pathlib\n"
        "n = 0\n"
        "for _ in range(2000):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(600)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "    except OSError:\n"
        "        break\n"
        "print('forked', n)\n"
        "try:\n"
        "    pathlib.Path('/tmp/big').write_bytes(b'z' * 200_000_000)\n"
        "except OSError as err:\n"
        "    print('file refused', err)\n" + GOOD_RELU)}, expected=FULL),
}
# Built by the test from the master: a duplicated answer cell (the first, correct one is graded and
# the duplicate reported), a notebook in nbformat 3, and a file that is not a notebook.
SPECIAL = {
    "stop_duplicated_cell": dict(cls="stop", expected=FULL, problem="appears more than once"),
    "stop_old_schema": dict(cls="stop", expected=FULL),
    "stop_not_a_notebook": dict(cls="stop", expected=NONE, problem="not a notebook"),
    "honest_empty": dict(cls="honest", expected=NONE),
}
