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

  // The 📷 button: posts a photo to /api/uploads with this widget's conversation id (the
  // socket.io session the widget keeps in localStorage) and the buyer's token; the bot
  // acknowledges it in the chat. Progress and any refusal's reason are shown beside it.
  const photoButton = document.getElementById("photo-button");
  const photoFile = document.getElementById("photo-file");
  const photoProgress = document.getElementById("photo-progress");
  const photoStatus = document.getElementById("photo-status");
  let buyerToken = null;

  function conversationId() {
    try {
      const session = JSON.parse(localStorage.getItem("chat_session") || "null");
      return session && session.session_id ? String(session.session_id) : null;
    } catch (e) {
      return null;
    }
  }

  function say(text, kind) {
    photoStatus.textContent = text;
    photoStatus.className = kind || "";
  }

  function upload(file, conversation) {
    const form = new FormData();
    form.append("file", file);
    form.append("conversation_id", conversation);
    if (buyerToken) form.append("buyer_token", buyerToken);
    const request = new XMLHttpRequest();
    request.open("POST", "/api/uploads");
    photoButton.disabled = true;
    photoProgress.hidden = false;
    photoProgress.value = 0;
    say("正在上传…");
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        photoProgress.value = Math.round(100 * event.loaded / event.total);
        say("正在上传… " + photoProgress.value + "%");
      }
    };
    function done(text, kind) {
      photoButton.disabled = false;
      photoProgress.hidden = true;
      say(text, kind);
    }
    request.onload = function () {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch (e) { body = null; }
      if (request.status === 201 && body) {
        done("照片已发送（这个售后共 " + body.photo_count + " 张）", "photo-ok");
      } else {
        done((body && body.error) || "照片没有发送成功，请稍后再试。", "photo-refused");
      }
    };
    request.onerror = function () { done("网络连接有问题，照片没有发送，请稍后再试。", "photo-refused"); };
    request.send(form);
  }

  photoButton.addEventListener("click", function () {
    if (!conversationId()) {
      say("请先点右下角打开在线客服，告诉我们遇到了什么问题。", "photo-refused");
      return;
    }
    photoFile.click();
  });
  photoFile.addEventListener("change", function () {
    const file = photoFile.files[0];
    photoFile.value = "";  // the same photo can be chosen again
    const conversation = conversationId();
    if (file && conversation) upload(file, conversation);
  });

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
    buyerToken = await tokenFor(current);
    startWidget(buyerToken);
  }
  main();
})();
