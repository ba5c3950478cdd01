// armsim serve: the page's script. Plain JavaScript, no framework, nothing
// loaded from the network. The controls are generated from the scenario
// description the server sends (the same parameter metadata as `armsim
// params`); runs stream back as server-sent events read from a fetch, and
// each snapshot redraws the fan charts as SVG.
"use strict";

// The suppliers' colours: the command line's plot palette, which the server
// sends with each scenario (`colours`), so Russia has one colour everywhere.
let COLOURS = ["#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442"];
// The largest seed `--seed` accepts; seeds travel as strings, since a
// JavaScript number holds whole numbers exactly only up to 2^53.
const MAX_SEED = 9223372036854775807n;
const SVG = "http://www.w3.org/2000/svg";
const ROLES = {
  start: "a starting value: the model then changes it as the run goes",
  fixed: "fixed for the run unless an event changes it",
  initial: "sets up the initial state only",
  event: "the value of an event of the scenario's timeline",
};

const page = newPageId();
const state = {
  source: null,       // {scenario: id} or {toml, filename}
  desc: null,         // the scenario's description from the server
  controls: new Map(),// path -> control description
  changes: new Map(), // path -> value (JSON) differing from the scenario's
  run: null,          // {controller, study}
  labels: [],
  suppliers: [],
  changed: false,     // whether the study drawn has any change
  changedAt: null,    // performance.now() of the last change that started a run
  firstChart: null,   // seconds from that change to the first chart
  timer: null,
};
// For tests and the curious: the last timings and headline.
window.armsim = { page, timing: {}, headline: null, phase: null, runs: 0 };

const $ = (id) => document.getElementById(id);

function newPageId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const thousands = (n) => Math.round(n).toLocaleString("en-US");

// ---- errors ---------------------------------------------------------------

function showError(error, details = []) {
  const box = $("errors");
  box.replaceChildren(el("div", { text: error }));
  if (details.length) {
    box.append(el("pre", { text: details.map((d) => "error: " + d).join("\n") }));
  }
  box.hidden = false;
}

function clearError() {
  $("errors").hidden = true;
  $("errors").replaceChildren();
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return { error: body.error || response.statusText, details: body.details || [] };
  } catch (_) {
    return { error: `${response.status} ${response.statusText}`, details: [] };
  }
}

// ---- scenarios and controls ----------------------------------------------

async function loadScenarios() {
  const response = await fetch("/api/scenarios");
  const list = await response.json();
  const select = $("scenario");
  for (const s of list.scenarios) {
    select.append(el("option", { value: s.id, text: `${s.name} (${s.id}, model ${s.model})` }));
  }
  select.addEventListener("change", () => { if (select.value) openShipped(select.value); });
  // A shared link (#scenario=...&set=...) opens with its changes.
  const link = new URLSearchParams(location.hash.slice(1));
  const linked = list.scenarios.find((s) => s.id === link.get("scenario"));
  if (linked) {
    select.value = linked.id;
    await openShipped(linked.id, link);
  } else if (list.scenarios.length) {
    await openShipped(list.scenarios[0].id);
  }
}

async function openShipped(id, link = null) {
  const response = await fetch(`/api/scenarios/${encodeURIComponent(id)}`);
  if (!response.ok) {
    const e = await errorOf(response);
    showError(e.error, e.details);
    return;
  }
  clearError();
  setScenario({ scenario: id }, await response.json(), link);
}

async function upload(file) {
  const text = await file.text();
  const response = await fetch(`/api/upload?filename=${encodeURIComponent(file.name)}`, {
    method: "POST",
    headers: { "content-type": "application/toml" },
    body: text,
  });
  $("upload").value = "";
  if (!response.ok) {
    const e = await errorOf(response);
    showError(`${file.name}: ${e.error}`, e.details);
    return;
  }
  clearError();
  const desc = await response.json();
  const select = $("scenario");
  let option = select.querySelector("option[data-upload]");
  if (!option) {
    option = el("option", { "data-upload": "1" });
    select.prepend(option);
  }
  option.value = "";
  option.textContent = `${file.name} (uploaded)`;
  select.value = "";
  setScenario({ toml: text, filename: file.name }, desc);
}

