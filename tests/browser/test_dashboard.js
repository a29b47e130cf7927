/*
 * The dashboard in a real browser: a real shoald with real KVM guests
 * (latency and batch), the page opened through `shoalctl ui` in headless
 * Chromium (Debian's, driven by playwright-core), every guest checked on
 * the CPU map with a latency figure, a pin made through the API checked to
 * show up live (no reload) on the map and in the moves log with its
 * reason, the guests' address column, the selected guest's devices (a
 * disk, with its counters when shoald gives them), and a screenshot saved
 * as the test's artefact
 * ($top_builddir/tests/browser/dashboard.png).  TAP on stdout; run by
 * tests/browser/test_dashboard.sh, which installs playwright-core.
 */
"use strict";

const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");

const SRC = path.resolve(process.env.top_srcdir || ".");
const BUILD = path.resolve(process.env.top_builddir || ".");
const CHROMIUM = process.env.SHOAL_CHROMIUM || "/usr/bin/chromium";
const SHOT = path.join(BUILD, "tests/browser/dashboard.png");
const WAIT_MS = 20000; /* the longest any one check waits for the page */

let n = 0, failed = 0;
function ok(cond, what, ...diag) {
	n++;
	console.log((cond ? "ok " : "not ok ") + n + " - " + what);
	if (!cond) {
		failed++;
		for (const d of diag) for (const line of String(d).split("\n")) console.log("# " + line);
	}
	return cond;
}
function diag(...lines) {
	for (const l of lines) for (const line of String(l).split("\n")) console.log("# " + line);
}

/* ---- shoald on its unix socket ---- */

function api(sock, method, p, body) {
	return new Promise((resolve, reject) => {
		const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
		const req = http.request({ socketPath: sock, method, path: p, headers: Object.assign({ Host: "localhost" },
			data ? { "Content-Type": "application/json", "Content-Length": data.length } : {}) }, (res) => {
			const parts = [];
			res.on("data", (c) => parts.push(c));
			res.on("end", () => {
				const text = Buffer.concat(parts).toString();
				let json = null;
				try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
				resolve({ status: res.statusCode, headers: res.headers, text, json });
			});
		});
		req.on("error", reject);
		req.setTimeout(30000, () => req.destroy(new Error("no answer in 30 s")));
		if (data) req.write(data);
		req.end();
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Shoald {
	constructor() {
		this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "shoal-ui-"));
		this.sock = path.join(this.dir, "run/shoald.sock");
		this.log = path.join(this.dir, "shoald.log");
		/* A copy of the tender: this test's tenders are known by their executable. */
		this.vmm = path.join(this.dir, "shoal-vmm");
		fs.copyFileSync(path.join(BUILD, "vmm/shoal-vmm"), this.vmm);
		fs.chmodSync(this.vmm, 0o755);
	}

	async start() {
		const out = fs.openSync(this.log, "a");
		this.proc = spawn(path.join(BUILD, "daemon/shoald"), ["--config=/dev/null", "--state-dir=" + this.dir + "/state",
			"--run-dir=" + this.dir + "/run", "--vmm=" + this.vmm, "--log-level=debug", "--ui-dir=" + path.join(SRC, "api/dashboard")],
			{ stdio: ["ignore", out, out] });
		for (let i = 0; i < 200; i++) {
			if (this.proc.exitCode !== null) return false;
			try {
				if ((await api(this.sock, "GET", "/v1/host")).status === 200) return true;
			} catch (e) { /* not yet */ }
			await sleep(50);
		}
		return false;
	}

	tenders() {
		const pids = [];
		for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
			try {
				if (fs.readlinkSync("/proc/" + pid + "/exe") === this.vmm) pids.push(Number(pid));
			} catch (e) { /* gone */ }
		}
		return pids;
	}

	async stop() {
		if (this.proc && this.proc.exitCode === null) {
			this.proc.kill("SIGKILL");
			await new Promise((r) => this.proc.once("exit", r));
		}
		for (let i = 0; i < 50; i++) {
			const left = this.tenders();
			if (!left.length) return true;
			for (const pid of left) try { process.kill(pid, "SIGKILL"); } catch (e) { /* gone */ }
			await sleep(50);
		}
		return this.tenders().length === 0;
	}

	logTail(lines = 25) {
		try {
			return fs.readFileSync(this.log, "utf8").trimEnd().split("\n").slice(-lines).map((l) => "shoald: " + l).join("\n");
		} catch (e) {
			return "";
		}
	}

	remove() {
		fs.rmSync(this.dir, { recursive: true, force: true });
	}
}

