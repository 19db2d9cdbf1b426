"""What every channel shares: its namespace in the session store, and once-only delivery.

Platforms retry and gateways redeliver; whichever worker or machine a delivery reaches, the store
(shared Redis or SQLite) decides whether it was seen.  No web framework here, so the Stream-mode
process (no HTTP server) uses the same rules as the HTTP channels.
"""

from __future__ import annotations

import hashlib

from ..bot import session_key
from ..stores import MARKER, SessionStore

#: each channel's prefix in the store: no channel (nor a /v1/chat session id) reaches another's keys
SPACE = {
    "web": "web:",
    "wechat": "wechat:",
    "wecom": "wecom:",
    "dingtalk": "dingtalk:",
    "feishu": "feishu:",
    "wecom_bot": "wecombot:",
}
#: a store key made of a platform's ids is at most this long (a longer one becomes a digest)
MAX_KEY = 200


def user_session(channel: str, *parts: str) -> str:
    """The session id of one person on a channel (a chat and a person, where the platform has both).

    Each part is escaped (':' and '%'), so chat 'a:b' with person 'c' is not chat 'a' with person
    'b:c'; an id too long to keep whole is replaced by its digest, never cut, so two long ids that
    share a beginning stay two people."""
    joined = ":".join(p.replace("%", "%25").replace(":", "%3A") for p in parts)
    key = f"{SPACE[channel]}user:{joined}"
    if len(key) > MAX_KEY:
        key = f"{SPACE[channel]}user:#{hashlib.sha256(joined.encode('utf-8', 'replace')).hexdigest()[:40]}"
    return session_key(key)


def bounded_key(prefix: str, delivery_id: str) -> str:
    """A marker key for a platform's id: whole when short, its digest when long (never cut)."""
    if len(prefix) + len(delivery_id) <= MAX_KEY:
        return prefix + delivery_id
    return prefix + "#" + hashlib.sha256(delivery_id.encode("utf-8", "replace")).hexdigest()[:40]


def marker_key(channel: str, kind: str, ident: str) -> str:
    """The store key of a once-only marker: under MARKER (kept apart from sessions by the memory
    store) and the channel's own space, the id whole or as its digest."""
    return bounded_key(f"{MARKER}{SPACE[channel]}{kind}:", ident)


def first_delivery(store: SessionStore, channel: str, delivery_id: str) -> bool:
    """True the first time a platform delivers this id, False for every retry or redelivery."""
    key = marker_key(channel, "event", delivery_id)
    with store.lock(key):
        if store.get(key):
            return False
        store.set(key, {"seen": 1})
        return True