function setScenario(source, desc, link = null) {
  state.source = source;
  state.desc = desc;
  if (Array.isArray(desc.colours) && desc.colours.length) COLOURS = desc.colours;
  state.changes.clear();
  state.controls.clear();
  $("model").textContent = `model ${desc.model}` + (desc.model_defaulted ? " (file has no model key)" : "");
  $("runs").value = desc.runs;
  $("runs").max = desc.max_runs;
  $("runs").title = `Monte Carlo runs of each scenario (the baseline and your change), 1 to ${thousands(desc.max_runs)}`;
  $("seed").value = desc.seed;
  const featured = $("featured");
  const rest = $("rest");
  featured.replaceChildren();
  rest.replaceChildren();
  for (const group of desc.groups) {
    const fs = el("fieldset", {}, el("legend", { text: group.title }));
    for (const c of group.controls) fs.append(controlElement(c));
    (group.featured ? featured : rest).append(fs);
  }
  if (link) restore(link);
  renderChanges();
  startRun();
}

// ---- the page's state in its address --------------------------------------

// The address keeps a shipped scenario's changes, runs and seed after `#`,
// so a reload keeps them and a student can share the link:
// #scenario=myanmar_2021&set=suppliers.Russia.support%3D0.2&seed=7
function saveLink() {
  if (!state.source || !state.source.scenario) {
    // An uploaded file is not in the address: a link could not bring it back.
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    return;
  }
  const link = new URLSearchParams();
  link.set("scenario", state.source.scenario);
  for (const [path, value] of state.changes) link.append("set", `${path}=${value}`);
  const runs = $("runs").value.trim();
  const seed = $("seed").value.trim();
  if (state.desc && runs !== String(state.desc.runs)) link.set("runs", runs);
  if (state.desc && seed !== String(state.desc.seed)) link.set("seed", seed);
  history.replaceState(null, "", "#" + link.toString());
}

// Applies a link's runs, seed and changes to the controls (before the first
// run); a value the control does not allow is marked as a typed one would be.
function restore(link) {
  if (link.has("runs")) $("runs").value = link.get("runs");
  if (link.has("seed")) $("seed").value = link.get("seed");
  for (const entry of link.getAll("set")) {
    const at = entry.indexOf("=");
    const c = at > 0 ? state.controls.get(entry.slice(0, at)) : null;
    if (!c || !c.apply) continue;
    const text = entry.slice(at + 1);
    c.apply(text === "true" ? true : text === "false" ? false : text === "-inf" ? "-inf" : Number(text));
  }
}

function tooltip(c) {
  const lines = [`${c.label} (${c.symbol})`, c.description, `Role: ${ROLES[c.role] || c.role}.`,
    `Slider: the documented range ${fmt(c.slider[0])} to ${fmt(c.slider[1])}. Allowed: ${c.allowed}.`,
    `On the command line: --set ${c.path}=VALUE`];
  return lines.join("\n");
}

function fmt(x) {
  if (typeof x !== "number") return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(Math.round(x * 1e6) / 1e6);
}

// Whether `x` is allowed by control `c` (the hard bounds validation enforces).
function check(c, x) {
  if (c.off && x === -Infinity) return null;
  if (!Number.isFinite(x)) return `expected ${c.allowed}`;
  if (x < c.min || x > c.max || (c.min_open && x === c.min) || (c.max_open && x === c.max)) {
    return `found ${fmt(x)}, expected ${c.allowed}`;
  }
  if (c.integer && !Number.isInteger(x)) return `found ${fmt(x)}, expected ${c.allowed}`;
  return null;
}

