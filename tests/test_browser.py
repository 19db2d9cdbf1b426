"""The web chat page in a real headless Chromium (Debian's package), driven by Playwright.

No test tool downloads a browser: Playwright is pointed at /usr/bin/chromium.  .ci/run installs
chromium with apt-get and sets OVERDUE_BOT_REQUIRE_BROWSER=1, so there the test cannot skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

from .conftest import ROOT
from .http_server import Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = ROOT / "test-output"


def _need(what: str) -> None:
    if os.environ.get("OVERDUE_BOT_REQUIRE_BROWSER"):
        pytest.fail(f"{what} is required here (CI installs it)")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        _need("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright (pip install playwright; no browser download is needed)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_chat_page_end_to_end(browser) -> None:
    server = Server("--debug")  # the debug panel shows the slots only then
    try:
        # bypass_csp: wait_for_function below evaluates strings; the page itself runs under it (next test)
        page = browser.new_page(
            bypass_csp=True, viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN"
        )
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.wait_for_selector(".msg.bot")  # the greeting
        assert "逾期" in page.inner_text(".msg.bot")

        page.fill("#text", "好分期逾期两天会联系我的联系人吗")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 2")
        answer = page.locator(".msg.bot").nth(1)
        assert "紧急联系人" in answer.inner_text()
        assert answer.locator("p").count() >= 3  # paragraphs, not one blob
        OUT.mkdir(exist_ok=True)
        page.locator(".msg.me").first.scroll_into_view_if_needed()
        page.evaluate("document.getElementById('log').scrollTop = 0")
        page.screenshot(path=str(OUT / "chat-phone-seed.png"))

        page.click("#chips button:has-text('逾期会上征信吗')")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 3")
        assert "征信" in page.locator(".msg.bot").nth(2).inner_text()

        page.fill("#text", "我这算严重吗")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 4")
        assert "轻度逾期" in page.locator(".msg.bot").nth(3).inner_text()
        page.screenshot(path=str(OUT / "chat-phone.png"))

        # debug toggle shows intent, confidence, slots and state under each reply
        page.check("#debug")
        debug = page.locator(".msg.bot .debug").last.inner_text()
        assert "intent=overdue_severity" in debug and "好分期" in debug and "state=idle" in debug

        # a reload keeps the conversation and the session
        page.reload()
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 4")
        assert page.locator(".msg.me").count() == 3
        page.fill("#text", "花呗呢")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 5")
        last = page.locator(".msg.bot").last
        debug = last.locator(".debug").inner_text()
        assert "花呗" in last.inner_text() and '"platform":"花呗"' in debug and '"days_overdue":2' in debug

        # user text is text, never HTML
        page.fill("#text", "<img src=x onerror=\"document.title='pwned'\">逾期会怎样")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 6")
        assert page.locator(".msg.me img").count() == 0 and page.title() != "pwned"
        assert "<img src=x" in page.locator(".msg.me").last.inner_text()

        # an over-long message is refused in the page, before anything is sent
        before = page.locator(".msg").count()
        page.fill("#text", "逾" * 2001)
        page.press("#text", "Enter")
        assert "消息太长了" in page.inner_text("#counter") and page.locator(".msg").count() == before

        # new conversation: a fresh session and an empty log
        page.click("#new-chat")
        assert page.locator(".msg.me").count() == 0
        page.fill("#text", "会上征信吗")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 2")
        assert "逾期2天" not in page.locator(".msg.bot").last.inner_text()

        # a 4xx answer: a line in the chat that says what happened
        page.route(
            "**/v1/chat",
            lambda route: route.fulfill(
                status=422,
                content_type="application/json",
                body='{"error": "\'text\' must be a string", "status": 422}',
            ),
        )
        page.fill("#text", "测试一下")
        page.press("#text", "Enter")
        page.wait_for_selector(".msg.error")
        assert "422" in page.inner_text(".msg.error") and page.is_enabled("#send")
        page.unroute("**/v1/chat")
        page.evaluate("document.querySelectorAll('.msg.error').forEach(e => e.remove())")

        # the server goes away: a line in the chat, not a frozen page
        server.stop()
        page.fill("#text", "还在吗")
        page.press("#text", "Enter")
        page.wait_for_selector(".msg.error")
        assert "连接不上服务器" in page.inner_text(".msg.error")
        assert page.is_enabled("#send")
        page.close()
    finally:
        server.stop()


def test_the_page_works_under_its_content_security_policy(browser) -> None:
    server = Server()
    try:
        page = browser.new_page(locale="zh-CN")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.wait_for_selector(".msg.bot")
        page.fill("#text", "逾期会上征信吗")
        page.press("#text", "Enter")
        page.wait_for_selector(".msg.bot >> nth=1")
        assert "征信" in page.locator(".msg.bot").nth(1).inner_text()
        assert not [e for e in errors if "Content Security Policy" in e], errors
        page.close()
    finally:
        server.stop()


def test_a_hand_off_reaches_a_person_on_the_page(browser, tmp_path) -> None:
    """Issue 26, point 2: 转人工 → the page says so → the desk replies → the page shows it →
    release → the bot answers again; and the page's id is the one the desk uses."""
    import json

    from .test_handoff import Desk, _kb

    desk = Desk()
    server = Server(
        "--intents", str(_kb(tmp_path)), "--handoff-webhook", desk.url, "--handoff-token", "desk-9"
    )
    auth = {"Authorization": "Bearer desk-9", "Content-Type": "application/json"}
    try:
        page = browser.new_page(bypass_csp=True, locale="zh-CN")  # for wait_for_function's strings
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.wait_for_selector(".msg.bot")
        assert not page.is_visible("#debug")  # no --debug: no debug toggle for users
        page.fill("#text", "我要转人工")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 2")
        assert "人工客服" in page.locator(".msg.bot").last.inner_text()
        sid = page.evaluate("localStorage.getItem('overdue-bot:session')")
        assert sid.startswith("p.") and desk.wait(1)[-1]["session_id"] == f"web:{sid}"

        page.fill("#text", "有人吗")
        page.press("#text", "Enter")
        page.wait_for_selector(".msg.note")
        assert "人工客服" in page.inner_text(".msg.note") and page.locator(".msg.bot").count() == 2

        said = json.dumps({"session_id": sid, "text": "您好，我是客服小王，请问借的是哪个平台？"})
        status, raw, _ = server.request("POST", "/v1/handoff/reply", said, auth)
        assert status == 200 and json.loads(raw)["id"] == 1
        page.wait_for_selector(".msg.desk")
        assert "客服小王" in page.inner_text(".msg.desk")

        status, raw, _ = server.request("POST", "/v1/handoff/release", json.dumps({"session_id": sid}), auth)
        assert status == 200 and json.loads(raw)["released"] is True  # the id the page used
        page.wait_for_function("document.body.innerText.includes('人工客服已结束接待')")
        page.fill("#text", "逾期会上征信吗")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 3")
        assert "征信" in page.locator(".msg.bot").last.inner_text()
        page.reload()  # the desk's message is part of the conversation kept on the page
        page.wait_for_selector(".msg.desk")
        page.close()
    finally:
        server.stop()
        desk.close()


