// The agents' workbench: the live inbox (Server-Sent Events over fetch, so the token
// stays in the Authorization header), a conversation with its order and drafts, and the
// answer box. Everything shown is set with textContent, never as HTML.
(function () {
  const $ = (id) => document.getElementById(id);
  const {token, headers, api, el, remember} = window.agentPage;  // agentpage.js
  let entries = [];
  let tab = "waiting";
  let openId = null;
  let chosenDraft = null; // the draft the answer box started from
  let streamAbort = null;

  function status(text) { $("status").textContent = text; }
  function waited(since) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
    if (seconds < 60) return seconds + " 秒";
    if (seconds < 3600) return Math.floor(seconds / 60) + " 分钟";
    return Math.floor(seconds / 3600) + " 小时";
  }
  function clock(iso) {
    const d = new Date(iso);
    return d.toLocaleTimeString("zh-CN", {hour12: false});
  }

  // -- the inbox -------------------------------------------------------------------
  function renderInbox() {
    const waiting = entries.filter((e) => e.reason !== "live");
    $("count-waiting").textContent = waiting.length;
    $("count-all").textContent = entries.length;
    const shown = tab === "waiting" ? waiting : entries;
    const list = $("conversations");
    list.replaceChildren();
    for (const e of shown) {
      const li = el("li", "conv" + (e.conversation_id === openId ? " open" : ""));
      li.dataset.id = e.conversation_id;
      const top = el("div", "top");
      top.append(el("span", "badge p" + e.priority, e.reason_text),
                 el("span", "wait", e.held_by ? e.held_by + " 处理中" : "等待 " + waited(e.waiting_since)));
      li.append(top);
      li.append(el("div", "who", (e.buyer || "访客") + (e.order_id ? " · 订单 " + e.order_id : "")));
      li.append(el("div", "last", e.last_message || ""));
      li.dataset.since = e.waiting_since;
      li.addEventListener("click", () => openConversation(e.conversation_id));
      list.append(li);
    }
    $("empty").hidden = shown.length > 0 || tab === "approvals";
  }
  $("tab-waiting").addEventListener("click", () => { tab = "waiting"; switchTab(); });
  $("tab-all").addEventListener("click", () => { tab = "all"; switchTab(); });
  $("tab-approvals").addEventListener("click", () => { tab = "approvals"; switchTab(); });
  function switchTab() {
    for (const name of ["waiting", "all", "approvals"]) $("tab-" + name).classList.toggle("on", tab === name);
    $("conversations").hidden = tab === "approvals";
    $("approvals").hidden = tab !== "approvals";
    renderInbox();
    if (tab === "approvals") loadApprovals();
  }

  // -- supervisors: the approvals queue ---------------------------------------------
  let supervisor = false;
  async function loadApprovals() {
    if (!supervisor) return;
    const response = await api("/agent/approvals");
    if (!response.ok) return;
    const pending = await response.json();
    $("count-approvals").textContent = pending.length;
    const list = $("approvals");
    list.replaceChildren();
    for (const c of pending) {
      const li = el("li", "conv");
      li.append(el("div", "top", "#" + c.id + " " + c.intent + " · 订单 " + (c.order_id || "无")));
      li.append(el("div", "last", c.note));
      li.append(el("div", "muted", c.next_step));
      const reason = el("input");
      reason.placeholder = "拒绝原因（会告诉客户）";
      const approve = el("button", null, "批准");
      const deny = el("button", null, "拒绝");
      approve.addEventListener("click", () => decide(c.id, "approve", ""));
      deny.addEventListener("click", () => decide(c.id, "deny", reason.value));
      li.append(reason, approve, deny);
      list.append(li);
    }
  }
  async function decide(id, decision, reason) {
    const response = await api("/agent/approvals/" + id, {decision: decision, reason: reason});
    const data = await response.json().catch(() => ({}));
    const told = data.told ? "已通知客户" : "客户下次发消息时会收到通知";
    $("live").textContent = response.ok ? (decision === "approve" ? "已批准，" : "已拒绝，") + told : (data.error || "失败");
    loadApprovals();
  }
  setInterval(() => {
    for (const li of document.querySelectorAll(".conv")) {
      const e = entries.find((x) => x.conversation_id === li.dataset.id);
      if (e && !e.held_by) li.querySelector(".wait").textContent = "等待 " + waited(e.waiting_since);
    }
  }, 1000);

  // -- the stream ------------------------------------------------------------------
  async function stream() {
    if (streamAbort) streamAbort.abort();
    const abort = new AbortController();
    streamAbort = abort;
    const query = openId ? "?conversation=" + encodeURIComponent(openId) : "";
    try {
      const response = await fetch("/agent/stream" + query, {headers: headers(), signal: abort.signal});
      if (!response.ok) { $("live").textContent = response.status === 401 ? "请填写有效的 token" : "连接失败"; return; }
      $("live").textContent = "● 实时";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (name === "inbox") { entries = JSON.parse(data); renderInbox(); loadApprovals(); }
          else if (name === "conversation") loadConversation();
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
    }
    if (streamAbort === abort) { $("live").textContent = "重新连接…"; setTimeout(stream, 1000); }
  }

  // -- a conversation --------------------------------------------------------------
  async function openConversation(id) {
    openId = id;
    chosenDraft = null;
    $("text").value = "";
    $("draft-used").textContent = "";
    renderInbox();
    await loadConversation();
    stream();
  }

  async function loadConversation() {
    if (!openId) return;
    const response = await api("/agent/conversations/" + encodeURIComponent(openId));
    if (!response.ok) { status((await response.json()).error || "打开失败"); return; }
    const c = await response.json();
    $("view").hidden = false;
    $("card").hidden = false;
    $("title").textContent = "会话 " + c.id;
    $("holder").textContent = c.held_by ? "由 " + c.held_by + " 接待中" : (c.paused ? "等待人工接入" : "机器人接待中");
    const transcript = $("transcript");
    transcript.replaceChildren();
    const who = {customer: "客户", bot: "机器人"};
    for (const line of c.transcript) {
      const li = el("li", "line " + line.who);
      li.append(el("div", "who", (line.who === "agent" ? "客服 " + line.agent : who[line.who]) + " · " + clock(line.at)));
      li.append(el("div", "text", line.text));
      transcript.append(li);
    }
    transcript.scrollTop = transcript.scrollHeight;
    $("for-message").textContent = c.latest_message ? "针对：" + c.latest_message : "";
    renderDrafts(c.drafts);
    renderCard(c.order, c.cases);
  }

  function renderDrafts(drafts) {
    const box = $("drafts");
    box.replaceChildren();
    if (!drafts.length) box.append(el("p", "muted", "没有足够把握的建议，请自己回复"));
    for (const d of drafts) {
      const node = $("draft").content.cloneNode(true);
      const article = node.querySelector("article");
      article.dataset.intent = d.intent;
      node.querySelector(".intent").textContent = d.intent;
      node.querySelector(".confidence").textContent = "置信度 " + Math.round(d.confidence * 100) + "%";
      node.querySelector(".reply").textContent = d.reply;
      for (const v of d.verdict_text) node.querySelector(".verdicts").append(el("li", null, v));
      for (const item of d.checklist) node.querySelector(".checklist").append(el("li", null, "☐ " + item));
      node.querySelector(".use").addEventListener("click", () => {
        chosenDraft = d.intent;
        $("text").value = d.reply;
        $("draft-used").textContent = "基于建议：" + d.intent;
        $("text").focus();
      });
      box.append(node);
    }
  }

  function renderCard(order, cases) {
    const box = $("order");
    box.replaceChildren();
    if (!order) box.append(el("p", "muted", "这个会话还没有确定订单"));
    else {
      box.append(el("p", null, "订单 " + order.order_id + " · " + order.state_text));
      box.append(el("p", "muted", "买家 " + order.buyer_name + "（" + order.buyer + "） · 下单 " + order.created));
      const items = el("ul", "items");
      for (const i of order.items) items.append(el("li", null, i.label + "  实付 " + i.price_paid + "（现价 " + i.current_price + "）" + (i.gift ? " 赠品" : "")));
      box.append(items);
      box.append(el("p", null, "运费 " + order.shipping_fee + " · 合计 " + order.amount_paid + (order.refund ? " · 已退 " + order.refund : "")));
      if (order.shipment) {
        const s = order.shipment;
        box.append(el("p", null, s.courier + " " + s.tracking_number + (s.signed ? " · 签收 " + s.signed + (s.signed_by ? "（" + s.signed_by + "）" : "") : "")));
        const events = el("ul", "items");
        for (const e of s.events.slice(0, 5)) events.append(el("li", "muted", e.time + " " + e.place + " " + e.description));
        box.append(events);
      }
    }
    renderPhotos(order ? order.attachments : []);
    const list = $("cases");
    list.replaceChildren();
    if (!cases.length) list.append(el("li", "muted", "无"));
    for (const c of cases) {
      const li = el("li", c.overdue ? "overdue" : null, "#" + c.id + " " + c.intent + " · " + c.state_text + (c.overdue ? "（已超时）" : "") + " · " + c.handler);
      li.append(el("div", "muted", "下一步：" + c.next_step));
      if (c.photo_review) li.append(reviewControls(c));
      list.append(li);
    }
    for (const g of (order && order.compensations) || []) {
      const li = el("li", g.overdue ? "overdue compensation" : "compensation", g.what + " " + g.amount + "（" + g.problem + "） · " + g.state_text + " · " +
        g.offered_by + " " + g.offered + (g.decided_by ? " · 主管 " + g.decided_by + " " + g.decided : ""));
      if (g.due) li.append(el("div", "muted", "打款期限：" + g.due + (g.overdue ? "（已超时）" : "")));
      if (g.paid_by) li.append(el("div", "muted", "已打款：" + g.paid_by + " " + g.paid + (g.reference ? " · 打款记录 " + g.reference : "")));
      if (g.payable) li.append(payControls(g));
      list.append(li);
    }
  }

  // 已打款: money owed was transferred (web/payouts.py); the customer is told
  function payControls(g) {
    const box = el("div", "review payout");
    const reference = el("input"); reference.placeholder = "打款记录（可不填）"; reference.size = 16;
    const paid = el("button", null, "已打款");
    paid.addEventListener("click", async () => {
      const response = await api("/agent/compensations/" + g.id + "/paid", {reference: reference.value});
      const data = await response.json().catch(() => ({}));
      $("live").textContent = response.ok ? (data.told ? "已记录打款，已通知客户" : "已记录打款，客户回来时再通知") : (data.error || "失败");
      if (response.ok) loadConversation();
    });
    box.append(reference, paid);
    return box;
  }

  // 照片待审核: the agent's verdict on the photos (web/photo_review.py); the customer is told
  const REFUSALS = {misuse: "使用或保管不当", gift: "赠品不在赔偿范围", used: "已使用/洗涤/修改",
    odour: "沾染气味", gifts_missing: "赠品不全", opened: "消耗品已拆封", exchanged_once: "已换过一次"};
  function reviewControls(c) {
    const box = el("div", "review");
    const approve = el("button", null, "确认问题，告诉客户寄回地址");
    approve.addEventListener("click", () => review(c.id, {verdict: "approve"}));
    const reason = el("select");
    for (const [key, text] of Object.entries(REFUSALS)) { const o = el("option", null, text); o.value = key; reason.append(o); }
    const refuse = el("button", null, "不予办理");
    refuse.addEventListener("click", () => review(c.id, {verdict: "refuse", reason: reason.value}));
    const amount = el("input"); amount.placeholder = "折价金额"; amount.size = 6;
    const problem = el("input"); problem.placeholder = "什么问题"; problem.size = 12;
    const discount = el("button", null, "折价");
    discount.addEventListener("click", () => review(c.id, {verdict: "discount", amount: amount.value, problem: problem.value}));
    box.append(approve, reason, refuse, amount, problem, discount);
    return box;
  }

  async function review(id, body) {
    const response = await api("/agent/cases/" + id + "/review", body);
    const data = await response.json().catch(() => ({}));
    $("live").textContent = response.ok ? (data.told ? "已记录，已通知客户" : "已记录，客户回来时再通知") : (data.error || "失败");
    if (response.ok) loadConversation();
  }

  // the customer's photos: fetched with the agent's token (an <img> cannot send it)
  async function renderPhotos(attachments) {
    const list = $("attachments");
    list.replaceChildren();
    if (!attachments || !attachments.length) { list.append(el("li", "muted", "暂无")); return; }
    for (const a of attachments) {
      const li = el("li", "photo");
      const link = el("a");
      link.title = "#" + a.case_id + " · " + a.at;
      li.append(link, el("div", "muted", "#" + a.case_id + " · " + a.at));
      list.append(li);
      try {
        const response = await fetch(a.thumbnail, {headers: headers()});
        if (!response.ok) throw new Error(String(response.status));
        const img = el("img");
        img.alt = "客户图片";
        img.src = URL.createObjectURL(await response.blob());
        link.append(img);
        link.href = "#";
        link.addEventListener("click", async (event) => {
          event.preventDefault();
          const full = await fetch(a.url, {headers: headers()});
          if (full.ok) window.open(URL.createObjectURL(await full.blob()), "_blank");
        });
      } catch (e) {
        link.append(el("span", "muted", "图片加载失败"));
      }
    }
  }

  // -- answering -------------------------------------------------------------------
  async function post(path, body) {
    const response = await api(path, body || {});
    const data = await response.json().catch(() => ({}));
    if (!response.ok) status(data.error || "失败");
    return response.ok ? data : null;
  }
  $("takeover").addEventListener("click", async () => {
    if (await post("/agent/conversations/" + encodeURIComponent(openId) + "/takeover")) { status("已接管"); loadConversation(); }
  });
  $("release").addEventListener("click", async () => {
    if (await post("/agent/conversations/" + encodeURIComponent(openId) + "/release")) { status("已交回机器人"); loadConversation(); }
  });
  $("send").addEventListener("click", async () => {
    const text = $("text").value.trim();
    if (!text) { status("请输入回复内容"); return; }
    const body = {text: text};
    if (chosenDraft) body.draft = chosenDraft;
    const sent = await post("/agent/conversations/" + encodeURIComponent(openId) + "/messages", body);
    if (sent) {
      status("已发送（" + {used: "直接使用建议", edited: "修改后使用", own: "自己撰写"}[sent.verdict] + "）");
      $("text").value = "";
      chosenDraft = null;
      $("draft-used").textContent = "";
      loadConversation();
    }
  });

  let cannedTimer = null;
  $("canned-q").addEventListener("input", () => {
    clearTimeout(cannedTimer);
    cannedTimer = setTimeout(async () => {
      const q = $("canned-q").value.trim();
      const list = $("canned");
      list.replaceChildren();
      if (!q) return;
      const query = "?q=" + encodeURIComponent(q) + (openId ? "&conversation=" + encodeURIComponent(openId) : "");
      const response = await api("/agent/canned" + query);
      if (!response.ok) return;
      for (const r of await response.json()) {
        const li = el("li", null, r.text);
        li.title = r.response;
        li.addEventListener("click", () => { $("text").value = r.text; chosenDraft = null; $("draft-used").textContent = "快捷回复：" + r.response; });
        list.append(li);
      }
    }, 200);
  });

  async function start() {
    remember();
    const response = await api("/agent/me");
    if (!response.ok) { $("me").textContent = "未登录"; return; }
    const me = await response.json();
    $("me").textContent = "当前客服：" + me.name + (me.supervisor ? "（主管）" : "");
    supervisor = me.supervisor;
    $("tab-approvals").hidden = !supervisor;
    stream();
  }
  token.addEventListener("change", start);
  if (token.value) start();
})();
