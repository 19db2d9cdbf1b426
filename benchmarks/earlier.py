"""An earlier commit of the package, to measure beside the working tree in the same run."""

from __future__ import annotations

import os
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: optional packages an earlier commit did not know (or that were not installed then)
EXTRAS = ("uvloop", "httptools", "rjieba")


def checkout(commit: str) -> pathlib.Path:
    """The package and knowledge base at ``commit`` in a temporary folder, beside stubs that hide
    the extras from it."""
    where = pathlib.Path(tempfile.mkdtemp(prefix="overdue-bot-before-"))
    archive = subprocess.run(
        ["git", "archive", commit, "src", "intents"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    stubs = where / "no-extras"
    stubs.mkdir()
    for name in EXTRAS:
        (stubs / f"{name}.py").write_text(f"raise ImportError('{name} is hidden from the earlier commit')\n")
    return where


def env(where: pathlib.Path, *, extras: bool = False) -> dict[str, str]:
    """The environment that runs the package at ``where`` (with the extras hidden unless asked)."""
    paths = [str(where / "src")] if extras else [str(where / "no-extras"), str(where / "src")]
    return {"PYTHONPATH": os.pathsep.join(paths)}
