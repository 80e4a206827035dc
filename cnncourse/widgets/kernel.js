// Kernel explorer: cross-correlation of a 3x3 kernel with an image, computed in the browser
// exactly as cnncourse.filters.correlate2d (edge "zero", "crop" or "extend", stride 1).

function padImage(img, rows, cols, edge) {
  const off = edge === "crop" ? 0 : 1;
  const pr = rows + 2 * off, pc = cols + 2 * off;
  const out = new Float64Array(pr * pc);
  for (let r = 0; r < pr; r++) {
    for (let c = 0; c < pc; c++) {
      let y = r - off, x = c - off;
      if (edge === "extend") {
        y = Math.min(rows - 1, Math.max(0, y));
        x = Math.min(cols - 1, Math.max(0, x));
      } else if (y < 0 || y >= rows || x < 0 || x >= cols) continue;
      out[r * pc + c] = img[y * cols + x];
    }
  }
  return { data: out, rows: pr, cols: pc, off };
}

function correlate3x3(padded, kernel) {
  const rows = padded.rows - 2, cols = padded.cols - 2;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) s += padded.data[(r + i) * padded.cols + c + j] * kernel[i * 3 + j];
      }
      out[r * cols + c] = s;
    }
  }
  return { data: out, rows, cols };
}

function kernelName(kernels, weights) {
  for (const [name, k] of Object.entries(kernels)) {
    if (k.every((v, i) => Math.abs(v - weights[i]) <= 1e-6)) return name;
  }
  return "custom";
}

// What a kernel does, in words: the text alternative of its picture.
const KERNEL_WORDS = {
  identity: "copies each pixel unchanged",
  "box blur": "averages each pixel with its 8 neighbours, equally weighted: a blur",
  "gaussian blur": "averages each pixel with its neighbours, the centre weighted most: a soft blur",
  sharpen: "adds the difference from the 4 neighbours to each pixel: edges stand out",
  laplacian: "subtracts the 4 neighbours from 4 times the pixel: zero on flat areas, large at edges and spots",
  "sobel x": "right column minus left column: responds to vertical edges (changes from left to right)",
  "sobel y": "bottom row minus top row: responds to horizontal edges (changes from top to bottom)",
  diagonal: "bottom-right minus top-left: responds to diagonal edges",
};

function kernelWords(name, kernel) {
  if (KERNEL_WORDS[name]) return KERNEL_WORDS[name];
  const sum = kernel.reduce((a, b) => a + b, 0);
  const neg = kernel.some((v) => v < 0), pos = kernel.some((v) => v > 0);
  if (!neg && !pos) return "all weights zero: the output is 0 everywhere";
  if (Math.abs(sum) < 1e-9) return "weights sum to 0: zero on flat areas, responds to changes (edges)";
  if (!neg) return `a weighted sum of the neighbourhood with positive weights: a blur${Math.abs(sum - 1) < 1e-9 ? "" : `, brightness times ${fmt(sum)}`}`;
  return `mixed positive and negative weights summing to ${fmt(sum)}: keeps some brightness and stresses changes`;
}

function rows3(values, digits) {
  return [0, 1, 2].map((r) => values.slice(3 * r, 3 * r + 3).map((v) => fmt(v, digits)).join(", ")).join("; ");
}

