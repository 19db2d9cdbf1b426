"""How the scripted conversations read as a whole: no repeated paragraphs, short answers.

The figures are content, not timing: the share of reply characters in lines the bot had already
said in that conversation (issue 11 aims under 5%), and answer lengths on a phone screen.
"""

from __future__ import annotations

from overdue_bot import Bot
from overdue_bot.testing.dialogues import figures, run_paths

from .conftest import ROOT


def test_conversations_do_not_repeat_and_stay_short(bot: Bot) -> None:
    results = run_paths([ROOT / "tests" / "dialogues"], bot)
    f = figures(results, bot.knowledge.texts.roles["chat"])
    print("\n" + f.describe())
    assert f.conversations >= 60
    assert f.repetition < 0.05
    assert f._pct(f.first_answers, 0.5) <= 350
    assert f._pct(f.follow_ups, 0.5) <= 200
