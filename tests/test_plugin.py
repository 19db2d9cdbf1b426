"""The pytest plugin (issue 26): a dialogue file named on the command line, or listed itself in
``overdue_bot_dialogues``, is collected whatever its name; other YAML files stay pytest's."""

from __future__ import annotations

from pathlib import Path

from .test_cli import _run

DIALOGUE = "- dialogue: one\n  turns:\n    - user: 逾期会上征信吗\n      intent: credit_report\n"
WRONG = "- dialogue: wrong\n  turns:\n    - user: 逾期会上征信吗\n      intent: greet\n"


def _pytest(project: Path, *args: str) -> tuple[int, str]:
    out = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", *args, cwd=project, timeout=300)
    return out.returncode, out.stdout + out.stderr


def test_a_dialogue_file_named_on_the_command_line_runs_whatever_its_name(tmp_path: Path) -> None:
    """No ini option at all: naming the file is enough; a config file named so is not taken for one."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "talks.yaml").write_text(DIALOGUE, encoding="utf-8")
    (project / "wrong.yml").write_text(WRONG, encoding="utf-8")
    (project / "config.yaml").write_text("database: {host: localhost}\n", encoding="utf-8")
    code, out = _pytest(project, "talks.yaml", "wrong.yml")
    assert code == 1, out[-2000:]
    assert "1 failed, 1 passed" in out and "intent: expected greet, got credit_report" in out
    code, out = _pytest(project, "config.yaml")  # pytest's own answer, as without the plugin
    assert code == 4 and "not found" in out and "KnowledgeError" not in out, out[-2000:]


def test_a_file_listed_in_the_ini_option_runs_whatever_its_name(tmp_path: Path) -> None:
    """A listed file is collected; in a listed folder only test_*.yaml, as before."""
    project = tmp_path / "p"
    (project / "dialogues").mkdir(parents=True)
    (project / "talks.yaml").write_text(DIALOGUE, encoding="utf-8")
    (project / "dialogues" / "test_a.yaml").write_text(DIALOGUE, encoding="utf-8")
    (project / "dialogues" / "notes.yaml").write_text(WRONG, encoding="utf-8")
    (project / "pytest.ini").write_text(
        "[pytest]\noverdue_bot_dialogues =\n    talks.yaml\n    dialogues\n", encoding="utf-8"
    )
    code, out = _pytest(project)
    assert code == 0 and "2 passed" in out, out[-2000:]
