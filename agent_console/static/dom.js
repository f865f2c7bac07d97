// Building DOM nodes without HTML strings. Every piece of server data (transcripts, names, reasons) reaches the
// page through `textContent` here: never `innerHTML`, so a transcript saying "<script>" stays text
// (docs/console-api.md, "Text is data"). The CSP forbids inline styles, so looks go through classes only.

/**
 * el("div", { class: "row", text: name, data: { id: 3 }, attrs: { title: "x" } }, child, ...)
 * `text` is set with textContent; children are nodes or strings (strings become text nodes).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { class: cls, text, data, attrs, on, ...rest } = props;
  if (cls) node.className = Array.isArray(cls) ? cls.filter(Boolean).join(" ") : cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(data ?? {})) node.dataset[k] = String(v);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k.startsWith("on")) throw new Error(`expected no inline handler, got ${k}`);
    node.setAttribute(k, String(v));
  }
  for (const [k, v] of Object.entries(on ?? {})) node.addEventListener(k, v);
  Object.assign(node, rest); // DOM properties: type, value, disabled, href, ...
  append(node, ...children);
  return node;
}

export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return parent;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** "83 s" → "1:23"; hours when needed. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function formatTime(iso) {
  if (!iso) return "";
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? "" : t.toLocaleString();
}