function render({ model, el }) {
  const box = root(el);
  const images = model.get("images");
  const kernels = model.get("kernels");
  const cells = [];
  const gridLabel = uid("cnx-grid");
  const grid = h("div", { class: "cnx-grid", role: "group", "aria-labelledby": gridLabel });
  for (let i = 0; i < 9; i++) {
    const inp = h("input", { type: "number", step: "0.5",
                             "aria-label": `weight row ${Math.floor(i / 3)}, column ${i % 3}` });
    inp.addEventListener("change", () => {
      const v = parseFloat(inp.value);
      if (!Number.isFinite(v)) return;
      const k = model.get("kernel").slice();
      k[i] = v;
      setState(model, { kernel: k });
    });
    cells.push(inp);
    grid.append(inp);
  }
  const imagePick = select(Object.keys(images), model.get("image"), (v) => {
    const im = images[v];
    const crop = model.get("edge") === "crop" ? 2 : 0;
    setState(model, { image: v, row: Math.floor((im.rows - crop - 1) / 2), col: Math.floor((im.cols - crop - 1) / 2) });
  });
  const kernelPick = select([...Object.keys(kernels), "custom"], "custom", (v) => {
    if (v !== "custom") setState(model, { kernel: kernels[v].slice() });
  });
  const edgePick = select(["zero", "crop", "extend"], model.get("edge"), (v) => {
    // keep the same input pixel highlighted: cropping drops one border row and column
    const d = (model.get("edge") === "crop" ? 1 : 0) - (v === "crop" ? 1 : 0);
    setState(model, { edge: v, row: model.get("row") + d, col: model.get("col") + d });
  });
  const rowSlider = slider(0, 1, 0, (v) => setState(model, { row: v }));
  const colSlider = slider(0, 1, 0, (v) => setState(model, { col: v }));
  const rowOut = h("output", {}), colOut = h("output", {});
  const { panels: [pIn, pWin, pK, pOut], text, live } = frame(box, [
    h("div", {}, labelled("image", imagePick), h("br"), labelled("kernel", kernelPick), h("br"),
      labelled("edge", edgePick)),
    h("div", {}, h("div", { id: gridLabel }, "kernel weights (edit me)"), grid),
    h("div", {}, labelled("row", rowSlider, rowOut), h("br"), labelled("col", colSlider, colOut))],
  ["input", "window", "kernel", "output"]);

  function update() {
    const im = images[model.get("image")];
    const kernel = model.get("kernel").map(Number);
    const edge = model.get("edge");
    const padded = padImage(im.data, im.rows, im.cols, edge);
    const out = correlate3x3(padded, kernel);
    const row = Math.min(Math.max(model.get("row"), 0), out.rows - 1);
    const col = Math.min(Math.max(model.get("col"), 0), out.cols - 1);
    rowSlider.max = String(out.rows - 1); rowSlider.value = String(row);
    colSlider.max = String(out.cols - 1); colSlider.value = String(col);
    rowOut.textContent = ` ${row}`; colOut.textContent = ` ${col}`;
    imagePick.value = model.get("image");
    edgePick.value = edge;
    const name = kernelName(kernels, kernel);
    kernelPick.value = name;
    cells.forEach((c, i) => { if (document.activeElement !== c) c.value = String(kernel[i]); });
    const patch = new Float64Array(9), products = new Float64Array(9);
    let value = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        patch[i * 3 + j] = padded.data[(row + i) * padded.cols + col + j];
        products[i * 3 + j] = patch[i * 3 + j] * kernel[i * 3 + j];
        value += products[i * 3 + j];
      }
    }
    let lo = Infinity, hi = -Infinity;
    for (const v of padded.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const s = drawMap(pIn.canvas, padded.data, padded.rows, padded.cols, { vmin: lo, vmax: hi });
    if (padded.off) outline(pIn.canvas, s, padded.off, padded.off, im.rows, im.cols, "gold");
    outline(pIn.canvas, s, row, col, 3, 3, "red");
    const pad = { zero: "padded with a border of zeros", crop: "not padded", extend: "padded by repeating its edge pixels" }[edge];
    caption(pIn, `input, ${edge}: ${padded.rows}x${padded.cols}`,
      `Input image ${model.get("image")}, ${im.rows}x${im.cols} pixels, ${pad}: ${padded.rows}x${padded.cols}. `
      + `A red 3x3 window covers rows ${row} to ${row + 2} and columns ${col} to ${col + 2}.`);
    drawMap(pWin.canvas, patch, 3, 3, { vmin: lo, vmax: hi, scale: 30 });
    caption(pWin, "window", `The 3x3 window of the input under the kernel, row by row: ${rows3(patch, 2)}.`);
    drawMap(pK.canvas, Float64Array.from(kernel), 3, 3, { cmap: "signed", scale: 30 });
    const ksum = fmt(kernel.reduce((a, b) => a + b, 0));
    caption(pK, `kernel, sum ${ksum}`, `Kernel ${name}, weights row by row: ${rows3(kernel)}; sum ${ksum}. `
      + `It ${kernelWords(name, kernel)}. Red is positive, blue negative, white zero.`);
    const so = drawMap(pOut.canvas, out.data, out.rows, out.cols, { cmap: "signed" });
    outline(pOut.canvas, so, row, col, 1, 1, "red");
    caption(pOut, `output ${out.rows}x${out.cols}, [${row}, ${col}]`,
      `Output map, ${out.rows}x${out.cols}: the ${name} kernel applied at every position. `
      + `Red is positive, blue negative. The pixel outlined in red, [${row}, ${col}], is ${fmt(value)}.`);
    announce(live, `Output ${out.rows}x${out.cols}; output[${row}, ${col}] = ${fmt(value)}; kernel ${name}, edge ${edge}, image ${model.get("image")}.`);
    const terms = kernel.map((w, i) => `(${fmt(w)})(${fmt(patch[i], 2)})`).join(" + ");
    text.innerHTML = "";
    text.append(h("code", {}, `output[${row}, ${col}] = ${terms} = `, h("b", {}, fmt(value))),
      h("br"), "kernel x window, summed: the red window in the input gives the red pixel of the output.");
    publish(el, { image: model.get("image"), edge, kernel: Array.from(kernel), shape: [out.rows, out.cols],
                  output: Array.from(out.data), position: [row, col], value });
  }
  for (const t of ["image", "kernel", "edge", "row", "col"]) model.on(`change:${t}`, update);
  update();
}

export default { render };
