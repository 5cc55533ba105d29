"use strict";
const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
const $ = (id) => document.getElementById(id);
const FLOOR = 1e-16;
const METHODS = new Map(DATA.methods.map((m) => [m.name, m]));
const FUNCTIONS = new Map(DATA.functions.map((f) => [f.name, f]));
const S = {
  fn: DATA.functions[0].name, steps: DATA.max_steps, step: 0, speed: DATA.speed,
  checked: new Set(DATA.checked), lr: {}, playing: false, finished: false, ready: false,
  timer: null, last: 0, carry: 0, drawn: {},
};
const unpacked = new Map();
const images = new Map();

// -- numbers ---------------------------------------------------------------------------
function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "\u2014";
  if (!Number.isFinite(v)) return v > 0 ? "\u221e" : "\u2212\u221e";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits - 1).replace("-", "\u2212");
  return String(+v.toPrecision(digits)).replace("-", "\u2212");
}
function fmtLr(v) { return v < 1e-3 ? v.toExponential().replace("e-", "e\u2212") : String(v); }

// -- data --------------------------------------------------------------------------------
async function inflate(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Response(stream).arrayBuffer();
}
function unpack(fn) {
  if (!unpacked.has(fn.name)) {
    unpacked.set(fn.name, inflate(fn.blob).then((buffer) => {
      let total = 0;
      for (const m of fn.methods) for (const r of m.runs) total += r.n;
      const values = new Float32Array(buffer, 0, total);
      const codes = new Uint16Array(buffer, 4 * total, 2 * total);
      const [x0, x1, y0, y1] = fn.box;
      const sx = (x1 - x0) / fn.levels, sy = (y1 - y0) / fn.levels;
      let vo = 0, co = 0;
      for (const m of fn.methods) {
        for (const r of m.runs) {
          r.f = values.subarray(vo, vo + r.n); vo += r.n;
          r.x = new Float64Array(r.n); r.y = new Float64Array(r.n);
          let a = 0, b = 0;
          for (let i = 0; i < r.n; i++) {
            a = (a + codes[co + i]) & 0xffff; b = (b + codes[co + r.n + i]) & 0xffff;
            r.x[i] = x0 + a * sx; r.y[i] = y0 + b * sy;
          }
          co += 2 * r.n;
        }
      }
      return fn;
    }));
  }
  return unpacked.get(fn.name);
}
function image(fn) {
  if (!images.has(fn.name)) {
    const img = new Image();
    img.src = fn.image.src;
    images.set(fn.name, img);
    img.onload = () => draw();
  }
  return images.get(fn.name);
}
function methodsOf(fn) { return fn.methods.filter((m) => S.checked.has(m.method)); }
function lrIndex(fn, m) {
  const key = fn.name + "/" + m.method;
  return key in S.lr ? S.lr[key] : m.default;
}
function runOf(fn, m) { return m.runs[lrIndex(fn, m)]; }
function nearest(lrs, value) {
  let best = 0;
  for (let i = 1; i < lrs.length; i++)
    if (Math.abs(Math.log(lrs[i] / value)) < Math.abs(Math.log(lrs[best] / value))) best = i;
  return best;
}

// -- markers: matplotlib's shapes, in units of the marker's radius -----------------------
function regular(n, r, turn) {
  const pts = [];
  for (let k = 0; k < n; k++) {
    const a = turn + (2 * Math.PI * k) / n;
    pts.push([r * Math.sin(a), -r * Math.cos(a)]);
  }
  return pts;
}
function star(n, outer, inner) {
  const pts = [];
  for (let k = 0; k < 2 * n; k++) {
    const a = (Math.PI * k) / n, r = k % 2 ? inner : outer;
    pts.push([r * Math.sin(a), -r * Math.cos(a)]);
  }
  return pts;
}
function cross(w, turn) {
  const base = [[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1],
    [-w, w], [-1, w], [-1, -w], [-w, -w]];
  const c = Math.cos(turn), s = Math.sin(turn);
  return base.map(([x, y]) => [x * c - y * s, x * s + y * c]);
}
const SHAPES = {
  s: [[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]],
  D: [[0, -1], [1, 0], [0, 1], [-1, 0]],
  d: [[0, -1], [0.6, 0], [0, 1], [-0.6, 0]],
  "^": [[0, -1], [1, 0.75], [-1, 0.75]],
  v: [[0, 1], [1, -0.75], [-1, -0.75]],
  "<": [[-1, 0], [0.75, -1], [0.75, 1]],
  ">": [[1, 0], [-0.75, -1], [-0.75, 1]],
  P: cross(0.34, 0), X: cross(0.3, Math.PI / 4),
  h: regular(6, 1, 0), p: regular(5, 1, 0), "*": star(5, 1.15, 0.48),
};
function marker(ctx, shape, x, y, r) {
  ctx.beginPath();
  const pts = SHAPES[shape];
  if (!pts) ctx.arc(x, y, r * 0.85, 0, 2 * Math.PI);
  else pts.forEach(([px, py], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x + r * px,
    y + r * py));
  ctx.closePath();
}

