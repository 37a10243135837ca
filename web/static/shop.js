// The demo shop: pick a buyer (the shop's login), start the widget with a signed token.
// Everything this script shows is set with textContent, never as HTML.
(function () {
  const BUYER_KEY = "demo_shop_buyer";
  const select = document.getElementById("buyer");
  const who = document.getElementById("who");
  const socketUrl = document.body.dataset.socketUrl;

  async function tokenFor(buyer) {
    if (!buyer) return null;
    const response = await fetch("/api/session", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({buyer: buyer}),
    });
    if (!response.ok) return null;
    return (await response.json()).buyer_token;
  }

  // The widget renders replies as Markdown with HTML escaped, but it turns link
  // sanitising off (transformLinkUri: null): a reply that quotes an order field such
  // as "[退款](javascript:...)" would become a live link. Links whose target is not
  // http(s), mailto or tel lose their target as soon as they appear.
  const SAFE_PROTOCOL = /^(https?|mailto|tel):$/i;
  function disarm(node) {
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const links = node.matches("a[href]") ? [node] : node.querySelectorAll("a[href]");
    for (const a of links) {
      if (!SAFE_PROTOCOL.test(a.protocol)) a.removeAttribute("href");
    }
  }
  new MutationObserver(function (records) {
    for (const record of records) {
      disarm(record.target);
      for (const node of record.addedNodes) disarm(node);
    }
  }).observe(document.body,  // the widget renders beside #webchat, not in it
             {childList: true, subtree: true, attributes: true, attributeFilter: ["href"]});

  function startWidget(token) {
    window.WebChat.default({
      selector: "#webchat",
      socketUrl: socketUrl,
      socketPath: "/socket.io/",
      customData: token ? {buyer_token: token} : {},
      title: "小鹿优选售后",
      subtitle: "在线客服",
      inputTextFieldHint: "请输入您的问题…",
      initPayload: "你好",
      params: {storage: "local"},  // the conversation survives a reload
    }, null);
  }

  async function main() {
    const listed = await fetch("/api/buyers");  // 404 when the demo login is off
    const buyers = listed.ok ? await listed.json() : [];
    for (const b of buyers) {
      const option = document.createElement("option");
      option.value = b.account;
      option.textContent = b.name + "（" + b.account + "）";
      select.appendChild(option);
    }
    const current = localStorage.getItem(BUYER_KEY) || "";
    select.value = current;
    who.textContent = current ? "已登录" : "";
    select.addEventListener("change", function () {
      // another buyer: a new conversation
      localStorage.setItem(BUYER_KEY, select.value);
      localStorage.removeItem("chat_session");
      location.reload();
    });
    startWidget(await tokenFor(current));
  }
  main();
})();
