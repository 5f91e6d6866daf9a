// The exported student in the browser with onnxruntime-web (WebAssembly). Everything the page needs about the
// model is in model.json, written by `kdedge export RUN --target web` from the graph's own metadata.
"use strict";

const $ = (id) => document.getElementById(id);

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error("could not load " + src));
    document.head.appendChild(s);
  });
}

// the runtime bundled beside the page (ort/), else the same version from the CDN
async function loadRuntime(info) {
  let base = "ort/";
  try {
    await loadScript(base + "ort.wasm.min.js");
  } catch (e) {
    base = info.runtime_cdn;
    await loadScript(base + "ort.wasm.min.js");
  }
  ort.env.wasm.wasmPaths = new URL(base, location.href).href;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain static server does not give
  return base;
}

function softmax(v) {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

async function run(session, info, rows) {
  const n = rows.length;
  const size = info.input_dims.reduce((a, b) => a * b, 1);
  const flat = new Float32Array(n * size);
  rows.forEach((r, i) => flat.set(r, i * size));
  const feeds = { [info.input_name]: new ort.Tensor("float32", flat, [n, ...info.input_dims]) };
  const out = await session.run(feeds);
  const scores = out.scores.data;
  const k = info.class_names.length;
  const labels = Array.from(out.label.data, Number);
  const byRow = [];
  for (let i = 0; i < n; i++) byRow.push(Array.from(scores.slice(i * k, (i + 1) * k)));
  return { labels, scores: byRow };
}

function show(info, result) {
  const scores = result.scores[0];
  const shown = info.scores === "logits" ? softmax(scores) : scores;
  const order = shown.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
  $("label").textContent = info.class_names[result.labels[0]];
  const top = order.map(([v, i]) => {
    const width = info.scores === "logits" ? Math.round(v * 200) : 0;
    const value = info.scores === "logits" ? (100 * v).toFixed(1) + " %" : v.toFixed(3);
    return `<tr><td>${info.class_names[i]}</td><td>${value}</td><td><div class="bar" style="width:${width}px"></div></td></tr>`;
  });
  $("top").innerHTML = top.join("");
}

// canvas pixels -> one sample: luminance (or RGB) scaled into the training data's raw range, at the model's size
function fromCanvas(info, source) {
  const [c, h, w] = info.input_dims.length === 3 ? info.input_dims : [1, ...info.input_dims.slice(-2)];
  const small = document.createElement("canvas");
  small.width = w;
  small.height = h;
  const ctx = small.getContext("2d");
  ctx.drawImage(source, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const [lo, hi] = info.input_range;
  const row = new Float32Array(c * h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = 4 * (y * w + x);
      for (let ch = 0; ch < c; ch++) {
        const v = c === 3 ? px[p + ch] : 0.299 * px[p] + 0.587 * px[p + 1] + 0.114 * px[p + 2];
        row[ch * h * w + y * w + x] = lo + (v / 255) * (hi - lo);
      }
    }
  return row;
}

function setUpImages(session, info) {
  $("image-input").hidden = false;
  const pad = $("pad");
  const ctx = pad.getContext("2d");
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); };
  clear();
  const predict = async () => show(info, await run(session, info, [fromCanvas(info, pad)]));
  let drawing = false;
  const draw = (e) => {
    if (!drawing) return;
    const r = pad.getBoundingClientRect();
    ctx.fillStyle = "#fff";
    ctx.beginPath();
    ctx.arc(e.clientX - r.left, e.clientY - r.top, pad.width / 14, 0, 2 * Math.PI);
    ctx.fill();
  };
  pad.onpointerdown = (e) => { drawing = true; draw(e); };
  pad.onpointermove = draw;
  pad.onpointerup = () => { drawing = false; predict(); };
  $("clear").onclick = () => { clear(); $("label").textContent = ""; $("top").innerHTML = ""; };
  $("file").onchange = () => {
    const img = new Image();
    img.onload = () => { clear(); ctx.drawImage(img, 0, 0, pad.width, pad.height); predict(); };
    img.src = URL.createObjectURL($("file").files[0]);
  };
  return (row) => { // draw a given sample on the pad (the check's first one), as the model sees it
    const [c, h, w] = info.input_dims.length === 3 ? info.input_dims : [1, ...info.input_dims.slice(-2)];
    const [lo, hi] = info.input_range;
    const img = ctx.createImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = row[(c === 3 ? ch : 0) * h * w + i];
        img.data[4 * i + ch] = Math.round((255 * (v - lo)) / (hi - lo || 1));
      }
      img.data[4 * i + 3] = 255;
    }
    const tmp = document.createElement("canvas");
    tmp.width = w;
    tmp.height = h;
    tmp.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, pad.width, pad.height);
  };
}

function setUpVectors(session, info) {
  $("vector-input").hidden = false;
  const size = info.input_dims.reduce((a, b) => a * b, 1);
  $("vector-help").textContent = `paste ${size} numbers (comma or space separated), raw as in the training data`;
  $("run-vector").onclick = async () => {
    const values = $("vector").value.split(/[\s,;]+/).filter((s) => s.length).map(Number);
    if (values.length !== size || values.some(Number.isNaN)) {
      $("error").textContent = `expected ${size} numbers, got ${values.length}`;
      return;
    }
    $("error").textContent = "";
    show(info, await run(session, info, [Float32Array.from(values)]));
  };
  return (row) => { $("vector").value = Array.from(row).join(", "); };
}

// ?check=URL: run the samples at URL (JSON {"x": [[...], ...]}) and POST {"labels", "scores"} to ?report=URL
async function check(session, info, params, display) {
  const report = params.get("report");
  try {
    const samples = await (await fetch(params.get("check"))).json();
    const result = await run(session, info, samples.x);
    display(samples.x[0]);
    show(info, { labels: [result.labels[0]], scores: [result.scores[0]] });
    if (report) await fetch(report, { method: "POST", body: JSON.stringify(result) });
  } catch (e) {
    if (report) await fetch(report, { method: "POST", body: JSON.stringify({ error: String(e) }) });
    throw e;
  }
}

async function main() {
  const params = new URLSearchParams(location.search);
  const info = await (await fetch("model.json")).json();
  $("title").textContent = `${info.run}: ${info.family} student`;
  try {
    const base = await loadRuntime(info);
    const model = params.get("model") || info.models[0];
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: info.graph_optimization,
    });
    $("about").textContent =
      `${model}, input ${info.input_dims.join("×")} (${info.layout}), ${info.class_names.length} classes; ` +
      `onnxruntime-web ${info.runtime_version} from ${base === "ort/" ? "this folder" : "the CDN"}`;
    const display = info.layout.startsWith("image") ? setUpImages(session, info) : setUpVectors(session, info);
    if (params.get("check")) await check(session, info, params, display);
  } catch (e) {
    $("error").textContent = String(e);
    const report = params.get("report");
    if (report && !params.get("check")) await fetch(report, { method: "POST", body: JSON.stringify({ error: String(e) }) });
    throw e;
  }
}

main();
