// overdue-bot web chat: plain JavaScript, no build step, no external requests.
// User and bot text is only ever inserted with textContent, never as HTML.
(function () {
  "use strict";
  var KEY_SESSION = "overdue-bot:session", KEY_LOG = "overdue-bot:log", KEY_DEBUG = "overdue-bot:debug";
  var log = document.getElementById("log"), form = document.getElementById("composer");
  var input = document.getElementById("text"), send = document.getElementById("send");
  var typing = document.getElementById("typing"), chips = document.getElementById("chips");
  var counter = document.getElementById("counter"), debugBox = document.getElementById("debug");
  var config = { greeting: "你好，我是逾期问答助手。", quick_replies: [], max_text: 2000 };
  var busy = false;

  function store(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* private mode */ } }
  function load(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }

  // the session id is issued and signed by the server (POST v1/session): a page cannot choose
  // or guess another person's, and the server refuses one it did not issue
  function session(fresh) {
    var id = fresh ? null : load(KEY_SESSION);
    if (id) { return Promise.resolve(id); }
    return fetch("v1/session", { method: "POST" }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok || !body.session_id) {
          var e = new Error(body.error || "请稍后再试"); e.status = res.status; throw e;
        }
        store(KEY_SESSION, body.session_id);
        return body.session_id;
      });
    });
  }
  function post(text, fresh) {
    return session(fresh).then(function (id) {
      return fetch("v1/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ session_id: id, text: text })
      });
    }).then(function (res) {
      // an id this server no longer knows (its key changed): one new session, once
      return res.status === 401 && !fresh ? post(text, true) : res;
    });
  }
  function history() {
    try { return JSON.parse(load(KEY_LOG) || "[]"); } catch (e) { return []; }
  }
  function remember(entry) {
    var h = history(); h.push(entry); store(KEY_LOG, JSON.stringify(h.slice(-200)));
  }

  function bubble(who, text, debug) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    if (who === "me") { div.setAttribute("aria-label", "我说"); }
    text.split(/\n+/).forEach(function (line) {
      if (!line.trim()) { return; }
      var p = document.createElement("p");
      p.textContent = line;
      div.appendChild(p);
    });
    if (debug) {
      var d = document.createElement("div");
      d.className = "debug";
      d.textContent = "intent=" + debug.intent + "  confidence=" + Number(debug.confidence).toFixed(2) +
        "  state=" + debug.state + (debug.slots ? "  slots=" + JSON.stringify(debug.slots) : "");
      d.hidden = !debugBox.checked;
      div.appendChild(d);
    }
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function problem(text) { bubble("error", text); }

  function setBusy(on) {
    busy = on;
    typing.hidden = !on;
    send.disabled = on;
  }

  function ask(text) {
    text = text.trim();
    if (!text || busy) { return; }
    if (text.length > config.max_text) {
      counter.textContent = "消息太长了（" + text.length + " 字），请控制在 " + config.max_text + " 字以内。";
      return;
    }
    counter.textContent = "";
    bubble("me", text);
    remember({ who: "me", text: text });
    input.value = "";
    setBusy(true);
    post(text, false).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          problem("服务器没能回答（错误 " + res.status + "）：" + (body.error || "请稍后再试") + "。");
          return;
        }
        var debug = { intent: body.intent, confidence: body.confidence, state: body.state, slots: body.slots };
        bubble("bot", body.text, debug);
        remember({ who: "bot", text: body.text, debug: debug });
      });
    }).catch(function (e) {
      problem(e && e.status ? "服务器没能开始对话（错误 " + e.status + "）：" + e.message + "。"
        : "连接不上服务器，请检查网络后再试。你的消息没有发出去。");
    }).then(function () {
      setBusy(false);
      input.focus();
    });
  }

  function greet() { bubble("bot", config.greeting); }

  function restore() {
    log.textContent = "";
    greet();
    history().forEach(function (e) { bubble(e.who, e.text, e.debug); });
  }

  function showChips() {
    chips.textContent = "";
    config.quick_replies.forEach(function (q) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = q;
      b.addEventListener("click", function () { ask(q); });
      chips.appendChild(b);
    });
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); ask(input.value); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); ask(input.value); }
  });
  input.addEventListener("input", function () {
    counter.textContent = input.value.length > config.max_text * 0.9
      ? "还能输入 " + Math.max(0, config.max_text - input.value.length) + " 字" : "";
  });
  document.getElementById("new-chat").addEventListener("click", function () {
    store(KEY_SESSION, "");
    store(KEY_LOG, "[]");
    restore();
    input.focus();
  });
  debugBox.checked = load(KEY_DEBUG) === "1";
  debugBox.addEventListener("change", function () {
    store(KEY_DEBUG, debugBox.checked ? "1" : "0");
    Array.prototype.forEach.call(log.querySelectorAll(".debug"), function (d) { d.hidden = !debugBox.checked; });
  });

  fetch("v1/config").then(function (r) { return r.json(); }).then(function (c) {
    config = c;
  }).catch(function () {
    problem("连接不上服务器，请稍后刷新页面再试。");
  }).then(function () {
    restore();
    showChips();
    input.focus();
  });
})();
