"""The public API: one ``voxpipe`` namespace, every module's ``__all__`` complete and sorted."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _modules() -> list[str]:
    """Every module of the installed package (an editable install maps pipeline/ and sender/ in separately)."""
    names = {"voxpipe"}
    for package in ("voxpipe", "voxpipe.pipeline", "voxpipe.sender"):
        names.add(package)
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if info.name.split(".")[-1] != "__main__" and ".assets" not in info.name:
                names.add(info.name)
    return sorted(names)


MODULES = _modules()


def _isort_style(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then everything else, as ruff's RUF022 sorts ``__all__``."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_the_public_modules_are_all_found() -> None:
    assert {
        "voxpipe.pipeline",
        "voxpipe.pipeline.markup.parser",
        "voxpipe.sender.dispatch",
        "voxpipe.sender.providers.wawp",
    } <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete_and_sorted(name: str) -> None:
    module = importlib.import_module(name)
    if name.rsplit(".", 1)[-1].startswith("_"):
        return  # private modules need no __all__
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_style), f"{name}.__all__ is not sorted (ruff RUF022 sorts it)"
    assert len(set(exported)) == len(exported)
    assert [n for n in exported if not hasattr(module, n)] == []
    # Complete: every public class and function defined in the module itself is exported.
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    defined = {
        node.name for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and not node.name.startswith("_")
    }  # fmt: skip
    assert sorted(defined - set(exported)) == [], f"{name} defines public names it does not export"


def test_importing_every_module_loads_no_top_level_pipeline_or_sender(tmp_path: Path) -> None:
    """Run from elsewhere, so the repository root is not on sys.path."""
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pipeline', 'sender', 'assets')))\n"
        "print(sorted(n for n in logging.Logger.manager.loggerDict if n.split('.')[0] in ('pipeline', 'sender')))\n"
    ).replace("import importlib, sys", "import importlib, logging, sys")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[]", "[]"]


def test_import_voxpipe_is_cheap(tmp_path: Path) -> None:
    code = "import sys, voxpipe; print(sorted(m for m in ('onnxruntime', 'scipy', 'boto3', 'numpy', 'httpx', 'piper') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_wheel_holds_one_top_level_package(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    import zipfile

    [wheel] = tmp_path.glob("voxpipe-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"voxpipe"}
    [top_level] = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["voxpipe"]
    assert "voxpipe/pipeline/markup/parser.py" in names and "voxpipe/assets/profiles/pstn.json" in names


def _imports() -> dict[str, set[str]]:
    """Module -> the voxpipe modules it imports anywhere (also inside functions), packages' __init__ left out."""
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        path = Path(module.__file__ or "")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
                candidates = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            found.update(c for c in candidates if c in MODULES and not _is_package(c))
        if not _is_package(name):
            graph[name] = found - {name}
    return graph


def _is_package(name: str) -> bool:
    return Path(importlib.import_module(name).__file__ or "").name == "__init__.py"


def test_no_import_cycles_between_modules() -> None:
    graph = _imports()
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in path and len(path) < 6:
                    stack.append((nxt, [*path, nxt]))
    assert sorted(set(cycles)) == []
