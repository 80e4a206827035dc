// ERF explorer. "uniform": the effective receptive field of the central unit of `depth`
// size-preserving k x k convolutions with dilation d and all weights equal, computed in the
// browser as cnncourse.receptive_field.usage_map does (backpropagating through all-ones
// window sums): how many paths join each input pixel to the unit, normalised to sum 1.
// "trained": maps of a trained network's first convolutions, computed in Python at build
// time and carried in the widget state.

function inputSide(field, maxSide) {
  const side = Math.min(Math.max(field + 8, 21), maxSide);
  return side % 2 ? side : side + 1;
}

function usageMap(depth, k, d, side) {
  let u = new Float64Array(side * side);
  const centre = Math.floor((side - 1) / 2), m = (k - 1) / 2;
  u[centre * side + centre] = 1;
  for (let layer = 0; layer < depth; layer++) {
    const v = new Float64Array(side * side);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        let s = 0;
        for (let a = 0; a < k; a++) {
          const y = r + d * (a - m);
          if (y < 0 || y >= side) continue;
          for (let b = 0; b < k; b++) {
            const x = c + d * (b - m);
            if (x >= 0 && x < side) s += u[y * side + x];
          }
        }
        v[r * side + c] = s;
      }
    }
    u = v;
  }
  return u;
}

function moments(p, rows, cols) { // Gaussian fit by moments, as cnncourse.receptive_field.fit_gaussian
  let mass = 0, r0 = 0, c0 = 0;
  for (let i = 0; i < rows * cols; i++) mass += p[i];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    r0 += (p[r * cols + c] / mass) * r; c0 += (p[r * cols + c] / mass) * c;
  }
  let vr = 0, vc = 0;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const w = p[r * cols + c] / mass;
    vr += w * (r - r0) ** 2; vc += w * (c - c0) ** 2;
  }
  return Math.sqrt((vr + vc) / 2);
}

function extent(mask, rows, cols) {
  let r0 = rows, r1 = -1, c0 = cols, c1 = -1;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    if (mask[r * cols + c]) { r0 = Math.min(r0, r); r1 = Math.max(r1, r); c0 = Math.min(c0, c); c1 = Math.max(c1, c); }
  }
  return [[r0, r1], [c0, c1]];
}

