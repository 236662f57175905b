// porthole live dashboard: the live feed (Server-Sent Events from /feed), the swarm graph (SVG),
// the charts (uPlot), the peer table, the player (mpegts.js on /live.ts) and the demo's buttons.
// Plain browser JavaScript, no build step. window.dashboard exposes what the page saw (for tests).
'use strict';

const KEEP_POINTS = 300;
const SVG = 'http://www.w3.org/2000/svg';
const NAT_COLOURS = {
  open: '#66bb6a', firewalled: '#9ccc65', 'full-cone': '#26c6da', 'address-restricted': '#29b6f6',
  'port-restricted': '#ffca28', symmetric: '#ef5350', unknown: '#90a4ae',
};
const KIND_COLOURS = {
  direct: '#4caf50', predicted: '#ffb300', relay: '#e53935', edge: '#42a5f5', ingest: '#ab47bc', unknown: '#78909c',
};
const NAT_SHORT = {
  open: 'open', firewalled: 'fw', 'full-cone': 'cone', 'address-restricted': 'addr', 'port-restricted': 'port',
  symmetric: 'sym', unknown: '?',
};

const state = {
  connected: false, messages: 0, points: 0, errors: [], actions: {}, player: false,
  nodes: [], links: [], video: { stalls: 0, playing: false, currentTime: 0, errors: 0 },
};
window.dashboard = state;
window.addEventListener('error', (e) => state.errors.push(String(e.message)));