function controlElement(c) {
  state.controls.set(c.path, c);
  const box = el("div", { class: "control" + (c.flag ? " flag" : ""), "data-path": c.path });
  const name = el("div", { class: "name", title: tooltip(c) },
    el("span", { text: c.label }), c.symbol && c.symbol !== "-" ? el("span", { class: "sym", text: c.symbol }) : null);
  box.append(name);
  const reset = el("button", { class: "reset", title: "Back to the scenario's value", text: "↺" });
  const msg = el("div", { class: "msg" });
  let row;
  if (c.flag) {
    const box2 = el("input", { type: "checkbox", title: tooltip(c), "aria-label": c.label });
    box2.checked = c.value === true;
    box2.addEventListener("change", () => setChange(c, box2.checked, box));
    reset.addEventListener("click", () => { box2.checked = c.value === true; setChange(c, c.value, box); });
    row = el("div", { class: "row" }, box2, el("span", { text: box2.checked ? "yes" : "no" }), reset);
    box2.addEventListener("change", () => { row.children[1].textContent = box2.checked ? "yes" : "no"; });
    c.apply = (value) => {
      box2.checked = value === true;
      row.children[1].textContent = box2.checked ? "yes" : "no";
      record(c, box2.checked, box);
    };
  } else {
    const initial = c.value === "-inf" ? c.slider[0] : c.value;
    const slider = el("input", { type: "range", min: c.slider[0], max: c.slider[1], step: c.step,
      title: tooltip(c), "aria-label": c.label });
    slider.value = initial;
    const number = el("input", { type: "number", min: c.min, max: c.max, step: "any",
      title: `Allowed: ${c.allowed}`, "aria-label": c.label + " (value)" });
    number.value = c.value === "-inf" ? "" : c.value;
    if (c.value === "-inf") number.placeholder = "off";
    slider.addEventListener("input", () => { number.value = slider.value; });
    slider.addEventListener("change", () => {
      number.value = slider.value;
      box.classList.remove("invalid");
      msg.textContent = "";
      setChange(c, Number(slider.value), box);
    });
    number.addEventListener("change", () => {
      const text = number.value.trim();
      const x = text === "" && c.off ? -Infinity : Number(text);
      const problem = text === "" && !c.off ? `expected ${c.allowed}` : check(c, x);
      if (problem) {
        box.classList.add("invalid");
        msg.textContent = `${c.path}: ${problem}`;
        return;
      }
      box.classList.remove("invalid");
      msg.textContent = "";
      if (Number.isFinite(x)) slider.value = x;
      setChange(c, x === -Infinity ? "-inf" : x, box);
    });
    reset.addEventListener("click", () => {
      slider.value = initial;
      number.value = c.value === "-inf" ? "" : c.value;
      box.classList.remove("invalid");
      msg.textContent = "";
      setChange(c, c.value, box);
    });
    row = el("div", { class: "row" }, slider, number, reset);
    c.apply = (value) => {
      const x = value === "-inf" ? -Infinity : value;
      const problem = typeof x === "number" ? check(c, x) : `expected ${c.allowed}`;
      number.value = value === "-inf" ? "" : String(value);
      if (problem) {
        box.classList.add("invalid");
        msg.textContent = `${c.path}: ${problem}`;
        return;
      }
      if (Number.isFinite(x)) slider.value = x;
      record(c, value, box);
    };
  }
  box.append(row, msg);
  if (c.note) box.append(el("div", { class: "note", text: c.note }));
  return box;
}

function same(a, b) {
  return a === b || (typeof a === "number" && typeof b === "number" && Math.abs(a - b) < 1e-12);
}

// Notes a control's value as a change (or none, back at the scenario's).
function record(c, value, box) {
  if (same(value, c.value)) state.changes.delete(c.path);
  else state.changes.set(c.path, value);
  box.classList.toggle("changed", state.changes.has(c.path));
}

function setChange(c, value, box) {
  if (!document.querySelector(".control.invalid")) clearError();
  record(c, value, box);
  renderChanges();
  // Let a student nudge several sliders: run a quarter second after the last.
  clearTimeout(state.timer);
  state.changedAt = performance.now();
  state.timer = setTimeout(startRun, 250);
}

function renderChanges() {
  saveLink();
  const box = $("changes");
  box.replaceChildren();
  if (!state.changes.size) {
    box.append("No change yet: both fans are the baseline. Move a slider.");
    return;
  }
  box.append("Your changes: ");
  const parts = [];
  for (const [path, value] of state.changes) {
    const c = state.controls.get(path);
    const who = path.startsWith("suppliers.") ? path.split(".")[1] + " · " : "";
    parts.push(`${who}${c.label}: ${show(c.value)} → ${show(value)}`);
  }
  box.append(parts.join("; "));
  const reset = el("button", { text: "Reset all", title: "Back to the scenario as shipped or uploaded" });
  reset.addEventListener("click", () => setScenario(state.source, state.desc));
  box.append(reset);
}

function show(v) {
  if (v === true) return "yes";
  if (v === false) return "no";
  return typeof v === "number" ? fmt(v) : String(v);
}

// ---- running --------------------------------------------------------------

function request() {
  const body = Object.assign({}, state.source);
  body.page = page;
  body.changes = Array.from(state.changes, ([path, value]) => ({ path, value }));
  const runs = Number($("runs").value);
  const seed = $("seed").value.trim();
  body.runs = runs;
  // As a string: Number() would turn 2^53 + 1 into 2^53, another study.
  if (seed !== "") body.seed = seed;
  return body;
}

