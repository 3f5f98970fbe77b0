"""A non-editable install ships the web page's templates and stylesheet:
setuptools builds the package from pyproject.toml, as pip would, and every
file of planner/server/templates and planner/server/static is in the build."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_templates_and_styles_are_installed(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("planner", "migrations"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    built = tmp_path / "built"
    done = subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()",
         "build", "--build-lib", str(built)],
        cwd=source, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    server = ROOT / "planner" / "server"
    wanted = sorted(
        str(path.relative_to(server))
        for folder in ("templates", "static")
        for path in (server / folder).iterdir()
    )
    assert wanted and all((built / "planner" / "server" / name).is_file() for name in wanted), (
        wanted
    )
    assert (built / "planner" / "server" / "web" / "__init__.py").is_file()
