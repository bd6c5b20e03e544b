// Every request parcours.js makes goes to the Parcours host and nowhere else. Failures are
// swallowed here: a Parcours outage must never throw into the host page.

export interface Connection {
  host: string;
  writeKey: string;
}

export function post(conn: Connection, path: string, body: unknown, keepalive = false): Promise<boolean> {
  // text/plain keeps the call a CORS simple request (no preflight); the key rides in the body.
  return send(conn, path, {
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: JSON.stringify(body),
    keepalive,
  }).then((response) => response !== null);
}

export function inapp(conn: Connection, path: string, userHash: string, method: "GET" | "POST"): Promise<unknown> {
  const headers = { Authorization: `Basic ${btoa(`${conn.writeKey}:`)}`, "X-User-Hash": userHash };
  return send(conn, `/v1/inapp/${path}`, { method, headers }).then((response) =>
    response ? response.json().catch(() => null) : null,
  );
}

function send(conn: Connection, path: string, init: RequestInit): Promise<Response | null> {
  try {
    return fetch(conn.host.replace(/\/+$/, "") + path, init)
      .then((response) => (response.ok ? response : null))
      .catch(() => null);
  } catch {
    return Promise.resolve(null);
  }
}