// -- canvases ------------------------------------------------------------------------------
function setup(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return [ctx, w, h];
}
function ticks(lo, hi, count) {
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step)
    out.push(Math.abs(v) < 1e-12 * step ? 0 : v);
  return out;
}
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
const AXIS = "#555d6e";

function drawContour(fn) {
  const canvas = $("contour");
  const [ctx, w, h] = setup(canvas);
  const [[x0, x1], [y0, y1]] = fn.bounds;
  const left = 46, bottom = 34, top = 10, right = 12;
  const scale = Math.min((w - left - right) / (x1 - x0), (h - top - bottom) / (y1 - y0));
  const pw = (x1 - x0) * scale, ph = (y1 - y0) * scale;
  const ox = left + (w - left - right - pw) / 2, oy = top + (h - top - bottom - ph) / 2;
  const X = (x) => ox + (x - x0) * scale, Y = (y) => oy + ph - (y - y0) * scale;
  const img = image(fn);
  if (img.complete && img.naturalWidth) ctx.drawImage(img, ox, oy, pw, ph);
  ctx.strokeStyle = "#8a919e"; ctx.lineWidth = 1; ctx.strokeRect(ox, oy, pw, ph);
  ctx.fillStyle = AXIS; ctx.font = FONT;
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(x0, x1, Math.max(3, Math.floor(pw / 80)))) {
    ctx.fillRect(X(t), oy + ph, 1, 4); ctx.fillText(fmt(t), X(t), oy + ph + 6);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks(y0, y1, Math.max(3, Math.floor(ph / 70)))) {
    ctx.fillRect(ox - 4, Y(t), 4, 1); ctx.fillText(fmt(t), ox - 7, Y(t));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "bottom";
  ctx.fillText("x", ox + pw / 2, oy + ph + 32);
  ctx.save(); ctx.translate(ox - 36, oy + ph / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle"; ctx.fillText("y", 0, 0); ctx.restore();

  ctx.save();
  ctx.beginPath(); ctx.rect(ox, oy, pw, ph); ctx.clip();
  const drawn = {};
  for (const m of methodsOf(fn)) {
    const style = METHODS.get(m.method), run = runOf(fn, m);
    if (!run.x) continue;
    const n = Math.min(run.n, S.step + 1);
    ctx.strokeStyle = style.color; ctx.lineWidth = 2; ctx.lineJoin = "round";
    ctx.setLineDash(style.dashed ? [7, 4] : []);
    ctx.beginPath();
    for (let i = 0; i < n; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(run.x[i]), Y(run.y[i]));
    ctx.stroke(); ctx.setLineDash([]);
    drawn[m.method] = n;
  }
  for (const [mx, my] of fn.minima) {  // above the paths, below where the optimizers are
    ctx.fillStyle = "#F0E442"; ctx.strokeStyle = "#000"; ctx.lineWidth = 1;
    marker(ctx, "*", X(mx), Y(my), 9); ctx.fill(); ctx.stroke();
  }
  ctx.fillStyle = "#fff"; ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
  marker(ctx, "o", X(fn.start[0]), Y(fn.start[1]), 6); ctx.fill(); ctx.stroke();
  for (const m of methodsOf(fn)) {
    const style = METHODS.get(m.method), run = runOf(fn, m);
    if (!run.x) continue;
    const i = drawn[m.method] - 1;
    ctx.fillStyle = style.color; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5;
    marker(ctx, style.marker, X(run.x[i]), Y(run.y[i]), 7); ctx.fill(); ctx.stroke();
  }
  ctx.restore();
  return drawn;
}

function lossValues(fn, run, n) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = fn.minimum === null ? run.f[i] : Math.max(run.f[i] - fn.minimum, FLOOR);
  return out;
}