// A bad runs or seed box is reported beside it, in the status line: an
// error box above the page would move the Run button under the pointer.
function runProblem(text) {
  $("status").textContent = text;
  $("status").classList.add("bad");
}

function validRunSettings() {
  $("status").classList.remove("bad");
  const runs = Number($("runs").value);
  const max = state.desc ? state.desc.max_runs : Infinity;
  if (!Number.isInteger(runs) || runs < 1 || runs > max) {
    runProblem(`runs: found ${$("runs").value}, expected a whole number from 1 to ${thousands(max)} (this server's --max-runs)`);
    return false;
  }
  const seed = $("seed").value.trim();
  if (seed !== "" && (!/^\d+$/.test(seed) || BigInt(seed) > MAX_SEED)) {
    runProblem(`seed: found ${seed}, expected a whole number from 0 to ${MAX_SEED} (2^63-1)`);
    return false;
  }
  return true;
}

async function startRun() {
  clearTimeout(state.timer);
  if (!state.source) return;
  if (document.querySelector(".control.invalid")) {
    showError("A value is outside what the parameter allows; fix the field marked in red.");
    return;
  }
  if (!validRunSettings()) return;
  if (state.run) state.run.controller.abort();
  const controller = new AbortController();
  const run = { controller, study: null, drawn: false, changedAt: state.changedAt };
  state.run = run;
  state.changedAt = null;
  clearError();
  setDownloads(false);
  $("cancel").disabled = false;
  $("status").textContent = "Starting…";
  if (!window.armsim.headline) $("headline").textContent = "Running the first runs…";
  window.armsim.phase = "starting";
  let response;
  try {
    response = await fetch("/api/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request()),
      signal: controller.signal,
    });
  } catch (e) {
    if (state.run === run) finishRun(`Could not reach the server: ${e.message}`);
    return;
  }
  if (!response.ok) {
    const e = await errorOf(response);
    if (state.run === run) {
      showError(e.error, e.details);
      $("results").classList.add("stale");
      finishRun("Nothing was run: the charts below are from the last run that worked.");
    }
    return;
  }
  try {
    await readEvents(response.body, (event, data) => onEvent(run, event, data));
  } catch (e) {
    if (e.name !== "AbortError" && state.run === run) finishRun(`The connection broke: ${e.message}`);
  }
}

// Reads a text/event-stream body, calling `handle(event, data)` per event.
async function readEvents(body, handle) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) handle(event, JSON.parse(data.join("\n")));
    }
  }
}

function onEvent(run, event, data) {
  if (state.run !== run) return;
  if (event === "start") {
    run.study = data.study;
    state.changed = data.changes.length > 0;
    $("results").classList.remove("stale");
    state.labels = data.labels;
    state.suppliers = data.suppliers;
    $("progress").max = data.runs;
    $("progress").value = 0;
    $("status").textContent = `Running ${thousands(data.runs)} paired runs on ${data.threads} threads…`;
    window.armsim.phase = "running";
    return;
  }
  if (event === "failed") {
    showError(data.error);
    finishRun("The study failed.");
    return;
  }
  draw(data);
  if (!run.drawn) {
    run.drawn = true;
    if (run.changedAt !== null) {
      const s = (performance.now() - run.changedAt) / 1000;
      window.armsim.timing.firstChart = s;
    }
  }
  $("progress").value = data.runs;
  const rate = data.rate ? ` · ${thousands(data.rate)} runs/s` : "";
  const first = window.armsim.timing.firstChart !== undefined && run.changedAt !== null
    ? ` · first chart ${window.armsim.timing.firstChart.toFixed(2)} s after your change` : "";
  const what = `${thousands(data.runs)} of ${thousands(data.total)} paired runs · ${data.seconds.toFixed(1)} s${rate}`;
  window.armsim.runs = data.runs;
  if (event === "progress") {
    $("status").textContent = what + first;
  } else if (event === "done") {
    window.armsim.timing.done = data.seconds;
    finishRun(`Done: ${what}${first}.`);
    setDownloads(true);
  } else if (event === "cancelled") {
    finishRun(`Cancelled after ${what}; the charts show the runs that finished.`);
  }
  window.armsim.phase = event;
}

function finishRun(text) {
  $("status").textContent = text;
  $("cancel").disabled = true;
  if (state.run) state.run.finished = true;
}