const $ = (id) => document.getElementById(id);
const fmtRate = (bps) => (bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : `${(bps / 1e3).toFixed(0)} kb/s`);
const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)} %`);
const ms = (v) => (v === null || v === undefined ? '–' : `${Math.round(v)}`);

// ---- charts ---------------------------------------------------------------------------------

const series = { t: [], offload: [], continuity: [], p50: [], p95: [], egress: [], peers: [], joins: [], leaves: [] };
const charts = {};
state.series = series;

function makeChart(id, lines, range) {
  const el = $(id);
  const opts = {
    width: Math.max(240, el.clientWidth || 260), height: 150,
    scales: { x: { time: true }, y: range ? { range } : {} },
    legend: { show: true, live: false },
    axes: [{ stroke: '#7d8a97', grid: { stroke: '#2a333d' } }, { stroke: '#7d8a97', grid: { stroke: '#2a333d' }, size: 44 }],
    series: [{}, ...lines.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: false }))],
  };
  return new uPlot(opts, [[], ...lines.map(() => [])], el);
}

function initCharts() {
  charts.offload = makeChart('chart-offload', [['offload', '#4caf50']], [0, 100]);
  charts.continuity = makeChart('chart-continuity', [['continuity', '#42a5f5']], [0, 100]);
  charts.latency = makeChart('chart-latency', [['p50', '#ffb300'], ['p95', '#e53935']]);
  charts.egress = makeChart('chart-egress', [['edge egress', '#ab47bc']]);
  charts.peers = makeChart('chart-peers', [['peers', '#d7dde4'], ['joined', '#4caf50'], ['left', '#e53935']]);
}

function pushPoint(p) {
  const n = (v, f = 1) => (v === null || v === undefined ? null : v * f);
  series.t.push(p.t / 1000);
  series.offload.push(n(p.offload, 100));
  series.continuity.push(n(p.continuity, 100));
  series.p50.push(n(p.p50Ms));
  series.p95.push(n(p.p95Ms));
  series.egress.push(p.edgeEgressBps / 1e6);
  series.peers.push(p.peers);
  series.joins.push(p.joins);
  series.leaves.push(p.leaves);
  for (const k of Object.keys(series)) if (series[k].length > KEEP_POINTS) series[k].shift();
  state.points++;
}

function drawCharts() {
  charts.offload.setData([series.t, series.offload]);
  charts.continuity.setData([series.t, series.continuity]);
  charts.latency.setData([series.t, series.p50, series.p95]);
  charts.egress.setData([series.t, series.egress]);
  charts.peers.setData([series.t, series.peers, series.joins, series.leaves]);
}

// ---- swarm graph ----------------------------------------------------------------------------

const positions = new Map();

function layout(nodes) {
  const sources = nodes.filter((n) => n.role === 'source');
  const edges = nodes.filter((n) => n.role === 'edge');
  const peers = nodes.filter((n) => n.role !== 'source' && n.role !== 'edge');
  positions.clear();
  sources.forEach((n, i) => positions.set(n.id, [60, (460 * (i + 1)) / (sources.length + 1)]));
  edges.forEach((n, i) => positions.set(n.id, [200, (460 * (i + 1)) / (edges.length + 1)]));
  const count = peers.length;
  peers.forEach((n, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, count);
    positions.set(n.id, [545 + 205 * Math.cos(a), 230 + 195 * Math.sin(a)]);
  });
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawGraph(nodes, links) {
  const svg = $('graph');
  layout(nodes);
  const frag = document.createDocumentFragment();
  for (const l of links) {
    const a = positions.get(l.from);
    const b = positions.get(l.to);
    if (!a || !b) continue;
    const width = 1 + Math.log2(1 + l.bps / 100e3);
    frag.append(el('line', {
      x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: KIND_COLOURS[l.kind] || KIND_COLOURS.unknown,
      'stroke-width': width.toFixed(1), 'data-kind': l.kind,
    }));
  }
  for (const n of nodes) {
    const [x, y] = positions.get(n.id);
    const g = el('g', { 'data-node-id': n.id, 'data-role': n.role, class: 'node' });
    const fill = n.role === 'source' ? KIND_COLOURS.ingest : n.role === 'edge' ? KIND_COLOURS.edge
      : NAT_COLOURS[n.nat] || NAT_COLOURS.unknown;
    const r = n.role === 'peer' ? 13 : 18;
    g.append(el('circle', { cx: x, cy: y, r, fill, stroke: n.flagged ? '#e53935' : '#0b0f13', 'stroke-width': n.flagged ? 4 : 2 }));
    g.append(el('text', { x, y: y + 4 }, n.role === 'peer' ? n.id.slice(0, 4) : n.role));
    g.append(el('text', { x, y: y + r + 12 }, n.role === 'peer' ? NAT_SHORT[n.nat] || n.nat : n.id.slice(0, 6)));
    const title = el('title', {}, `${n.id} (${n.role}, ${n.nat})`);
    g.append(title);
    frag.append(g);
  }
  svg.replaceChildren(frag);
  const peers = nodes.filter((n) => n.role === 'peer').length;
  $('swarm-summary').textContent = `${peers} peers, ${nodes.length - peers} other nodes, ${links.length} links`;
}

// ---- peer table -----------------------------------------------------------------------------

function drawTable(nodes) {
  const body = document.querySelector('#peers tbody');
  const rows = nodes.filter((n) => n.role !== 'source').map((n) => {
    const tr = document.createElement('tr');
    tr.dataset.nodeId = n.id;
    const cells = [n.id.slice(0, 12), n.flagged ? `${n.role} (flagged)` : n.role, n.nat, n.neighbours, fmtRate(n.upBps), fmtRate(n.downBps),
      pct(n.continuity), `${ms(n.p50Ms)} / ${ms(n.p95Ms)}`, n.stalls, n.bans];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = String(c);
      tr.append(td);
    }
    const td = document.createElement('td');
    if (state.actions.killPeer && n.role === 'peer') {
      const b = document.createElement('button');
      b.className = 'kill';
      b.type = 'button';
      b.textContent = 'kill';
      b.dataset.kill = n.id;
      b.addEventListener('click', () => act('kill-peer', { id: n.id }));
      td.append(b);
    }
    tr.append(td);
    return tr;
  });
  body.replaceChildren(...rows);
}

// ---- feed -----------------------------------------------------------------------------------

function onMessage(m) {
  state.messages++;
  state.nodes = m.nodes;
  state.links = m.links;
  state.channel = m.channel;
  pushPoint(m.point);
  drawCharts();
  drawGraph(m.nodes, m.links);
  drawTable(m.nodes);
}

function onHello(hello) {
  state.actions = hello.actions;
  state.player = hello.player;
  const any = Object.values(hello.actions).some(Boolean);
  $('actions').hidden = !any;
  $('add-peer').hidden = !hello.actions.addPeer;
  $('kill-peer').hidden = !hello.actions.killPeer;
  $('add-polluter').hidden = !hello.actions.addPolluter;
  $('impair-box').hidden = !hello.actions.impair;
  if (series.t.length === 0) for (const p of hello.history) pushPoint(p);
  if (hello.last) onMessage(hello.last);
  if (hello.player && !player) startPlayer();
}

function connect() {
  const source = new EventSource('feed');
  source.addEventListener('hello', (e) => onHello(JSON.parse(e.data)));
  source.onmessage = (e) => onMessage(JSON.parse(e.data));
  source.onopen = () => {
    state.connected = true;
    $('status').textContent = 'live';
    $('status').className = 'status ok';
  };
  source.onerror = () => {
    state.connected = false;
    $('status').textContent = 'reconnecting…';
    $('status').className = 'status bad';
  };
}

// ---- actions --------------------------------------------------------------------------------

async function act(name, body = {}) {
  const res = await fetch(`api/${name}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  $('status').textContent = res.ok ? `${name}: done` : `${name}: ${answer.error || res.status}`;
  return answer;
}
window.dashboardAct = act;

