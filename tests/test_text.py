"""Normalisation and segmentation: what every message goes through first."""

from __future__ import annotations

import pytest
import yaml

from overdue_bot import Bot
from overdue_bot.nlu.numerals import to_int
from overdue_bot.nlu.text import clean, to_simplified


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("花唄逾期會聯繫我的聯繫人嗎", "花呗逾期会联系我的联系人吗"),
        ("徵信記錄多久消除", "征信记录多久消除"),
        ("什麼時候還款", "什么时候还款"),
    ],
)
def test_traditional_to_simplified(raw: str, expected: str) -> None:
    assert to_simplified(raw) == expected


def test_simplified_characters_are_left_alone() -> None:
    """The variant tables must not remap characters that are already simplified (么 stays 么)."""
    text = "怎么还款 着急 里面 后来 干什么"
    assert to_simplified(text) == text


def test_clean_full_width_case_controls() -> None:
    assert clean("ＡＢＣ１２３\x00\x1b  逾期\t\n两天") == "abc123 逾期 两天"
    story = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(10_000))  # repeats nothing
    assert len(clean(story)) == 500  # cut to MAX_CHARS
    assert clean("逾" * 10_000) == "逾逾逾"  # a run of one character reads as three
    assert clean("逾期" * 10_000) == "逾期逾期逾期"  # and so does a run of a longer piece
    assert clean("花呗逾期两天会上征信吗？" * 30) == "花呗逾期两天会上征信吗?" * 3
    assert clean("欠了10000000元") == "欠了10000000元"  # digits are no run
    assert clean("121212121212") == "121212121212"
    assert clean("1" * 10_000) == "1" * 24  # no number a person means is longer


@pytest.mark.parametrize(
    ("typed", "meant"), [("预期两天", "逾期"), ("正信", "征信"), ("宽现期", "宽限期"), ("愈期", "逾期")]
)
def test_domain_typos(bot: Bot, typed: str, meant: str) -> None:
    assert meant in bot.nlu.analyse(typed).cleaned


@pytest.mark.parametrize("word", ["征信", "爆通讯录", "宽限期", "罚息", "最低还款"])
def test_domain_words_are_not_split(bot: Bot, word: str) -> None:
    assert word in bot.nlu.tokenizer.cut(f"我想问{word}的事")


def test_platforms_are_masked_whole(bot: Bot) -> None:
    a = bot.nlu.analyse("好分期逾期两天会联系我的紧急联系人吗")
    assert "P" in a.tokens and "D" in a.tokens and "联系人" in a.tokens


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("两", 2),
        ("十五", 15),
        ("两千一", 2100),
        ("1.5万", 15000),
        ("一千零五", 1005),
        ("二零二五", 2025),
        ("三百五", 350),
    ],
)
def test_numerals(text: str, value: int) -> None:
    assert to_int(text) == value


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("会联系我亲戚吗", "联系人"),
        ("客服电话多少", "客服"),
        ("逾期了会不会很麻烦", "麻烦"),
        ("急用钱还不上", "急"),
    ],
)
def test_courtesy_words_are_not_cut_out_of_other_words(bot: Bot, text: str, kept: str) -> None:
    assert kept in bot.nlu.analyse(text).canonical


def test_courtesy_words_dropped_when_the_message_says_more(bot: Bot) -> None:
    assert (
        bot.nlu.analyse("你好，请问逾期会上征信吗，谢谢").canonical
        == bot.nlu.analyse("逾期会上征信吗").canonical
    )
    assert bot.parse("谢谢").intent == "thanks" and bot.parse("你好").intent == "greet"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I am overdue, will it affect my credit report?", "credit_report"),
        ("花呗overdue两天 会影响credit score吗", "credit_report"),
        ("will they sue me", "lawsuit_risk"),
        ("借唄逾期咗會唔會打俾我屋企人", "contact_emergency_contacts"),
    ],
)
def test_english_and_cantonese_mixed_in(bot: Bot, text: str, intent: str) -> None:
    assert bot.parse(text).intent == intent


def test_the_fast_segmenter_splits_exactly_as_jieba(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """rjieba (the extra ``fast``) is used only because it splits as jieba does with our
    dictionary: every example and every test question, as the pipeline hands them over."""
    pytest.importorskip("rjieba")
    from overdue_bot.nlu.tokenizer import Tokenizer

    from .conftest import ROOT

    nlu = bot.nlu
    assert nlu.tokenizer.cut("花呗逾期") and nlu.tokenizer.segmenter == "rjieba"
    seen: list[str] = []
    real_cut = nlu.tokenizer.cut
    monkeypatch.setattr(nlu.tokenizer, "cut", lambda text: seen.append(text) or real_cut(text))
    texts = [ex for ex, _ in nlu.examples]
    for path in sorted((ROOT / "tests" / "data").glob("*.yaml")):
        texts += [
            x if isinstance(x, str) else x["text"] for x in yaml.safe_load(path.read_text(encoding="utf-8"))
        ]
    for text in texts:
        nlu.analyse(text)
    monkeypatch.undo()
    assert len(seen) > 2000
    differ = [t for t in seen if nlu.tokenizer.cut(t) != nlu.tokenizer.cut_with_jieba(t)]
    assert not differ, differ[:5]
    # the balancing word is what makes 还了 one word for both (a total 0.7 % short splits 还/了)
    assert nlu.tokenizer.cut("现在还了") == ["现在", "还了"]

    monkeypatch.setenv("OVERDUE_BOT_SEGMENTER", "jieba")
    plain = Tokenizer(["花呗"])
    assert plain.cut("花呗逾期") == ["花呗", "逾期"] and plain.segmenter == "jieba"
