#!/bin/sh
# contrib/grafana/shoal.json and contrib/prometheus/shoal.yml: every metric
# the dashboard's queries name is one that a real shoald with a real guest
# exports, with the labels (and fixed label values) its matchers ask for;
# a dashboard with a wrong name, label or value fails the check, every query parses
# (promtool check rules), and the scrape configuration is valid (promtool
# check config), in both its forms.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
command -v python3 >/dev/null || tap_skip_all "python3 is not installed"

CHECK="python3 $top_srcdir/tests/integration/grafana_check.py"
DASH=$top_srcdir/contrib/grafana/shoal.json
SCRAPE=$top_srcdir/contrib/prometheus/shoal.yml
tmp=$(mktemp -d /tmp/shoal-dash-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# ---- the parser itself ----
# expr_names EXPR WANT: the names it finds, space-separated.
expr_names() {
	got=$($CHECK expr "$1" | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$2" ] && return 0
	tap_diag "names of $1: \"$got\", expected \"$2\""
	return 1
}
tap_check "parser: histogram_quantile over rate of buckets, by (...)" \
	expr_names 'histogram_quantile(0.99, sum by (guest, le) (rate(a_bucket{guest=~"$guest"}[$__rate_interval])))' a_bucket
tap_check "parser: label matchers with names and braces in strings" \
	expr_names 'b{x="c{d}", y!~"e|f"} > 0' b
tap_check "parser: binary operators, on/group_left, offset, numbers" \
	expr_names 'sum without (mode) (rate(c_total[5m] offset 1h)) / on(instance) group_left(v) d * 1e3 > bool 2' 'c_total d'
tap_check "parser: label_values(METRIC, LABEL) names METRIC only" \
	expr_names 'label_values(e{instance=~"$instance"}, guest)' e
tap_check "parser: set operators and aggregations with parameters" \
	expr_names 'topk(5, f) unless count_values("v", g) or h' 'f g h'

# ---- a real shoald with a real guest ----
if ! shoald_start; then
	tap_not_ok "shoald starts"
	tap_diag "$(tail -20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
"$CTL" --socket "$SOCK" deploy -n web -i "$GUESTS/idle.$PLATFORM" -m 16 --slo-us 20000 >/dev/null 2>"$tmp/deploy.err"
tap_check "a guest is deployed" test $? -eq 0
# Until its histogram has probes in it.
n=50
while [ $n -gt 0 ]; do
	shoald_get /metrics >"$tmp/metrics.txt" && grep -q '^shoal_guest_probe_rtt_seconds_count{guest="web"} [1-9]' "$tmp/metrics.txt" && break
	sleep 0.2
	n=$((n - 1))
done
tap_check "/metrics has the guest's probes" grep -q '^shoal_guest_probe_rtt_seconds_count{guest="web"} [1-9]' "$tmp/metrics.txt"

$CHECK check "$DASH" "$tmp/metrics.txt" 2>"$tmp/check.err"
tap_check "every metric the dashboard names is one shoald exports" test $? -eq 0
[ -s "$tmp/check.err" ] && tap_diag "$(cat "$tmp/check.err")"
nnames=$($CHECK names "$DASH" | wc -l)
tap_check "the dashboard names many metrics ($nnames)" test "$nnames" -ge 10
for want in shoal_guest_probe_rtt_p99_seconds shoal_guest_probe_rtt_seconds_bucket shoal_guest_probe_misses_total \
	shoal_guest_restarts_total shoal_placement_moves_total shoal_daemon_cpu_seconds_total; do
	tap_check "the dashboard shows $want" sh -c "$CHECK names '$DASH' | grep -x $want >/dev/null"
done

# A wrong name in one query fails the check, naming it and where it is.
sed 's/shoal_guest_probe_rtt_p99_seconds{/shoal_guest_rtt_p99_seconds{/' "$DASH" >"$tmp/bad.json"
$CHECK check "$tmp/bad.json" "$tmp/metrics.txt" 2>"$tmp/bad.err"
tap_check "a dashboard with an unknown metric fails the check" test $? -eq 1
tap_check "naming the metric and the panel" \
	grep -q "panel 'p99 probe RTT per guest (10 s window)' A: shoal_guest_rtt_p99_seconds is not on the /metrics page" "$tmp/bad.err"
sed 's/shoal_guest_probe_rtt_seconds_bucket/shoal_guest_probe_rtt_bucket/' "$DASH" >"$tmp/bad2.json"
tap_check "and a wrong histogram inside histogram_quantile(rate(...))" \
	sh -c "! $CHECK check '$tmp/bad2.json' '$tmp/metrics.txt' 2>/dev/null"
sed 's/p99_seconds{window=\\"10s\\"/p99_seconds{window=\\"10\\"/' "$DASH" >"$tmp/bad4.json"
$CHECK check "$tmp/bad4.json" "$tmp/metrics.txt" 2>"$tmp/bad4.err"
tap_check "a label value the metric never has fails the check" test $? -eq 1
tap_check "naming the value and the ones there are" \
	grep -qF 'shoal_guest_probe_rtt_p99_seconds{window} has no value "10" (it has: 10s, 60s)' "$tmp/bad4.err"
sed 's/p99_seconds{window=/p99_seconds{windw=/' "$DASH" >"$tmp/bad5.json"
$CHECK check "$tmp/bad5.json" "$tmp/metrics.txt" 2>"$tmp/bad5.err"
tap_check "and so does a label the metric lacks" grep -qF 'shoal_guest_probe_rtt_p99_seconds has no label windw' "$tmp/bad5.err"

# ---- the dashboard as Grafana reads it ----
python3 - "$DASH" >"$tmp/shape.out" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
if d.get("schemaVersion", 0) < 36: bad.append("schemaVersion %s < 36" % d.get("schemaVersion"))
ds = [v for v in d["templating"]["list"] if v["type"] == "datasource" and v["query"] == "prometheus"]
if not ds: bad.append("no prometheus datasource variable")
ids = [p["id"] for p in d["panels"]]
if len(set(ids)) != len(ids): bad.append("panel ids repeat")
for p in d["panels"]:
    for o in [p] + p.get("targets", []):
        if o.get("datasource", {}).get("uid") != "${%s}" % ds[0]["name"]:
            bad.append("%r does not use the datasource variable" % p["title"])
    if not p.get("targets"): bad.append("%r has no query" % p["title"])
if not any(p["type"] == "heatmap" for p in d["panels"]): bad.append("no heatmap")
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
tap_check "the dashboard: a current schema, a datasource variable every panel uses, a heatmap" test $? -eq 0
[ -s "$tmp/shape.out" ] && tap_diag "$(cat "$tmp/shape.out")"

if command -v promtool >/dev/null; then
	$CHECK rules "$DASH" >"$tmp/rules.yml"
	promtool check rules "$tmp/rules.yml" >"$tmp/rules.out" 2>&1
	tap_check "every query of the dashboard parses (promtool check rules)" test $? -eq 0
	grep -q FAILED "$tmp/rules.out" && tap_diag "$(cat "$tmp/rules.out")"
	sed 's/sum by (guest, le) (rate(/sum by (guest, le) (rate((/' "$DASH" >"$tmp/bad3.json"
	$CHECK rules "$tmp/bad3.json" >"$tmp/bad-rules.yml"
	tap_check "and a query with a syntax error does not" sh -c "! promtool check rules '$tmp/bad-rules.yml' >/dev/null 2>&1"

	promtool check config "$SCRAPE" >"$tmp/config.out" 2>&1
	tap_check "promtool check config accepts the scrape configuration" test $? -eq 0
	grep -q FAILED "$tmp/config.out" && tap_diag "$(cat "$tmp/config.out")"
	# Its TLS + bearer token form, uncommented, with files that exist.
	echo secret >"$tmp/token" && : >"$tmp/ca.pem"
	sed -e '/# - job_name: shoal-tls/,$ s/^  # /  /' -e "s|/etc/prometheus/shoal.token|$tmp/token|" -e "s|/etc/prometheus/shoal-ca.pem|$tmp/ca.pem|" \
		"$SCRAPE" | sed -n '/^global:/,$p' | grep -v '^ *#' >"$tmp/tls.yml"
	tap_check "the TLS form has a job with an authorization credentials_file" \
		sh -c "grep -q 'job_name: shoal-tls' '$tmp/tls.yml' && grep -q 'credentials_file: $tmp/token' '$tmp/tls.yml'"
	promtool check config "$tmp/tls.yml" >"$tmp/tls.out" 2>&1
	tap_check "promtool check config accepts the TLS form" test $? -eq 0
	grep -q FAILED "$tmp/tls.out" && tap_diag "$(cat "$tmp/tls.out")"
	rm "$tmp/token"
	tap_check "and refuses it when the token file is missing" sh -c "! promtool check config '$tmp/tls.yml' >/dev/null 2>&1"
else
	tap_skip "promtool checks" "promtool is not installed (Debian: prometheus)"
fi

tap_check "nothing this test started is left running" shoald_stop_all
tap_done
