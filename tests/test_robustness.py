"""Property-based: whatever text arrives, reply() answers and never raises."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overdue_bot import Bot


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.text(max_size=300), st.sampled_from(["s1", "s2", "s3"]))
def test_reply_never_raises(bot: Bot, text: str, sid: str) -> None:
    r = bot.reply(text, session_id=sid)
    assert isinstance(r.text, str) and r.text.strip()
    assert r.state == "idle" or r.state == "ended" or r.state == "clarify" or r.state.startswith("awaiting:")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="逾期花呗借呗两天三个月一万五千会上征信吗？呢不对是十天 \n\t😀", max_size=60))
def test_parse_domain_soup(bot: Bot, text: str) -> None:
    p = bot.parse(text)
    assert 0.0 <= p.confidence <= 1.0 and len(p.ranking) >= 3 or p.intent == "out_of_scope"


@pytest.mark.parametrize(
    "text",
    ["1" * 10000, "逾" * 10000, "a逾1期" * 2500, "3天" * 5000, "一二三四五六七八九十" * 1000, "1万2" * 3000],
    ids=["digits", "one character", "alternating scripts", "durations", "numerals", "amounts"],
)
def test_pathological_messages_are_read_in_bounded_form(bot: Bot, text: str) -> None:
    """10,000 characters are read as at most MAX_CHARS, a run of one character as three; the cost
    per input is measured in benchmarks/pathological.py (no timing here)."""
    from overdue_bot.nlu.text import MAX_CHARS

    analysis = bot.nlu.analyse(text)
    assert len(analysis.cleaned) <= MAX_CHARS
    assert "逾逾逾逾" not in analysis.cleaned
    reply = bot.reply(text, session_id="pathological")
    assert reply.text and reply.intent is not None
