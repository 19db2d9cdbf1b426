"""Shared fixtures: one Bot over the shipped knowledge base for the whole run."""

from __future__ import annotations

import pathlib

import pytest

from overdue_bot import Bot

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def bot() -> Bot:
    return Bot()


@pytest.fixture()
def fresh_bot(bot: Bot) -> Bot:
    """A bot sharing the built knowledge but with its own empty session store."""
    from overdue_bot.stores import MemoryStore

    return bot.with_store(MemoryStore())
