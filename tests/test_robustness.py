"""Property-based: whatever text arrives, reply() answers and never raises."""

from __future__ import annotations

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
