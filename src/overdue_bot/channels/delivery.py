"""What every channel shares: its namespace in the session store, and once-only delivery.

Platforms retry and gateways redeliver; whichever worker or machine a delivery reaches, the store
(shared Redis or SQLite) decides whether it was seen.  No web framework here, so the Stream-mode
process (no HTTP server) uses the same rules as the HTTP channels.
"""

from __future__ import annotations

from ..bot import session_key
from ..stores import SessionStore

#: each channel's prefix in the store: no channel (nor a /v1/chat session id) reaches another's keys
SPACE = {
    "web": "web:",
    "wechat": "wechat:",
    "wecom": "wecom:",
    "dingtalk": "dingtalk:",
    "feishu": "feishu:",
    "wecom_bot": "wecombot:",
}


def user_session(channel: str, user: str) -> str:
    """The session id of one person on a channel (a chat and a person, where the platform has both)."""
    return session_key(f"{SPACE[channel]}user:{user}"[:200])


def first_delivery(store: SessionStore, channel: str, delivery_id: str) -> bool:
    """True the first time a platform delivers this id, False for every retry or redelivery."""
    key = f"{SPACE[channel]}event:{delivery_id[:200]}"
    with store.lock(key):
        if store.get(key):
            return False
        store.set(key, {"seen": 1})
        return True