function drawLoss(fn) {
  const canvas = $("loss");
  const [ctx, w, h] = setup(canvas);
  const left = 70, right = 14, top = 10, bottom = 36;
  const pw = w - left - right, ph = h - top - bottom;
  const log = fn.minimum !== null;
  const series = [];
  let lo = Infinity, hi = -Infinity;
  for (const m of methodsOf(fn)) {
    const run = runOf(fn, m);
    if (!run.f) continue;
    const all = lossValues(fn, run, Math.min(run.n, S.steps + 1));
    for (const v of all) { if (v < lo) lo = v; if (v > hi) hi = v; }
    series.push([m, all, Math.min(run.n, S.step + 1)]);
  }
  if (log) {
    if (!(hi > 0)) { lo = 1e-3; hi = 1; }
    hi = Math.min(hi, 10 * fn.value_max);  // a run that diverged is cut at the top
    lo = Math.min(lo, hi / 10);
    lo = Math.floor(Math.log10(lo)); hi = Math.ceil(Math.log10(hi));
    if (hi - lo < 1) hi = lo + 1;
  } else {
    [lo, hi] = fn.value_range;
  }
  const X = (k) => left + (k / Math.max(S.steps, 1)) * pw;
  const Y = (v) => {
    const t = log ? (Math.log10(v) - lo) / (hi - lo) : (v - lo) / (hi - lo);
    return top + ph - t * ph;
  };
  ctx.strokeStyle = "#c9ced8"; ctx.lineWidth = 1; ctx.strokeRect(left, top, pw, ph);
  ctx.fillStyle = AXIS; ctx.font = FONT;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  if (log) {
    const every = Math.max(1, Math.ceil((hi - lo) / Math.max(2, Math.floor(ph / 26))));
    for (let e = lo; e <= hi; e += every) {
      ctx.fillStyle = "#eef0f3"; ctx.fillRect(left + 1, Y(10 ** e), pw - 2, 1);
      ctx.fillStyle = AXIS; ctx.fillText(e === 0 ? "1" : "1e" + String(e).replace("-", "\u2212"),
        left - 6, Y(10 ** e));
    }
  } else {
    for (const t of ticks(lo, hi, 4)) {
      ctx.fillStyle = "#eef0f3"; ctx.fillRect(left + 1, Y(t), pw - 2, 1);
      ctx.fillStyle = AXIS; ctx.fillText(fmt(t), left - 6, Y(t));
    }
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(0, S.steps, Math.max(3, Math.floor(pw / 90)))) {
    if (t !== Math.round(t)) continue;
    ctx.fillRect(X(t), top + ph, 1, 4); ctx.fillText(String(t), X(t), top + ph + 6);
  }
  ctx.fillText("step k", left + pw / 2, top + ph + 19);
  ctx.save(); ctx.translate(12, top + ph / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle"; ctx.fillText(log ? "f(x\u2096) \u2212 f*" : "f(x\u2096)", 0, 0);
  ctx.restore();
  ctx.save(); ctx.beginPath(); ctx.rect(left, top, pw, ph); ctx.clip();
  ctx.fillStyle = "rgba(11,92,173,0.08)"; ctx.fillRect(left, top, X(S.step) - left, ph);
  const drawn = {};
  for (const [m, all, n] of series) {
    const style = METHODS.get(m.method);
    ctx.strokeStyle = style.color; ctx.lineWidth = 1.8; ctx.setLineDash(style.dashed ? [7, 4] : []);
    ctx.beginPath();
    for (let i = 0; i < n; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(i), Y(all[i]));
    ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = style.color; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.2;
    marker(ctx, style.marker, X(n - 1), Y(all[n - 1]), 5); ctx.fill(); ctx.stroke();
    drawn[m.method] = n;
  }
  ctx.restore();
  $("loss-caption").textContent = log
    ? "f(x\u2096) \u2212 f* against the step k, log scale (gaps below 1e\u221216 drawn " +
      "at 1e\u221216). Shaded: the steps played so far."
    : "f(x\u2096) against the step k. This function has no minimum: lower is better; the " +
      "axis spans the values f takes inside the plot.";
  return drawn;
}

// -- the controls ------------------------------------------------------------------------
function statusText(fn, m, run) {
  const i = Math.min(run.n, S.step + 1) - 1;
  const gap = fn.minimum === null ? "f = " + fmt(run.f[i])
    : "f \u2212 f* = " + fmt(Math.max(run.f[i] - fn.minimum, 0));
  const ended = run.n - 1 <= S.step && run.n - 1 <= S.steps;
  const at = " at step " + (run.n - 1);
  const why = { converged: "converged" + at, diverged: "diverged" + at,
    left: "left the plot" + at, stopped: "stopped" + at, running: "" }[run.status];
  return gap + (ended && why ? " \u00b7 " + why : "");
}
function swatch(style) {
  const c = document.createElement("canvas");
  c.width = 68; c.height = 28; c.setAttribute("aria-hidden", "true");
  const ctx = c.getContext("2d");
  ctx.scale(2, 2);
  ctx.strokeStyle = style.color; ctx.lineWidth = 2; ctx.setLineDash(style.dashed ? [5, 3] : []);
  ctx.beginPath(); ctx.moveTo(1, 7); ctx.lineTo(33, 7); ctx.stroke(); ctx.setLineDash([]);
  ctx.fillStyle = style.color; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.2;
  marker(ctx, style.marker, 17, 7, 5.5); ctx.fill(); ctx.stroke();
  return c;
}
function buildMethods() {
  const box = $("methods");
  for (const style of DATA.methods) {
    const name = style.name;
    const row = document.createElement("div");
    row.className = "method"; row.dataset.method = name;
    const label = document.createElement("label");
    label.className = "name"; label.title = style.description;
    const box2 = document.createElement("input");
    box2.type = "checkbox"; box2.id = "m-" + name; box2.checked = S.checked.has(name);
    box2.addEventListener("change", () => {
      if (box2.checked) S.checked.add(name); else S.checked.delete(name);
      changed();
    });
    label.append(box2, swatch(style), document.createTextNode(name));
    const desc = document.createElement("span");
    desc.className = "hint"; desc.textContent = style.description;
    row.append(label, desc);
    if (style.line_search) {
      const fixed = document.createElement("div");
      fixed.className = "fixed"; fixed.textContent = "step length chosen by line search";
      row.append(fixed);
    } else {
      const rate = document.createElement("div");
      rate.className = "rate";
      const slider = document.createElement("input");
      slider.type = "range"; slider.id = "lr-" + name; slider.min = "0"; slider.step = "1";
      slider.setAttribute("aria-label", "learning rate of " + name);
      const out = document.createElement("output");
      out.id = "lrv-" + name; out.htmlFor = slider.id;
      const reset = document.createElement("button");
      reset.type = "button"; reset.id = "lrd-" + name;
      reset.setAttribute("aria-label", "learning rate of " + name + " back to the suggested value");
      slider.addEventListener("input", () => {
        S.lr[S.fn + "/" + name] = +slider.value;
        changed();
      });
      reset.addEventListener("click", () => {
        const fn = FUNCTIONS.get(S.fn);
        delete S.lr[fn.name + "/" + name];
        changed();
      });
      rate.append(slider, out, reset);
      row.append(rate);
    }
    const status = document.createElement("div");
    status.className = "status"; status.id = "st-" + name; status.setAttribute("aria-live", "off");
    row.append(status);
    box.append(row);
  }
}
function syncControls() {
  const fn = FUNCTIONS.get(S.fn);
  $("fn").value = fn.name;
  const f = $("formula");
  f.src = fn.formula_image.src; f.width = fn.formula_image.width;
  f.height = fn.formula_image.height; f.alt = "f(x, y) = " + fn.formula;
  $("description").textContent = fn.description;
  $("steps").value = S.steps;
  $("speed").value = String(S.speed);
  $("scrub").max = String(S.steps); $("scrub").value = String(S.step);
  $("step-now").textContent = S.step; $("step-total").textContent = S.steps;
  $("play").textContent = S.playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(S.playing));
  for (const style of DATA.methods) {
    const name = style.name, m = fn.methods.find((x) => x.method === name);
    const row = document.querySelector('.method[data-method="' + name + '"]');
    row.classList.toggle("off", !S.checked.has(name));
    $("m-" + name).checked = S.checked.has(name);
    if (!style.line_search) {
      const slider = $("lr-" + name), i = lrIndex(fn, m);
      slider.max = String(m.lrs.length - 1); slider.value = String(i);
      slider.setAttribute("aria-valuetext", fmtLr(m.lrs[i]));
      $("lrv-" + name).textContent = fmtLr(m.lrs[i]);
      $("lrd-" + name).textContent = "suggested " + fmtLr(m.lrs[m.default]);
      $("lrd-" + name).disabled = i === m.default;
    }
    const run = m.runs[lrIndex(fn, m)];
    $("st-" + name).textContent = run.f ? statusText(fn, m, run) : "";
    $("st-" + name).title = run.message;
  }
}

