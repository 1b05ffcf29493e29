// Small DOM and formatting helpers shared by the page's parts.

/** The element with `id`; throws when the page lacks it (a broken build, not a user error). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
}

/** Creates an element with properties/attributes and children. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Shows a problem ({title, detail}, see errors.js) in `element`: the title in bold, then the detail. */
export function showProblem(element, problem) {
  element.replaceChildren(h("strong", {}, problem.title), ` ${problem.detail}`);
}

/** 75.4 → "1:15"; 3725 → "1:02:05". */
export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

/** 1536 → "1.5 KB", 5_000_000 → "4.8 MB". */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** Saves `data` as a file named `filename` (an <a download> click). */
export function downloadFile(filename, data, type = "application/octet-stream") {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Copies text to the clipboard; falls back to a selected textarea where the Clipboard API is missing (plain http). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // permission refused: try the old way
    }
  }
  const area = h("textarea", { readonly: true, className: "visually-hidden" });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

let toastTimer = 0;

/** A short message at the bottom of the screen (also read by screen readers). */
export function toast(message) {
  const element = byId("toast");
  element.textContent = message;
  element.classList.add("visible");
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => element.classList.remove("visible"), 2500);
}

/** Shows a 0..1 level on a meter element (its .meter-fill child). */
export function setMeter(meter, level) {
  const fill = meter.querySelector(".meter-fill");
  if (fill) fill.style.transform = `scaleX(${Math.max(0, Math.min(1, level)).toFixed(3)})`;
}

/** An RMS amplitude → 0..1 on a -60..0 dBFS scale. */
export function levelFromRms(rms) {
  if (rms <= 0) return 0;
  return Math.max(0, Math.min(1, (20 * Math.log10(rms) + 60) / 60));
}

/** A timestamped file name: "recording-2025-01-31-1405". */
export function timestampName(prefix, date = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${prefix}-${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}`;
}
