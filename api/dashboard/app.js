/*
 * shoal's dashboard.  State comes from the API once (host, placement,
 * guests, recent events) and is then kept live by one /v1/events stream
 * with latency=1: each event that changes where or whether guests run
 * makes the page fetch /v1/placement and /v1/guests again, and the
 * once-a-second "latency" summary gives every guest's 10 s window, kept
 * here as a 5-minute series per guest.  The histogram is the selected
 * guest's /v1/guests/NAME/latency and its devices' counters come with
 * /v1/guests/NAME, both fetched every few seconds.  With a token (the TCP
 * listener), every request carries it as a bearer token.
 */
"use strict";

const SERIES_S = 300; /* seconds of latency kept per guest */
const HIST_EVERY_MS = 5000;
const EVENTS_SHOWN = 200;
const MOVES_SHOWN = 100;
const REFRESH_ON = new Set(["placement", "placement_failed", "pinned", "started", "stopped", "exited",
	"deployed", "deleted", "adopted", "hung", "responsive", "start_failed", "restart", "stop", "rollback"]);

const st = {
	host: null,
	placement: null,
	guests: new Map(),   /* name -> /v1/guests entry */
	lat: new Map(),      /* name -> the last latency summary of it */
	series: new Map(),   /* name -> [{t, p50, p90, p99, misses}] */
	moves: [],           /* {time, guest, what, reason, operator} newest first */
	events: [],          /* newest first */
	lastId: 0,
	selected: sessionStorage.getItem("shoal-selected") || "",
	hist: null,
	detail: null,        /* the selected guest's /v1/guests/NAME: its devices' counters */
	moved: new Map(),    /* name -> time of its last move, to flash its chip */
};

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
	const e = document.createElement(tag);
	if (cls) e.className = cls;
	if (text !== undefined && text !== null) e.textContent = String(text);
	return e;
}

function svgEl(tag, attrs, text) {
	const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
	if (text !== undefined) e.textContent = text;
	return e;
}

/* ---- talking to shoald ---- */

function token() {
	return sessionStorage.getItem("shoal-token") || "";
}

function headers() {
	const h = { Accept: "application/json" };
	if (token()) h.Authorization = "Bearer " + token();
	return h;
}

class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

async function api(path, opts) {
	const r = await fetch(path, Object.assign({ headers: headers(), cache: "no-store" }, opts || {}));
	if (!r.ok) {
		let msg = r.status + " " + r.statusText;
		try {
			const j = await r.json();
			if (j && j.error) msg = j.error.message + " (" + j.error.code + ")";
		} catch (e) { /* not JSON */ }
		throw new ApiError(r.status, msg);
	}
	return r.json();
}

function showError(err) {
	const box = $("error");
	if (!err) {
		box.hidden = true;
		return;
	}
	box.textContent = String(err.message || err);
	box.hidden = false;
	if (err.status === 401 || err.status === 403) {
		setLive("denied", "token needed");
		$("token-form").hidden = false;
		$("token-note").textContent = "shoald refused the request: give an API token";
	}
}

function setLive(state, text) {
	$("live").dataset.state = state;
	$("live-text").textContent = text;
}

/* ---- formatting ---- */

function fmtUs(us) {
	if (us === undefined || us === null || !isFinite(us)) return "–";
	if (us >= 100000) return (us / 1000).toFixed(0) + " ms";
	if (us >= 10000) return (us / 1000).toFixed(1) + " ms";
	if (us >= 1000) return (us / 1000).toFixed(2) + " ms";
	if (us >= 100) return us.toFixed(0) + " µs";
	return us.toFixed(1) + " µs";
}

/* As shoalctl prints sizes: "0 B", "1.5 KiB", "48 KiB", "64 MiB". */
function fmtBytes(b) {
	if (b === undefined || b === null || !isFinite(b)) return "–";
	const units = ["B", "KiB", "MiB", "GiB", "TiB"];
	let u = 0;
	while (b >= 1024 && u < units.length - 1) {
		b /= 1024;
		u++;
	}
	if (!u) return b.toFixed(0) + " B";
	return (b < 10 && b !== Math.floor(b) ? b.toFixed(1) : b.toFixed(0)) + " " + units[u];
}

