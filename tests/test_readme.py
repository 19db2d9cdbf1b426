"""The README and docs/ as a newcomer reads them: the commands marked to run do run as written,
and every ``overdue-bot COMMAND --flag`` and ``make TARGET`` they name exists.

A fenced block runs when the line before it (blank lines aside) is ``<!-- runs -->``
(CONTRIBUTING.md): ``sh`` blocks with bash (``-e -o pipefail``), ``python`` blocks with this
Python, ``pycon`` blocks as doctests (the output shown must be the output). They run in a copy of
the checkout with an empty HOME, where ``.venv/bin/python`` and ``.venv/bin/overdue-bot`` stand for
what ``make chat`` installs (this Python, running the code under test), and ``overdue-bot`` is on
PATH as in an activated venv. Mark only what is quick and safe; ``make test`` and servers stay
unmarked.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import overdue_bot
from overdue_bot.cli import main

from .conftest import ROOT

MARK = "<!-- runs -->"
#: how each kind of marked block is run (a marked block of another language is an error)
RUNNERS = ("sh", "python", "pycon")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Makefile targets the docs name ahead of the branch that adds them (none once merged)
PENDING_TARGETS: set[str] = set()
#: never copied into the throwaway checkout
SKIP = shutil.ignore_patterns(
    ".git",
    ".venv*",
    ".test-cache",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "build",
    "dist",
    "*.egg-info",
    "test-output",
    "_index",
    "*.db",
)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    marked: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, each with whether it is marked to run."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    marked = False
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if text == MARK:
            marked = True
        elif text.startswith("```"):
            lang = text[3:].strip().split(" ")[0]
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            found.append(Block(path, start + 1, lang, "\n".join(body) + "\n", marked))
            marked = False
        elif text:
            marked = False  # a mark holds only for the block right after it
        i += 1
    return found


ALL_BLOCKS = [b for path in DOCS for b in blocks(path)]
MARKED = [b for b in ALL_BLOCKS if b.marked]


def test_the_readme_has_blocks_marked_to_run() -> None:
    readme = [b for b in MARKED if b.path.name == "README.md"]
    assert {b.lang for b in readme} >= {"sh", "pycon"}, (
        "the README's first-hour commands are run by this test"
    )


@pytest.mark.parametrize("block", MARKED, ids=lambda b: b.where)
def test_a_marked_block_is_of_a_kind_that_runs(block: Block) -> None:
    assert block.lang in RUNNERS, f"{block.where}: a block marked {MARK} must be one of {RUNNERS}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_no_mark_is_left_without_its_block(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if line.strip() == MARK:
            rest = [x.strip() for x in lines[n + 1 :] if x.strip()]
            assert rest and rest[0].startswith("```"), (
                f"{path.name}:{n + 1}: {MARK} is not followed by a block"
            )


# -- running them ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A copy of the checkout as after ``make chat`` (its .venv standing in), and the environment
    of a newcomer's shell: an empty HOME, nothing of ours set but the tests' index cache."""
    base = tmp_path_factory.mktemp("readme")
    checkout = base / "overdue-bot"
    shutil.copytree(ROOT, checkout, ignore=SKIP, symlinks=True)
    home = base / "home"
    home.mkdir()
    bin_dir = checkout / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, cmd in (("python", ""), ("python3", ""), ("overdue-bot", " -m overdue_bot")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}"{cmd} "$@"\n')
        shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVERDUE_BOT_", "PYTEST_"))}
    env.update(
        HOME=str(home),
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        # the code under test, wherever this test run imports it from
        PYTHONPATH=str(Path(overdue_bot.__file__).resolve().parents[1]),
        OVERDUE_BOT_CACHE=os.environ["OVERDUE_BOT_CACHE"],  # warm: conftest's .test-cache
        PYTHONDONTWRITEBYTECODE="1",
    )
    return checkout, env


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in MARKED if b.lang in RUNNERS], ids=lambda b: b.where)
def test_a_marked_block_runs_as_written(block: Block, clone: tuple[Path, dict[str, str]]) -> None:
    checkout, env = clone
    if block.lang == "sh":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    elif block.lang == "python":
        cmd = [sys.executable, "-c", block.code]
    else:  # pycon: a doctest, so the output shown is checked too
        script = checkout.parent / f"block-{block.path.stem}-{block.line}.txt"
        script.write_text(block.code, encoding="utf-8")
        cmd = [sys.executable, "-m", "doctest", "-o", "NORMALIZE_WHITESPACE", str(script)]
    done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"{block.where} exited {done.returncode}\n--- block\n{block.code}--- stdout\n{done.stdout[-3000:]}"
        f"\n--- stderr\n{done.stderr[-3000:]}"
    )


