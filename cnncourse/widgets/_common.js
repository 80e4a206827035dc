// Shared helpers of the cnncourse explorers (prepended to each explorer's ES module).
// Maps are row-major Float64Arrays with their shape; every number the explorers show is
// computed here in the browser, so the explorers also work on a static page with no kernel.

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function setState(model, changes) {
  for (const [k, v] of Object.entries(changes)) model.set(k, v);
  try {
    model.save_changes();  // syncs to Python when a kernel is there; a static page has none
  } catch (err) { /* no kernel: the front end alone keeps the state */ }
}

// An id unique on the page (several explorers, each with its own copy of this module).
function uid(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

// A control with its visible label; the label's text is exactly its accessible name
// (aria-labelledby), so speech input can say what the reader sees (WCAG 2.5.3).
// `after` (a value shown next to a slider) is hidden from assistive technology: the control
// itself reports its value.
function labelled(text, control, ...after) {
  const id = uid("cnx-label");
  control.setAttribute("aria-labelledby", id);
  for (const a of after) a.setAttribute("aria-hidden", "true");
  return h("label", { class: "cnx-control" }, h("span", { id }, text), control, ...after);
}

// A polite live region, visually hidden: what a change did, in one sentence, for screen
// readers (the output size, the field size); set only when the text changes.
function liveRegion() {
  return h("div", { class: "cnx-sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
}

function announce(region, text) {
  if (region.textContent !== text) region.textContent = text;
}

function select(options, value, onchange) {
  const s = h("select", { onchange: () => onchange(s.value) });
  for (const o of options) {
    const opt = h("option", { value: String(o) }, String(o));
    if (String(o) === String(value)) opt.selected = true;
    s.append(opt);
  }
  return s;
}

function slider(min, max, value, oninput) {
  const r = h("input", { type: "range", min: String(min), max: String(max), step: "1" });
  r.value = String(value);
  r.addEventListener("input", () => oninput(parseInt(r.value, 10)));
  return r;
}

function fmt(x, digits = 4) {
  const v = Math.round(x * 10 ** digits) / 10 ** digits;
  return Object.is(v, -0) ? "0" : String(v);
}

// colour maps: [0, 1] -> [r, g, b]
const GREY = (t) => [255 * t, 255 * t, 255 * t];
const REDS = (t) => [255 - 52 * t, 245 - 230 * t, 240 - 215 * t];
function SIGNED(t) { // t in [-1, 1]: blue, white, red
  return t < 0 ? [255 * (1 + t) + 33 * -t, 255 * (1 + t) + 102 * -t, 255 * (1 + t) + 172 * -t]
               : [255 * (1 - t) + 178 * t, 255 * (1 - t) + 24 * t, 255 * (1 - t) + 43 * t];
}

// Draw a map (rows x cols, row-major) on a canvas, `scale` canvas pixels per cell.
function drawMap(canvas, data, rows, cols, { cmap = "grey", vmin, vmax, scale } = {}) {
  const s = scale || Math.max(1, Math.floor(240 / Math.max(rows, cols)));
  canvas.width = cols * s;
  canvas.height = rows * s;
  canvas.style.width = "100%";
  canvas.style.maxWidth = `${cols * s}px`;
  canvas.style.imageRendering = "pixelated";
  const ctx = canvas.getContext("2d");
  let lo = vmin, hi = vmax;
  if (lo === undefined || hi === undefined) {
    lo = Infinity; hi = -Infinity;
    for (const v of data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  const lim = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const img = ctx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    let rgb;
    if (cmap === "signed") rgb = SIGNED(data[i] / lim);
    else {
      const t = hi > lo ? (data[i] - lo) / (hi - lo) : 0;
      rgb = (cmap === "reds" ? REDS : GREY)(Math.min(1, Math.max(0, t)));
    }
    img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  const tmp = document.createElement("canvas");
  tmp.width = cols; tmp.height = rows;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, cols * s, rows * s);
  return s;
}

function outline(canvas, scale, row, col, height, width, colour, dashed = false) {
  const ctx = canvas.getContext("2d");
  ctx.strokeStyle = colour;
  ctx.lineWidth = Math.max(2, scale / 4);
  ctx.setLineDash(dashed ? [4, 3] : []);
  ctx.strokeRect(col * scale + 1, row * scale + 1, width * scale - 2, height * scale - 2);
}

function panel(title) {
  const canvas = h("canvas", { role: "img", "aria-label": title });
  const caption = h("figcaption", { class: "cnx-title" }, title);
  return { el: h("figure", { class: "cnx-panel" }, caption, canvas), canvas, caption };
}

// The frame of every explorer, in this order: a row of controls, a row of titled panels (a
// canvas each), a line of text and the live region; returns the panels, the text and the region.
function frame(box, controls, titles) {
  const panels = titles.map((title) => panel(title));
  const text = h("div", { class: "cnx-text" });
  const live = liveRegion();
  box.append(h("div", { class: "cnx-controls" }, ...controls),
             h("div", { class: "cnx-panels" }, ...panels.map((p) => p.el)), text, live);
  return { panels, text, live };
}

// Set a panel's visible title and its picture's text alternative: what the drawing shows in
// words (the title when no `alt` is given); both follow the explorer's state.
function caption(p, text, alt) {
  p.caption.textContent = text;
  p.canvas.setAttribute("aria-label", alt || text);
}

// Publish the front end's own numbers on the element, so that they can be read back and
// compared with the Python package (the browser test does).
function publish(el, values) {
  for (const [k, v] of Object.entries(values)) {
    el.dataset[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
}

const CSS = `
.cnx { font-size: 14px; max-width: 100%; }
.cnx-controls { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; margin-bottom: 6px; }
.cnx-control { display: inline-flex; gap: 6px; align-items: center; }
.cnx-panels { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
.cnx-panel { margin: 0; flex: 1 1 140px; max-width: 260px; min-width: 110px; }
.cnx-title { font-size: 13px; line-height: 1.3; margin-bottom: 2px; color: inherit; }
.cnx-text { margin-top: 6px; overflow-wrap: anywhere; }
.cnx-grid { display: grid; grid-template-columns: repeat(3, 4.2em); gap: 2px; }
.cnx-grid input { width: 4.2em; box-sizing: border-box; }
.cnx select, .cnx input { font-size: 14px; color: inherit; background: transparent; }
.cnx select option { color: #000; }
/* WCAG 2.5.8: every control at least 24 x 24 CSS pixels */
.cnx select, .cnx input[type=number] { min-height: 28px; }
.cnx input[type=range] { min-height: 24px; }
.cnx input[type=checkbox] { width: 24px; height: 24px; margin: 0; }
/* WCAG 2.4.7: focus visible in both themes, in the explorer's own text colour (the theme puts
   widgets on a light background in the dark theme too) */
.cnx select:focus-visible, .cnx input:focus-visible { outline: 3px solid currentColor; outline-offset: 2px; }
.cnx-sr { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; border: 0; }
`;

function root(el) {
  el.replaceChildren();
  const box = h("div", { class: "cnx" }, h("style", {}, CSS));
  el.append(box);
  return box;
}