async function cancelRun() {
  if (!state.run || state.run.finished) return;
  $("cancel").disabled = true;
  $("status").textContent = "Cancelling…";
  try {
    await fetch("/api/cancel", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ page }),
    });
  } catch (_) {
    state.run.controller.abort();
    finishRun("Cancelled.");
  }
}

// ---- downloads ------------------------------------------------------------

function setDownloads(ready) {
  for (const [id, which] of [["download-csv", "change"], ["download-csv-baseline", "baseline"]]) {
    const a = $(id);
    a.classList.toggle("disabled", !ready);
    a.href = ready ? `/api/pages/${page}/summary.csv?which=${which}` : "#";
  }
}

async function downloadToml() {
  if (!validRunSettings()) return;
  const response = await fetch("/api/toml", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request()),
  });
  if (!response.ok) {
    const e = await errorOf(response);
    showError(e.error, e.details);
    return;
  }
  const name = (response.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name ? name[1] : "scenario.toml" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- charts ---------------------------------------------------------------

const W = 300, H = 190, M = { left: 38, right: 8, top: 20, bottom: 24 };

function draw(snapshot) {
  const charts = $("charts");
  const rows = [];
  for (const chart of snapshot.charts) {
    const share = chart.metric === "rolling_share";
    rows.push(chartRow(chart.title, chart, share ? percentAxis(0, 1) : unitAxis(), false));
    if (share && state.changed) {
      rows.push(chartRow("Change in five-year share: your change minus the baseline, run by run",
        chart, differenceAxis(chart.difference), true));
    }
  }
  charts.replaceChildren(...rows);
  headline(snapshot);
}

function chartRow(title, chart, axis, difference) {
  const panels = el("div", { class: "panels" });
  state.suppliers.forEach((name, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const layers = difference
      ? [{ fan: chart.difference[i], colour }]
      : [{ fan: chart.baseline[i], colour, grey: true }, { fan: chart.change[i], colour }];
    panels.append(panel(name, layers, axis, difference));
  });
  return el("div", { class: "chart-row", "data-metric": chart.metric + (difference ? "-difference" : "") },
    el("h3", { text: title }), panels);
}

function percentAxis(lo, hi) {
  return { lo, hi, ticks: [0, 0.25, 0.5, 0.75, 1], label: (v) => `${Math.round(v * 100)}%` };
}

function unitAxis() {
  return { lo: 0, hi: 1, ticks: [0, 0.25, 0.5, 0.75, 1], label: (v) => String(v) };
}

// Symmetric around 0, wide enough for every supplier's 90% band (at least
// 10 points), in steps of 5, 10, 25 or 50 points.
function differenceAxis(fans) {
  let m = 0.1;
  for (const fan of fans) for (const q of fan) if (q) m = Math.max(m, Math.abs(q[0]), Math.abs(q[4]));
  const step = [0.05, 0.1, 0.25, 0.5].find((s) => m / s <= 2.5) || 0.5;
  const hi = Math.min(1, Math.ceil(m / step) * step);
  const ticks = [];
  for (let v = -hi; v <= hi + 1e-9; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return { lo: -hi, hi, ticks, zero: true,
    label: (v) => (v > 0 ? "+" : v < 0 ? "-" : "") + Math.round(Math.abs(v) * 100) };
}

function panel(name, layers, axis, difference) {
  const n = state.labels.length;
  const x = (q) => M.left + (q / Math.max(1, n - 1)) * (W - M.left - M.right);
  const y = (v) => M.top + (1 - (v - axis.lo) / (axis.hi - axis.lo)) * (H - M.top - M.bottom);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": `${name}: ${difference ? "change in five-year share" : "fan chart"}` });
  const title = svg("text", { x: M.left, y: 13, class: "title" });
  title.textContent = name;
  s.append(title);
  for (const t of axis.ticks) {
    s.append(svg("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: "grid" }));
    const label = svg("text", { x: M.left - 4, y: y(t) + 3.5, "text-anchor": "end" });
    label.textContent = axis.label(t);
    s.append(label);
  }
  // Years: a tick at each first quarter, labelled every other year (every
  // fifth on long horizons).
  const every = n > 80 ? 5 : n > 24 ? 2 : 1;
  state.labels.forEach((l, q) => {
    if (!l.endsWith("Q1")) return;
    const year = Number(l.slice(0, 4));
    s.append(svg("line", { x1: x(q), x2: x(q), y1: H - M.bottom, y2: H - M.bottom + 3, class: "axis" }));
    if ((year - Number(state.labels[0].slice(0, 4))) % every === 0) {
      const t = svg("text", { x: x(q), y: H - M.bottom + 14, "text-anchor": "middle" });
      t.textContent = String(year);
      s.append(t);
    }
  });
  s.append(svg("line", { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: "axis" }));
  s.append(svg("line", { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, class: "axis" }));
  if (axis.zero) s.append(svg("line", { x1: M.left, x2: W - M.right, y1: y(0), y2: y(0), class: "zero" }));
  for (const layer of layers) drawFan(s, layer, x, y);
  return s;
}

// A fan: the 90% band, the 50% band and the median, over each run of
// quarters where the metric is defined.
function drawFan(s, layer, x, y) {
  const fan = layer.fan || [];
  const segments = [];
  let current = [];
  fan.forEach((p, q) => {
    if (p) current.push([q, p]);
    else if (current.length) { segments.push(current); current = []; }
  });
  if (current.length) segments.push(current);
  const [light, dark] = layer.grey ? [0.22, 0.32] : [0.16, 0.32];
  for (const seg of segments) {
    for (const [lo, hi, opacity] of [[0, 4, light], [1, 3, dark]]) {
      const top = seg.map(([q, p]) => `${x(q).toFixed(1)},${y(p[hi]).toFixed(1)}`);
      const bottom = seg.slice().reverse().map(([q, p]) => `${x(q).toFixed(1)},${y(p[lo]).toFixed(1)}`);
      // The baseline's bands are grey; its median keeps the supplier's colour, dashed.
      s.append(svg("polygon", { points: top.concat(bottom).join(" "), fill: layer.grey ? "#80868b" : layer.colour,
        "fill-opacity": opacity, stroke: "none" }));
    }
    const median = seg.map(([q, p]) => `${x(q).toFixed(1)},${y(p[2]).toFixed(1)}`).join(" ");
    s.append(svg("polyline", { points: median, fill: "none", stroke: layer.colour,
      "stroke-width": layer.grey ? 1.4 : 2, "stroke-dasharray": layer.grey ? "4 3" : "none",
      class: layer.grey ? "median baseline" : "median change" }));
  }
}

function headline(snapshot) {
  const h = snapshot.headline;
  window.armsim.headline = h ? h.text : null;
  $("headline").textContent = h ? h.text : "Waiting for the first runs…";
  const table = $("table");
  if (!h) { table.hidden = true; return; }
  $("table-caption").textContent =
    `Five-year share of arms imports at ${h.quarter}, over ${thousands(snapshot.runs)} paired runs`;
  // Halves round away from zero, as the server's headline rounds them
  // (Math.round alone would turn -13.5 into -13 beside the headline's -14).
  const whole = (x) => Math.sign(x) * Math.round(Math.abs(x));
  const pct = (v) => `${whole(v * 100)}%`;
  const pts = (v) => { const r = whole(v * 100); return r === 0 ? "0" : (r > 0 ? "+" : "-") + Math.abs(r); };
  const unit = (v) => (Math.abs(whole(v * 100)) === 1 ? "point" : "points");
  table.tBodies[0].replaceChildren(...h.rows.map((r) => el("tr", {},
    el("td", { text: r.supplier }), el("td", { text: pct(r.baseline) }), el("td", { text: pct(r.change) }),
    el("td", { text: `${pts(r.difference[1])} ${unit(r.difference[1])} [${pts(r.difference[0])}, ${pts(r.difference[2])}]` }))));
  table.hidden = false;
}

// ---- wiring ---------------------------------------------------------------

window.addEventListener("DOMContentLoaded", () => {
  $("run").addEventListener("click", () => { state.changedAt = performance.now(); startRun(); });
  $("cancel").addEventListener("click", cancelRun);
  $("upload").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
  $("download-toml").addEventListener("click", downloadToml);
  for (const id of ["runs", "seed"]) {
    $(id).addEventListener("change", () => {
      if (validRunSettings()) $("status").textContent = "Ready.";
      saveLink();
    });
  }
  loadScenarios().catch((e) => showError(`Could not load the scenarios: ${e.message}`));
});
// Leaving the page closes its event stream; the server then stops its study.
window.addEventListener("pagehide", () => { if (state.run) state.run.controller.abort(); });