def test_a_failed_send_stays_in_the_box(browser) -> None:
    """Issue 26, point 6: a message that did not get through is not shown as sent, and is not lost."""
    server = Server()
    try:
        page = browser.new_page(bypass_csp=True, locale="zh-CN")
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.wait_for_selector(".msg.bot")
        page.route("**/v1/chat", lambda route: route.abort())
        page.fill("#text", "逾期三天会怎样")
        page.press("#text", "Enter")
        page.wait_for_selector(".msg.error")
        assert page.input_value("#text") == "逾期三天会怎样" and page.locator(".msg.me").count() == 0
        assert "逾期三天会怎样" not in (page.evaluate("localStorage.getItem('overdue-bot:log')") or "")
        page.unroute("**/v1/chat")
        page.press("#text", "Enter")
        page.wait_for_function("document.querySelectorAll('.msg.bot').length >= 2")
        assert page.locator(".msg.me").count() == 1
        page.close()
    finally:
        server.stop()


def test_my_plan_on_the_page(browser) -> None:
    """Issue 27, point 2: after a conversation that named debts, 我的计划 shows the plan as a card;
    copy puts its text on the clipboard; the print view fits one A4 page."""
    server = Server()
    try:
        # bypass_csp: wait_for_function evaluates strings; the page itself runs under its policy
        context = browser.new_context(bypass_csp=True, locale="zh-CN", viewport={"width": 390, "height": 844})
        context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=f"http://127.0.0.1:{server.port}"
        )
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.wait_for_selector(".msg.bot")
        assert not page.is_visible("#plan-open")  # no debt known yet
        for n, text in enumerate(
            ["我招行信用卡逾期两个月欠2万，借呗逾期一个月欠3万", "我每个月最多能还1500"], start=2
        ):
            page.fill("#text", text)
            page.press("#text", "Enter")
            page.wait_for_selector(f".msg.bot >> nth={n - 1}")
        page.click("#plan-open")
        page.wait_for_selector("#plan-body h3")
        card = page.inner_text("#plan-body")
        assert "你的欠款" in card and "借呗" in card and "1500" in card
        page.click("#plan-copy")
        page.wait_for_function("document.getElementById('plan-status').textContent.includes('已复制')")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("你的计划") and "借呗" in copied
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "plan-phone.png"))
        page.evaluate("document.body.classList.add('printing-plan')")
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=True)
        (OUT / "plan-print.pdf").write_bytes(pdf)
        assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1  # one A4 page
        context.close()
    finally:
        server.stop()
