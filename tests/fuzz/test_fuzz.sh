#!/bin/sh
# The fuzz harnesses of tests/fuzz/ (fuzz_NAME.c, built into fuzz/ of the
# build tree by `make fuzz-build`), one TAP check each.  In the suite each
# runs briefly: its seeds, then new inputs up to FUZZ_RUNS executions or
# FUZZ_BRIEF_S seconds, whichever comes first.  Under `make fuzz` (which
# sets FUZZ_TIME) each runs FUZZ_TIME seconds (or FUZZ_RUNS executions,
# when that is set and comes first) and keeps what it finds in
# fuzz/corpus/NAME/ for the next run.  A crash, a sanitizer's report, a
# leak or an input that takes over 10 s fails the check; its input is kept
# in fuzz/crashes/ and the check says how to run it again.  Each line
# gives the harness's executions, coverage (edges, features) and crashes.
# shellcheck source=../tap.sh
. "$top_srcdir/tests/tap.sh"

F=$top_builddir/fuzz
[ -f "$F/skip" ] && tap_skip_all "$(cat "$F/skip")"
[ -d "$F/seeds" ] || tap_skip_all "the harnesses are not built: make fuzz-build in $top_builddir"

all=$(for f in "$top_srcdir"/tests/fuzz/fuzz_*.c; do
	n=${f##*/fuzz_}
	echo "${n%.c}"
done)
harnesses=${FUZZ_HARNESSES:-$all}
mkdir -p "$F/crashes" "$F/logs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${FUZZ_TIME:-}" ]; then
	tap_diag "each harness for ${FUZZ_TIME} s${FUZZ_RUNS:+ or $FUZZ_RUNS executions} over its seeds and fuzz/corpus/NAME/"
else
	tap_diag "each harness briefly: its seeds, then up to ${FUZZ_RUNS:=20000} executions or ${FUZZ_BRIEF_S:=4} s"
fi

for h in $harnesses; do
	bin=$F/fuzz_$h
	log=$F/logs/$h.log
	if [ ! -x "$bin" ]; then
		tap_not_ok "$h: no harness $bin (make fuzz-build)"
		continue
	fi
	if [ -n "${FUZZ_TIME:-}" ]; then
		corpus=$F/corpus/$h
		limits="-max_total_time=$FUZZ_TIME${FUZZ_RUNS:+ -runs=$FUZZ_RUNS}"
	else
		corpus=$tmp/$h
		limits="-runs=$FUZZ_RUNS -max_total_time=$FUZZ_BRIEF_S"
	fi
	mkdir -p "$corpus"
	before=$(ls "$F/crashes" | grep -c "^$h-" || true)
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$bin" $limits -timeout=10 -print_final_stats=1 -artifact_prefix="$F/crashes/$h-" \
		"$corpus" "$F/seeds/$h" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	after=$(ls "$F/crashes" | grep -c "^$h-" || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
	edges=$(echo "$cov" | awk '{ print $2 }')
	features=$(echo "$cov" | awk '{ print $4 }')
	what="$h: ${execs:-?} executions in $secs s, coverage ${edges:-?} edges (${features:-?} features), crashes $((after - before))"
	if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ] && [ -n "$execs" ]; then
		tap_ok "$what"
	else
		tap_not_ok "$what (exit status $rc)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written|rt_abort|^ *#[0-9]+ 0x' "$log" |
			head -n 30 | while IFS= read -r line; do tap_diag "$line"; done
		art=$(ls -t "$F/crashes" | grep "^$h-" | head -n 1)
		[ -n "$art" ] && tap_diag "again: $bin $F/crashes/$art"
		tap_diag "the whole run: $log"
	fi
done
tap_done