# -- the commands they name -----------------------------------------------------------------------

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: overdue-bot as a command (not overdue-bot[server], overdue-bot-metrics-*), and its subcommand
COMMAND = re.compile(r"(?<![\w-])overdue-bot(?![\w\[-])(?:\s+([a-z][a-z-]*))?([^|;&#`]*)")
MAKE = re.compile(r"(?<![\w-])make\s+([a-z][a-z-]*)")


def _help(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


@pytest.fixture(scope="module")
def options() -> dict[str, set[str]]:
    """Every subcommand's options, read from its --help ('' for overdue-bot's own)."""
    top = _help()
    listed = re.search(r"\{([a-z,-]+)\}", top)
    assert listed, top
    found = {"": set(FLAG.findall(top))}
    for sub in listed.group(1).split(","):
        found[sub] = set(FLAG.findall(_help(sub)))
    return found


def code_pieces(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each inline code span outside code blocks, and each line of the shell
    blocks: where a command can be named."""
    pieces: list[tuple[int, str]] = []
    fence = ""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith("```"):
            fence = "" if fence else (line.strip()[3:].strip() or "text")
            continue
        if fence:
            if fence in ("sh", "shell", "bash", "console", "text"):
                pieces.append((n, line.strip().removeprefix("$ ")))
            continue
        pieces.extend((n, span) for span in re.findall(r"`([^`\n]+)`", line))
    return pieces


def mentioned(path: Path, options: dict[str, set[str]]) -> list[str]:
    """What the file names that does not exist: a subcommand, an option of one, a make target."""
    every = set().union(*options.values())
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    wrong = []
    for n, piece in code_pieces(path):
        where = f"{path.name}:{n}: `{piece}`"
        # (command, the text naming its options) for each overdue-bot command in the piece
        named = [(m.group(1) or "", m.group(2)) for m in COMMAND.finditer(piece)]
        first = piece.split(" ")[0]
        if not named and first and first in options:  # `serve --host 127.0.0.1`, a table's `chat [--debug]`
            named = [(first, piece)]
        for sub, rest in named:
            if sub not in options:
                wrong.append(f"{where}: no command overdue-bot {sub}")
                continue
            wrong += [
                f"{where}: overdue-bot {sub} has no {f}" for f in FLAG.findall(rest) if f not in options[sub]
            ]
        if not named and first.startswith("--"):  # a bare option named in the text
            wrong += [
                f"{where}: no overdue-bot command has {f}" for f in FLAG.findall(piece) if f not in every
            ]
        wrong += [
            f"{where}: the Makefile has no target {t}"
            for t in MAKE.findall(piece)
            if t not in targets | PENDING_TARGETS
        ]
    return wrong


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_command_option_and_make_target_named_exists(path: Path, options: dict[str, set[str]]) -> None:
    assert mentioned(path, options) == []


def test_the_check_finds_a_stale_option(tmp_path: Path, options: dict[str, set[str]]) -> None:
    page = tmp_path / "stale.md"
    page.write_text(
        "Run `overdue-bot serve --port 80 --colour`, or `--no-such-flag`, or `make nothing`.\n\n"
        "```sh\n.venv/bin/overdue-bot chat --debug --mute\noverdue-bot frobnicate\n```\n",
        encoding="utf-8",
    )
    assert mentioned(page, options) == [
        "stale.md:1: `overdue-bot serve --port 80 --colour`: overdue-bot serve has no --colour",
        "stale.md:1: `--no-such-flag`: no overdue-bot command has --no-such-flag",
        "stale.md:1: `make nothing`: the Makefile has no target nothing",
        "stale.md:4: `.venv/bin/overdue-bot chat --debug --mute`: overdue-bot chat has no --mute",
        "stale.md:5: `overdue-bot frobnicate`: no command overdue-bot frobnicate",
    ]


def test_the_parser_finds_marked_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        f"{MARK}\n\n```sh\necho one\n```\n\n```sh\necho two\n```\n{MARK}\ntext\n\n```python\npass\n```\n",
        encoding="utf-8",
    )
    assert [(b.line, b.lang, b.code, b.marked) for b in blocks(page)] == [
        (3, "sh", "echo one\n", True),
        (7, "sh", "echo two\n", False),
        (13, "python", "pass\n", False),
    ]


# -- the links between them -----------------------------------------------------------------------


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings."""
    found = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        fenced ^= line.strip().startswith("```")
        if line.startswith("#") and not fenced:
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


@pytest.mark.parametrize("path", [*DOCS, ROOT / "CONTRIBUTING.md"], ids=lambda p: p.name)
def test_every_link_to_a_file_of_the_project_and_its_heading_exists(path: Path) -> None:
    wrong = []
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        name, _, anchor = target.partition("#")
        linked = (path.parent / name).resolve() if name else path
        if not linked.exists():
            wrong.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            wrong.append(f"{target}: no heading #{anchor}")
    assert wrong == []