// -- drawing, state and the address --------------------------------------------------------
function draw() {
  const fn = FUNCTIONS.get(S.fn);
  syncControls();
  if (!S.ready) return;
  const paths = drawContour(fn);
  const curves = drawLoss(fn);
  const methods = {};
  const words = [];
  for (const m of methodsOf(fn)) {
    const run = runOf(fn, m), n = paths[m.method] || 0, i = n - 1;
    methods[m.method] = {
      lr: m.lrs[lrIndex(fn, m)], lr_index: lrIndex(fn, m), points: n,
      loss_points: curves[m.method] || 0, last: i >= 0 ? [run.x[i], run.y[i]] : null,
      f: i >= 0 ? run.f[i] : null, n: run.n, status: run.status, end: run.end,
    };
    if (i >= 0) {  // the exact end where there is one, not its 16-bit copy
      const [x, y] = i === run.n - 1 ? run.end : [run.x[i], run.y[i]];
      words.push(m.method + " at (" + fmt(x) + ", " + fmt(y) + "), " + statusText(fn, m, run));
    }
  }
  $("contour").setAttribute("aria-label", fn.title + ", step " + S.step + " of " + S.steps +
    ": " + (words.join("; ") || "no optimizer chosen"));
  $("loss").setAttribute("aria-label", "Loss against step for " +
    (Object.keys(methods).join(", ") || "no optimizer"));
  $("state").textContent = JSON.stringify({
    ready: S.ready, fn: fn.name, steps: S.steps, step: S.step, end: lastStep(),
    playing: S.playing, finished: S.finished, speed: S.speed, address: location.hash, methods,
  });
}
function lastStep() {
  const fn = FUNCTIONS.get(S.fn);
  let end = 0;
  for (const m of methodsOf(fn)) end = Math.max(end, runOf(fn, m).n - 1);
  return Math.min(end, S.steps);
}
function writeAddress() {
  const fn = FUNCTIONS.get(S.fn);
  const parts = ["fn=" + fn.name, "methods=" + [...S.checked].join(","), "steps=" + S.steps];
  for (const m of methodsOf(fn)) {
    if (!METHODS.get(m.method).line_search) {
      parts.push("lr." + m.method + "=" + m.lrs[lrIndex(fn, m)]);
    }
  }
  if (S.step) parts.push("step=" + S.step);
  try {
    history.replaceState(null, "", "#" + parts.join("&"));
  } catch { /* some browsers refuse it for file: pages; the page works without */ }
}
function changed() {
  if (S.step > S.steps) S.step = S.steps;
  S.finished = false;
  if (!S.playing) writeAddress();
  draw();
}
function readAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fname = (params.get("fn") || "").toLowerCase().replace(/[- ]/g, "_");
  if (FUNCTIONS.has(fname)) S.fn = fname;
  if (params.has("methods")) {
    const names = params.get("methods").toLowerCase().split(",").filter((n) => METHODS.has(n));
    S.checked = new Set(names);
  }
  if (params.has("steps")) {
    S.steps = clamp(Math.round(+params.get("steps")), 1, DATA.max_steps, S.steps);
  }
  const speed = +params.get("speed");
  if (speed > 0) S.speed = DATA.speeds[nearest(DATA.speeds, speed)];
  const fn = FUNCTIONS.get(S.fn);
  for (const m of fn.methods) {
    const v = +(params.get("lr." + m.method) || params.get("lr") || NaN);
    if (v > 0 && !METHODS.get(m.method).line_search) {
      S.lr[fn.name + "/" + m.method] = nearest(m.lrs, v);
    }
  }
  S.step = params.has("step") ? clamp(Math.round(+params.get("step")), 0, S.steps, 0) : 0;
  S.finished = false;
  return params.get("autoplay") === "1";
}
function clamp(v, lo, hi, fallback) {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
}

