"""netlab uses its dependencies through their public interfaces only (issue 20, item 1): under
src/ nothing imports a private module or name of Hydra, MLflow, Optuna, joblib/loky, SQLAlchemy
or OmegaConf, reads or calls a `_private` attribute of them, assigns an attribute of another
package (a monkeypatch), or switches Python's garbage collector. Read from the source's syntax
tree, so a new violation fails here before review."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
DEPENDENCIES = {"hydra", "mlflow", "optuna", "joblib", "loky", "sqlalchemy", "omegaconf",
                "sklearn", "scipy", "numpy", "matplotlib", "pandas", "submitit", "ray"}


def private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(path):
    """[(line, what)] of one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = {}  # local name -> the external module or object it names
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in DEPENDENCIES:
                    if any(private(part) for part in alias.name.split(".")):
                        found.append((node.lineno, f"import {alias.name}"))
                    modules[alias.asname or root] = alias.name
                if alias.name == "gc":
                    modules[alias.asname or "gc"] = "gc"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            root = node.module.split(".")[0]
            if root in DEPENDENCIES:
                if any(private(part) for part in node.module.split(".")):
                    found.append((node.lineno, f"from {node.module} import …"))
                for alias in node.names:
                    if private(alias.name):
                        found.append((node.lineno, f"from {node.module} import {alias.name}"))
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.append((node.lineno, f"{modules[base.id]} … .{node.attr}"))
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
        for target in targets:
            base = target
            while isinstance(base, ast.Attribute):
                base = base.value
            if target is not base and isinstance(base, ast.Name) and base.id in modules:
                found.append((node.lineno, f"assigns {ast.unparse(target)} (a monkeypatch)"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and \
                modules.get(node.func.value.id) == "gc" and node.func.attr != "collect":
            found.append((node.lineno, f"gc.{node.func.attr}()"))
    return found


FILES = sorted(SRC.rglob("*.py"))


def test_the_check_sees_each_kind_of_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import gc\nimport mlflow\nfrom hydra._internal.utils import run_job\n"
                   "from optuna.storages import _rdb\nimport joblib\n"
                   "x = mlflow.utils._tracking_uri\nmlflow.set_tracking_uri = print\n"
                   "joblib.externals.loky.reusable_executor._executor = None\ngc.freeze()\n")
    assert sorted(line for line, _ in violations(bad)) == [3, 4, 6, 7, 8, 8, 9]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_no_private_interface_of_a_dependency(path):
    assert violations(path) == []


def test_the_installed_project_adds_netlab_and_its_plugins_only(tmp_path):
    """Installed (`pip install -e .`, as make does), netlab adds the packages `netlab` and
    `hydra_plugins.netlab_sweepers` to the environment, nothing named src, benchmarks, run or
    tests that would clash with another project's (issue 20, item 5). Asked from another folder,
    so the project root is not on the path."""
    import subprocess
    import sys

    probe = ("import importlib.util as u, json; print(json.dumps({n: bool(u.find_spec(n)) for n in "
             "('netlab', 'hydra_plugins.netlab_sweepers', 'src', 'benchmarks', 'run', 'tests')}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ('{"netlab": true, "hydra_plugins.netlab_sweepers": true, '
                                   '"src": false, "benchmarks": false, "run": false, '
                                   '"tests": false}')
