// overdue-bot web chat: plain JavaScript, no build step, no external requests.
// User and bot text is only ever inserted with textContent, never as HTML.
(function () {
  "use strict";
  var KEY_SESSION = "overdue-bot:session", KEY_LOG = "overdue-bot:log", KEY_DEBUG = "overdue-bot:debug";
  var KEY_DESK = "overdue-bot:desk";
  var KEY_PLAN = "overdue-bot:plan";  // "1" once a debt is known: the 我的计划 button is shown  // the last desk message shown, and whether a person has the chat
  var KEEP_MS = 24 * 3600 * 1000;     // the page forgets a conversation as the server does: a day
  var POLL_MS = 3000;
  var log = document.getElementById("log"), form = document.getElementById("composer");
  var input = document.getElementById("text"), send = document.getElementById("send");
  var typing = document.getElementById("typing"), chips = document.getElementById("chips");
  var counter = document.getElementById("counter"), debugBox = document.getElementById("debug");
  var planOpen = document.getElementById("plan-open"), planBox = document.getElementById("plan");
  var planBody = document.getElementById("plan-body"), planStatus = document.getElementById("plan-status");
  var planText = "";
  var config = { greeting: "你好，我是逾期问答助手。", quick_replies: [], max_text: 2000, debug: false };
  var busy = false, polling = null;

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
    var h;
    try { h = JSON.parse(load(KEY_LOG) || "[]"); } catch (e) { h = []; }
    var since = Date.now() - KEEP_MS;
    return Array.isArray(h) ? h.filter(function (e) { return e && e.at > since; }) : [];
  }
  function remember(entry) {
    entry.at = Date.now();
    var h = history(); h.push(entry); store(KEY_LOG, JSON.stringify(h.slice(-200)));
  }
  function desk() {
    try { return JSON.parse(load(KEY_DESK) || "{}") || {}; } catch (e) { return {}; }
  }

  function bubble(who, text, debug) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    if (who === "me") { div.setAttribute("aria-label", "我说"); }
    if (who === "desk") { div.setAttribute("aria-label", "人工客服说"); }
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
  function note(text) { bubble("note", text); }

  // while a person at the desk has the conversation, ask every few seconds for what they wrote
  function watchDesk(on) {
    var state = desk();
    state.handed = on;
    store(KEY_DESK, JSON.stringify(state));
    if (on && !polling) { polling = setInterval(pollDesk, POLL_MS); pollDesk(); }
    if (!on && polling) { clearInterval(polling); polling = null; }
  }
  function pollDesk() {
    var id = load(KEY_SESSION);
    if (!id) { return; }
    fetch("v1/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session_id: id, after: desk().after || 0 })
    }).then(function (res) { return res.ok ? res.json() : null; }).then(function (body) {
      if (!body) { return; }
      var state = desk();
      body.messages.forEach(function (m) {
        if (m.id > (state.after || 0)) {
          bubble("desk", m.text);
          remember({ who: "desk", text: m.text });
          state.after = m.id;
        }
      });
      store(KEY_DESK, JSON.stringify(state));
      if (!body.handed_off) {
        note("人工客服已结束接待，接下来由自动助手继续回答。");
        watchDesk(false);
      }
    }).catch(function () { /* offline for a moment: the next poll tries again */ });
  }

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
    var mine = bubble("me", text);
    input.value = "";
    setBusy(true);
    // a message that did not get through stays in the box and out of the history
    function failed(line) {
      mine.remove();
      if (!input.value) { input.value = text; }
      problem(line);
    }
    post(text, false).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          failed("服务器没能回答（错误 " + res.status + "）：" + (body.error || "请稍后再试") + "。消息还在输入框里。");
          return;
        }
        remember({ who: "me", text: text });
        var debug = { intent: body.intent, confidence: body.confidence, state: body.state, slots: body.slots };
        if (body.text) {
          bubble("bot", body.text, debug);
          remember({ who: "bot", text: body.text, debug: debug });
        } else if (body.state === "handed_off") {
          note("已转给人工客服，请稍候，回复会显示在这里。");
        }
        watchDesk(body.state === "handed_off");
        if (body.plan_ready) { planOpen.hidden = false; store(KEY_PLAN, "1"); }
      });
    }).catch(function (e) {
      failed(e && e.status ? "服务器没能开始对话（错误 " + e.status + "）：" + e.message + "。"
        : "连接不上服务器，请检查网络后再试。你的消息没有发出去，还在输入框里。");
    }).then(function () {
      setBusy(false);
      input.focus();
    });
  }

  // the plan: fetched from the server when asked for, shown as a card; nothing is sent elsewhere
  function line(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = text;
    planBody.appendChild(el);
  }
  function showPlan() {
    var id = load(KEY_SESSION);
    if (!id) { return; }
    planBody.textContent = "";
    planStatus.textContent = "正在整理…";
    planBox.hidden = false;
    fetch("v1/sessions/" + encodeURIComponent(id) + "/plan").then(function (res) {
      return res.json().then(function (plan) {
        if (!res.ok) { throw new Error(plan.error || String(res.status)); }
        return plan;
      });
    }).then(function (plan) {
      planStatus.textContent = "";
      planText = plan.text || "";
      (plan.sections || []).forEach(function (sec) {
        line("h3", "", String(sec.title || "").replace(/^【|】$/g, ""));
        (sec.lines || []).forEach(function (l) { line("p", "", l); });
      });
      if (plan.disclaimer) { line("p", "plan-disclaimer", plan.disclaimer); }
      document.getElementById("plan-close").focus();
    }).catch(function (e) {
      planStatus.textContent = "计划没能整理出来（" + e.message + "），请稍后再试。";
    });
  }
  planOpen.addEventListener("click", showPlan);
  document.getElementById("plan-close").addEventListener("click", function () {
    planBox.hidden = true; planOpen.focus();
  });
  document.getElementById("plan-copy").addEventListener("click", function () {
    var done = function () { planStatus.textContent = "已复制，可以粘贴到备忘录或发给自己。"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(planText).then(done, function () {
        planStatus.textContent = "复制没成功，请长按选中文字复制。";
      });
    }
  });
  document.getElementById("plan-print").addEventListener("click", function () {
    document.body.classList.add("printing-plan");
    window.print();
  });
  window.addEventListener("afterprint", function () { document.body.classList.remove("printing-plan"); });

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
    store(KEY_DESK, "{}");
    store(KEY_PLAN, "");
    planOpen.hidden = true;
    watchDesk(false);
    restore();
    input.focus();
  });
  debugBox.checked = load(KEY_DEBUG) === "1";
  debugBox.parentNode.hidden = true;  // shown only when the server runs with --debug
  debugBox.addEventListener("change", function () {
    store(KEY_DEBUG, debugBox.checked ? "1" : "0");
    Array.prototype.forEach.call(log.querySelectorAll(".debug"), function (d) { d.hidden = !debugBox.checked; });
  });

  fetch("v1/config").then(function (r) { return r.json(); }).then(function (c) {
    config = c;
  }).catch(function () {
    problem("连接不上服务器，请稍后刷新页面再试。");
  }).then(function () {
    debugBox.parentNode.hidden = !config.debug;
    if (!config.debug) { debugBox.checked = false; }
    if (!history().length) { store(KEY_LOG, "[]"); store(KEY_SESSION, ""); }  // a day old: start afresh
    restore();
    showChips();
    if (desk().handed) { watchDesk(true); }
    planOpen.hidden = !(load(KEY_PLAN) === "1" && load(KEY_SESSION));
    input.focus();
  });
})();