/* `shoalctl ui --listen 127.0.0.1:0`: its first line names the port it took. */
function startProxy(sock) {
	return new Promise((resolve, reject) => {
		const p = spawn(path.join(BUILD, "shoalctl/shoalctl"), ["--socket", sock, "ui", "--listen", "127.0.0.1:0"],
			{ stdio: ["ignore", "pipe", "pipe"] });
		let out = "", err = "";
		const timer = setTimeout(() => reject(new Error("shoalctl ui printed no URL in 10 s: " + out + err)), 10000);
		p.stdout.on("data", (d) => {
			out += d;
			const m = /(http:\/\/127\.0\.0\.1:\d+\/ui\/)/.exec(out);
			if (m) {
				clearTimeout(timer);
				resolve({ proc: p, url: m[1], line: out.split("\n")[0] });
			}
		});
		p.stderr.on("data", (d) => (err += d));
		p.on("exit", (code) => {
			clearTimeout(timer);
			reject(new Error("shoalctl ui ended (" + code + "): " + err));
		});
	});
}

/*
 * The proxy answers plain HTTP: the checks of the serving itself go
 * through it too.  The path is sent as it is written (a URL parser would
 * fold "%2e%2e" away before the server could refuse it).
 */
function get(url, headers) {
	const m = /^http:\/\/([^/:]+):(\d+)(\/.*)$/.exec(url);
	return new Promise((resolve, reject) => {
		http.get({ host: m[1], port: Number(m[2]), path: m[3], headers: headers || {} }, (res) => {
			const parts = [];
			res.on("data", (c) => parts.push(c));
			res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString() }));
		}).on("error", reject);
	});
}

async function until(fn, ms = WAIT_MS) {
	const end = Date.now() + ms;
	let last;
	while (Date.now() < end) {
		try {
			last = await fn();
			if (last) return last;
		} catch (e) {
			last = e;
		}
		await sleep(200);
	}
	return false;
}

const GUESTS = [
	/* SLOs far apart, so that the picture shows each colour on a loaded test machine */
	{ name: "web", image: "idle", latency_class: "latency", slo_us: 100000 },
	{ name: "dns", image: "idle", latency_class: "latency", slo_us: 500 },
	/* with a disk (an image named by its host path), for the devices panel */
	{ name: "api-1", image: "idle", latency_class: "latency", slo_us: 20000, disk: "www" },
	/* spin ends by itself after 90 s, should anything here fail to stop it */
	{ name: "batch-crunch", image: "spin", latency_class: "batch", args: ["1000", "1000", "90000"], restart: "never" },
];

async function serving(base) {
	const origin = base.replace(/\/ui\/$/, "");
	let r = await get(origin + "/ui");
	ok(r.status === 301 && r.headers.location === "/ui/", "GET /ui redirects to /ui/", "status " + r.status + ", Location " + r.headers.location);
	r = await get(base);
	const csp = r.headers["content-security-policy"] || "";
	ok(r.status === 200 && /^text\/html/.test(r.headers["content-type"]), "GET /ui/ is the page, text/html",
		"status " + r.status + ", " + r.headers["content-type"]);
	ok(/script-src 'self'/.test(csp) && /default-src 'none'/.test(csp) && !/unsafe-inline/.test(csp),
		"the page has a strict Content-Security-Policy", "CSP: " + csp);
	const etag = r.headers.etag;
	ok(!!etag && !!r.headers["last-modified"], "the page has an ETag and a Last-Modified", JSON.stringify(r.headers));
	r = await get(base + "app.js", { "If-None-Match": etag });
	ok(r.status === 200 && /^text\/javascript/.test(r.headers["content-type"]), "app.js is text/javascript (another file's ETag does not match it)",
		"status " + r.status + ", " + r.headers["content-type"]);
	r = await get(base, { "If-None-Match": etag });
	ok(r.status === 304 && r.text === "", "the page's own ETag gets 304 Not Modified", "status " + r.status);
	for (const [p, want] of [["..%2fapi.h", 400], ["%2e%2e", 400], ["%2e%2e%2fshoalctl.c", 400], ["%2fetc%2fpasswd", 400],
		["app.js%00.png", 400], [".hidden.js", 400], ["a/b.js", 400], ["nosuch.js", 404], ["README", 404]]) {
		r = await get(base + p);
		let code = "";
		try { code = JSON.parse(r.text).error.code; } catch (e) { /* not JSON */ }
		ok(r.status === want && !!code, "GET /ui/" + p + " is refused with " + want + " and a JSON error (" + code + ")",
			"status " + r.status + ": " + r.text.slice(0, 200));
	}
	/* "/ui//etc/passwd": the name is "/etc/passwd" */
	r = await get(origin + "/ui//etc/passwd");
	ok(r.status === 400, "an absolute path after /ui/ is refused with 400", "status " + r.status);
	r = await get(base + "?x=1");
	ok(r.status === 400, "an unknown query parameter on /ui/ is refused with 400", "status " + r.status);
}

