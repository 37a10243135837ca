// The demo shop: pick a buyer (the shop's login), start the widget with a signed token.
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
    const buyers = await (await fetch("/api/buyers")).json();
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
