"""pytest plugin (registered through the pytest11 entry point): dialogue files as tests.

Every ``test_*.yaml`` file under a ``tests`` folder is collected; each dialogue is one item.
The ``overdue_bot`` fixture gives tests a shared Bot built from the shipped knowledge base.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_BOT: Any = None


def _bot() -> Any:
    global _BOT
    if _BOT is None:
        from .bot import Bot

        _BOT = Bot()
    return _BOT


@pytest.fixture(scope="session")
def overdue_bot() -> Any:
    """A Bot over the shipped knowledge base, shared by the whole test session."""
    return _bot()


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if (file_path.suffix in (".yaml", ".yml") and file_path.name.startswith("test_")
            and "tests" in file_path.parts):
        return DialogueFile.from_parent(parent, path=file_path)
    return None


class DialogueFile(pytest.File):
    def collect(self) -> Any:
        from .testing import load_file

        for d in load_file(self.path):
            yield DialogueItem.from_parent(self, name=d.name, dialogue=d)


class DialogueItem(pytest.Item):
    def __init__(self, *, dialogue: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dialogue = dialogue

    def runtest(self) -> None:
        from .testing import run

        result = run(self.dialogue, _bot())
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
