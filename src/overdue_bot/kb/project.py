"""A knowledge base of one's own: ``overdue-bot init DIR``, the ``OVERDUE_BOT_INTENTS`` variable, and
the refusal to edit an installed package's copy.

The shipped knowledge base lives inside the package.  In an installed wheel that is
``site-packages/overdue_bot/intents``: editing it there is lost on the next upgrade, may need root,
and changes the bot of every program on the machine.  So an author starts with ``init``, which
copies it into a folder of their own with a README and a dialogue test, and names that folder to
every command (``--intents DIR``, or the variable once).  In a source checkout the knowledge base
is the checkout's ``intents/``: that one is the project's own and stays editable in place.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from ..errors import FolderError
from . import loader

#: the environment variable every command reads when ``--intents`` is not given
ENV = "OVERDUE_BOT_INTENTS"

#: the dialogue test ``init`` writes: a conversation the shipped knowledge base passes, to copy from
DIALOGUE_FILE = "dialogues/test_example.yaml"

DIALOGUE = """\
# A scripted conversation: each turn is what a person writes and what the bot's reply must show.
#   intent: the topic it is taken for      slots: facts remembered so far (a subset)
#   says / not_says: text in the reply     state, point: see the overdue-bot README
# Run:  overdue-bot test --intents {folder} {folder}/dialogues
# (or with pytest: overdue_bot_dialogues = ["{folder}/dialogues"] in the ini file)
- dialogue: 两天逾期问联系人，再问征信
  turns:
    - user: 好分期逾期两天会联系我的联系人吗
      intent: contact_emergency_contacts
      slots: {{platform: 好分期, days_overdue: 2}}
      says: [联系人]
    - user: 那会上征信吗
      intent: credit_report
      slots: {{platform: 好分期, days_overdue: 2}}
- dialogue: 道谢
  turns:
    - user: 谢谢
      intent: thanks
      says: [不客气]
"""

README = """\
# An overdue-bot knowledge base

A copy of the knowledge base shipped with overdue-bot {version}, yours to edit. Give the folder to
every command with `--intents {folder}`, or once for the shell: `export {env}={folder}`.

## What is where

- {topics}: the topics (intents). Each has `examples` (how people ask) and either `points`
  (short answers, each with the questions that reach it) or plain `answers`.
- `safety.yaml`: the crisis answers (they must keep a help line).
- `bot.yaml`: the greeting, the disclaimer, the texts of the conversation, the roles of intents.
- `platforms.yaml`: lenders, their aliases and kinds. `lexicon.yaml`: typos, synonyms, words.
- `dialogues/`: scripted conversations that must keep working.

## Edit an intent

Add a way people ask to an intent's `examples`, or change an answer's `text`; for instance in
`chitchat.yaml`:

```yaml
  thanks:
    examples: [谢谢, 多谢, 谢谢你, …, 感激不尽]     # 感激不尽 added at the end
    answers:
      - text: |-
          不客气。还有什么担心的，随时问我。
```

Then check it, run the conversations, and try it:

```sh
overdue-bot check --intents {folder}                     # the lint; exit 1 on errors
overdue-bot test --intents {folder} {folder}/dialogues   # the scripted dialogue tests
overdue-bot chat --intents {folder}                      # in the terminal
overdue-bot serve --intents {folder}                     # the page on http://127.0.0.1:8000
```

The first start after an edit builds the matcher's index again (seconds). A running server takes
the edit on `kill -HUP <pid>`. `overdue-bot review QUEUE --intents {folder}` adds the questions real
users asked (recorded by `serve --review QUEUE`) to the intents you choose. A malformed file is
refused with its name, the intent and the field.
"""


def intents_path(given: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The knowledge base a command runs on: ``--intents``, else ``$OVERDUE_BOT_INTENTS``, else
    None (the shipped one).  An empty variable counts as unset, as ``serve`` passes it on."""
    return given or environ.get(ENV) or None


def add_intents_option(
    parser: argparse.ArgumentParser, what: str = "a knowledge-base folder or intents file"
) -> None:
    """``--intents DIR``, the same on every command, its help naming the variable it falls back to."""
    parser.add_argument(
        "--intents", default=None, metavar="DIR", help=f"{what} (default: ${ENV}, else the shipped one)"
    )


def installed(path: Path) -> bool:
    """Whether ``path`` is a package's installed files rather than a folder of the user's: inside
    site-packages (or Debian's dist-packages), or not writable by this user."""
    parts = set(path.resolve().parts)
    return bool(parts & {"site-packages", "dist-packages"}) or not os.access(path, os.W_OK)


def editable(given: str | Path | None) -> Path:
    """The knowledge base that ``review`` may add examples to.

    With no folder given, the default is the shipped one: fine in a source checkout (its
    ``intents/``), refused in an installed package, whose files an upgrade replaces.
    """
    if given is not None:
        return Path(given)
    shipped = loader.default_path()
    if installed(shipped):
        raise FolderError(
            f"{shipped} is the installed package's knowledge base: edits there are lost on the next "
            "upgrade. Copy it with `overdue-bot init DIR` and pass `--intents DIR` "
            f"(or set {ENV}=DIR)"
        )
    return shipped


def init(folder: str | Path, *, force: bool = False) -> list[Path]:
    """Write an editable copy of the shipped knowledge base into ``folder``, with a README and a
    dialogue test; the files written.

    A folder that already holds files is refused unless ``force``: it may be an edited knowledge
    base, and the copy would silently replace the author's work.  With ``force`` the shipped files,
    the README and the dialogue test are written over; other files are left as they are.
    """
    from .._version import __version__

    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise FolderError(f"{target} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise FolderError(f"{target} is not empty: choose a new folder, or pass --force to write over it")
    source = loader.default_path()
    try:
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for f in sorted(source.glob("*.yaml")):
            shutil.copyfile(f, target / f.name)
            written.append(target / f.name)
        shown = str(folder)
        others = {"safety", *loader._SPECIAL}
        topics = ", ".join(f"`{p.name}`" for p in written if p.stem not in others)
        texts = {
            "README.md": README.format(version=__version__, folder=shown, env=ENV, topics=topics),
            DIALOGUE_FILE: DIALOGUE.format(folder=shown),
        }
        for name, text in texts.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise FolderError(f"cannot write the knowledge base into {target}: {exc.strerror or exc}") from exc
    return written