// -- playback: a timer, not requestAnimationFrame, so that it also runs in background tabs
// and headless browsers; each tick advances by the time elapsed times the speed.
function play() {
  if (S.playing) return;
  if (S.step >= lastStep()) S.step = 0;
  S.playing = true; S.finished = false; S.last = performance.now(); S.carry = 0;
  S.timer = setTimeout(tick, 16);
  draw();
}
function pause() {
  S.playing = false; clearTimeout(S.timer); S.timer = null;
  writeAddress(); draw();
}
function tick() {
  const now = performance.now();
  S.carry += ((now - S.last) / 1000) * S.speed; S.last = now;
  const advance = Math.floor(S.carry);
  S.carry -= advance;
  const end = lastStep();
  S.step = Math.min(end, S.step + advance);
  if (S.step >= end) { S.finished = true; pause(); return; }
  draw();
  S.timer = setTimeout(tick, 16);
}
function stepBy(k) {
  if (S.playing) pause();
  S.step = clamp(S.step + k, 0, S.steps, 0);
  changed();
}

async function selectFunction(name, autoplay) {
  if (S.playing) pause();
  S.fn = name; S.ready = false;
  draw();
  const fn = FUNCTIONS.get(name);
  try {
    await unpack(fn);
  } catch (err) {
    const e = $("error");
    e.hidden = false;
    e.textContent = typeof DecompressionStream === "undefined"
      ? "This browser cannot unpack the page's data (it has no DecompressionStream): open " +
        "the page in a recent Chrome, Edge, Firefox (113 or later) or Safari (16.4 or later)."
      : "The page's data could not be unpacked: " + err;
    return;
  }
  if (S.fn !== name) return;
  S.ready = true;
  changed();
  if (autoplay) play();
}

