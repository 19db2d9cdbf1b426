"""Channels: a platform's payload in, ``bot.reply()``, the platform's payload out.

``http`` is the ASGI app behind ``overdue-bot serve`` (extra ``server``); ``wechat``, ``wxcrypt``,
``dingtalk`` and ``feishu`` are the pure helpers of each platform it serves; ``dingtalk_stream`` is
the Stream-mode client; ``delivery`` holds what they share (store namespaces, once-only delivery).
"""