/* The proxy serves the user who runs it (or root): another local user gets 403. */
async function otherUser(url) {
	if (process.getuid() !== 0) {
		console.log("ok " + ++n + " - another user is refused by the proxy # SKIP not root: cannot connect as another user");
		return;
	}
	const code = "require('http').get(process.argv[1], (r) => { console.log(r.statusCode); r.resume(); })" +
		".on('error', (e) => console.log('error ' + e.message))";
	const out = await new Promise((resolve) => {
		const p = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", code, url],
			{ stdio: ["ignore", "pipe", "pipe"] });
		let text = "";
		p.stdout.on("data", (d) => (text += d));
		p.stderr.on("data", (d) => (text += d));
		p.on("error", (e) => resolve("cannot run setpriv: " + e.message));
		p.on("exit", () => resolve(text.trim()));
	});
	ok(out === "403", "user nobody is refused by the proxy (403)", "it got: " + out);
}

/*
 * The guests' address column ("–": no guest here has a NIC; those need a
 * bridge in a namespace of their own, which tests/integration/test_nics.sh
 * makes), and the devices of the selected guest: api-1's disk, with its
 * counters refreshed from GET /v1/guests/api-1 when shoald gives them.
 */
async function deviceChecks(page, sd) {
	const heads = await page.locator("#guests thead th").allTextContents();
	const col = heads.indexOf("address");
	ok(col >= 0, "the guests table has an address column", "heads: " + JSON.stringify(heads));
	const addrs = await page.locator("#guests tbody tr td:nth-child(" + (col + 1) + ")").allTextContents();
	ok(addrs.length === GUESTS.length && addrs.every((a) => a === "–"), "every guest without a NIC shows – as its address",
		"addresses: " + JSON.stringify(addrs));

	await page.locator('#guests tbody tr[data-guest="api-1"]').click();
	const row = page.locator('#devices tbody tr[data-device="www"][data-kind="disk"]');
	const listed = await until(async () => (await row.count()) === 1 && (await row.textContent()));
	ok(!!listed, "selecting api-1 lists its disk in the devices panel: " + listed,
		"devices: " + JSON.stringify(await page.locator("#devices tbody tr").allTextContents()));
	const api1 = (await api(sd.sock, "GET", "/v1/guests/api-1")).json;
	const c = api1 && api1.disks && api1.disks[0] ? api1.disks[0].counters : undefined;
	if (!c) {
		console.log("ok " + ++n + " - the disk's counters are shown # SKIP shoald gives no counters for api-1's disk (its tender publishes none)");
		const dash = await row.locator("td").nth(2).textContent();
		ok(dash === "–", "and its counters' cells say – meanwhile", "it shows: " + dash);
	} else {
		const shown = await until(async () => {
			const cells = await row.locator("td[data-counters]").allTextContents();
			return cells.length === 3 && /^\d+ reads? · \d/.test(cells[0]) && /^\d+ writes? · \d/.test(cells[1]) &&
				/\d+ errors?$/.test(cells[2]) && cells.join(" | ");
		});
		ok(!!shown, "the disk's counters are shown: " + shown, "row: " + (await row.textContent()));
	}
	/*
	 * How the panel shows counters and a NIC, whatever this host's tender
	 * gives: api-1's answer with known counters and a NIC filled in.
	 */
	const route = "**/v1/guests/api-1";
	await page.route(route, async (r) => {
		const res = await r.fetch();
		const j = await res.json();
		j.disks[0].counters = { reads: 12, writes: 3, flushes: 1, read_bytes: 49152, written_bytes: 1536, errors: 0 };
		j.net = [{ name: "lan", bridge: "br0", tap: "sh-api-1.0", mac: "02:5e:00:00:00:01", ipv4: "10.0.0.2/24", gateway: "10.0.0.1",
			counters: { tx_packets: 118, tx_bytes: 92160, tx_errors: 0, tx_dropped: 0, tx_rate_limited: 4, rx_packets: 120,
				rx_bytes: 14540, rx_errors: 0, rx_dropped: 0, rx_rate_limited: 0 } }];
		await r.fulfill({ response: res, json: j });
	});
	const want = ["12 reads · 48 KiB", "3 writes · 1.5 KiB", "1 flush · 0 errors", "br0 (tap sh-api-1.0) · 10.0.0.2/24 via 10.0.0.1 · 02:5e:00:00:00:01",
		"rx 120 frames · 14 KiB", "tx 118 frames · 90 KiB", "0 dropped · 0 errors · rate-limited 0/4"];
	const filled = await until(async () => {
		const cells = (await page.locator('#devices tbody tr[data-device="www"] td').allTextContents()).slice(2)
			.concat((await page.locator('#devices tbody tr[data-device="lan"][data-kind="nic"] td').allTextContents()).slice(1));
		return want.every((w) => cells.includes(w)) && cells;
	}, 12000);
	ok(!!filled, "given counters and a NIC in api-1's answer, the panel shows them at the next refresh",
		"devices: " + JSON.stringify(await page.locator("#devices tbody tr").allTextContents()), "wanted: " + JSON.stringify(want));
	await page.unroute(route);

	await page.locator('#guests tbody tr[data-guest="dns"]').click();
	const empty = await until(async () => /dns has no disks or NICs/.test(await page.locator("#devices tbody").textContent()));
	ok(!!empty, "a guest without devices says so in the panel");
	await page.locator('#guests tbody tr[data-guest="api-1"]').click();
}