function init() {
  for (const fn of DATA.functions) $("fn").add(new Option(fn.title, fn.name));
  for (const v of DATA.speeds) $("speed").add(new Option(v + " steps/s", String(v)));
  buildMethods();
  $("fn").addEventListener("change", () => { S.step = 0; selectFunction($("fn").value, false); });
  $("steps").addEventListener("change", () => {
    S.steps = clamp(Math.round(+$("steps").value), 1, DATA.max_steps, S.steps);
    changed();
  });
  $("speed").addEventListener("change", () => { S.speed = +$("speed").value; draw(); });
  $("play").addEventListener("click", () => (S.playing ? pause() : play()));
  $("step").addEventListener("click", () => stepBy(1));
  $("reset").addEventListener("click", () => { if (S.playing) pause(); S.step = 0; changed(); });
  $("scrub").addEventListener("input", () => {
    if (S.playing) pause();
    S.step = +$("scrub").value; changed();
  });
  document.addEventListener("keydown", (e) => {
    const tag = e.target.tagName;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === " " && tag !== "BUTTON") {
      e.preventDefault();
      if (S.playing) pause(); else play();
    } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      stepBy(e.key === "ArrowRight" ? 1 : -1);
    }
  });
  window.addEventListener("resize", () => draw());
  window.addEventListener("hashchange", () => {
    const autoplay = readAddress();
    selectFunction(S.fn, autoplay);
  });
  const autoplay = readAddress();
  selectFunction(S.fn, autoplay);
}
init();