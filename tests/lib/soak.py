#!/usr/bin/env python3
"""Churn beside a standing fleet, and what shoald and the host hold meanwhile.

Used by bench/soak.sh (10 minutes, 200 guests) and by the suite's short
run (tests/integration/test_soak.sh).  shoald runs already, in a network
namespace with a bridge; this program, on one API connection:

  1. deploys BACKGROUND echo guests, each with a NIC on the bridge and a
     read-only disk, and waits until they run;
  2. for DURATION seconds, over and over: deploys a churn guest with a
     NIC, the read-only disk and a writable disk of its own (a copy
     shoald makes), waits until it runs, stops it, removes it;
  3. every SAMPLE seconds (and once before and once after the churn,
     when nothing is in flight) writes down shoald's descriptors, its
     RSS, the state database's bytes on disk, and what the host holds
     for guests: taps in the namespace, loop devices, tender processes,
     tender cgroups, disk copies in the state directory;
  4. prints the curves as a table, and writes the first and last samples
     and the churn's counts to SUMMARY (JSON) for the caller to judge.

What the caller should see: every count the host holds for guests back
where it was before the churn, and shoald's descriptors, RSS and
database flat beside them.
"""
import argparse
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time


class Conn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("shoald")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(120)
        self.sock.connect(self.path)


class Api:
    def __init__(self, path):
        self.path = path
        self.c = Conn(path)

    def req(self, method, url, body=None):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            try:
                self.c.request(method, url, body=data,
                               headers={"Content-Type": "application/json"} if data else {})
                r = self.c.getresponse()
                text = r.read()
                break
            except (http.client.HTTPException, OSError):
                # shoald closed an idle keep-alive connection: once more on a new one
                self.c.close()
                self.c = Conn(self.path)
                if attempt:
                    raise
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = text.decode(errors="replace")
        return r.status, doc


def count_procs(exe):
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % p) == exe:
                    n += 1
            except OSError:
                pass
    return n


def cgroup_dir(pid):
    """The directory shoald's tenders' cgroups are made in, or None."""
    try:
        for line in open("/proc/%d/cgroup" % pid):
            hier, _, path = line.rstrip("\n").split(":", 2)
            if hier == "0":
                base = "/sys/fs/cgroup" + path
                for d in (base, os.path.dirname(base)):
                    if os.path.isdir(d + "/guests"):
                        return d + "/guests"
    except OSError:
        pass
    return None


def sample(a, t0, cycles):
    def size(p):
        try:
            return os.path.getsize(p)
        except OSError:
            return 0

    pid = a.pid
    try:
        fds = len(os.listdir("/proc/%d/fd" % pid))
        rss = int([l for l in open("/proc/%d/status" % pid) if l.startswith("VmRSS:")][0].split()[1])
    except (OSError, IndexError):
        fds, rss = -1, -1
    db = size(os.path.join(a.state, "shoald.db"))
    wal = size(os.path.join(a.state, "shoald.db-wal"))
    rows = {}
    try:
        db_ro = sqlite3.connect("file:%s?mode=ro" % os.path.join(a.state, "shoald.db"), uri=True,
                                timeout=5)
        for table in ("guests", "events"):
            rows[table] = db_ro.execute("SELECT COUNT(*) FROM %s" % table).fetchone()[0]
        db_ro.close()
    except sqlite3.Error:
        pass
    links = subprocess.run(["ip", "-n", a.netns, "-o", "link", "show"], capture_output=True,
                           text=True).stdout
    taps = sum(1 for l in links.splitlines() if ": sh-" in l)
    loops = 0
    for d in os.listdir("/sys/block"):
        if d.startswith("loop") and os.path.exists("/sys/block/%s/loop/backing_file" % d):
            loops += 1
    cg = cgroup_dir(pid)
    cgroups = len([d for d in os.listdir(cg) if d.startswith("t")]) if cg else "-"
    copies = 0
    for root, _, files in os.walk(os.path.join(a.state, "disks")):
        copies += len(files)
    return {"t": round(time.time() - t0, 1), "cycles": cycles, "fds": fds, "rss_kib": rss,
            "db_bytes": db, "wal_bytes": wal, "db_guests": rows.get("guests", -1),
            "db_events": rows.get("events", -1), "taps": taps, "loops": loops, "tenders": count_procs(a.tender),
            "cgroups": cgroups, "disk_copies": copies}


