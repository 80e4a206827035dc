// Pooling explorer: max or average pooling with any window and stride, and what a 1-pixel
// shift of the input changes, computed in the browser exactly as cnncourse.pooling.pool2d
// and cnncourse.pooling.shift (pixels pushed over the border are lost, zeros come in).

const DIRECTIONS = { right: [0, 1], down: [1, 0], "down-right": [1, 1] };

function shiftImage(img, rows, cols, dy, dx) {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const y = r - dy, x = c - dx;
      if (y >= 0 && y < rows && x >= 0 && x < cols) out[r * cols + c] = img[y * cols + x];
    }
  }
  return out;
}

function pool(img, rows, cols, window, stride, mode) {
  const orows = Math.floor((rows - window) / stride) + 1, ocols = Math.floor((cols - window) / stride) + 1;
  const out = new Float64Array(orows * ocols);
  for (let r = 0; r < orows; r++) {
    for (let c = 0; c < ocols; c++) {
      let acc = mode === "max" ? -Infinity : 0;
      for (let i = 0; i < window; i++) {
        for (let j = 0; j < window; j++) {
          const v = img[(r * stride + i) * cols + c * stride + j];
          acc = mode === "max" ? Math.max(acc, v) : acc + v;
        }
      }
      out[r * ocols + c] = mode === "max" ? acc : acc / (window * window);
    }
  }
  return { data: out, rows: orows, cols: ocols };
}

function render({ model, el }) {
  const box = root(el);
  const images = model.get("images");
  const imagePick = select(Object.keys(images), model.get("image"), (v) => setState(model, { image: v }));
  const modePick = select(["max", "avg"], model.get("mode"), (v) => setState(model, { mode: v }));
  const windowSlider = slider(1, 6, model.get("window"), (v) => setState(model, { window: v }));
  const strideSlider = slider(1, 6, model.get("stride"), (v) => setState(model, { stride: v }));
  const shiftBox = h("input", { type: "checkbox" });
  shiftBox.addEventListener("change", () => setState(model, { shifted: shiftBox.checked }));
  const dirPick = select(Object.keys(DIRECTIONS), model.get("direction"), (v) => setState(model, { direction: v }));
  const windowOut = h("output", {}), strideOut = h("output", {});
  const { panels: [pIn, pPool, pChanged], text, live } = frame(box, [
    labelled("image", imagePick), labelled("mode", modePick),
    labelled("window", windowSlider, windowOut),
    labelled("stride", strideSlider, strideOut),
    labelled("shift input by 1 pixel", shiftBox), labelled("direction", dirPick)], ["input", "pooled", "changed"]);

  function update() {
    const im = images[model.get("image")];
    const window = Math.min(model.get("window"), im.rows, im.cols);
    const stride = model.get("stride"), mode = model.get("mode");
    const direction = model.get("direction"), shifted = model.get("shifted");
    const [dy, dx] = DIRECTIONS[direction];
    const moved = shiftImage(im.data, im.rows, im.cols, dy, dx);
    const before = pool(im.data, im.rows, im.cols, window, stride, mode);
    const after = pool(moved, im.rows, im.cols, window, stride, mode);
    const changed = new Float64Array(before.data.length);
    let nChanged = 0, nActive = 0;
    for (let i = 0; i < changed.length; i++) {
      changed[i] = before.data[i] !== after.data[i] ? 1 : 0;
      nChanged += changed[i];
      nActive += before.data[i] !== 0 || after.data[i] !== 0 ? 1 : 0;
    }
    const shown = shifted ? moved : im.data, pooled = shifted ? after : before;
    windowSlider.value = String(window); windowOut.textContent = ` ${window}`;
    strideSlider.value = String(stride); strideOut.textContent = ` ${stride}`;
    imagePick.value = model.get("image"); modePick.value = mode; dirPick.value = direction;
    shiftBox.checked = shifted;
    const s = drawMap(pIn.canvas, shown, im.rows, im.cols);
    const top = Math.floor(im.rows / 2 / stride) * stride, left = Math.floor(im.cols / 2 / stride) * stride;
    outline(pIn.canvas, s, top, left, window, window, "orange");
    outline(pIn.canvas, s, top, left + stride, window, window, "cyan");
    const share = Math.round((100 * nChanged) / changed.length);
    caption(pIn, `${shifted ? `input shifted ${direction}` : "input"} ${im.rows}x${im.cols}`,
      `Input image ${model.get("image")}, ${im.rows}x${im.cols} pixels${shifted ? `, shifted 1 pixel ${direction}` : ""}. `
      + `Two neighbouring ${window}x${window} pooling windows are outlined near the middle, orange at row ${top}, `
      + `column ${left}, and cyan ${stride} pixel(s) to its right.`);
    drawMap(pPool.canvas, pooled.data, pooled.rows, pooled.cols, { scale: s * stride });
    caption(pPool, `${mode} pool, window ${window}, stride ${stride}: ${pooled.rows}x${pooled.cols}`,
      `Pooled map, ${pooled.rows}x${pooled.cols}: each pixel is the ${mode === "max" ? "largest" : "average"} value `
      + `of one ${window}x${window} window of the ${shifted ? "shifted " : ""}input, windows ${stride} pixel(s) apart.`);
    drawMap(pChanged.canvas, changed, before.rows, before.cols, { cmap: "reds", vmin: 0, vmax: 1, scale: s * stride });
    caption(pChanged, `changed by the shift: ${nChanged} of ${changed.length}`,
      `Map of the pooled outputs that the 1-pixel shift ${direction} changes, in dark red: ${nChanged} of `
      + `${changed.length} (${share}%); the other outputs, white, stay the same.`);
    text.innerHTML = "";
    text.append(`${mode} pooling, window ${window}, stride ${stride}: a ${pooled.rows}x${pooled.cols} map. `,
      `Shifting the input 1 pixel ${direction} changes `, h("b", {}, String(nChanged)),
      ` of its ${changed.length} outputs (${share}%), or ${nChanged} of the ${nActive} outputs that are `,
      "non-zero before or after the shift (an output that is 0 both times cannot change).");
    announce(live, `Output ${pooled.rows}x${pooled.cols} (${mode} pooling, window ${window}, stride ${stride}); `
      + `a shift ${direction} changes ${nChanged} of ${changed.length} outputs.${shifted ? " Showing the shifted input." : ""}`);
    publish(el, { image: model.get("image"), window, stride, mode, direction, shifted,
                  shape: [pooled.rows, pooled.cols], pooled: Array.from(pooled.data),
                  nChanged, nActive, nOutputs: changed.length });
  }
  for (const t of ["image", "window", "stride", "mode", "shifted", "direction"]) model.on(`change:${t}`, update);
  update();
}

export default { render };
