// Shared by the agent console and the analyst dashboard: signing in, the session, calls to the API.
// The session token lives in sessionStorage (this tab only, gone when it closes), never in a cookie,
// so no other site can make the browser use it.

const KEY = "careline-staff";

export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of [].concat(children)) if (c !== null && c !== undefined) node.append(c);
  return node;
}

export function session() {
  try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(method, path, body) {
  const s = session();
  const headers = {};
  if (s) headers.authorization = "Bearer " + s.token;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch("/api/v1" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401 && s && s.role) {
    sessionStorage.removeItem(KEY);
    location.reload();
  }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data.error || r.statusText);
  return data;
}

export function socketUrl(path) {
  const url = new URL("/api/v1" + path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", session().token);
  return url;
}

/**
 * Shows the sign-in form in `root` until the person signs in with a role in `roles`, then resolves
 * with the session. Staff sign in with their username and password; a kiosk may use a configured
 * agent token instead.
 */
export function signIn(root, roles, title) {
  const existing = session();
  if (existing && roles.includes(existing.role)) return Promise.resolve(existing);
  return new Promise((resolve) => {
    const problem = el("p", { class: "problem", role: "alert", hidden: true });
    const user = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
    const pass = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const token = el("input", { id: "agent-token", name: "token", autocomplete: "off" });
    const fail = (message) => { problem.textContent = message; problem.hidden = false; };
    const form = el("form", { class: "login", "aria-labelledby": "login-title" }, [
      el("h1", { id: "login-title", text: title }),
      problem,
      el("label", { for: "username", text: "Username" }), user,
      el("label", { for: "password", text: "Password" }), pass,
      el("button", { type: "submit", class: "primary", text: "Sign in" }),
      el("details", {}, [
        el("summary", { text: "Sign in with an agent token (kiosks)" }),
        el("label", { for: "agent-token", text: "Agent token" }), token,
        el("button", { type: "button", class: "secondary", text: "Use token", onclick: () => useToken() }),
      ]),
    ]);
    async function finish(s) {
      if (!roles.includes(s.role)) {
        sessionStorage.removeItem(KEY);
        fail(`This page is for ${roles.join(", ")}; you are signed in as ${s.role}.`);
        return;
      }
      sessionStorage.setItem(KEY, JSON.stringify(s));
      form.remove();
      resolve(s);
    }
    async function useToken() {
      sessionStorage.setItem(KEY, JSON.stringify({ token: token.value.trim() }));
      try {
        const me = await api("GET", "/agent/me");
        finish({ token: token.value.trim(), role: me.role, name: me.name });
      } catch (e) {
        sessionStorage.removeItem(KEY);
        fail(e.status === 401 ? "That token belongs to no agent." : e.message);
      }
    }
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const r = await api("POST", "/auth/login", { username: user.value, password: pass.value });
        finish({ token: r.token, role: r.role, name: r.name });
      } catch (err) {
        fail(err.status === 401 ? "Wrong username or password." : err.message);
        pass.value = "";
        pass.focus();
      }
    });
    root.append(form);
    user.focus();
  });
}

export async function signOut() {
  try { await api("POST", "/auth/logout"); } catch { /* config tokens have no session to end */ }
  sessionStorage.removeItem(KEY);
  location.reload();
}

export function duration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function percent(x) {
  return x == null ? "–" : `${(x * 100).toFixed(1)}%`;
}
