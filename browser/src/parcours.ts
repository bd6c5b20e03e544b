// parcours.js: tracks like analytics.js and shows the user's Parcours tutorials and tips.
// The only global is `window.Parcours`; every entry point swallows its own errors.

import { follow, waitFor } from "./anchor";
import { Tracker } from "./tracker";
import { Connection, inapp } from "./transport";
import { card } from "./view";

declare const __VERSION__: string;

interface Step {
  target: string;
  title: string;
  body: string;
}

interface Item {
  id: number;
  kind: "tutorial" | "tip";
  name: string;
  status: string;
  title: string;
  body?: string;
  target?: string | null;
  steps?: Step[];
}

interface Labels {
  next: string;
  back: string;
  done: string;
  close: string;
  gotIt: string;
  progress: string; // "{step} of {total}"
}

interface Options {
  host: string;
  writeKey: string;
  userId?: string;
  userHash?: string;
  traits?: Record<string, unknown>;
  anchorTimeout?: number;
  trackPages?: boolean;
  labels?: Partial<Labels>;
}

const LABELS: Labels = { next: "Next", back: "Back", done: "Done", close: "Close", gotIt: "Got it", progress: "{step} of {total}" };

let conn: Connection | undefined;
let tracker: Tracker | undefined;
let options: Options | undefined;
let labels = LABELS;
let userHash: string | undefined;
let items: Item[] = [];
const closed = new Set<number>();
const stepOf = new Map<number, number>();
const reported = new Set<string>();
let teardown: () => void = () => undefined;
let shown: number | undefined; // the item on screen (or waiting for its anchor)
let generation = 0;

function safe<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch {
      // Never into the host page.
    }
  };
}

function track(event: string, properties: Record<string, unknown> = {}): void {
  tracker?.enqueue({ type: "track", event, properties });
}

function page(name?: string, properties: Record<string, unknown> = {}): void {
  tracker?.enqueue({ type: "page", ...(name ? { name } : {}), properties: { path: location.pathname, url: location.href, ...properties } });
}

function userPath(suffix = ""): string {
  return encodeURIComponent(tracker?.userId ?? "") + suffix;
}

function refresh(): void {
  if (!conn || !userHash || !tracker?.userId) return;
  const asked = ++generation;
  void inapp(conn, userPath(), userHash, "GET").then((answer) => {
    const list = (answer as { items?: Item[] } | null)?.items;
    if (asked !== generation || !Array.isArray(list)) return;
    items = list.filter((item) => !closed.has(item.id));
    if (items[0]?.id !== shown) show();
  });
}

function outcome(item: Item, what: "seen" | "completed" | "dismissed"): Promise<unknown> {
  if (!conn || !userHash) return Promise.resolve(null);
  return inapp(conn, userPath(`/${item.id}/${what}`), userHash, "POST");
}

function missing(item: Item, selector: string, stepIndex: number | null): void {
  const key = `${item.id}:${stepIndex}:${location.pathname}`;
  if (reported.has(key)) return;
  reported.add(key);
  track("anchor_missing", { item: item.name, item_id: item.id, kind: item.kind, step_index: stepIndex, selector, page: location.pathname });
}

function finish(item: Item, what: "completed" | "dismissed"): void {
  closed.add(item.id);
  items = items.filter((other) => other.id !== item.id);
  void outcome(item, what).then(refresh);
  show();
}

function markSeen(item: Item): void {
  if (item.status !== "pending") return;
  item.status = "seen";
  void outcome(item, "seen");
}

function show(): void {
  teardown();
  const item = items[0];
  shown = item?.id;
  if (!item) return;
  if (item.kind === "tutorial" && item.steps?.length) showStep(item, stepOf.get(item.id) ?? 0);
  else if (item.kind === "tip") showTip(item);
}