/* A move through the API (web pinned to a CPU it is not on) shows up live, with its reason. */
async function moveChecks(page, sd) {
	const before = (await api(sd.sock, "GET", "/v1/guests/web/placement")).json;
	const cpus = (await api(sd.sock, "GET", "/v1/placement")).json.cpus.filter((c) => c.role !== "dom0").map((c) => c.cpu);
	if (cpus.length < 2) {
		for (const what of ["a pin through the API shows up live on the CPU map", "the moves log shows it with its reason"])
			console.log("ok " + ++n + " - " + what + " # SKIP the host has " + cpus.length + " CPU for guests: nowhere to move to");
		return;
	}

	const where = await page.locator('.chip[data-guest="web"]').getAttribute("data-cpu");
	ok(where === String(before.cpu), "before the move the map shows web on CPU " + before.cpu, "it shows CPU " + where);
	let target = null, pin = null;
	for (const c of cpus.filter((c) => c !== before.cpu)) {
		pin = await api(sd.sock, "PUT", "/v1/guests/web/placement", { cpus: [c] });
		if (pin.status === 200 && pin.json.cpu === c) {
			target = c;
			break;
		}
		diag("pin web to CPU " + c + ": " + pin.status + " " + pin.text.trim());
	}
	ok(target !== null && target !== before.cpu, "web is pinned through the API from CPU " + before.cpu + " to CPU " + target,
		pin ? pin.text : "");
	const moved = await until(async () =>
		(await page.locator('.cpu[data-cpu="' + target + '"] .chip[data-guest="web"]').count()) === 1);
	ok(!!moved, "the CPU map shows web on CPU " + target + " live",
		"map: " + JSON.stringify(await page.locator(".cpu").allTextContents()));
	const reason = await until(async () => {
		const rows = await page.locator('#moves tbody tr[data-guest="web"] td.reason').allTextContents();
		return rows.find((t) => /pinned by the operator/.test(t));
	});
	ok(!!reason, "the moves log shows the move with its reason: " + reason,
		"moves: " + JSON.stringify(await page.locator("#moves tbody tr").allTextContents()));
}