function count(n, one, many) {
	return n + " " + (n === 1 ? one : many || one + "s");
}

/* A guest's first NIC's address without its prefix, "–" when it has none. */
function firstAddress(g) {
	const ip = g && g.net && g.net.length ? g.net[0].ipv4 : null;
	return ip ? ip.split("/")[0] : "–";
}

function fmtTime(iso) {
	if (!iso) return "";
	const d = new Date(iso);
	return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false });
}

/* ok, warn, over or none: the guest's p99 against its SLO. */
function latencyClass(name) {
	const l = st.lat.get(name);
	const g = st.guests.get(name);
	const slo = (l && l.slo_us) || (g && g.spec && g.spec.slo_us) || 0;
	const p99 = l ? l.p99_us : g && g.latency ? g.latency.p99_us : undefined;
	if (p99 === undefined || p99 === null || !slo) return "none";
	if (p99 > slo) return "over";
	return p99 > 0.8 * slo ? "warn" : "ok";
}

function p99Of(name) {
	const l = st.lat.get(name);
	if (l && l.p99_us !== undefined) return l.p99_us;
	const g = st.guests.get(name);
	return g && g.latency ? g.latency.p99_us : undefined;
}

function guestClass(name) {
	const p = placementOf(name);
	if (p) return p.class;
	const g = st.guests.get(name);
	return g && g.spec ? g.spec.latency_class : "latency";
}

function placementOf(name) {
	return st.placement ? st.placement.guests.find((g) => g.name === name) : undefined;
}

/* ---- the CPU map ---- */

function chip(name) {
	const g = st.guests.get(name);
	const p = placementOf(name);
	const c = el("div", "chip " + latencyClass(name));
	c.dataset.guest = name;
	c.dataset.class = guestClass(name);
	if (p && p.cpu !== null && p.cpu !== undefined) c.dataset.cpu = p.cpu;
	if (name === st.selected) c.classList.add("selected");
	const moved = st.moved.get(name);
	if (moved && Date.now() - moved < 1600) c.classList.add("flash");
	c.append(el("span", "chip-name", name));
	const slo = (p && p.slo_us) || (g && g.spec && g.spec.slo_us);
	const state = g ? g.state : p ? p.state : "";
	if (state && state !== "running") c.append(el("span", "chip-state", state));
	const lat = el("span", "chip-lat", "p99 " + fmtUs(p99Of(name)));
	lat.dataset.latency = "p99";
	c.append(lat);
	if (slo) c.append(el("span", "chip-slo", "/ " + fmtUs(slo)));
	if (p && p.pinned && p.pinned.length) c.title = "pinned by the operator to CPU " + p.pinned.join(",");
	c.addEventListener("click", () => select(name));
	return c;
}

