"""The review queue's parts (issue 15): why a turn is queued, what an item keeps, both queues,
and adding an example without disturbing the file."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from overdue_bot import Bot
from overdue_bot.kb.edit import add_example
from overdue_bot.kb.loader import default_path, load
from overdue_bot.review import FolderQueue, Item, Recorder, RedisQueue, _unmarked


def _observe(bot: Bot) -> list:
    seen: list = []
    bot.observe(seen.append)
    return seen


def test_unsure_turns_carry_their_reason(fresh_bot: Bot) -> None:
    bot = fresh_bot.with_store(fresh_bot.store)
    seen = _observe(bot)
    bot.reply("今天天气怎么样", session_id="r1")
    bot.reply("花呗逾期12天会上征信吗", session_id="r2")
    bot.reply("不是12天是42天", session_id="r2")
    bot.reply("逾期会上征信吗", session_id="r3")
    reasons = [s.unsure for s in seen]
    assert reasons[0] == "out_of_scope"
    assert reasons[2] == "correction"
    assert reasons[3] == "" and seen[3].reply.intent == "credit_report"
    assert all(s.seconds >= 0 for s in seen)


def test_a_recorded_item_has_no_session_and_no_personal_data(tmp_path: Path, fresh_bot: Bot) -> None:
    bot = fresh_bot.with_store(fresh_bot.store)
    queue = FolderQueue(tmp_path)
    bot.observe(Recorder(queue))
    bot.reply("我是李雷，电话 138 1234 5678，我想问个别的事：今天吃什么", session_id="web:secret-session")
    ((item, count),) = queue.pending()
    assert (
        count == 1
        and item.channel == "web"
        and "secret-session" not in (tmp_path / "queue.jsonl").read_text()
    )
    assert "李雷" not in item.text and "5678" not in item.text and "今天吃什么" in item.text
    assert _unmarked(item.text) == "我想问个别的事:今天吃什么"  # redaction reads text as NFKC
    queue.done(item.id)
    assert queue.pending() == []


def test_a_broken_observer_costs_no_answer(fresh_bot: Bot) -> None:
    bot = fresh_bot.with_store(fresh_bot.store)

    def broken(seen: object) -> None:
        raise RuntimeError("disk full")

    bot.observe(broken)
    assert bot.reply("逾期会上征信吗", session_id="b1").intent == "credit_report"


def test_the_redis_queue_groups_and_forgets_what_was_reviewed(redis_url: str) -> None:
    queue = RedisQueue(redis_url)
    queue.client.delete("overdue_bot:review", "overdue_bot:review:done")
    a = Item("借呗的入口怎么没了", "out_of_scope", "out_of_scope", (("how_to_repay", 0.24),), "web", "t")
    b = Item("征信能修复吗", "low_margin", "credit_record_removal", (), "wechat", "t")
    for item in (b, a, a):
        queue.record(item)
    assert [(i.text, n) for i, n in queue.pending()] == [(a.text, 2), (b.text, 1)]
    queue.done(a.id)
    assert [i.text for i, _ in queue.pending()] == [b.text]


def test_an_added_example_keeps_the_file_as_it_was(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(default_path(), kb)
    before = (kb / "chitchat.yaml").read_text(encoding="utf-8")
    assert add_example(kb, "greet", "早安: 在吗") is not None  # a colon needs quoting in YAML
    after = (kb / "chitchat.yaml").read_text(encoding="utf-8")
    assert len(after) - len(before) == len(', "早安: 在吗"')
    assert "早安: 在吗" in next(it for it in load(kb).intents if it.name == "greet").examples
    assert add_example(kb, "greet", "早安: 在吗") is None  # already there
    with pytest.raises(Exception, match="no intent 'nonesuch'"):
        add_example(kb, "nonesuch", "你好")


def test_the_folder_queue_is_bounded_in_size_and_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25, defect 8: one client cannot fill the disk through the queue, and old items go."""
    from overdue_bot import review

    monkeypatch.setattr(review, "MAX_ITEMS", 10)
    queue = FolderQueue(tmp_path)
    for n in range(200):
        queue.record(Item(f"问题{n}", "out_of_scope", None, (), "api", "2026-12-07T10:00Z"))
    lines = (tmp_path / "queue.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 10 and lines[-1].count("问题199") == 1  # pruned by count, the newest kept
    assert (tmp_path / "queue.jsonl").stat().st_mode & 0o077 == 0
    old = Item("很久以前的问题", "out_of_scope", None, (), "api", "2020-01-01T00:00Z")
    queue.record(old)
    assert all(item.text != old.text for item, _ in queue.pending())
    queue.prune()
    assert "很久以前" not in (tmp_path / "queue.jsonl").read_text(encoding="utf-8")


def test_the_redis_queue_is_trimmed(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from overdue_bot import review

    monkeypatch.setattr(review, "MAX_ITEMS", 5)
    queue = RedisQueue(redis_url)
    queue.client.delete("overdue_bot:review", "overdue_bot:review:done")
    for n in range(12):
        queue.record(
            Item(f"问{n}", "out_of_scope", None, (), "api", time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()))
        )
    assert queue.client.llen("overdue_bot:review") == 5
    assert 0 < queue.client.ttl("overdue_bot:review") <= review.MAX_AGE_DAYS * 86400
    assert {i.text for i, _ in queue.pending()} == {f"问{n}" for n in range(7, 12)}  # the newest five
