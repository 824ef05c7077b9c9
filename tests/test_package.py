"""The package's promises that no single module owns: lazy torch, README and CI, examples."""

import importlib
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import gruforecast
from gruforecast import _version

ROOT = Path(__file__).resolve().parents[1]


def test_public_names():
    names = gruforecast.__all__
    assert len(set(names)) == len(names), "a name is listed twice in __all__"
    # the lazy table lists public names only, each with the module that defines it
    assert set(gruforecast._LAZY) <= set(names), set(gruforecast._LAZY) - set(names)
    for name in names:
        value = getattr(gruforecast, name)
        if name in gruforecast._LAZY:
            where = importlib.import_module(gruforecast._LAZY[name], "gruforecast")
            assert value is getattr(where, name), name
            assert value.__module__ == where.__name__, (name, value.__module__, where.__name__)
        elif name == "__version__":
            assert isinstance(value, str) and value == _version.__version__
        else:  # loaded with the package itself: a gruforecast module, class or function
            defined_in = value.__name__ if isinstance(value, types.ModuleType) else value.__module__
            assert defined_in.startswith("gruforecast."), (name, defined_in)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gruforecast.nope  # noqa: B018


def _private_imports(path: Path) -> list[str]:
    """``module: name`` for each private name (one underscore) that ``path`` imports from a
    gruforecast module, and each private gruforecast module imported by an example."""
    import ast

    found = []
    example = path.parent.name == "examples"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            ours = node.level > 0 or module.split(".")[0] == "gruforecast"
            if not ours:
                continue
            private_module = any(part.startswith("_") for part in module.split(".")[1:])
            if example and private_module:
                found.append(f"{path.name}: from {module} import ...")
            for alias in node.names:
                # a private module itself (``from . import _state``) holds implementation
                # whose public names are meant for the package: not a private name
                submodule = node.level > 0 and not module and (path.parent / f"{alias.name}.py").exists()
                if alias.name.startswith("_") and not alias.name.startswith("__") and not submodule:
                    found.append(f"{path.name}: {alias.name} from {module or '.'}")
        elif isinstance(node, ast.Import) and example:
            found += [
                f"{path.name}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith("gruforecast._")
            ]
    return found


def test_no_private_name_crosses_modules_and_examples_use_public_ones():
    """The scikit-learn line: private names stay in their module; examples (what users
    copy) import only public modules and names."""
    paths = sorted((ROOT / "gruforecast").rglob("*.py")) + sorted((ROOT / "examples").glob("*.py"))
    crossing = [found for path in paths for found in _private_imports(path)]
    assert not crossing, crossing


def test_limits_are_public():
    from gruforecast import Limits
    from gruforecast._limits import Limits as defined

    assert Limits is defined and Limits().window == 100_000


