"""The start-up cache: a cached index answers exactly like a fresh build, a broken one is rebuilt."""

from __future__ import annotations

import pathlib

import pytest

from overdue_bot import Bot

QUESTIONS = ["好分期逾期两天会联系我的联系人吗", "还清了还能用吗", "逾期了在哪还款", "今天天气怎么样"]


def test_cached_index_equals_fresh_build(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path))
    fresh = Bot()
    assert any(p.name.startswith("overdue_bot-index-") for p in tmp_path.iterdir())
    cached = Bot()
    for q in QUESTIONS:
        assert cached.parse(q) == fresh.parse(q)


def test_corrupt_cache_is_rebuilt(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path))
    reference = Bot().parse(QUESTIONS[0])
    import marshal

    for garbage in (b"not marshal data", marshal.dumps((1, 2)), marshal.dumps(["a"])):
        for p in tmp_path.iterdir():
            if p.name.startswith("overdue_bot-"):
                p.write_bytes(garbage)
        assert Bot().parse(QUESTIONS[0]) == reference


def test_unwritable_cache_folder_still_works(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path / "does" / "not" / "exist"))
    assert Bot().parse(QUESTIONS[1]).intent == "after_repayment"