function renderMap() {
	const map = $("cpu-map");
	const pl = st.placement;
	map.replaceChildren();
	if (!pl) return;
	const nodes = new Map();
	for (const cpu of pl.cpus) {
		if (!nodes.has(cpu.node)) nodes.set(cpu.node, []);
		nodes.get(cpu.node).push(cpu);
	}
	const placed = new Set();
	for (const [node, cpus] of [...nodes.entries()].sort((a, b) => a[0] - b[0])) {
		const row = el("div", "node-row");
		if (nodes.size > 1) row.append(el("div", "node-label", "NUMA node " + node));
		const grid = el("div", cpus.length <= 4 ? "cpus few" : "cpus");
		for (const cpu of cpus) {
			const box = el("div", "cpu");
			box.dataset.cpu = cpu.cpu;
			box.dataset.role = cpu.role;
			const head = el("div", "cpu-head");
			head.append(el("span", "cpu-name", "CPU " + cpu.cpu), el("span", "role", cpu.role + " · core " + cpu.core),
				el("span", "num", Math.round((cpu.use || 0) * 100) + " % · " + cpu.vcpus + " vCPU"));
			const use = el("div", "use");
			const bar = el("div");
			bar.style.width = Math.min(100, Math.round((cpu.use || 0) * 100)) + "%";
			use.append(bar);
			const chips = el("div", "chips");
			for (const name of cpu.guests) {
				chips.append(chip(name));
				placed.add(name);
			}
			if (!cpu.guests.length) chips.append(el("div", "empty", cpu.role === "dom0" ? "kept for the host" : "no guests"));
			box.append(head, use, chips);
			grid.append(box);
		}
		row.append(grid);
		map.append(row);
	}
	const rest = [...st.guests.keys()].filter((n) => !placed.has(n)).sort();
	if (rest.length) {
		const row = el("div", "node-row");
		row.append(el("div", "node-label", pl.enabled ? "not on a CPU (not running)" : "placement off: wherever the host puts them"));
		const grid = el("div", "cpus");
		const box = el("div", "cpu");
		box.dataset.role = "none";
		const chips = el("div", "chips");
		for (const name of rest) chips.append(chip(name));
		box.append(chips);
		grid.append(box);
		row.append(grid);
		map.append(row);
	}
	const f = $("placement-facts");
	f.replaceChildren();
	const lp = pl.last_period || {};
	const fact = (k, v) => { const s = el("span", null, k + " "); s.append(el("b", null, v)); return s; };
	f.append(fact("placement", pl.enabled ? "on" : "off"), fact("period", pl.period_ms + " ms"),
		fact("latency CPUs", lp.latency_cpus !== undefined ? lp.latency_cpus : "–"),
		fact("batch CPUs", lp.batch_cpus !== undefined ? lp.batch_cpus : "–"),
		fact("over SLO", lp.over_slo !== undefined ? lp.over_slo : "–"));
}

/* ---- the guests ---- */

function renderGuests() {
	const body = $("guests").tBodies[0];
	body.replaceChildren();
	const names = [...st.guests.keys()].sort();
	let running = 0, over = 0;
	for (const name of names) {
		const g = st.guests.get(name);
		const l = st.lat.get(name) || g.latency || {};
		const p = placementOf(name);
		const lc = latencyClass(name);
		running += g.state === "running";
		over += lc === "over" && guestClass(name) === "latency";
		const tr = el("tr");
		tr.dataset.guest = name;
		if (name === st.selected) tr.className = "selected";
		const exit = g.last_exit ? g.last_exit.reason + " (" + g.last_exit.status + ")" : "";
		tr.append(el("td", null, name), el("td", null, g.spec ? g.spec.latency_class : ""),
			el("td", "state-" + g.state, g.state), el("td", "addr", firstAddress(g)),
			el("td", "num", p && p.cpu !== null && p.cpu !== undefined ? p.cpu : "–"),
			el("td", "num", fmtUs(l.p50_us)), el("td", "num " + lc, fmtUs(l.p99_us)),
			el("td", "num", g.spec ? fmtUs(g.spec.slo_us) : ""),
			el("td", "num", l.misses !== undefined ? l.misses : "–"),
			el("td", "num", g.restarts), el("td", "dim", exit));
		tr.addEventListener("click", () => select(name));
		body.append(tr);
	}
	const f = $("guest-facts");
	f.replaceChildren();
	f.append(el("span", null, names.length + " guests, " + running + " running, " + over + " latency guest" +
		(over === 1 ? "" : "s") + " over the SLO"));
}

/* ---- one guest's latency ---- */

function select(name) {
	st.selected = name;
	sessionStorage.setItem("shoal-selected", name);
	st.hist = null;
	st.detail = null;
	renderAll();
	fetchSelected();
}

function pickDefault() {
	if (st.selected && st.guests.has(st.selected)) return;
	const names = [...st.guests.keys()].sort();
	st.selected = names.find((n) => guestClass(n) === "latency") || names[0] || "";
}

