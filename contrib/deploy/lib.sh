# Shared by the deploy scripts in this folder; sourced, not run.  They need
# a POSIX sh, shoalctl and jq (Debian: jq), and use only shoalctl's --json
# output and its exit codes:
#   0 done, 1 refused, 2 bad input, 3 shoald out of reach, 4 not found,
#   5 shoald failed.
# SHOALCTL and JQ name other binaries; SHOAL_SOCKET (or -s) the socket.

SHOALCTL=${SHOALCTL:-shoalctl}
JQ=${JQ:-jq}
prog=${0##*/}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }

# die CODE MESSAGE: the script's answer when it cannot go on.
die() {
	code=$1
	shift
	say "$*"
	exit "$code"
}

need_tools() {
	command -v "$SHOALCTL" >/dev/null 2>&1 || die 2 "shoalctl not found (set SHOALCTL)"
	command -v "$JQ" >/dev/null 2>&1 || die 2 "jq not found (Debian: apt-get install jq; or set JQ)"
}

# ctl ARG...: shoalctl --json, retried for a while when shoald is out of
# reach (a restart of shoald takes a moment; its guests keep running).
ctl() {
	tries=0
	while :; do
		"$SHOALCTL" --json "$@"
		rc=$?
		[ "$rc" -eq 3 ] && [ "$tries" -lt "${CTL_RETRIES:-5}" ] || return "$rc"
		tries=$((tries + 1))
		say "shoald not reachable, try $tries of ${CTL_RETRIES:-5} in 1 s"
		sleep 1
	done
}

# jget FILTER: one value of the JSON on stdin (jq -r; empty for null).
jget() { "$JQ" -r "$1 // empty"; }

# is_uint VALUE
is_uint() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	*) return 0 ;;
	esac
}

# now_s: seconds since the epoch (date +%s: in Debian's coreutils and busybox).
now_s() { date +%s; }
