// g3stream web monitor: draws what the server pushes over the WebSocket.
// Charts are Plotly's; this file only fills in data and page elements.
"use strict";

const PLOT_MARGIN = { l: 60, r: 20, t: 10, b: 40 };
const PLOT_CONFIG = { displaylogo: false, responsive: true };
const SMALL_PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: false };
const MAX_LISTED_CHANNELS = 500;
const DEFAULT_CHANNELS = 4;

const state = {
  ws: null,
  updates: 0,
  tsKey: null,
  channels: [],
  chosenChannels: null,
  scalar: null,
  inspectorReceived: {},
  openDetails: new Set(),
  sentChoice: "",
};
window.g3monitor = state;

const $ = (id) => document.getElementById(id);

function formatBytes(v) {
  const units = [["TiB", 2 ** 40], ["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]];
  for (const [u, f] of units) if (Math.abs(v) >= f) return (v / f).toPrecision(3) + " " + u;
  return Math.round(v) + " B";
}

function plotColumns(div) {
  const width = div.clientWidth || 600;
  return Math.max(10, Math.floor(width - PLOT_MARGIN.l - PLOT_MARGIN.r));
}

function layout(xtitle, ytitle, sideLegend) {
  return {
    margin: sideLegend ? { l: 60, r: 10, t: 10, b: 40 } : PLOT_MARGIN,
    xaxis: { title: { text: xtitle } },
    yaxis: { title: { text: ytitle } },
    showlegend: true,
    legend: sideLegend ? { orientation: "v", x: 1.02, y: 1 } : { orientation: "h", y: -0.25 },
    uirevision: "keep",
  };
}

// -- health -------------------------------------------------------------------
function showHealth(h, online) {
  const box = $("health");
  let ok = online && h && h.ok;
  let label;
  if (!online) label = "monitor offline";
  else if (!h) label = "waiting";
  else label = { streaming: "streaming", waiting: "waiting for data", stale: "no data",
                 disconnected: "disconnected", ended: "stream ended", error: "error" }[h.state] || h.state;
  box.className = "health " + (ok ? "ok" : "bad");
  box.dataset.state = online && h ? h.state : "offline";
  $("health-state").textContent = label;
  if (h) {
    $("health-connected").textContent = h.connected ? "yes" : "no";
    $("health-reconnects").textContent = h.reconnects;
    $("health-age").textContent = h.last_frame_age_s === null ? "never" : h.last_frame_age_s.toFixed(1) + " s ago";
  }
}

// -- rates --------------------------------------------------------------------
function showRates(r) {
  const body = $("rates").tBodies[0];
  body.replaceChildren(...r.rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.type = row.type;
    for (const [cls, text] of [["type", row.type], ["frames", row.frames], ["fps", row.fps.toFixed(2)],
                               ["bps", formatBytes(row.bps) + "/s"], ["dropped", row.dropped]]) {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }));
  $("gaps").textContent = r.gaps;
  const h = r.history;
  const now = h.t.length ? h.t[h.t.length - 1] : 0;
  const x = h.t.map((t) => t - now);
  const traces = (series) => Object.keys(series).map((t) => ({ x, y: series[t], name: t, mode: "lines" }));
  Plotly.react("fps-plot", traces(h.fps), layout("seconds", "frames/s", true), SMALL_PLOT_CONFIG);
  Plotly.react("bps-plot", traces(h.bps), layout("seconds", "bytes/s", true), SMALL_PLOT_CONFIG);
}

// -- choices ------------------------------------------------------------------
function fillSelect(select, values, labels) {
  const current = select.value;
  const same = select.options.length === values.length &&
    values.every((v, i) => select.options[i].value === v);
  if (same) return false;
  select.replaceChildren(...values.map((v, i) => new Option(labels ? labels[i] : v, v)));
  if (values.includes(current)) select.value = current;
  return true;
}

function showChoices(c) {
  const keySel = $("ts-key");
  fillSelect(keySel, c.timestream_keys);
  if (keySel.value && keySel.value !== state.tsKey) chooseKey(keySel.value);
  const values = [], labels = [];
  // the fastest-changing types first: a Timepoint's values are the likeliest wanted
  const order = (t) => ["Timepoint", "Housekeeping", "GcpSlow", "Scan"].indexOf(t) >>> 0;
  const types = Object.keys(c.scalar_keys).sort((a, b) => order(a) - order(b));
  for (const type of types) {
    const keys = c.scalar_keys[type];
    for (const k of keys) { values.push(type + "\u0000" + k); labels.push(type + " / " + k); }
  }
  const scSel = $("sc-choice");
  fillSelect(scSel, values, labels);
  if (scSel.value && scSel.value !== state.scalar) { state.scalar = scSel.value; sendChoice(); }
}

async function chooseKey(key) {
  state.tsKey = key;
  const resp = await fetch("api/channels?key=" + encodeURIComponent(key));
  const data = await resp.json();
  state.channels = data.channels;
  if (!state.chosenChannels || !state.chosenChannels.every((c) => state.channels.includes(c))) {
    state.chosenChannels = state.channels.slice(0, DEFAULT_CHANNELS);
  }
  listChannels();
  sendChoice();
}

function listChannels() {
  const filter = $("ts-filter").value.toLowerCase();
  const sel = $("ts-channels");
  const chosen = new Set(state.chosenChannels || []);
  const shown = state.channels.filter((c) => chosen.has(c) || c.toLowerCase().includes(filter))
    .slice(0, MAX_LISTED_CHANNELS);
  sel.replaceChildren(...shown.map((c) => new Option(c, c, false, chosen.has(c))));
}

function sendChoice(force) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return;
  const msg = { type: "choose" };
  if (state.tsKey) {
    msg.timestream = { key: state.tsKey, channels: state.chosenChannels,
                       seconds: Number($("ts-seconds").value) || 10, columns: plotColumns($("ts-plot")) };
  }
  if (state.scalar) {
    const [type, key] = state.scalar.split("\u0000");
    msg.scalar = { type, key, columns: plotColumns($("sc-plot")) };
  }
  const text = JSON.stringify(msg);
  if (text !== state.sentChoice || force) { state.ws.send(text); state.sentChoice = text; }
}

