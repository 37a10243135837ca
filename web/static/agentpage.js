// What the agents' pages (the workbench, the trainers' review queue) share: the agent
// token field (kept for the browser tab in sessionStorage), the API with the token in the
// Authorization header, and elements whose text is set as text, never as HTML.
window.agentPage = (function () {
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem("agent_token") || "";

  function headers() {
    return {"Content-Type": "application/json", "Authorization": "Bearer " + token.value};
  }
  function api(path, body) {
    return fetch(path, {method: body === undefined ? "GET" : "POST", headers: headers(),
                        body: body === undefined ? undefined : JSON.stringify(body)});
  }
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function remember() { sessionStorage.setItem("agent_token", token.value); }
  return {token, headers, api, el, remember};
})();