function profile(canvas, series, colours) {
  const W = 240, H = 160;
  canvas.width = W; canvas.height = H;
  canvas.style.width = "100%"; canvas.style.maxWidth = `${W}px`;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, W, H);
  let hi = 0;
  for (const s of series) for (const v of s) hi = Math.max(hi, v);
  series.forEach((s, n) => {
    ctx.strokeStyle = colours[n]; ctx.lineWidth = 2; ctx.beginPath();
    s.forEach((v, i) => {
      const x = 6 + (i * (W - 12)) / Math.max(1, s.length - 1), y = H - 6 - (v / (hi || 1)) * (H - 12);
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.stroke();
  });
}

function render({ model, el }) {
  const box = root(el);
  const trained = model.get("trained");
  const maxSide = model.get("max_side");
  const depthSlider = slider(1, model.get("max_depth"), model.get("depth"), (v) => setState(model, { depth: v }));
  const depthOut = h("output", {});
  const kPick = select(model.get("kernel_sizes"), model.get("kernel_size"), (v) => setState(model, { kernel_size: parseInt(v, 10) }));
  const dPick = select(model.get("dilations"), model.get("dilation"), (v) => setState(model, { dilation: parseInt(v, 10) }));
  const wPick = select(trained.length ? ["uniform", "trained"] : ["uniform"], model.get("weights"),
    (v) => setState(model, { weights: v, depth: v === "trained" ? Math.min(model.get("depth"), trained.length) : model.get("depth") }));
  const { panels: [pBefore, pMap, pProfile], text, live } = frame(box, [
    labelled("depth", depthSlider, depthOut), labelled("weights", wPick),
    labelled("kernel", kPick), labelled("dilation", dPick)], ["before training", "ERF", "central row"]);

  function update() {
    const mode = model.get("weights");
    const isTrained = mode === "trained" && trained.length > 0;
    const depth = Math.min(model.get("depth"), isTrained ? trained.length : model.get("max_depth"));
    depthSlider.max = String(isTrained ? trained.length : model.get("max_depth"));
    depthSlider.value = String(depth); depthOut.textContent = ` ${depth}`;
    kPick.disabled = dPick.disabled = isTrained;
    wPick.value = mode;
    let erf, before = null, side, field, k = model.get("kernel_size"), d = model.get("dilation");
    if (isTrained) {
      const t = trained[depth - 1];
      side = t.side; field = t.field;
      erf = Float64Array.from(t.erf);
      before = t.before ? Float64Array.from(t.before) : null;
    } else {
      field = 1 + depth * d * (k - 1);
      side = inputSide(field, maxSide);
      const usage = usageMap(depth, k, d, side);
      const total = usage.reduce((a, b) => a + b, 0);
      erf = usage.map((v) => v / total);
    }
    const support = erf.map((v) => (v > 0 ? 1 : 0));
    const [[r0, r1], [c0, c1]] = extent(support, side, side);
    const radius = moments(erf, side, side);
    const centre = Math.floor((side - 1) / 2);
    pBefore.el.style.display = before ? "" : "none";
    if (before) {
      const sb = drawMap(pBefore.canvas, before, side, side, { cmap: "reds" });
      outline(pBefore.canvas, sb, r0, c0, r1 - r0 + 1, c1 - c0 + 1, "#1f77b4", true);
      const rb = fmt(moments(before, side, side), 1);
      caption(pBefore, `before training: radius ${rb} px`,
        `Effective receptive field before training, on a ${side}x${side} input: darker red where the unit `
        + `depends more on the input pixel; Gaussian radius ${rb} pixels.`);
    }
    const s = drawMap(pMap.canvas, erf, side, side, { cmap: "reds" });
    outline(pMap.canvas, s, r0, c0, r1 - r0 + 1, c1 - c0 + 1, "#1f77b4", true);
    const cover = `rows ${r0} to ${r1} and columns ${c0} to ${c1} of the ${side}x${side} input`;
    caption(pMap, `${isTrained ? "trained" : "uniform weights"}: radius ${fmt(radius, 1)} px`,
      `Effective receptive field of the central unit (${isTrained ? "trained weights" : "uniform weights"}): `
      + `darker red where the unit depends more on the input pixel, concentrated in the middle with a Gaussian `
      + `radius of ${fmt(radius, 1)} pixels. The dashed box is the theoretical field, ${field}x${field} pixels`
      + `${field > side ? " (clipped by the input)" : ""}, covering ${cover}.`);
    const row = (m) => Array.from(m.slice(centre * side, (centre + 1) * side));
    profile(pProfile.canvas, before ? [row(before), row(erf)] : [row(erf)], before ? ["#999", "#d62728"] : ["#d62728"]);
    const peak = row(erf).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);
    caption(pProfile, "central row",
      `Line plot of the ERF along the central row${before ? " (red) and before training (grey)" : ""}: `
      + `a peak at column ${peak}, falling to zero outside columns ${c0} to ${c1}.`);
    const what = isTrained
      ? `the first ${depth} convolution(s) of the trained model, on test digits`
      : `${depth} ${k}x${k} convolution(s) with equal weights, dilation ${d}, on a ${side}x${side} input`;
    const clipped = field > side ? " (clipped by the input)" : "";
    text.innerHTML = "";
    text.append(`ERF of the central unit of ${what}. Theoretical field: `, h("b", {}, `${field}x${field}`),
      ` pixels${clipped} (dashed); ERF radius (Gaussian fit): `, h("b", {}, fmt(radius, 2)), " pixels.");
    announce(live, `Field ${field}x${field} pixels${clipped}; ERF radius ${fmt(radius, 2)} pixels; `
      + (isTrained ? `first ${depth} trained convolution(s).` : `depth ${depth}, kernel ${k}x${k}, dilation ${d}.`));
    publish(el, { weights: isTrained ? "trained" : "uniform", depth, kernelSize: k, dilation: d, side, field,
                  radius, erf: Array.from(erf), supportBox: [[r0, r1], [c0, c1]] });
  }
  for (const t of ["depth", "kernel_size", "dilation", "weights"]) model.on(`change:${t}`, update);
  update();
}

export default { render };