// -- plots --------------------------------------------------------------------
function showTimestream(ts) {
  const div = $("ts-plot");
  if (!ts || ts.key !== state.tsKey) return;
  div.dataset.columns = ts.columns || 0;
  div.dataset.samples = ts.n_samples;
  div.dataset.seconds = ts.seconds || 0;
  const traces = ts.channels.map((name, i) => ({ x: ts.t, y: ts.y[i] || [], name, mode: "lines" }));
  Plotly.react(div, traces, layout("seconds before the newest sample", ts.key), PLOT_CONFIG);
  $("ts-info").textContent = ts.n_samples + " samples in " + (2 * (ts.columns || 0)) + " points max";
}

function showScalar(sc) {
  if (!sc) return;
  const div = $("sc-plot");
  div.dataset.samples = sc.n;
  Plotly.react(div, [{ x: sc.t, y: sc.y, name: sc.type + " / " + sc.key, mode: "lines+markers",
                       marker: { size: 3 } }],
               layout("seconds ago", sc.key), PLOT_CONFIG);
  $("sc-info").textContent = sc.n + " frames";
}

// -- inspector ----------------------------------------------------------------
function showInspector(insp, now) {
  const root = $("inspector");
  for (const [type, info] of Object.entries(insp)) {
    let det = root.querySelector(`details[data-type="${type}"]`);
    if (!det) {
      det = document.createElement("details");
      det.dataset.type = type;
      det.innerHTML = "<summary><b></b> <span class=\"count\"></span><span class=\"age\"></span></summary>" +
        "<table class=\"keys\"><tbody></tbody></table>";
      root.appendChild(det);
    }
    det.querySelector("summary b").textContent = type;
    det.querySelector(".count").textContent = info.keys.length + " keys";
    det.querySelector(".age").textContent = "received " + Math.max(0, now - info.received).toFixed(1) + " s ago";
    if (state.inspectorReceived[type] === info.received) continue;
    state.inspectorReceived[type] = info.received;
    const body = det.querySelector("tbody");
    body.replaceChildren(...info.keys.map((k) => {
      const tr = document.createElement("tr");
      tr.className = "key";
      tr.dataset.key = k.key;
      for (const text of [k.key, k.type, k.summary]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      tr.addEventListener("click", () => toggleDetail(tr, type, k.key));
      return tr;
    }));
    for (const key of state.openDetails) {
      const [t, k] = key.split("\u0000");
      if (t !== type) continue;
      const tr = body.querySelector(`tr[data-key="${CSS.escape(k)}"]`);
      if (tr) { state.openDetails.delete(key); toggleDetail(tr, type, k); }
    }
  }
}

async function toggleDetail(tr, type, key) {
  const id = type + "\u0000" + key;
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("detail-row")) {
    next.remove();
    state.openDetails.delete(id);
    return;
  }
  state.openDetails.add(id);
  const row = document.createElement("tr");
  row.className = "detail-row";
  const td = document.createElement("td");
  td.colSpan = 3;
  const pre = document.createElement("pre");
  pre.className = "detail";
  pre.textContent = "loading\u2026";
  td.appendChild(pre);
  row.appendChild(td);
  tr.after(row);
  const resp = await fetch("api/detail?type=" + encodeURIComponent(type) + "&key=" + encodeURIComponent(key));
  pre.textContent = await resp.text();
}

// -- connection ---------------------------------------------------------------
function onUpdate(msg) {
  const s = msg.shared;
  state.updates += 1;
  state.lastUpdate = Date.now();
  $("source").textContent = s.source;
  showHealth(s.health, true);
  showRates(s.rates);
  showChoices(s.choices);
  showTimestream(msg.own.timestream);
  showScalar(msg.own.scalar);
  showInspector(s.inspector, s.now);
}

function connect() {
  const url = new URL("ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onopen = () => { state.sentChoice = ""; sendChoice(true); };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "update") onUpdate(msg);
  };
  ws.onclose = () => { showHealth(null, false); setTimeout(connect, 1000); };
}

$("ts-key").addEventListener("change", (e) => { state.chosenChannels = null; chooseKey(e.target.value); });
$("ts-filter").addEventListener("input", listChannels);
$("ts-channels").addEventListener("change", (e) => {
  const shown = new Set([...e.target.options].map((o) => o.value));
  const kept = (state.chosenChannels || []).filter((c) => !shown.has(c));
  state.chosenChannels = kept.concat([...e.target.selectedOptions].map((o) => o.value));
  sendChoice();
});
$("ts-seconds").addEventListener("change", () => sendChoice());
$("sc-choice").addEventListener("change", (e) => { state.scalar = e.target.value; sendChoice(); });
window.addEventListener("resize", () => sendChoice());
setInterval(() => {
  // the page itself notices a server that stopped talking
  if (state.lastUpdate && Date.now() - state.lastUpdate > 5000) showHealth(null, false);
}, 1000);
connect();
