// The agent console: suggestions for a customer message; edit, copy, and say what you did.
// Everything shown is set with textContent / value, never as HTML.
(function () {
  const $ = (id) => document.getElementById(id);
  const token = $("token");
  token.value = sessionStorage.getItem("agent_token") || "";
  token.addEventListener("change", () => sessionStorage.setItem("agent_token", token.value));
  $("examples").addEventListener("change", (e) => { if (e.target.value) $("message").value = e.target.value; });

  function api(path, body) {
    return fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token.value},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function loadOrders() {
    const response = await api("/agent/orders");
    if (!response.ok) return;
    for (const o of await response.json()) {
      const option = document.createElement("option");
      option.value = o.order_id;
      option.textContent = o.order_id + " · " + o.buyer + " · " + o.state + " · " + o.items;
      $("order").appendChild(option);
    }
  }

  function list(ul, items) {
    for (const item of items) {
      const li = document.createElement("li");
      li.textContent = item;
      ul.appendChild(li);
    }
  }

  function card(s, message, orderId) {
    const node = $("card").content.cloneNode(true);
    const article = node.querySelector("article");
    article.dataset.intent = s.intent;
    node.querySelector(".intent").textContent = s.intent;
    node.querySelector(".confidence").textContent = (s.confidence * 100).toFixed(0) + "%";
    const reply = node.querySelector(".reply");
    reply.value = s.reply;
    // what the message is about, if not this suggestion's intent (an out_of_scope draft
    // rewritten into an answer about invoices: invoice_request); the export learns it under it
    const chosen = node.querySelector(".chosen");
    chosen.value = s.intent;
    list(node.querySelector(".checklist"), s.checklist);
    list(node.querySelector(".verdicts"), Object.entries(s.verdicts).map(([k, v]) => k + ": " + v));
    node.querySelector(".note").textContent = s.case_note
      ? s.case_note.note + " → " + s.case_note.next_step + "（" + s.case_note.state + "）" : "—";
    const done = node.querySelector(".done");
    node.querySelector(".copy").addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(reply.value); done.textContent = "已复制"; }
      catch (e) { reply.select(); done.textContent = "请按 Ctrl+C 复制"; }
    });
    for (const verdict of ["used", "edited", "rejected"]) {
      node.querySelector("." + verdict).addEventListener("click", async () => {
        // "used" after changing the draft is recorded as "edited"
        const sent = verdict === "used" && reply.value !== s.reply ? "edited" : verdict;
        const response = await api("/agent/feedback", {
          message: message, intent: s.intent, order_id: orderId || null,
          verdict: sent, final_text: verdict === "rejected" ? null : reply.value,
          chosen_intent: chosen.value.trim() && chosen.value.trim() !== s.intent ? chosen.value.trim() : null,
        });
        done.textContent = response.ok ? "已记录：" + sent : "记录失败";
      });
    }
    return node;
  }

  $("suggest").addEventListener("click", async () => {
    const message = $("message").value.trim();
    const orderId = $("order").value;
    $("suggestions").replaceChildren();
    if (!message) { $("status").textContent = "请先输入客户消息"; return; }
    $("status").textContent = "…";
    const response = await api("/agent/suggest", {message: message, order_id: orderId || null});
    const body = await response.json();
    if (!response.ok) { $("status").textContent = "出错了：" + body.error; return; }
    $("status").textContent = body.suggestions.length + " 条建议";
    $("intents").replaceChildren(...body.suggestions.map((s) => {
      const option = document.createElement("option");
      option.value = s.intent;
      return option;
    }));
    for (const s of body.suggestions) $("suggestions").appendChild(card(s, message, orderId));
  });

  loadOrders();
})();