function showStep(item: Item, index: number): void {
  const steps = item.steps as Step[];
  const step = steps[index];
  stepOf.set(item.id, index);
  const last = index === steps.length - 1;
  const restore = document.activeElement as HTMLElement | null;
  let stops: Array<() => void> = [];
  const go = (to: number) => {
    teardown();
    showStep(item, to);
  };
  teardown = () => {
    stops.forEach((stop) => stop());
    stops = [];
    teardown = () => undefined;
  };
  const stopWaiting = waitFor(step.target, options?.anchorTimeout ?? 3000, (target) => {
    target.scrollIntoView({ block: "center", inline: "nearest" });
    const box = card({
      id: `parcours-${item.id}`,
      title: step.title,
      body: step.body,
      progress: labels.progress.replace("{step}", String(index + 1)).replace("{total}", String(steps.length)),
      closeLabel: labels.close,
      onClose: () => finish(item, "dismissed"),
      banner: false,
      actions: [
        ...(index > 0 ? [{ label: labels.back, run: () => go(index - 1) }] : []),
        { label: last ? labels.done : labels.next, primary: true, run: () => (last ? finish(item, "completed") : go(index + 1)) },
      ],
    });
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") finish(item, "dismissed");
    };
    document.addEventListener("keydown", onKey);
    stops.push(follow(box, target), () => {
      document.removeEventListener("keydown", onKey);
      const inside = box.contains((box.getRootNode() as ShadowRoot).activeElement);
      box.remove();
      if (inside && restore && restore.isConnected) restore.focus();
    });
    box.querySelector<HTMLElement>("button.primary")?.focus();
    markSeen(item);
    track("tutorial_step_viewed", { tutorial: item.name, item_id: item.id, step_index: index, step_count: steps.length });
  }, () => missing(item, step.target, index));
  stops.push(stopWaiting);
}

function showTip(item: Item): void {
  let stops: Array<() => void> = [];
  teardown = () => {
    stops.forEach((stop) => stop());
    stops = [];
    teardown = () => undefined;
  };
  const draw = (target: Element | null) => {
    const box = card({
      id: `parcours-${item.id}`,
      title: item.title,
      body: item.body ?? "",
      closeLabel: labels.close,
      onClose: () => finish(item, "dismissed"),
      banner: target === null,
      actions: [{ label: labels.gotIt, primary: true, run: () => finish(item, "completed") }],
    });
    stops.push(() => box.remove());
    if (target) stops.push(follow(box, target));
    markSeen(item);
  };
  if (!item.target) draw(null);
  else stops.push(waitFor(item.target, options?.anchorTimeout ?? 3000, draw, () => missing(item, item.target as string, null)));
}

function navigated(): void {
  if (options?.trackPages !== false) page();
  show();
  refresh();
}

function watchHistory(): void {
  for (const method of ["pushState", "replaceState"] as const) {
    const original = history[method];
    history[method] = function (this: History, ...args: Parameters<History["pushState"]>) {
      const result = original.apply(this, args);
      safe(navigated)();
      return result;
    };
  }
  addEventListener("popstate", safe(navigated));
}

function init(given: Options): void {
  if (conn) return;
  options = given;
  labels = { ...LABELS, ...given.labels };
  conn = { host: given.host, writeKey: given.writeKey };
  tracker = new Tracker(conn);
  watchHistory();
  if (given.userId) identify(given.userId, given.userHash, given.traits);
  if (given.trackPages !== false) page();
}

function identify(userId: string, hash?: string, traits: Record<string, unknown> = {}): void {
  if (!tracker) return;
  tracker.userId = userId;
  userHash = hash;
  tracker.enqueue({ type: "identify", traits });
  refresh();
}

(window as unknown as { Parcours: unknown }).Parcours = Object.freeze({
  version: __VERSION__,
  init: safe(init),
  identify: safe(identify),
  track: safe(track),
  page: safe(page),
  refresh: safe(refresh),
  flush: safe(() => tracker?.flush(true)),
});