function renderSeries() {
	const svg = $("lat-series");
	svg.replaceChildren();
	const W = 640, H = 220, L = 52, R = 8, T = 10, B = 22;
	const name = st.selected;
	const pts = st.series.get(name) || [];
	const g = st.guests.get(name);
	const slo = g && g.spec ? g.spec.slo_us : 0;
	const now = Date.now() / 1000;
	/* The last 5 minutes, or less while there is less to show (at least a minute). */
	const span = pts.length ? Math.min(SERIES_S, Math.max(60, Math.ceil((now - pts[0].t) / 60) * 60)) : 60;
	let ymax = slo ? slo * 1.15 : 0;
	for (const p of pts) ymax = Math.max(ymax, p.p99 || 0, p.p90 || 0);
	ymax = niceCeil(ymax || 100);
	const x = (t) => L + (W - L - R) * (1 - (now - t) / span);
	const y = (v) => T + (H - T - B) * (1 - Math.min(v, ymax) / ymax);
	svg.append(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
	for (let i = 0; i <= 4; i++) {
		const v = (ymax * i) / 4;
		svg.append(svgEl("line", { class: "axis", x1: L, y1: y(v), x2: W - R, y2: y(v), "stroke-opacity": 0.5 }));
		svg.append(svgEl("text", { class: "tick", x: L - 4, y: y(v) + 4, "text-anchor": "end" }, v ? fmtUs(v) : "0"));
	}
	const step = span <= 60 ? 10 : 60;
	for (let s = 0; s <= span; s += step)
		svg.append(svgEl("text", { class: "tick", x: x(now - s), y: H - 6, "text-anchor": s === span ? "start" : s ? "middle" : "end" },
			s ? (step < 60 ? "-" + s + " s" : "-" + s / 60 + " min") : "now"));
	if (slo) svg.append(svgEl("line", { class: "slo", x1: L, y1: y(slo), x2: W - R, y2: y(slo) }));
	for (const k of ["p50", "p90", "p99"]) {
		const d = pts.filter((p) => p[k] !== undefined && p.t >= now - span).map((p, i) => (i ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p[k]).toFixed(1)).join(" ");
		if (d) svg.append(svgEl("path", { class: k, d }));
	}
	if (!pts.length)
		svg.append(svgEl("text", { class: "note", x: W / 2, y: H / 2, "text-anchor": "middle" },
			name ? "waiting for " + name + "'s first latency figures" : "no guest selected"));
}

function niceCeil(v) {
	const p = Math.pow(10, Math.floor(Math.log10(v)));
	for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
	return 10 * p;
}

function renderHist() {
	const svg = $("lat-hist");
	svg.replaceChildren();
	const W = 640, H = 220, L = 52, R = 8, T = 10, B = 22;
	const h = st.hist;
	if (!h || h.name !== st.selected || !h.buckets.length) {
		svg.append(svgEl("text", { class: "note", x: W / 2, y: H / 2, "text-anchor": "middle" },
			st.selected ? "no probes answered in the last 60 s" : "no guest selected"));
		return;
	}
	const b = h.buckets;
	const slo = (st.guests.get(h.name) || {}).spec ? st.guests.get(h.name).spec.slo_us : 0;
	const cmax = Math.max(...b.map((x) => x.count));
	const tick = Math.max(1, niceCeil(cmax / 4)); /* whole probes a tick */
	const ymax = tick * Math.max(1, Math.ceil(cmax / tick));
	const nticks = Math.round(ymax / tick);
	const n = b.length, bw = (W - L - R) / n;
	const y = (v) => T + (H - T - B) * (1 - v / ymax);
	for (let i = 0; i <= nticks; i++) {
		const v = tick * i;
		svg.append(svgEl("line", { class: "axis", x1: L, y1: y(v), x2: W - R, y2: y(v), "stroke-opacity": 0.5 }));
		svg.append(svgEl("text", { class: "tick", x: L - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
	}
	b.forEach((k, i) => {
		const r = svgEl("rect", { class: "bar" + (slo && k.lo_us >= slo ? " over" : ""), x: L + i * bw + 1, y: y(k.count),
			width: Math.max(1, bw - 2), height: H - B - y(k.count) });
		r.append(svgEl("title", {}, fmtUs(k.lo_us) + " – " + fmtUs(k.hi_us) + ": " + k.count));
		svg.append(r);
	});
	const every = Math.max(1, Math.ceil(n / 6));
	for (let i = 0; i < n; i += every)
		svg.append(svgEl("text", { class: "tick", x: L + i * bw + bw / 2, y: H - 6, "text-anchor": "middle" }, fmtUs(b[i].lo_us)));
}

function renderLatency() {
	const name = st.selected;
	$("lat-guest").textContent = name ? "— " + name : "";
	const f = $("lat-facts");
	f.replaceChildren();
	const l = st.lat.get(name);
	if (l) {
		for (const [k, v] of [["p50", fmtUs(l.p50_us)], ["p90", fmtUs(l.p90_us)], ["p99", fmtUs(l.p99_us)],
			["max", fmtUs(l.max_us)], ["SLO", fmtUs(l.slo_us)], ["misses", l.misses !== undefined ? l.misses : "–"]]) {
			const s = el("span", null, k + " ");
			s.append(el("b", null, v));
			f.append(s);
		}
	}
	renderSeries();
	renderHist();
	renderDevices();
}

async function fetchHist() {
	const name = st.selected;
	if (!name) return;
	try {
		const j = await api("/v1/guests/" + encodeURIComponent(name) + "/latency?buckets=60s");
		if (name === st.selected) {
			st.hist = j;
			renderHist();
		}
	} catch (e) {
		if (e.status !== 404) showError(e);
	}
}

/* ---- one guest's devices ---- */

/* A counter's cell: its text, or "–" while the guest does not run (no counters). */
function counterCell(c, text, bad) {
	const td = el("td", bad ? "bad" : null, c ? text : "–");
	if (c) td.dataset.counters = "1";
	else td.title = "counters come while the guest runs";
	return td;
}

function deviceHead(name, kind) {
	const td = el("td");
	td.append(el("b", null, name), el("span", "kind", kind));
	return td;
}

function renderDevices() {
	const body = $("devices").tBodies[0];
	body.replaceChildren();
	const name = st.selected;
	/* The list's entry until the guest's own answer (with the counters) comes. */
	const g = st.detail && st.detail.name === name ? st.detail : st.guests.get(name);
	const disks = (g && g.disks) || [], nics = (g && g.net) || [];
	for (const d of disks) {
		const tr = el("tr");
		tr.dataset.device = d.name;
		tr.dataset.kind = "disk";
		const copy = d.readonly ? "read-only (shared)" : d.copy_of ? "its own copy (" + fmtBytes(d.copy_bytes) + ")" :
			"its own copy (not made yet)";
		const c = d.counters;
		tr.append(deviceHead(d.name, "disk"), el("td", "dim", "image " + String(d.image_sha256 || "?").slice(0, 12) + " · " + copy),
			counterCell(c, c && count(c.reads, "read") + " · " + fmtBytes(c.read_bytes)),
			counterCell(c, c && count(c.writes, "write") + " · " + fmtBytes(c.written_bytes)),
			counterCell(c, c && count(c.flushes, "flush", "flushes") + " · " + count(c.errors, "error"), c && c.errors > 0));
		body.append(tr);
	}
	for (const n of nics) {
		const tr = el("tr");
		tr.dataset.device = n.name;
		tr.dataset.kind = "nic";
		const where = [n.bridge + (n.tap ? " (tap " + n.tap + ")" : ""),
			n.ipv4 ? n.ipv4 + (n.gateway ? " via " + n.gateway : "") : "no address", n.mac].join(" · ");
		const c = n.counters;
		const bad = c && c.rx_errors + c.tx_errors + c.rx_dropped + c.tx_dropped > 0;
		tr.append(deviceHead(n.name, "nic"), el("td", "dim", where),
			counterCell(c, c && "rx " + count(c.rx_packets, "frame") + " · " + fmtBytes(c.rx_bytes)),
			counterCell(c, c && "tx " + count(c.tx_packets, "frame") + " · " + fmtBytes(c.tx_bytes)),
			counterCell(c, c && (c.rx_dropped + c.tx_dropped) + " dropped · " + count(c.rx_errors + c.tx_errors, "error") +
				" · rate-limited " + c.rx_rate_limited + "/" + c.tx_rate_limited +
				(c.rx_rate_dropped || c.tx_rate_dropped ? " · rate-dropped " + c.rx_rate_dropped + "/" + c.tx_rate_dropped : ""), bad));
		body.append(tr);
	}
	if (!disks.length && !nics.length) {
		const tr = el("tr");
		const td = el("td", "empty", name ? name + " has no disks or NICs" : "no guest selected");
		td.colSpan = 5;
		tr.append(td);
		body.append(tr);
	}
}

async function fetchDetail() {
	const name = st.selected;
	if (!name) return;
	try {
		const j = await api("/v1/guests/" + encodeURIComponent(name));
		if (name === st.selected) {
			st.detail = j;
			renderDevices();
		}
	} catch (e) {
		if (e.status !== 404) showError(e);
	}
}

/* What is fetched for the selected guest every few seconds: its histogram and its devices. */
function fetchSelected() {
	fetchHist();
	fetchDetail();
}

/* ---- moves and events ---- */

function moveText(m) {
	switch (m.kind) {
	case "pin": return "CPU " + m.from + " → " + m.to;
	case "weight": return "weight → " + m.weight;
	case "policy": return "class → " + m.policy;
	case "cpu-role": return "CPU " + m.cpu + " → " + m.role;
	default: return m.kind;
	}
}

function renderMoves() {
	const body = $("moves").tBodies[0];
	body.replaceChildren();
	for (const m of st.moves.slice(0, MOVES_SHOWN)) {
		const tr = el("tr", m.operator ? "operator" : "");
		tr.dataset.guest = m.guest;
		tr.append(el("td", null, fmtTime(m.time)), el("td", null, m.guest || "–"), el("td", null, m.what),
			el("td", "reason", m.reason));
		body.append(tr);
	}
	if (!st.moves.length) {
		const tr = el("tr");
		const td = el("td", "empty", "no moves yet");
		td.colSpan = 4;
		tr.append(td);
		body.append(tr);
	}
}

const BAD = new Set(["exited", "hung", "start_failed", "placement_failed", "console_flood"]);
const GOOD = new Set(["started", "adopted", "responsive", "deployed"]);

function renderEvents() {
	const ol = $("events");
	ol.replaceChildren();
	for (const e of st.events.slice(0, EVENTS_SHOWN)) {
		const li = el("li");
		const t = el("time", null, fmtTime(e.time));
		const type = el("span", "type" + (BAD.has(e.type) ? " bad" : GOOD.has(e.type) ? " good" :
			e.type === "placement" || e.type === "pinned" ? " move" : ""), e.type);
		li.append(t, type, el("span", null, e.message));
		ol.append(li);
	}
}

/* The operator's pins are moves too, though the control loop did not make them. */
function operatorMove(e) {
	const m = /now on CPU (-?\d+)/.exec(e.message);
	return { time: e.time, guest: e.guest, what: m ? "pinned: CPU " + m[1] : "unpinned", reason: e.message, operator: true };
}

function mergeMoves() {
	const loop = (st.placement ? st.placement.moves : []).map((m) => ({ time: m.time, guest: m.guest,
		what: moveText(m) + (m.applied ? "" : " (not applied)"), reason: m.reason, operator: false }));
	const ops = st.events.filter((e) => e.type === "pinned").map(operatorMove);
	st.moves = loop.concat(ops).sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

/* ---- state ---- */

function renderHost() {
	const h = st.host;
	if (!h) return;
	$("host-name").textContent = h.hostname;
	document.title = "shoal — " + h.hostname;
	const f = $("host-facts");
	f.replaceChildren();
	const fact = (k, v) => { const s = el("span", null, k + " "); s.append(el("b", null, v)); return s; };
	f.append(fact("shoald", h.version), fact("backend", h.backend), fact("CPUs", h.cpus),
		fact("memory", h.memory_mib.total + " MiB"));
}

function renderAll() {
	renderMap();
	renderGuests();
	renderLatency();
	renderMoves();
	renderEvents();
}

async function refresh() {
	const [pl, guests] = await Promise.all([api("/v1/placement"), api("/v1/guests")]);
	st.placement = pl;
	st.guests = new Map(guests.map((g) => [g.name, g]));
	for (const m of [st.lat, st.series, st.moved])
		for (const name of [...m.keys()]) if (!st.guests.has(name)) m.delete(name);
	pickDefault();
	mergeMoves();
	renderAll();
}

let refreshTimer = null;
function refreshSoon() {
	if (refreshTimer) return;
	refreshTimer = setTimeout(async () => {
		refreshTimer = null;
		try {
			await refresh();
		} catch (e) {
			showError(e);
		}
	}, 150);
}

function onLatency(ev) {
	const t = Date.parse(ev.time) / 1000 || Date.now() / 1000;
	for (const g of ev.guests || []) {
		st.lat.set(g.name, g);
		if (g.p99_us === undefined) continue;
		let s = st.series.get(g.name);
		if (!s) st.series.set(g.name, (s = []));
		s.push({ t, p50: g.p50_us, p90: g.p90_us, p99: g.p99_us, misses: g.misses });
		while (s.length && s[0].t < t - SERIES_S) s.shift();
	}
	renderMap();
	renderGuests();
	renderLatency();
}

function onEvent(ev) {
	if (ev.type === "latency") {
		onLatency(ev);
		return;
	}
	if (ev.id && ev.id <= st.lastId) return; /* seen already (a reconnect replays) */
	if (ev.id) st.lastId = ev.id;
	st.events.unshift(ev);
	st.events.length = Math.min(st.events.length, EVENTS_SHOWN);
	if (ev.type === "placement" || ev.type === "pinned") st.moved.set(ev.guest, Date.now());
	if (ev.type === "pinned") mergeMoves();
	renderEvents();
	renderMoves();
	if (REFRESH_ON.has(ev.type)) refreshSoon();
}

/* One stream; reconnects from the last event seen, so nothing is missed. */
async function follow() {
	let wait = 1000;
	for (;;) {
		try {
			const r = await fetch("/v1/events?follow=1&latency=1&since=" + st.lastId, { headers: headers(), cache: "no-store" });
			if (!r.ok) throw new ApiError(r.status, "the event stream: " + r.status + " " + r.statusText);
			setLive("live", "live");
			showError(null);
			wait = 1000;
			const reader = r.body.getReader();
			const dec = new TextDecoder();
			let buf = "";
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				buf += dec.decode(value, { stream: true });
				let nl;
				while ((nl = buf.indexOf("\n")) >= 0) {
					const line = buf.slice(0, nl).trim();
					buf = buf.slice(nl + 1);
					if (!line) continue; /* a ping */
					try {
						onEvent(JSON.parse(line));
					} catch (e) {
						console.error("bad event line", line, e);
					}
				}
			}
			throw new Error("the event stream ended");
		} catch (e) {
			if (e.status === 401 || e.status === 403) {
				showError(e);
				await new Promise((res) => (tokenWaiter = res));
				continue;
			}
			setLive("reconnecting", "reconnecting");
			await new Promise((res) => setTimeout(res, wait));
			wait = Math.min(wait * 2, 10000);
			try {
				await refresh(); /* what happened while the stream was down */
			} catch (e2) { /* the next round says */ }
		}
	}
}

let tokenWaiter = null;

function setupToken() {
	$("token-button").addEventListener("click", () => {
		$("token-form").hidden = !$("token-form").hidden;
		if (!$("token-form").hidden) $("token-input").focus();
	});
	$("token-form").addEventListener("submit", (e) => {
		e.preventDefault();
		sessionStorage.setItem("shoal-token", $("token-input").value.trim());
		$("token-input").value = "";
		$("token-form").hidden = true;
		start();
	});
	$("token-clear").addEventListener("click", () => {
		sessionStorage.removeItem("shoal-token");
		$("token-note").textContent = "forgotten";
	});
}

let started = false;
async function start() {
	try {
		const [host, events] = await Promise.all([api("/v1/host"), api("/v1/events?follow=0&limit=" + EVENTS_SHOWN)]);
		st.host = host;
		st.events = events.slice().reverse();
		st.lastId = events.length ? events[events.length - 1].id : 0;
		renderHost();
		await refresh();
		showError(null);
	} catch (e) {
		showError(e);
		if (e.status === 401 || e.status === 403) return;
	}
	if (tokenWaiter) {
		const w = tokenWaiter;
		tokenWaiter = null;
		w();
	}
	if (!started) {
		started = true;
		follow();
		setInterval(fetchSelected, HIST_EVERY_MS);
		fetchSelected();
	}
}

setupToken();
start();
