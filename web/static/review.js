// The trainers' review queue: the messages the assistant was unsure of, grouped by the
// intent the model guessed; one click labels a message; the reviewed ones make a YAML
// patch for data/nlu.yml, downloaded or written. Everything shown is set with
// textContent, never as HTML: the messages are customers' own words.
(function () {
  const $ = (id) => document.getElementById(id);
  const {token, headers, api, el, remember} = window.agentPage;  // agentpage.js
  const SOURCES = {fallback: "没把握", out_of_scope: "超出范围", feedback: "客服弃用/改写", log: "日志"};
  let state = null;

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
    const other = card.querySelector(".other");
    for (const intent of state.intents) {
      if (!item.choices.includes(intent)) other.append(new Option(named(intent), intent));
    }
    other.addEventListener("change", () => { if (other.value) assign(item.id, other.value); });
    const oos = card.querySelector(".oos");
    oos.hidden = item.choices.includes("out_of_scope");
    oos.addEventListener("click", () => assign(item.id, "out_of_scope"));
    card.querySelector(".skip").addEventListener("click", () => assign(item.id, state.drop));
    return card;
  }

  function render() {
    const groups = $("groups");
    groups.replaceChildren();
    let count = 0;
    for (const group of state.groups) {
      const section = el("section", "group");
      section.dataset.intent = group.intent;
      section.append(el("h3", null, "模型猜测：" + group.intent + "（" + group.items.length + "）"));
      for (const item of group.items) section.append(renderItem(item));
      groups.append(section);
      count += group.items.length;
    }
    $("count").textContent = count;
    $("empty").hidden = count > 0;
    const reviewed = $("reviewed");
    reviewed.replaceChildren();
    for (const item of state.reviewed) {
      const li = el("li");
      li.append(el("span", null, item.label + "：" + item.text));
      const undo = el("button", "undo", "撤销");
      undo.addEventListener("click", () => assign(item.id, null));
      li.append(undo);
      reviewed.append(li);
    }
    $("reviewed-count").textContent = state.reviewed.length;
    $("patch").textContent = state.patch;
    $("download").disabled = $("apply").disabled = state.reviewed.length === 0;
  }

  async function load() {
    const response = await api("/agent/review");
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { status(data.error || "加载失败"); return; }
    state = data;
    render();
  }

  async function assign(id, intent) {
    const response = await api("/agent/review/items/" + id, {intent: intent});
    const data = await response.json().catch(() => ({}));
    await load();  // then the status: the page shows what it says
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
