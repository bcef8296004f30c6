"""Run mypy (strict, configured in pyproject.toml) over the package as it is installed.

The folders pipeline/ and sender/ install as voxpipe.pipeline and
voxpipe.sender (a setuptools package-dir mapping), which mypy cannot follow
in a source checkout. So this builds build/typecheck/voxpipe/ out of
symlinks to the real files and checks that tree; errors name the real files.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "build" / "typecheck"


def build_tree() -> Path:
    shutil.rmtree(TREE, ignore_errors=True)
    package = TREE / "voxpipe"
    package.mkdir(parents=True)
    for path in (REPO / "voxpipe").iterdir():
        if path.suffix == ".py" or path.name == "py.typed":
            (package / path.name).symlink_to(path)
        elif (path / "__init__.py").is_file():  # a subpackage of voxpipe/ (serve/)
            (package / path.name).symlink_to(path, target_is_directory=True)
    for name in ("pipeline", "sender"):
        (package / name).symlink_to(REPO / name, target_is_directory=True)
    return package


def main() -> int:
    from mypy import api

    package = build_tree()
    out, err, status = api.run([str(package.relative_to(REPO)), "--config-file", str(REPO / "pyproject.toml")])
    prefix = f"{TREE.relative_to(REPO)}{os.sep}voxpipe{os.sep}"
    for line in out.splitlines():  # name the real files, not the links
        if line.startswith(prefix):
            rest = line[len(prefix) :]
            line = rest if rest.startswith(("pipeline", "sender")) else f"voxpipe{os.sep}{rest}"
        print(line)
    print(err, end="", file=sys.stderr)
    return status


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
