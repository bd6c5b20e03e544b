// The cards, drawn inside a shadow root so the host page's CSS neither reaches nor is touched
// by them. Themable through CSS custom properties, which do cross the shadow boundary.

const STYLE = `
:host{all:initial}
.card{position:fixed;z-index:var(--parcours-z-index,2147483000);box-sizing:border-box;
width:min(320px,calc(100vw - 16px));padding:16px;border-radius:var(--parcours-radius,8px);
background:var(--parcours-background,#fff);color:var(--parcours-text,#1f2937);
font:14px/1.45 var(--parcours-font,system-ui,-apple-system,"Segoe UI",sans-serif);
box-shadow:0 8px 28px rgba(0,0,0,.22);border:1px solid var(--parcours-border,#d1d5db)}
.card.banner{top:12px;left:50%;transform:translateX(-50%);width:min(560px,calc(100vw - 16px))}
.card:focus{outline:none}
h2{margin:0 28px 6px 0;font-size:15px;font-weight:600}
p{margin:0 0 12px}
.row{display:flex;align-items:center;gap:8px}
.progress{margin-right:auto;color:var(--parcours-muted,#4b5563);font-size:13px}
button{font:inherit;cursor:pointer;border-radius:6px;padding:6px 12px;
border:1px solid var(--parcours-accent,#1d4ed8);background:transparent;color:var(--parcours-accent,#1d4ed8)}
button.primary{background:var(--parcours-accent,#1d4ed8);color:var(--parcours-accent-text,#fff)}
button.close{position:absolute;top:8px;right:8px;border:0;padding:2px 8px;font-size:18px;line-height:1;
color:var(--parcours-muted,#4b5563)}
button:focus-visible{outline:3px solid var(--parcours-focus,#f59e0b);outline-offset:2px}
`;

let root: ShadowRoot | undefined;

function shadow(): ShadowRoot {
  if (root?.host.isConnected) return root;
  const host = document.createElement("div");
  host.id = "parcours-root";
  document.body.appendChild(host);
  root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = STYLE;
  root.appendChild(style);
  return root;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string>, text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.textContent = text;
  return node;
}

export interface Action {
  label: string;
  primary?: boolean;
  run: () => void;
}

export interface CardSpec {
  id: string;
  title: string;
  body: string;
  progress?: string;
  closeLabel: string;
  onClose: () => void;
  actions: Action[];
  banner: boolean;
}

/** A dialog card with a title, a body, an optional "2 of 3" and buttons; texts are set as
 * text, never as HTML. */
export function card(spec: CardSpec): HTMLElement {
  const titleId = `${spec.id}-title`;
  const bodyId = `${spec.id}-body`;
  const box = el("div", {
    class: spec.banner ? "card banner" : "card",
    role: "dialog",
    "aria-labelledby": titleId,
    "aria-describedby": bodyId,
    tabindex: "-1",
    "data-parcours": spec.id,
  });
  const close = el("button", { class: "close", type: "button", "aria-label": spec.closeLabel }, "×");
  close.addEventListener("click", spec.onClose);
  const row = el("div", { class: "row" });
  if (spec.progress) row.appendChild(el("span", { class: "progress" }, spec.progress));
  for (const action of spec.actions) {
    const button = el("button", { type: "button", class: action.primary ? "primary" : "" }, action.label);
    button.addEventListener("click", action.run);
    row.appendChild(button);
  }
  box.append(close, el("h2", { id: titleId }, spec.title), el("p", { id: bodyId }, spec.body), row);
  shadow().appendChild(box);
  return box;
}
