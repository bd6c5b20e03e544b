// Finding an item's target element and keeping a card beside it.

const POLL_MS = 200;

/** Calls `found` once `selector` matches, `missing` once if it has not after `timeoutMs`.
 * Returns a function that stops waiting. An invalid selector counts as missing. */
export function waitFor(
  selector: string,
  timeoutMs: number,
  found: (element: Element) => void,
  missing: () => void,
): () => void {
  let waited = 0;
  let reported = false;
  const look = (): boolean => {
    let element: Element | null = null;
    try {
      element = document.querySelector(selector);
    } catch {
      element = null;
    }
    if (element) found(element);
    return element !== null;
  };
  if (look()) return () => undefined;
  const timer = window.setInterval(() => {
    waited += POLL_MS;
    if (look()) clearInterval(timer);
    else if (!reported && waited >= timeoutMs) {
      reported = true;
      missing();
    }
  }, POLL_MS);
  return () => clearInterval(timer);
}

const GAP = 10;
const MARGIN = 8;

/** Puts `card` (position: fixed) below its target, or above when there is no room below,
 * kept inside the viewport. */
export function place(card: HTMLElement, target: Element): void {
  const t = target.getBoundingClientRect();
  const c = card.getBoundingClientRect();
  const below = t.bottom + GAP + c.height <= innerHeight - MARGIN || t.top - GAP - c.height < MARGIN;
  const top = below ? t.bottom + GAP : t.top - GAP - c.height;
  const left = Math.min(Math.max(t.left, MARGIN), Math.max(MARGIN, innerWidth - c.width - MARGIN));
  card.style.top = `${Math.round(top)}px`;
  card.style.left = `${Math.round(left)}px`;
  card.dataset.side = below ? "below" : "above";
}

/** Re-places the card on every scroll (of any scroller) and resize until the returned
 * function is called. */
export function follow(card: HTMLElement, target: Element): () => void {
  let frame = 0;
  const again = () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => place(card, target));
  };
  place(card, target);
  addEventListener("scroll", again, { capture: true, passive: true });
  addEventListener("resize", again);
  return () => {
    cancelAnimationFrame(frame);
    removeEventListener("scroll", again, { capture: true });
    removeEventListener("resize", again);
  };
}
