"""Build the shipped knowledge base's index and dictionary for the wheel (run by hatch_build.py).

    python -m overdue_bot._ship OUTPUT_DIR

Builds a Bot over the shipped knowledge base with a private, empty cache, then writes the two
cache entries it made (the matcher's index, jieba's dictionary with the domain words) into
OUTPUT_DIR, from where the wheel carries them as ``overdue_bot/_index/``.  The private cache
(3 MB) is removed afterwards: every build made a new one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    home = tempfile.mkdtemp(prefix="overdue-bot-ship-")
    try:
        return _ship(Path(argv[0]), home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _ship(out: Path, home: str) -> int:
    os.environ["OVERDUE_BOT_CACHE"] = os.path.join(home, "cache")
    os.environ["XDG_CACHE_HOME"] = os.path.join(home, "xdg")
    from . import cache
    from .bot import Bot
    from .model import index_name
    from .nlu.pipeline import dictionary_words
    from .nlu.tokenizer import Tokenizer

    bot = Bot()
    bot.parse("你好")
    names = [
        index_name(bot.knowledge, bot.config),
        Tokenizer.cache_name(dictionary_words(bot.knowledge), bot.config.min_freq),
    ]
    for path in cache.ship(out, names):
        print(f"shipped {path.name} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
