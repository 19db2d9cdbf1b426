"""The command line and the REPL, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT


def _run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: object = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A bare environment (LANG=C, no HOME), keeping only where the package and its index cache are
    (PYTHONPATH for a checkout run without installing it, OVERDUE_BOT_CACHE set by conftest)."""
    keep = {k: os.environ[k] for k in ("PYTHONPATH", "OVERDUE_BOT_CACHE") if k in os.environ}
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "LANG": "C", **keep, **(env or {})},
    )


def test_repl_piped_gives_one_block_per_line() -> None:
    """Scripted use: one reply block per input line, UTF-8 even under LANG=C."""
    out = _run("run_bot.py", "--debug", stdin="好分期逾期两天会联系我的联系人吗\n那会上征信吗\n/quit\n")
    assert out.returncode == 0, out.stderr
    blocks = [b for b in out.stdout.split("\n\n") if b.strip()]
    assert "intent=contact_emergency_contacts" in out.stdout and "intent=credit_report" in out.stdout
    assert "state=idle" in out.stdout and "variant=days_1_7" in out.stdout
    assert len([b for b in blocks if "[debug]" in b]) == 2


def test_repl_commands() -> None:
    out = _run("run_bot.py", stdin="/help\n/debug\n花呗逾期三天了\n/reset\n")
    assert "/reset" in out.stdout and "调试信息已打开" in out.stdout and "已重新开始" in out.stdout


def test_module_and_script_are_the_same_cli(tmp_path) -> None:
    f = tmp_path / "set.yaml"
    f.write_text(
        "- {text: 逾期会上征信吗, intent: credit_report, slots: {}}\n"
        "- {text: 花呗逾期两天会联系家人吗, intent: contact_emergency_contacts, slots: {platform: 花呗, days_overdue: 2}}\n",
        encoding="utf-8",
    )
    out = _run("-m", "overdue_bot", "eval", str(f))
    assert out.returncode == 0, out.stderr
    assert "intent accuracy: 1.0000 (2/2)" in out.stdout and "slot accuracy: 1.0000" in out.stdout


def test_dialogue_test_command_fails_on_a_wrong_expectation(tmp_path) -> None:
    f = tmp_path / "d.yaml"
    f.write_text(
        "- dialogue: wrong on purpose\n  turns:\n    - user: 逾期会上征信吗\n      intent: greet\n",
        encoding="utf-8",
    )
    out = _run("-m", "overdue_bot", "test", str(f))
    assert out.returncode == 1
    assert "intent: expected greet, got credit_report" in out.stdout and "top-3:" in out.stdout


def test_bad_eval_file_is_a_clear_error(tmp_path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("{not: a list}", encoding="utf-8")
    out = _run("-m", "overdue_bot", "eval", str(f))
    assert out.returncode == 2 and "bad.yaml" in out.stderr and "Traceback" not in out.stderr


def test_dialogue_folder_passes() -> None:
    out = _run("-m", "overdue_bot", "test", "tests/dialogues")
    assert out.returncode == 0, out.stdout[-2000:]
    assert " passed, 0 failed" in out.stdout


def test_quit_words_end_the_repl_as_slash_quit_does() -> None:
    """Issue 26: 退出 / quit / exit typed without the slash end the chat instead of being answered."""
    out = _run("run_bot.py", "--debug", stdin="逾期会上征信吗\n  退出。\n那会上征信吗\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("[debug]") == 1 and "intent=credit_report" in out.stdout


def test_which_lines_are_quit_words() -> None:
    from overdue_bot.repl import quits

    for line in ("quit", "  EXIT ", "退出", "退出。", "“退出！”", "ｅｘｉｔ", "/quit", "/q", "exit()"):
        assert quits(line), line
    for line in ("怎么退出", "quite", "退出借款", "q", "", "。", "/help"):
        assert not quits(line), line


def test_version() -> None:
    from overdue_bot import __version__

    out = _run("-m", "overdue_bot", "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"overdue-bot {__version__}"


def test_progress_redraws_one_line_on_a_terminal_and_writes_plain_lines_elsewhere() -> None:
    import io

    from overdue_bot._progress import Progress

    log = io.StringIO()
    plain = Progress("check", log, tty=False)
    for done in range(3):
        plain("left-out test", done, 3)
    plain("done soon")
    plain.done()
    lines = log.getvalue().splitlines()
    assert [line.split(" … ")[0] for line in lines[:2]] == ["check: left-out test (0/3)", "check: done soon"]
    assert len(lines) == 3 and lines[2].startswith("check: done in") and "\r" not in log.getvalue()
    screen = io.StringIO()
    tty = Progress("check", screen, tty=True)
    tty("left-out test", 2, 4)
    tty.done()
    assert screen.getvalue().startswith("\r\033[Kcheck: left-out test [" + "#" * 12 + "." * 12 + "] 2/4")
    assert screen.getvalue().endswith("\r\033[K") and "\n" not in screen.getvalue()
