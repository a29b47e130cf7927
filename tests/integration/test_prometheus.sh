#!/bin/sh
# A real Prometheus scrapes a real shoald, as contrib/prometheus/shoal.yml's
# TLS job says (shoald's TCP listener, a bearer token from credentials_file,
# the CA from tls_config), and every query of contrib/grafana/shoal.json
# runs on what it scraped: none fails, and each shows data (all but those
# that only show trouble, "... > 0", of which a healthy guest has none).
# A job without the token is refused.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
for t in prometheus openssl python3; do
	command -v $t >/dev/null || tap_skip_all "$t is not installed (scripts/deps.sh installs it)"
done

DASH=$top_srcdir/contrib/grafana/shoal.json
SCRAPE=$top_srcdir/contrib/prometheus/shoal.yml
tmp=$(mktemp -d /tmp/shoal-prom-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
prom_pid=
trap '[ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null; shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# Two free loopback ports, one for shoald's TCP listener, one for Prometheus.
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
api_port=$1 prom_port=$2

# A CA, shoald's certificate for 127.0.0.1, a token for Prometheus.
(cd "$tmp" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
		-days 2 -subj /CN=shoal-test-ca >/dev/null 2>&1 &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr \
		-subj /CN=localhost >/dev/null 2>&1 &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
		-extfile ext >/dev/null 2>&1 &&
	token=$(openssl rand -hex 32) && echo "$token prometheus" >tokens && echo "$token" >prom.token &&
	chmod 600 srv.key tokens prom.token)
tap_check "a CA, a certificate and a token are made" test -s "$tmp/srv.pem" -a -s "$tmp/prom.token"

if ! shoald_start --listen-tcp=127.0.0.1:$api_port --tls-cert="$tmp/srv.pem" --tls-key="$tmp/srv.key" \
	--token-file="$tmp/tokens"; then
	tap_not_ok "shoald starts with its TCP listener"
	tap_diag "$(tail -20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
tap_ok "shoald starts with its TCP listener"
"$CTL" --socket "$SOCK" deploy -n web -i "$GUESTS/idle.$PLATFORM" -m 16 --slo-us 20000 >/dev/null 2>"$tmp/deploy.err"
tap_check "a guest is deployed" test $? -eq 0

# The scrape configuration's TLS job, uncommented, pointed at this shoald
# and scraping every second so that rates have points soon.
sed -n '1,/^scrape_configs:/p' "$SCRAPE" | grep -v '^#' >"$tmp/prometheus.yml"
sed -n '/# - job_name: shoal-tls/,$p' "$SCRAPE" | sed -e 's/^  # /  /' \
	-e "s|/etc/prometheus/shoal.token|$tmp/prom.token|" -e "s|/etc/prometheus/shoal-ca.pem|$tmp/ca.pem|" \
	-e "s|targets: .*|targets: [\"127.0.0.1:$api_port\"]|" -e 's/scrape_interval: 5s/scrape_interval: 1s/' \
	>>"$tmp/prometheus.yml"
# A job without the token, which shoald must refuse.
cat >>"$tmp/prometheus.yml" <<EOT
  - job_name: shoal-no-token
    scrape_interval: 1s
    scheme: https
    tls_config:
      ca_file: $tmp/ca.pem
    static_configs:
      - targets: ["127.0.0.1:$api_port"]
EOT
tap_check "the TLS job names the token and the CA" \
	sh -c "grep -q 'credentials_file: $tmp/prom.token' '$tmp/prometheus.yml' && grep -q 'ca_file: $tmp/ca.pem' '$tmp/prometheus.yml'"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address=127.0.0.1:$prom_port >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!

# query PROMQL: Prometheus's answer (JSON) on stdout; fails when it is not "success".
query() {
	python3 - "$prom_port" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
try:
    a = json.load(urllib.request.urlopen(url, timeout=5))
except Exception as e:
    a = {"status": "error", "error": str(e)}
print(json.dumps(a))
sys.exit(0 if a.get("status") == "success" else 1)
PY
}
# Until the guest's RTT counter has a few points.
t0=$(date +%s)
n=60
while [ $n -gt 0 ]; do
	query 'count_over_time(shoal_guest_probe_rtt_seconds_count{guest="web"}[1m])' 2>/dev/null |
		grep -q '"value": \[[0-9.]*, "\([4-9]\|[1-9][0-9]\)' && break
	sleep 0.5
	n=$((n - 1))
done
tap_diag "Prometheus had the points after $(($(date +%s) - t0)) s"
query 'up{job="shoal-tls"}' >"$tmp/up.json" 2>&1
tap_check "Prometheus scrapes shoald over TLS with its token (up == 1)" grep -q '"value": \[[0-9.]*, "1"\]' "$tmp/up.json"
grep -q '"1"\]' "$tmp/up.json" || tap_diag "$(cat "$tmp/up.json")" "$(python3 - "$prom_port" <<'PY'
import json, sys, urllib.request
t = json.load(urllib.request.urlopen("http://127.0.0.1:%s/api/v1/targets" % sys.argv[1], timeout=5))
for x in t["data"]["activeTargets"]:
    print(x["scrapeUrl"], x["health"], x.get("lastError"))
PY
)"

# Every panel query, as Grafana would send it with "All" chosen, in one go.
python3 - "$top_srcdir/tests/integration" "$DASH" "$prom_port" >"$tmp/queries.out" 2>&1 <<'PY'
import json, sys, urllib.parse, urllib.request
sys.path.insert(0, sys.argv[1])
import grafana_check as dc
n, bad = 0, []
for where, e in dc.expressions(json.load(open(sys.argv[2]))):
    if not where.startswith("panel"):
        continue
    n += 1
    q = dc.concrete(e)
    url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[3], urllib.parse.quote(q))
    try:
        a = json.load(urllib.request.urlopen(url, timeout=5))
    except Exception as x:
        a = {"status": "error", "error": str(x)}
    if a.get("status") != "success":
        bad.append("%s fails: %s" % (where, a.get("error")))
    elif not a["data"]["result"] and not q.rstrip().endswith("> 0"):
        bad.append("%s has no data: %s" % (where, q))
print(n)
print("\n".join(bad))
sys.exit(1 if bad or not n else 0)
PY
rc=$?
tap_check "every one of the dashboard's $(head -n 1 "$tmp/queries.out") panel queries runs on the scraped data and shows some" test $rc -eq 0
[ $rc -eq 0 ] || tap_diag "$(cat "$tmp/queries.out")"
query 'histogram_quantile(0.99, sum by (le) (rate(shoal_guest_probe_rtt_seconds_bucket{guest="web"}[1m])))' >"$tmp/p99.json"
tap_check "the guest's p99 from the histogram is a number of seconds" \
	sh -c "grep -Eq '\"value\": \\[[0-9.]+, \"[0-9.]+(e-[0-9]+)?\"\\]' '$tmp/p99.json'"

python3 - "$prom_port" >"$tmp/targets" <<'PY'
import json, sys, urllib.request
t = json.load(urllib.request.urlopen("http://127.0.0.1:%s/api/v1/targets" % sys.argv[1], timeout=5))
for x in t["data"]["activeTargets"]:
    print(x["labels"]["job"], x["health"], x.get("lastError"))
PY
tap_check "a scrape without the token is refused (401)" grep -q '^shoal-no-token down .*401' "$tmp/targets"
grep -q '^shoal-no-token down .*401' "$tmp/targets" || tap_diag "$(cat "$tmp/targets")"
kill "$prom_pid" && wait "$prom_pid" 2>/dev/null
prom_pid=
tap_check "nothing this test started is left running" shoald_stop_all
tap_done
