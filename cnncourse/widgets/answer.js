// Answer boxes of cnncourse (cnncourse.widgets.answer): instant feedback on a static page.
// Each box holds, per answer the checker knows, SHA-256(salt, 1, answer) and its feedback
// XOR-ed with a SHA-256 key stream of (salt, 0, answer): neither the right answer nor any
// feedback is readable in the page. Plain-JS SHA-256, because crypto.subtle exists only in
// secure contexts and the book is also read from file:// and http://localhost.
(function () {
  if (window.cncAnswerBoxes) { window.cncAnswerBoxes.init(); return; }
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function sha256(bytes) {
    const n = bytes.length, total = ((n + 9 + 63) >> 6) << 6;
    const m = new Uint8Array(total);
    m.set(bytes); m[n] = 0x80;
    const dv = new DataView(m.buffer);
    dv.setUint32(total - 4, (n * 8) >>> 0); dv.setUint32(total - 8, Math.floor(n / 0x20000000));
    const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const W = new Uint32Array(64);
    const rotr = (x, k) => (x >>> k) | (x << (32 - k));
    for (let off = 0; off < total; off += 64) {
      for (let i = 0; i < 16; i++) W[i] = dv.getUint32(off + 4 * i);
      for (let i = 16; i < 64; i++) {
        const s0 = rotr(W[i - 15], 7) ^ rotr(W[i - 15], 18) ^ (W[i - 15] >>> 3);
        const s1 = rotr(W[i - 2], 17) ^ rotr(W[i - 2], 19) ^ (W[i - 2] >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) >>> 0;
      }
      let [a, b, c, d, e, f, g, h] = H;
      for (let i = 0; i < 64; i++) {
        const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) >>> 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setUint32(4 * i, H[i]);
    return out;
  }
  const utf8 = (s) => new TextEncoder().encode(s);
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  function keyStream(salt, answer, length) {
    const out = new Uint8Array(length);
    for (let i = 0; 32 * i < length; i++) {
      out.set(sha256(utf8(`${salt}\u0000${answer}\u0000${i}`)).slice(0, Math.min(32, length - 32 * i)), 32 * i);
    }
    return out;
  }
  // canonical text of an answer: the same rule as cnncourse.widgets.answer.canonical
  function number(text, decimals) {
    const t = text.trim().replace(/\u2212/g, "-");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return null;
    const x = Number(t);
    if (!Number.isFinite(x)) return null;
    let s = x.toFixed(decimals);
    if (decimals > 0) s = s.replace(/0+$/, "").replace(/\.$/, "");
    return s === "-0" ? "0" : s;
  }
  function canonical(box) {
    const kind = box.dataset.kind, decimals = parseInt(box.dataset.decimals || "0", 10);
    if (kind === "choice") {
      const c = box.querySelector("input:checked");
      return c ? c.value : null;
    }
    if (kind === "set") {
      return Array.from(box.querySelectorAll("input:checked"), (c) => c.value).sort().join(",");
    }
    const text = box.querySelector("input").value;
    if (kind === "number") return number(text, decimals);
    const parts = text.replace(/[()[\]]/g, "").split(/[,;\s]+/).filter((p) => p.length);
    const nums = parts.map((p) => number(p, decimals));
    return nums.length && nums.every((p) => p !== null) ? nums.join(",") : null;
  }
  function check(box) {
    const out = box.querySelector(".cnc-answer-feedback");
    const answer = canonical(box);
    const entries = JSON.parse(box.dataset.entries);
    const salt = box.dataset.salt;
    let verdict = "unknown", message;
    if (answer === null) {
      verdict = "invalid";
      message = box.dataset.kind === "choice" ? "Choose one answer first." : box.dataset.invalid;
    } else {
      const cipher = entries[hex(sha256(utf8(`${salt}\u0001${answer}`)))];
      if (cipher === undefined) {
        message = "Not yet: that is not the answer, and not a mistake this box knows. Work through it again.";
      } else {
        const bytes = Uint8Array.from(atob(cipher), (ch) => ch.charCodeAt(0));
        const key = keyStream(salt, answer, bytes.length);
        const plain = new TextDecoder().decode(bytes.map((x, i) => x ^ key[i]));
        verdict = plain[0] === "1" ? "correct" : "hint";
        message = (verdict === "correct" ? "Correct: " : "Not yet: ") + plain.slice(1);
      }
    }
    out.textContent = message;
    box.dataset.verdict = verdict;
  }
  function init() {
    for (const box of document.querySelectorAll(".cnc-answer:not([data-ready])")) {
      box.dataset.ready = "1";
      // The visible question names the options as a group (radio buttons, checkboxes), as it
      // names the text field (its aria-label is the same text).
      const label = box.querySelector(".cnc-answer-label");
      if (label && box.querySelector("input[type=radio], input[type=checkbox]")) {
        label.id = label.id || `cnc-answer-label-${Math.random().toString(36).slice(2, 10)}`;
        const fields = box.querySelector(".cnc-answer-fields");
        fields.setAttribute("role", box.dataset.kind === "choice" ? "radiogroup" : "group");
        fields.setAttribute("aria-labelledby", label.id);
      }
      const button = box.querySelector("button");
      button.addEventListener("click", () => check(box));
      const input = box.querySelector("input[type=text]");
      if (input) input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); check(box); } });
    }
  }
  window.cncAnswerBoxes = { init, sha256: (s) => hex(sha256(utf8(s))), canonical };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
