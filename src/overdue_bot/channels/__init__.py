"""Channels: a platform's payload in, ``bot.reply()``, the platform's payload out.

``http`` is the ASGI app behind ``overdue-bot serve`` (extra ``server``); ``wechat`` holds the
pure WeChat Official Account helpers it uses.
"""