$('add-peer').addEventListener('click', () => act('add-peer'));
$('add-polluter').addEventListener('click', () => act('add-polluter'));
$('kill-peer').addEventListener('click', () => {
  const peers = state.nodes.filter((n) => n.role === 'peer');
  const victim = peers[Math.floor(Math.random() * peers.length)];
  return act('kill-peer', victim ? { id: victim.id } : {});
});
$('impair').addEventListener('click', () => act('impair', {
  lossPercent: Number($('impair-loss').value), delayMs: Number($('impair-delay').value),
}));

// ---- player ---------------------------------------------------------------------------------

let player;

function startPlayer() {
  const video = $('video');
  if (!window.mpegts || !mpegts.isSupported()) {
    $('video-state').textContent = 'this browser has no Media Source Extensions';
    return;
  }
  mpegts.LoggingControl.enableVerbose = false;
  mpegts.LoggingControl.enableDebug = false;
  mpegts.LoggingControl.enableInfo = false;
  player = mpegts.createPlayer(
    { type: 'mpegts', isLive: true, url: new URL('live.ts', location.href).href },
    { enableWorker: false, liveBufferLatencyChasing: true, lazyLoad: false, enableStashBuffer: false },
  );
  player.attachMediaElement(video);
  player.on(mpegts.Events.ERROR, (type, detail) => {
    state.video.errors++;
    $('video-state').textContent = `player: ${type} ${detail}; retrying`;
    restartPlayer();
  });
  player.load();
  const started = video.play();
  if (started) started.catch(() => {});
}

function restartPlayer() {
  if (!player) return;
  const old = player;
  player = undefined;
  old.destroy();
  setTimeout(startPlayer, 2000);
}

// A stall: playback started, the video is not paused, and its time has not moved for 1 s.
const video = $('video');
const watch = { lastTime: 0, lastMoveMs: 0, stalled: false };
video.addEventListener('playing', () => {
  state.video.playing = true;
  $('video-state').textContent = 'playing';
});
video.addEventListener('waiting', () => {
  state.video.waiting = (state.video.waiting || 0) + 1;
});
video.addEventListener('timeupdate', () => {
  state.video.currentTime = video.currentTime;
  $('video-time').textContent = video.currentTime.toFixed(1);
});
setInterval(() => {
  const now = performance.now();
  if (video.currentTime !== watch.lastTime) {
    watch.lastTime = video.currentTime;
    watch.lastMoveMs = now;
    if (watch.stalled) $('video-state').textContent = 'playing';
    watch.stalled = false;
    return;
  }
  if (!state.video.playing || video.paused || watch.stalled || now - watch.lastMoveMs < 1000) return;
  watch.stalled = true;
  state.video.stalls++;
  $('video-stalls').textContent = String(state.video.stalls);
  $('video-state').textContent = 'stalled';
}, 250);

initCharts();
connect();
