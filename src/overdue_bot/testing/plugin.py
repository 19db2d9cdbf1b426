"""pytest plugin: scripted dialogue files as test items, in the projects that ask for it.

Installing overdue-bot changes no other project's test run: the plugin (registered through the
pytest11 entry point) collects nothing until a project names its dialogue folders, in its ini
file::

    [tool.pytest.ini_options]
    overdue_bot_dialogues = ["tests/dialogues"]     # folders (or files) of test_*.yaml dialogues
    overdue_bot_intents = "intents"                  # the knowledge base they run against (optional)

In a listed folder the files named ``test_*.yaml`` are collected; a file listed itself is collected
whatever its name, and so is a dialogue file named on the command line (``pytest my_talks.yaml``),
with or without the ini option: naming a file is asking for it.  A YAML file named on the
command line that is not a list of dialogues (a config file) is left to pytest, as before.
Without ``overdue_bot_intents`` the dialogues run against ``$OVERDUE_BOT_INTENTS``, else the shipped
knowledge base.

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
        "dialogue files (any name), and folders of test_*.yaml dialogue files, to collect",
        type="paths",
        default=[],
    )
    parser.addini(
        "overdue_bot_intents", "the knowledge base the dialogues run against (default: shipped)", default=""
    )


def _bot(config: pytest.Config) -> Any:
    from ..kb.project import intents_path

    intents = str(config.getini("overdue_bot_intents") or intents_path(None) or "")
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


def _dialogues(path: Path) -> bool:
    """Whether a YAML file holds dialogues (a list of mappings with ``turns``).  A file that does not
    parse counts as one: a dialogue file with a typo should fail loudly, not be skipped."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True
    return isinstance(data, list) and all(isinstance(d, dict) and "turns" in d for d in data)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    roots = [Path(p).resolve() for p in parent.config.getini("overdue_bot_dialogues")]
    here = file_path.resolve()
    listed = here in roots or (parent.session.isinitpath(file_path) and _dialogues(here))
    in_folder = file_path.name.startswith("test_") and any(root in here.parents for root in roots)
    if listed or in_folder:
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