def wait_running(api, names, timeout):
    end = time.time() + timeout
    left = set(names)
    while left and time.time() < end:
        st, doc = api.req("GET", "/v1/guests")
        if st == 200:
            for g in doc:
                if g.get("state") == "running":
                    left.discard(g["name"])
        if left:
            time.sleep(0.5)
    return left


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sock", required=True)
    ap.add_argument("--pid", type=int, required=True, help="shoald's")
    ap.add_argument("--tender", required=True, help="the tenders' executable")
    ap.add_argument("--state", required=True, help="shoald's state directory")
    ap.add_argument("--netns", required=True)
    ap.add_argument("--bridge", required=True)
    ap.add_argument("--image", required=True, help="the echo guest (its NIC up)")
    ap.add_argument("--ro-disk", required=True, help="a disk image's sha256")
    ap.add_argument("--rw-disk", required=True, help="a disk image's sha256")
    ap.add_argument("--background", type=int, default=200)
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--sample", type=float, default=30)
    ap.add_argument("--memory-mib", type=int, default=16)
    ap.add_argument("--no-nic", action="store_true",
                    help="the churn's guests without a NIC (the stop's cost without a tap)")
    ap.add_argument("--summary", required=True)
    a = ap.parse_args()
    api = Api(a.sock)

    def spec(name, rw):
        disks = [{"name": "www", "image": a.ro_disk, "readonly": True}]
        if rw:
            disks.append({"name": "data", "image": a.rw_disk, "readonly": False})
        s = {"name": name, "image": a.image, "memory_mib": a.memory_mib, "args": ["lan"],
             "slo_us": 100000, "net": [{"name": "lan", "bridge": a.bridge}], "disks": disks}
        if rw and a.no_nic:
            del s["net"]
        return s

    t0 = time.time()
    for i in range(a.background):
        st, doc = api.req("POST", "/v1/guests?wait=0", spec("bg-%03d" % i, False))
        if st not in (201, 202):
            sys.exit("soak: background guest %d not deployed: %d %s" % (i, st, doc))
    left = wait_running(api, ["bg-%03d" % i for i in range(a.background)], 300)
    if left:
        sys.exit("soak: %d background guests did not run, e.g. %s" % (len(left), sorted(left)[:3]))
    print("# %d background guests running after %.1f s" % (a.background, time.time() - t0))
    time.sleep(2)  # the warm pool refilled
    t0 = time.time()
    samples = [sample(a, t0, 0)]
    cycles, failures, reasons = 0, 0, {}
    deploy_ms, stop_ms = [], []
    next_sample = time.time() + a.sample
    while time.time() - t0 < a.duration:
        name = "churn-%d" % cycles
        t = time.time()
        st, doc = api.req("POST", "/v1/guests?wait=1", spec(name, True))
        if st in (200, 201):
            deploy_ms.append((time.time() - t) * 1e3)
            t = time.time()
            st, doc = api.req("POST", "/v1/guests/%s/stop?wait=1" % name)
            if st in (200, 202):
                stop_ms.append((time.time() - t) * 1e3)
        if st not in (200, 201, 202):
            failures += 1
            why = doc.get("error", {}).get("message", str(doc)) if isinstance(doc, dict) else str(doc)
            reasons[why[:160]] = reasons.get(why[:160], 0) + 1
        st, doc = api.req("DELETE", "/v1/guests/%s" % name)
        if st not in (200, 202, 204):
            failures += 1
            reasons["remove: %d" % st] = reasons.get("remove: %d" % st, 0) + 1
        cycles += 1
        if time.time() >= next_sample:
            samples.append(sample(a, t0, cycles))
            next_sample += a.sample
    # Nothing in flight: what is left now is what the churn left behind.
    time.sleep(3)
    samples.append(sample(a, t0, cycles))
    cols = ["t", "cycles", "fds", "rss_kib", "db_bytes", "wal_bytes", "db_guests", "db_events",
            "taps", "loops", "tenders", "cgroups",
            "disk_copies"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for s in samples:
        print("| " + " | ".join(str(s[c]) for c in cols) + " |")

    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(q * len(v)))] if v else 0

    print("# %d cycles in %.0f s (deploy with %s two disks, run, stop, remove), %d failed;"
          " deploy to running p50 %.1f ms p99 %.1f ms, stop p50 %.1f ms p99 %.1f ms"
          % (cycles, a.duration, "no NIC and" if a.no_nic else "a NIC and", failures, pct(deploy_ms, 0.5), pct(deploy_ms, 0.99),
             pct(stop_ms, 0.5), pct(stop_ms, 0.99)))
    for why, n in sorted(reasons.items(), key=lambda x: -x[1])[:5]:
        print("#   %d x %s" % (n, why))
    json.dump({"first": samples[0], "last": samples[-1], "samples": samples, "cycles": cycles,
               "failures": failures, "reasons": reasons}, open(a.summary, "w"))


if __name__ == "__main__":
    main()
