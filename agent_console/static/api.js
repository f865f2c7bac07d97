// The console's REST API (docs/console-api.md). Auth is the HttpOnly session cookie, which the browser sends by
// itself (same origin); every POST/PUT/PATCH/DELETE carries the session's CSRF token in `X-CSRF-Token`. The token
// comes from POST /api/login and GET /api/me and is kept in memory only (a reload asks /api/me again).

let csrfToken = null;
const unauthenticatedListeners = new Set();

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail || error || `HTTP ${status}`);
    this.status = status;
    this.error = error; // "forbidden", "takeover_refused", ... (docs/console-api.md, "Errors")
  }
}

/** Called with no arguments whenever a request answers 401: the app shows the login page. */
export function onUnauthenticated(listener) {
  unauthenticatedListeners.add(listener);
}

export function setCsrfToken(token) {
  csrfToken = token;
}

async function request(method, path, body, { raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") {
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  }
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (raw) {
    init.body = body; // a File or Blob, sent as it is (uploads stream to the server, no multipart)
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error ?? (response.status === 422 ? "bad_request" : "http_error");
    const detail = typeof payload?.detail === "string" ? payload.detail : "";
    if (response.status === 401 && path !== "/api/login") {
      for (const listener of unauthenticatedListeners) listener();
    }
    throw new ApiError(response.status, error, detail);
  }
  return payload;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
  /** POST a File as the request body (lead and list uploads, docs/console-api.md). */
  upload: (path, file) => request("POST", path, file, { raw: true }),

  async login(username, password) {
    const data = await request("POST", "/api/login", { username, password });
    setCsrfToken(data.csrf_token);
    return data.user;
  },
  async me() {
    const data = await request("GET", "/api/me");
    setCsrfToken(data.csrf_token);
    return data.user;
  },
  async logout() {
    try {
      await request("POST", "/api/logout");
    } finally {
      setCsrfToken(null);
    }
  },
};

/** ws:// or wss:// URL of a path on this origin (the session cookie goes with the handshake). */
export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/** WebSocket close codes of docs/console-api.md. */
export const CLOSE = { ENDED: 1000, LAGGED: 1013, NOT_AUTHENTICATED: 4401, NOT_ALLOWED: 4403, NO_CALL: 4404 };
