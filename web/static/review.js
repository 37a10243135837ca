// The trainers' review queue: the messages the assistant was unsure of, grouped by the
// intent the model guessed (each group's count, its first PAGE items, 「再显示」 for the
// next; a search narrows every group); one click labels a message; the reviewed ones make
// a YAML patch for data/nlu.yml, downloaded or written. Everything shown is set with
// textContent, never as HTML: the messages are customers' own words.
(function () {
  const $ = (id) => document.getElementById(id);
  const {token, headers, api, el, remember} = window.agentPage;  // agentpage.js
  const SOURCES = {fallback: "没把握", out_of_scope: "超出范围", feedback: "客服弃用/改写", log: "日志"};
  const PAGE = 20;  // web/review.py's PAGE
  let state = null;
  let query = "";

  function status(text) { $("status").textContent = text; }
  function named(intent) {
    const title = state.titles[intent] || (intent === "out_of_scope" ? "超出范围" : "");
    return title ? intent + " · " + title : intent;
  }
  function percent(confidence) {
    return confidence === null || confidence === undefined ? "—" : Math.round(confidence * 100) + "%";
  }

  function renderItem(item) {
    const card = $("item").content.firstElementChild.cloneNode(true);
    card.dataset.id = item.id;
    card.querySelector(".text").textContent = item.text;
    const feedback = item.source === "feedback";
    card.querySelector(".meta").textContent = "#" + item.id + " · " + (SOURCES[item.source] || item.source) +
      (feedback ? " · 建议回复的意图 " + item.predicted : " · 置信度 " + percent(item.confidence));
    // the model's score of an intent; on an agent's feedback, the intent the agent named
    const scores = Object.fromEntries(item.candidates);
    for (const intent of item.choices) {
      const score = intent in scores ? (feedback ? "（客服所选）" : " " + percent(scores[intent])) : "";
      const button = el("button", "choice", named(intent) + score);
      button.dataset.intent = intent;
      button.addEventListener("click", () => assign(item.id, intent));
      card.querySelector(".choices").append(button);
    }
    // every other intent, filled when first opened: thousands of cards stay light
    const other = card.querySelector(".other");
    const fill = () => {
      if (other.options.length > 1) return;
      for (const intent of state.intents) {
        if (!item.choices.includes(intent)) other.append(new Option(named(intent), intent));
      }
    };
    other.addEventListener("pointerdown", fill);
    other.addEventListener("focus", fill);
    other.addEventListener("change", () => { if (other.value) assign(item.id, other.value); });
    const oos = card.querySelector(".oos");
    oos.hidden = item.choices.includes("out_of_scope");
    oos.addEventListener("click", () => assign(item.id, "out_of_scope"));
    card.querySelector(".skip").addEventListener("click", () => assign(item.id, state.drop));
    return card;
  }

  function params(extra) {
    const search = new URLSearchParams(extra);
    if (query) search.set("q", query);
    return "?" + search;
  }

  function updateGroup(section) {
    const count = Number(section.dataset.count), shown = section.querySelectorAll(".item").length;
    section.querySelector("h3").textContent = "模型猜测：" + section.dataset.intent + "（" + count + "）";
    const more = section.querySelector(".more-items");
    more.hidden = shown >= count;
    more.textContent = "再显示 " + Math.min(PAGE, count - shown) + " 条（还有 " + (count - shown) + " 条）";
    section.hidden = count === 0;
  }

  function renderGroup(group) {
    const section = el("section", "group");
    section.id = "group-" + group.intent;
    section.dataset.intent = group.intent;
    section.dataset.count = group.count;
    const list = el("div", "items");
    for (const item of group.items) list.append(renderItem(item));
    const more = el("button", "more-items");
    more.addEventListener("click", () => loadMore(section));
    section.append(el("h3"), list, more);
    updateGroup(section);
    return section;
  }

  async function loadMore(section) {
    const shown = section.querySelectorAll(".item").length;
    const response = await api("/agent/review/groups/" + encodeURIComponent(section.dataset.intent) +
                               params({offset: shown, limit: PAGE}));
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { status(data.error || "加载失败"); return; }
    const known = new Set([...section.querySelectorAll(".item")].map((card) => card.dataset.id));
    const list = section.querySelector(".items");
    for (const item of data.items) if (!known.has(String(item.id))) list.append(renderItem(item));
    section.dataset.count = data.count;
    updateGroup(section);
  }

  // the counts of every group, the reviewed items and the patch: after a label, without
  // reloading the groups a trainer has opened further
  function renderSide(data) {
    const counts = Object.fromEntries(data.groups.map((g) => [g.intent, g.count]));
    for (const section of $("groups").querySelectorAll(".group")) {
      section.dataset.count = counts[section.dataset.intent] || 0;
      updateGroup(section);
    }
    const nav = $("group-counts");
    nav.replaceChildren();
    for (const group of data.groups) {
      const link = el("a", null, group.intent + "（" + group.count + "）");
      link.href = "#group-" + group.intent;
      nav.append(link);
    }
    $("count").textContent = data.open;
    $("empty").textContent = query ? "没有包含「" + query + "」的待审核消息" : "队列已清空，暂无待审核的消息";
    $("empty").hidden = data.open > 0;
    const reviewed = $("reviewed");
    reviewed.replaceChildren();
    for (const item of data.reviewed) {
      const li = el("li");
      li.append(el("span", null, item.label + "：" + item.text));
      const undo = el("button", "undo", "撤销");
      undo.addEventListener("click", () => assign(item.id, null));
      li.append(undo);
      reviewed.append(li);
    }
    $("reviewed-count").textContent = data.reviewed_count;
    const hidden = data.reviewed_count - data.reviewed.length;
    $("reviewed-more").hidden = hidden <= 0;
    $("reviewed-more").textContent = "另有 " + hidden + " 条未列出（都在补丁里）";
    $("patch").textContent = data.patch;
    $("download").disabled = $("apply").disabled = data.reviewed_count === 0;
  }

  async function fetchQueue(limit) {
    const response = await api("/agent/review" + params({limit: limit}));
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { status(data.error || "加载失败"); return null; }
    state = data;
    return data;
  }

  async function load() {
    const data = await fetchQueue(PAGE);
    if (!data) return;
    $("groups").replaceChildren(...data.groups.map(renderGroup));
    renderSide(data);
  }

  async function assign(id, intent) {
    const response = await api("/agent/review/items/" + id, {intent: intent});
    const data = await response.json().catch(() => ({}));
    if (response.ok && intent !== null) {
      // labelled: out of its group here; the counts, the reviewed and the patch read again
      const card = $("groups").querySelector('.item[data-id="' + id + '"]');
      if (card) card.remove();
      const side = await fetchQueue(0);
      if (side) renderSide(side);
    } else {
      await load();  // back in the queue (or refused): every group as the queue has it
    }
    status(response.ok ? (intent === null ? "已撤销 #" + id : intent === state.drop ? "已丢弃 #" + id : "已标注 #" + id + " → " + intent)
                       : (data.error || "失败"));
  }

  $("download").addEventListener("click", async () => {
    const response = await api("/agent/review/patch");
    if (!response.ok) { status("下载失败"); return; }
    const link = el("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = "review_nlu.yml";
    link.click();
    URL.revokeObjectURL(link.href);
  });

  $("apply").addEventListener("click", async () => {
    const response = await api("/agent/review/apply", {});
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { status(data.error || "写入失败"); return; }
    await load();
    status("");
    $("applied").textContent = "已写入 " + data.nlu + "：新增 " + data.added +
      " 条样本。请运行 make validate 检查，再运行 make eval 或 make train 看效果。";
  });

  $("refresh").addEventListener("click", load);
  $("search").addEventListener("change", () => { query = $("search").value.trim(); load(); });

  async function start() {
    remember();
    const response = await api("/agent/me");
    if (!response.ok) { $("me").textContent = "未登录"; status("请填写有效的 token"); return; }
    const me = await response.json();
    $("me").textContent = "当前：" + me.name + (me.supervisor ? "（主管）" : "");
    if (!me.supervisor) { status("只有主管可以审核训练数据"); return; }
    status("");
    await load();
  }
  token.addEventListener("change", start);
  if (token.value) start();
})();
