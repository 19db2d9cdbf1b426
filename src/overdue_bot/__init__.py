"""overdue-bot: a Chinese assistant for people who are late on a loan or a credit card payment.

>>> from overdue_bot import Bot
>>> bot = Bot()
>>> bot.parse("好分期逾期两天会联系我的联系人吗").intent
'contact_emergency_contacts'
"""

from __future__ import annotations

from ._version import __version__
from .bot import Bot
from .config import MatcherConfig
from .errors import KnowledgeError, MissingExtraError, OverdueBotError, SessionIdError, StoreError
from .kb.loader import load as load_knowledge
from .records import Parse, Reply

__all__ = [
    "Bot",
    "KnowledgeError",
    "MatcherConfig",
    "MissingExtraError",
    "OverdueBotError",
    "Parse",
    "Reply",
    "SessionIdError",
    "StoreError",
    "__version__",
    "load_knowledge",
]
