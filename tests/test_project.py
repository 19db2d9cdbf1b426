"""A knowledge base of one's own (issue 26): ``overdue-bot init DIR`` copies the shipped one out with
a README and a dialogue test, every command finds it through ``--intents`` or
``$OVERDUE_BOT_INTENTS``, and ``review`` will not edit an installed package's copy."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from overdue_bot.kb.loader import default_path
from overdue_bot.kb.project import ENV, installed
from overdue_bot.review import FolderQueue, Item

from .conftest import ROOT
from .test_cli import _run

#: the shipped answer to 谢谢, and what the tests edit it into
THANKS = "不客气。还有什么担心的，随时问我。"
EDITED = "不用谢，祝你早日上岸。"


def test_init_writes_a_copy_with_a_readme_and_a_passing_dialogue_test(tmp_path: Path) -> None:
    folder = tmp_path / "mybot"
    out = _run("-m", "overdue_bot", "init", str(folder))
    assert out.returncode == 0, out.stderr
    shipped = sorted(p.name for p in default_path().glob("*.yaml"))
    assert sorted(p.name for p in folder.glob("*.yaml")) == shipped
    for name in shipped:
        assert (folder / name).read_bytes() == (default_path() / name).read_bytes()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for command in (
        f"overdue-bot check --intents {folder}",
        f"overdue-bot test --intents {folder} {folder}/dialogues",
        f"overdue-bot serve --intents {folder}",
    ):
        assert command in readme and command in out.stdout
    test = _run("-m", "overdue_bot", "test", "--intents", str(folder), str(folder / "dialogues"), timeout=300)
    assert test.returncode == 0, test.stdout[-2000:]
    assert "2 passed, 0 failed" in test.stdout


def test_init_refuses_a_folder_that_holds_files_unless_forced(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my own", encoding="utf-8")
    refused = _run("-m", "overdue_bot", "init", str(folder))
    assert refused.returncode == 2 and "not empty" in refused.stderr and "--force" in refused.stderr
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    forced = _run("-m", "overdue_bot", "init", str(folder), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (folder / "credit.yaml").is_file() and (folder / "notes.txt").read_text(
        encoding="utf-8"
    ) == "my own"
    a_file = tmp_path / "file"
    a_file.write_text("", encoding="utf-8")
    assert _run("-m", "overdue_bot", "init", str(a_file)).returncode == 2


def test_the_variable_names_the_knowledge_base_when_the_flag_is_absent(tmp_path: Path) -> None:
    """An edited copy answers through chat and fails its dialogue test, found by $OVERDUE_BOT_INTENTS
    alone; the flag still wins over the variable."""
    folder = tmp_path / "kb"
    assert _run("-m", "overdue_bot", "init", str(folder)).returncode == 0
    chitchat = folder / "chitchat.yaml"
    chitchat.write_text(chitchat.read_text(encoding="utf-8").replace(THANKS, EDITED), encoding="utf-8")
    env = {ENV: str(folder)}
    chat = _run("-m", "overdue_bot", "chat", stdin="谢谢\n", env=env, timeout=300)
    assert chat.returncode == 0, chat.stderr
    assert EDITED in chat.stdout and THANKS not in chat.stdout
    test = _run("-m", "overdue_bot", "test", str(folder / "dialogues"), env=env, timeout=300)
    assert test.returncode == 1 and "1 passed, 1 failed" in test.stdout
    flag = _run("-m", "overdue_bot", "chat", "--intents", str(default_path()), stdin="谢谢\n", env=env)
    assert THANKS in flag.stdout


def _installed_copy(tmp_path: Path) -> Path:
    """The package laid out as a wheel installs it: site-packages/overdue_bot with its intents/."""
    site = tmp_path / "lib" / "site-packages"
    shutil.copytree(
        ROOT / "src" / "overdue_bot",
        site / "overdue_bot",
        ignore=shutil.ignore_patterns("__pycache__", "_index"),
    )
    shutil.copytree(default_path(), site / "overdue_bot" / "intents")
    return site


def test_review_will_not_edit_an_installed_package(tmp_path: Path) -> None:
    site = _installed_copy(tmp_path)
    queue = tmp_path / "reviews"
    FolderQueue(queue).record(
        Item(
            "借呗的入口怎么没了", "out_of_scope", "out_of_scope", (), "web", time.strftime("%Y-%m-%dT%H:%MZ")
        )
    )
    before = {p.name: p.read_bytes() for p in (site / "overdue_bot" / "intents").iterdir()}
    out = _run(
        "-m",
        "overdue_bot",
        "review",
        str(queue),
        stdin="account_restriction\n",
        env={"PYTHONPATH": str(site)},
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "installed package" in out.stderr and "overdue-bot init DIR" in out.stderr
    assert "--intents DIR" in out.stderr and "Traceback" not in out.stderr
    assert {p.name: p.read_bytes() for p in (site / "overdue_bot" / "intents").iterdir()} == before
    assert installed(site / "overdue_bot" / "intents") and not installed(ROOT / "intents")


def test_review_in_a_checkout_may_edit_its_intents(tmp_path: Path) -> None:
    out = _run("-m", "overdue_bot", "review", str(tmp_path / "empty-queue"))
    assert out.returncode == 0, out.stderr
    assert "the review queue is empty" in out.stdout


def test_serve_answers_from_the_folder_in_the_variable_and_removes_its_metrics_folder(tmp_path: Path) -> None:
    """init, an edited intent, serve with $OVERDUE_BOT_INTENTS alone: the page's API answers with
    the edit; the server's metrics folder (made for this start) is gone once it stops."""
    pytest.importorskip("uvicorn")
    from .http_server import Server

    folder = tmp_path / "kb"
    assert _run("-m", "overdue_bot", "init", str(folder)).returncode == 0
    chitchat = folder / "chitchat.yaml"
    chitchat.write_text(chitchat.read_text(encoding="utf-8").replace(THANKS, EDITED), encoding="utf-8")
    temp = tmp_path / "temp"
    temp.mkdir()
    server = Server(env={ENV: str(folder), "TMPDIR": str(temp)})
    try:
        made = [p.name for p in temp.iterdir()]
        assert len(made) == 1 and made[0].startswith("overdue-bot-metrics-")
        assert EDITED in server.chat("thanks-1", "谢谢")["text"]
    finally:
        log = server.stop()
    assert list(temp.iterdir()) == [], log[-2000:]