async function main() {
	const t0 = Date.now();
	const sd = new Shoald();
	let proxy = null, browser = null;
	try {
		if (!ok(await sd.start(), "shoald starts and answers on its socket", sd.logTail())) return;
		const host = (await api(sd.sock, "GET", "/v1/host")).json;
		diag("host: " + host.cpus + " CPUs; shoald " + host.version);
		const diskImage = path.join(sd.dir, "www.img");
		fs.writeFileSync(diskImage, Buffer.alloc(65536));
		for (const g of GUESTS) {
			const spec = Object.assign({ memory_mib: 16 }, g, { image: path.join(BUILD, "unikernel-rt/examples", g.image + ".kvm") });
			delete spec.disk;
			if (g.disk) spec.disks = [{ name: g.disk, image: diskImage, readonly: true }];
			const r = await api(sd.sock, "POST", "/v1/guests", spec);
			ok(r.status === 201, "deploy " + g.name + " (" + g.image + ", " + g.latency_class + ")", r.text.slice(0, 300));
		}
		/* Every guest has latency figures before the page opens: one probe window's worth. */
		const probed = await until(async () => {
			const gs = (await api(sd.sock, "GET", "/v1/guests")).json;
			return gs.every((g) => g.latency && g.latency.samples > 0) && gs;
		});
		ok(!!probed, "every guest answers its probes", JSON.stringify(probed));

		proxy = await startProxy(sd.sock);
		ok(true, "shoalctl ui forwards a loopback port: " + proxy.line.trim());
		await serving(proxy.url);
		await otherUser(proxy.url);

		const { chromium } = require("playwright-core");
		try {
			browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
				args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
		} catch (e) {
			console.log("ok " + ++n + " - the page in Chromium # SKIP chromium cannot start: " + String(e.message).split("\n")[0]);
			return;
		}
		const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
		const problems = [];
		page.on("pageerror", (e) => problems.push("page error: " + e.message));
		page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
		let navigations = 0;
		page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations++; });
		await page.goto(proxy.url, { waitUntil: "load" });
		const navAfterLoad = navigations;

		/* Every guest on the map, on a CPU, with a latency figure. */
		for (const g of GUESTS) {
			const chip = page.locator('.cpu[data-cpu] .chip[data-guest="' + g.name + '"]');
			const shown = await until(async () => {
				if ((await chip.count()) !== 1) return false;
				const t = await chip.locator("[data-latency]").textContent();
				return /p99 \d+(\.\d+)? (µs|ms)/.test(t) && t;
			});
			ok(!!shown, g.name + " is on the CPU map with a latency figure (" + shown + ")",
				"chips: " + JSON.stringify(await page.locator(".chip").allTextContents()));
		}
		const live = await until(async () => (await page.locator("#live").getAttribute("data-state")) === "live");
		ok(!!live, "the page follows /v1/events (live)");

		/* The latency series grows from the stream, without reloading. */
		const series = await until(async () => (await page.locator("#lat-series path.p99").count()) === 1);
		ok(!!series, "the selected guest's p99 is drawn over time");
		const hist = await until(async () => (await page.locator("#lat-hist rect.bar").count()) > 0);
		ok(!!hist, "the selected guest's histogram is drawn");

		await moveChecks(page, sd);
		await deviceChecks(page, sd);
		ok(navigations === navAfterLoad, "all of it without reloading the page", navigations + " navigations");
		ok(problems.length === 0, "no script errors on the page", ...problems);

		/* Let the latency series gather more points for the picture. */
		await sleep(5000);
		fs.mkdirSync(path.dirname(SHOT), { recursive: true });
		await page.screenshot({ path: SHOT, fullPage: true });
		ok(fs.statSync(SHOT).size > 10000, "the screenshot is saved: " + path.relative(BUILD, SHOT) + " (in the build tree)");
	} catch (e) {
		ok(false, "the test runs to its end", e.stack || e, sd.logTail());
	} finally {
		if (browser) await browser.close().catch(() => {});
		if (proxy && proxy.proc.exitCode === null) proxy.proc.kill("SIGTERM");
		ok(await sd.stop(), "no shoal-vmm of this test is left running", "left: " + sd.tenders().join(" "));
		if (failed) diag(sd.logTail(40));
		sd.remove();
		diag("took " + ((Date.now() - t0) / 1000).toFixed(1) + " s");
		console.log("1.." + n);
		process.exitCode = failed ? 1 : 0;
	}
}

main();
