"""pytest plugin: scripted dialogue files as test items, in the projects that ask for it.

Installing overdue-bot changes no other project's test run: the plugin (registered through the
pytest11 entry point) collects nothing until a project names its dialogue folders, in its ini
file::

    [tool.pytest.ini_options]
    overdue_bot_dialogues = ["tests/dialogues"]     # folders (or files) of test_*.yaml dialogues
    overdue_bot_intents = "intents"                  # the knowledge base they run against (optional)

Each dialogue is one item.  The ``overdue_bot`` fixture gives tests a shared Bot built from the
configured knowledge base (the shipped one by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_BOTS: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "overdue_bot_dialogues",
        "folders or files of test_*.yaml dialogues to collect",
        type="paths",
        default=[],
    )
    parser.addini(
        "overdue_bot_intents", "the knowledge base the dialogues run against (default: shipped)", default=""
    )


def _bot(config: pytest.Config) -> Any:
    intents = str(config.getini("overdue_bot_intents") or "")
    if intents and not Path(intents).is_absolute():
        intents = str(Path(config.rootpath) / intents)
    if intents not in _BOTS:
        from ..bot import Bot

        _BOTS[intents] = Bot(intents or None)
    return _BOTS[intents]


@pytest.fixture(scope="session")
def overdue_bot(request: pytest.FixtureRequest) -> Any:
    """A Bot over the configured knowledge base, shared by the whole test session."""
    return _bot(request.config)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    roots = [Path(p).resolve() for p in parent.config.getini("overdue_bot_dialogues")]
    if not roots or file_path.suffix not in (".yaml", ".yml") or not file_path.name.startswith("test_"):
        return None
    here = file_path.resolve()
    if any(here == root or root in here.parents for root in roots):
        return DialogueFile.from_parent(parent, path=file_path)
    return None


class DialogueFile(pytest.File):
    def collect(self) -> Any:
        from .dialogues import load_file

        for d in load_file(self.path):
            yield DialogueItem.from_parent(self, name=d.name, dialogue=d)


class DialogueItem(pytest.Item):
    def __init__(self, *, dialogue: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dialogue = dialogue

    def runtest(self) -> None:
        from .dialogues import run

        result = run(self.dialogue, _bot(self.config))
        if not result.ok:
            raise DialogueFailed(result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, DialogueFailed):
            return excinfo.value.result.describe()
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"dialogue: {self.name}"


class DialogueFailed(Exception):
    def __init__(self, result: Any) -> None:
        super().__init__(result.describe())
        self.result = result
