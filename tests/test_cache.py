"""The start-up cache: a cached index answers exactly like a fresh build, a broken one is rebuilt."""

from __future__ import annotations

import os
import pathlib

import pytest

from overdue_bot import Bot

QUESTIONS = ["好分期逾期两天会联系我的联系人吗", "还清了还能用吗", "逾期了在哪还款", "今天天气怎么样"]
MINI = """intents:
  after_repayment:
    examples: [还清了还能用吗, 还完以后额度会恢复吗]
    answers: [看平台]
  credit_report:
    examples: [逾期会上征信吗, 影响信用吗]
    answers: [会的]
"""


def _mini(tmp_path: pathlib.Path) -> pathlib.Path:
    f = tmp_path / "mini.yaml"
    f.write_text(MINI, encoding="utf-8")
    return f


def _no_shipped(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    """As a checkout whose code changed since `pip install -e .`: no shipped index fits."""
    from overdue_bot import cache

    monkeypatch.setattr(cache, "_shipped_dir", lambda: tmp_path / "no-shipped-index")


def test_cached_index_equals_fresh_build(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_shipped(monkeypatch, tmp_path)
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path))
    fresh = Bot()
    assert fresh.nlu.built
    assert any(p.name.startswith("overdue_bot-index-") for p in tmp_path.iterdir())
    cached = Bot()
    assert not cached.nlu.built
    for q in QUESTIONS:
        assert cached.parse(q) == fresh.parse(q)


def test_a_shipped_index_is_used_without_building(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the wheel build does (hatch_build.py → cache.ship), then a first start with an empty cache."""
    from overdue_bot import cache
    from overdue_bot.model import index_name
    from overdue_bot.nlu.pipeline import dictionary_words
    from overdue_bot.nlu.tokenizer import Tokenizer

    _no_shipped(monkeypatch, tmp_path)
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path / "build"))
    built = Bot()
    names = [
        index_name(built.knowledge, built.config),
        Tokenizer.cache_name(dictionary_words(built.knowledge), built.config.min_freq),
    ]
    shipped = tmp_path / "shipped"
    cache.ship(shipped, names)
    monkeypatch.setattr(cache, "_shipped_dir", lambda: shipped)
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path / "user"))
    first = Bot()
    assert not first.nlu.built
    assert not any(p.name.startswith("overdue_bot-") for p in (tmp_path / "user").iterdir())
    for q in QUESTIONS:
        assert first.parse(q) == built.parse(q)


def test_corrupt_cache_is_rebuilt(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = _mini(tmp_path)
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(folder))
    reference = Bot.from_path(kb).parse(QUESTIONS[1])
    import marshal

    for garbage in (b"not marshal data", marshal.dumps((1, 2)), marshal.dumps(["a"])):
        for p in folder.iterdir():
            p.write_bytes(garbage)
        assert Bot.from_path(kb).parse(QUESTIONS[1]) == reference


def test_unwritable_cache_folder_still_works(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path / "does" / "not" / "exist"))
    assert Bot.from_path(_mini(tmp_path)).parse(QUESTIONS[1]).intent == "after_repayment"


def test_editing_the_language_data_rebuilds_the_index(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new synonym changes what the matcher sees, so the cached index must not be reused."""
    import shutil

    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    kb = tmp_path / "kb"
    shutil.copytree(pathlib.Path(__file__).resolve().parents[1] / "intents", kb)
    for f in kb.glob("*.yaml"):
        if f.stem not in ("platforms", "lexicon", "bot", "credit"):
            f.unlink()
    before = {p.name for p in (tmp_path / "cache").iterdir()} if Bot.from_path(kb) else set()
    lex = kb / "lexicon.yaml"
    lex.write_text(
        lex.read_text(encoding="utf-8").replace("  还不上: [", "  还不上: [兜里没钱, "), encoding="utf-8"
    )
    Bot.from_path(kb)
    after = {p.name for p in (tmp_path / "cache").iterdir()}
    assert any(n.startswith("overdue_bot-index-") for n in after - before)


def test_a_changed_setting_is_never_hidden_by_a_warm_cache(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index key covers MatcherConfig: with the perceptron switched off the bot builds (and
    caches) an index of its own instead of reading the default one (issue 16's stale-cache bug)."""
    from overdue_bot import MatcherConfig

    _no_shipped(monkeypatch, tmp_path)
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path))
    default = Bot()
    other = Bot(config=MatcherConfig().with_(learned_weight=0.0))
    assert other.nlu.built  # not read from the warm cache of the default config
    assert all(not learned for learned in other.nlu.matcher.learned)
    assert any(learned for learned in default.nlu.matcher.learned)
    with pytest.raises(Exception, match="no setting 'no_such_weight'"):
        MatcherConfig().with_(no_such_weight=1.0)


def test_the_wheel_pip_builds_ships_the_index(tmp_path: pathlib.Path) -> None:
    """`pip wheel` from a new venv, in pip's isolated build environment: the build hook must find
    its own dependencies there (it replaced PYTHONPATH, so PyYAML was missing and every fresh
    install built the index at its first start instead)."""
    import shutil
    import subprocess
    import sys
    import zipfile

    from .conftest import ROOT

    src = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "_index", "__pycache__", ".test-cache", "*.db*", "results"
        ),
    )
    # a new venv, as on a fresh machine: nothing but pip (PyYAML and jieba only in the build env)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    python = str(tmp_path / "venv" / "bin" / "python")
    temp = tmp_path / "temp"  # the build's temporary folders, to see what it leaves behind
    temp.mkdir()
    out = subprocess.run(
        [python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "index was not built" not in out.stderr, out.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("overdue_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("overdue_bot/_index/overdue_bot-index-") for n in names), names
    assert any(n.startswith("overdue_bot/_index/overdue_bot-jieba-") for n in names), names
    # issue 26: each build left a 3 MB overdue-bot-ship-* (and the index's scratch folder) behind
    assert not [p.name for p in temp.iterdir() if p.name.startswith("overdue-bot-")]
