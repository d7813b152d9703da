// The page's calls to the admin API. The session cookie travels by itself (same origin,
// HttpOnly); state-changing calls add the session's CSRF token in X-CSRF-Token.

let csrfToken = null;

export function setCsrf(token) { csrfToken = token; }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.code = this.body.code || "http_error";
  }
}

async function call(method, path, body) {
  const headers = { accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["content-type"] = "application/json";
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
    init.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const getJSON = (path) => call("GET", path);
export const postJSON = (path, body) => call("POST", path, body);
