"""The one family of exceptions the library raises.

::

    OverdueBotError
     ├── KnowledgeError (ValueError)   a YAML file of the knowledge base is malformed
     ├── StoreError (RuntimeError)     a session store cannot be opened or used
     ├── SessionIdError (ValueError)   a session id that is missing, empty, too long or not text
     ├── MissingExtraError (ImportError) an optional extra is not installed
     └── FolderError (OSError)         a folder a command would write into is not one to write:
                                       not empty (init), an installed package's (review)

Each subclass also inherits the builtin it resembles, so callers may catch either.
"""

from __future__ import annotations


class OverdueBotError(Exception):
    """Base class of every error raised by overdue_bot."""


class KnowledgeError(OverdueBotError, ValueError):
    """A knowledge-base file is malformed; the message names the file, the intent and the field."""

    def __init__(
        self, file: str, message: str, *, intent: str | None = None, field: str | None = None
    ) -> None:
        self.file = file
        self.intent = intent
        self.field = field
        where = file
        if intent:
            where += f": intent {intent!r}"
        if field:
            where += f": {field!r}"
        super().__init__(f"{where}: {message}")


class StoreError(OverdueBotError, RuntimeError):
    """A session store could not be opened or used."""


class SessionIdError(OverdueBotError, ValueError):
    """A session id the bot cannot keep a conversation under (there is no shared default)."""


class MissingExtraError(OverdueBotError, ImportError):
    """An optional dependency is missing; the message says which extra to install."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the optional extra {extra!r}: pip install 'overdue-bot[{extra}]'")


class FolderError(OverdueBotError, OSError):
    """A folder the command would write into is not one to write to; the message says what to do.

    ``init`` refuses a folder that already holds files (it may be someone's edited knowledge base),
    ``review`` the knowledge base inside an installed package (an upgrade would undo the edits).
    """