def test_a_fresh_import_lists_the_lazy_names_without_loading_them():
    """dir() offers every public name (tab completion) before any is loaded; the names not
    in the lazy table are there at once; neither dir() nor the eager names load torch."""
    code = (
        "import json, sys, gruforecast\n"
        "loaded = set(vars(gruforecast))\n"
        "listed = set(dir(gruforecast))\n"
        "print(json.dumps({'all': gruforecast.__all__, 'lazy': sorted(gruforecast._LAZY),\n"
        "    'loaded': sorted(loaded), 'listed': sorted(listed), 'torch': 'torch' in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seen = json.loads(result.stdout)
    public, lazy = set(seen["all"]), set(seen["lazy"])
    assert not seen["torch"], "importing gruforecast (and calling dir on it) imported torch"
    assert public <= set(seen["listed"]), public - set(seen["listed"])
    assert not lazy & set(seen["loaded"]), f"loaded before first use: {lazy & set(seen['loaded'])}"
    assert public - lazy <= set(seen["loaded"]), f"neither loaded nor lazy: {public - lazy - set(seen['loaded'])}"


def test_importing_the_package_does_not_import_torch():
    code = (
        "import sys, gruforecast\n"
        "from gruforecast import make_windows, SeriesScaler\n"
        "from gruforecast.datasets import load_air_passengers\n"
        "make_windows(load_air_passengers(), 12)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "gruforecast.GRUForecaster\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_matches_the_installed_metadata():
    from importlib.metadata import version

    assert gruforecast.__version__ == version("gruforecast")


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, expected",
    [
        ("sine_wave.py", r"test MSE: (\S+)"),
        ("air_passengers.py", r"GRU: MAE\s+(\S+)"),
        ("export_and_serve.py", r"max \|ONNX - PyTorch\| over 12 months: (\S+);"),
        ("backtest_sunspots.py", r"90% interval: coverage (\S+)"),
    ],
)
def test_examples_run_and_save_their_plot(script, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--output", str(tmp_path)],
        capture_output=True, text=True, check=True,
    )
    assert np.isfinite(float(re.search(expected, result.stdout).group(1)))
    if script == "air_passengers.py":  # the baseline is exact: last year repeated
        assert "seasonal naive: MAE   47.8   MAPE  9.99%" in result.stdout
    if script == "export_and_serve.py":
        assert {p.name for p in tmp_path.iterdir()} == {"air_passengers.onnx", "air_passengers.expected.json"}
        assert "plain onnxruntime agrees: True" in result.stdout
        return
    (png,) = tmp_path.glob("*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if script == "sine_wave.py":
        assert float(re.search(expected, result.stdout).group(1)) < 1e-3


@pytest.mark.slow
def test_readme_intervals_and_backtest_snippet_runs(tmp_path, monkeypatch):
    from gruforecast.datasets import load_air_passengers

    readme = (ROOT / "README.md").read_text()
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "backtest(" in b]
    monkeypatch.chdir(tmp_path)
    namespace = {"series": load_air_passengers()}
    exec(snippet, namespace)
    assert list(namespace["table"].columns) == ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert "coverage_90" in namespace["result"].metrics and (tmp_path / "forecast.png").exists()


def test_docs_layout_names_every_module_and_no_other():
    """docs/layout.md describes the tree as it is: each module of the package, once."""
    text = (ROOT / "docs" / "layout.md").read_text()
    tree = text.split("```text", 1)[1].split("```", 1)[0]
    named = set(re.findall(r"^  (\w+\.py)\b", tree, re.MULTILINE))
    modules = {path.name for path in (ROOT / "gruforecast").glob("*.py")}
    assert named == modules, f"missing: {sorted(modules - named)}; no such module: {sorted(named - modules)}"


def _stages() -> dict[str, int]:
    """Each module (or subpackage) of gruforecast and its stage, as docs/layout.md's tree
    groups them under ``# N. name`` lines."""
    tree = (ROOT / "docs" / "layout.md").read_text().split("```text", 1)[1].split("```", 1)[0]
    stages, stage = {}, None
    for line in tree.splitlines():
        if header := re.match(r"^  # (\d+)\. ", line):
            stage = int(header.group(1))
        elif entry := re.match(r"^  (\w+)(\.py\b|/)", line):
            assert stage is not None, f"{entry.group(1)} is listed before any stage"
            stages[entry.group(1)] = stage
    return stages


def _imported_modules(path: Path) -> set[str]:
    """The gruforecast modules (first level: ``_plan``, ``datasets``) that ``path``
    imports anywhere: at the top, inside functions, under TYPE_CHECKING."""
    import ast
    from importlib.util import resolve_name

    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            module = resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module or ""
            if module == "gruforecast":  # from . import _state, _fused
                found |= {f"gruforecast.{alias.name}" for alias in node.names}
            elif module.startswith("gruforecast."):
                found.add(module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("gruforecast.")}
    return {name.split(".")[1] for name in found}


def test_no_module_imports_from_a_later_stage():
    """The layer rule of docs/layout.md: input -> plan -> network -> train -> fitted state
    and files -> serve -> the user's surface; a module imports from its own stage or an
    earlier one only."""
    stages = _stages()
    later = []
    for path in sorted((ROOT / "gruforecast").rglob("*.py")):
        owner = path.relative_to(ROOT / "gruforecast").parts[0].removesuffix(".py")
        for imported in _imported_modules(path) - {owner}:
            assert imported in stages, f"{path.name} imports {imported}, which docs/layout.md does not place"
            if stages[imported] > stages[owner]:
                later.append(f"{owner} (stage {stages[owner]}) imports {imported} (stage {stages[imported]})")
    assert not later, later
    # the rule is not vacuous: the stages are those of the data's way
    assert stages["_panel"] < stages["_plan"] < stages["_network"] < stages["_training"]
    assert stages["_training"] < stages["_state"] < stages["runtime"] < stages["estimator"]
