// Segment-shaped calls, queued and sent as one `/v1/b` batch a second later, or at once
// (keepalive) when the page is hidden, so the last clicks before leaving are not lost.

import { Connection, post } from "./transport";

declare const __VERSION__: string;

export type Call = Record<string, unknown> & { type: string };

const FLUSH_MS = 1000;
const MAX_QUEUE = 20;

export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function anonymousId(): string {
  const key = "parcours.anonymousId";
  try {
    const known = localStorage.getItem(key);
    if (known) return known;
    const made = randomId();
    localStorage.setItem(key, made);
    return made;
  } catch {
    return randomId();
  }
}

export class Tracker {
  private queue: Call[] = [];
  private timer: number | undefined;
  readonly anonymousId = anonymousId();
  userId: string | undefined;

  constructor(private readonly conn: Connection) {
    const flushNow = () => this.flush(true);
    addEventListener("pagehide", flushNow);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") flushNow();
    });
  }

  enqueue(call: Call): void {
    this.queue.push({
      ...call,
      messageId: randomId(),
      timestamp: new Date().toISOString(),
      anonymousId: this.anonymousId,
      ...(this.userId ? { userId: this.userId } : {}),
      context: {
        library: { name: "parcours.js", version: __VERSION__ },
        locale: navigator.language,
        page: { path: location.pathname, url: location.href, title: document.title, referrer: document.referrer },
      },
    });
    if (this.queue.length >= MAX_QUEUE) this.flush(false);
    else if (this.timer === undefined) this.timer = window.setTimeout(() => this.flush(false), FLUSH_MS);
  }

  flush(keepalive: boolean): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    void post(this.conn, "/v1/b", { batch, writeKey: this.conn.writeKey, sentAt: new Date().toISOString() }, keepalive);
  }
}
