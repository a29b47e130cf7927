#!/bin/sh
# The tenders' jail (doc/install.md#the-tenders-jail), on the platform
# SHOAL_TEST_PLATFORM names (doc/testing.md).  From the host: each
# tender runs under a uid and gid of its own from tender-uid-range, with
# no capability in any set and no_new_privs, in mount, network, ipc,
# uts and pid namespaces that are not the host's (ipc, uts and pid its
# own: it is pid 1 there), an empty root, only the descriptors shoald
# handed it (not one shoald inherited), and rlimits on its descriptors
# and address space.  From inside, as jail-probe enters a tender's
# namespaces with its uid and no capability: it cannot open a host
# file, shoald's state store or
# another tender's /proc entry, cannot see or signal another tender,
# cannot reach the API socket; the same probe of an unjailed process
# opens the file, and of the tender itself signals it, so a refusal is
# the jail's.  A kill -9 of shoald and the next one's re-adoption keep
# the uids: a guest deployed then gets one no running tender has, and
# pause and resume still work.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
[ "$(id -u)" = 0 ] || tap_skip_all "the jail is made by a root shoald and entered by jail-probe as root"

tmp=$(mktemp -d /tmp/shoal-jail-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
JSONQ=$top_builddir/tests/integration/jsonq
PROBE=$top_builddir/tests/integration/jail-probe
# This run's own 64 uids: the kvm and proc columns may run side by side.
FIRST=$((2900200000 + $$ % 1000 * 64))
LAST=$((FIRST + 63))

ctl() { "$CTL" --socket "$SOCK" --timeout 20 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; }
field() { "$CTL" --socket "$SOCK" --json show "$1" 2>/dev/null | "$JSONQ" "$2"; }
wait_state() { # NAME STATE: up to 10 s
	for i in $(seq 100); do
		[ "$(field "$1" state)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
pid_gone() { # PID: up to 5 s
	for i in $(seq 50); do
		[ -d "/proc/$1" ] || return 0
		sleep 0.1
	done
	return 1
}
# status PID KEY: the first field of KEY in /proc/PID/status
status() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null; }
# probe_inside WANT DESCRIPTION PID PROBE ARG: jail-probe exits WANT,
# 0 when the kernel refused what it tried, 1 when it allowed it
probe_inside() {
	out=$("$PROBE" "$3" "$4" "$5" 2>&1)
	rc=$?
	if [ $rc -eq "$1" ]; then
		tap_ok "$2 ($out)"
	else
		tap_not_ok "$2 (jail-probe exit $rc, wanted $1: $out)"
	fi
}
refused_inside() { probe_inside 0 "$@"; } # DESCRIPTION PID PROBE ARG
allowed_inside() { probe_inside 1 "$@"; } # DESCRIPTION PID PROBE ARG
in_range() { [ -n "$1" ] && [ "$1" -ge $FIRST ] && [ "$1" -le $LAST ]; }

# The jail's options, refused by name when wrong (exit 205, usage).
if [ "$PLATFORM" = kvm ]; then
	T=$VMM
else
	T=$top_builddir/vmm/shoal-proc
fi
usage_refused() { # DESCRIPTION TEXT ARG...
	desc=$1 want=$2
	shift 2
	"$T" "$@" >"$tmp/u.out" 2>"$tmp/u.err" </dev/null
	rc=$?
	if [ $rc -eq 205 ] && grep -qF -- "$want" "$tmp/u.err"; then
		tap_ok "$desc ($(head -n 1 "$tmp/u.err"))"
	else
		tap_not_ok "$desc (exit $rc, wanted 205 and \"$want\")"
		tap_diag "$(cat "$tmp/u.err")"
	fi
}
usage_refused "--user with uid 0" "want UID:GID, neither of them 0" --user 0:5 --control-fd 3
usage_refused "--user that is not UID:GID" "want UID:GID" --user 2900000000 --control-fd 3
usage_refused "--netns-fd that is not open" "--netns-fd 999: not an open descriptor" --netns-fd 999 --control-fd 3
if [ "$PLATFORM" = kvm ]; then
	usage_refused "--kvm-fd that is not open" "--kvm-fd 999: not an open descriptor" --kvm-fd 999 --control-fd 3
	usage_refused "the jail with a cold start" "go with --control-fd (a warm start)" --user 5:5 "$GUESTS/hello.kvm"
	"$T" --netns-fd 9 --control-fd 9 9</dev/null >"$tmp/u.out" 2>"$tmp/u.err"
	tap_check "a namespace without the jail is refused ($(head -n 1 "$tmp/u.err"))" \
		grep -qF -- "--mntns-fd and --netns-fd go with --user" "$tmp/u.err"
fi

# A descriptor shoald inherits without close-on-exec: no tender may hold it.
echo leak >"$tmp/leak"
exec 7<"$tmp/leak"
if ! shoald_start --tender-uid-range=$FIRST-$LAST; then
	tap_not_ok "shoald starts"
	tap_diag "$(tail -n 20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
exec 7<&-
tap_ok "shoald starts with tender-uid-range = $FIRST-$LAST"

ctl deploy --name ja --image "$GUESTS/idle.$PLATFORM" --memory 16
tap_check "guest ja runs" wait_state ja running
ctl deploy --name jb --image "$GUESTS/idle.$PLATFORM" --memory 16
tap_check "guest jb runs" wait_state jb running
pa=$(field ja pid) pb=$(field jb pid)
ua=$(status "$pa" Uid) ub=$(status "$pb" Uid)

# ---- from the host: /proc/PID/status, ns, root, limits ----
for t in "ja $pa" "jb $pb"; do
	set -- $t
	uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$2/status")
	gids=$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$2/status")
	u=${uids%% *}
	if in_range "$u" && [ "$uids" = "$u $u $u $u" ] && [ "$gids" = "$u $u $u $u" ]; then
		tap_ok "$1's tender runs as uid and gid $u, real, effective, saved and file system alike, from the range"
	else
		tap_not_ok "$1's tender's ids are uid $uids gid $gids, wanted one number of $FIRST-$LAST"
	fi
	tap_check "$1's tender has no supplementary group ($(status "$2" Groups))" test -z "$(status "$2" Groups)"
	caps="$(status "$2" CapInh) $(status "$2" CapPrm) $(status "$2" CapEff) $(status "$2" CapBnd) $(status "$2" CapAmb)"
	tap_check "$1's tender has no capability: CapInh, CapPrm, CapEff, CapBnd, CapAmb are $caps" \
		test "$caps" = "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000"
	tap_check "$1's tender has NoNewPrivs $(status "$2" NoNewPrivs)" test "$(status "$2" NoNewPrivs)" = 1
	for ns in mnt net ipc uts pid; do
		mine=$(readlink "/proc/$$/ns/$ns") its=$(readlink "/proc/$2/ns/$ns")
		tap_check "$1's tender is in a $ns namespace not the host's ($its, the host's $mine)" \
			test -n "$its" -a "$its" != "$mine"
	done
	tap_check "$1's tender's root is empty ($(ls -A "/proc/$2/root" 2>&1 | head -n 3 | tr '\n' ' '))" \
		test -z "$(ls -A "/proc/$2/root" 2>&1)"
	# What it holds: what shoald handed it (the console and control
	# sockets or pipes, /dev/kvm, the re-attach files, FIFOs) and its own.
	stray=
	for fd in /proc/$2/fd/*; do
		l=$(readlink "$fd") || continue
		case $l in
		/dev/null | /dev/kvm | pipe:* | socket:* | anon_inode:* | /memfd:* | "$tmp/run/tenders/"* | "$tmp/shoald.log") ;;
		*) stray="$stray ${fd##*/}:$l" ;;
		esac
	done
	tap_check "$1's tender holds only descriptors shoald handed it and its own (none of shoald's inherited ones)${stray:+: not$stray}" test -z "$stray"
	nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$2/limits")
	as=$(awk '/^Max address space/ { print $4 }' "/proc/$2/limits")
	if [ "$PLATFORM" = kvm ] && grep -q '^SANITIZE_CFLAGS = -fsanitize' "$top_builddir/Makefile"; then
		# A sanitized shoal-vmm has no address-space limit (vmm/jail.c): ASan's
		# shadow is terabytes reserved at its start.
		tap_check "$1's tender's descriptors are limited ($nofile) (a sanitized build: its address space is not, $as)" \
			test "$nofile" != unlimited -a "$nofile" -lt 1024
	else
		tap_check "$1's tender's descriptors are limited ($nofile) and its address space too ($as)" \
			test "$nofile" != unlimited -a "$nofile" -lt 1024 -a "$as" != unlimited
	fi
done
tap_check "ja's and jb's tenders have uids of their own ($ua, $ub)" test -n "$ua" -a "$ua" != "$ub"
for ns in ipc uts pid; do
	tap_check "ja's and jb's tenders have $ns namespaces of their own" \
		test "$(readlink "/proc/$pa/ns/$ns")" != "$(readlink "/proc/$pb/ns/$ns")"
done
# The pool's tender (a refill may have just started it: it jails itself
# before its VM, so give it up to 5 s to be seen jailed).
pool_jailed() {
	for p in $(shoald_tenders); do
		[ "$p" = "$pa" ] || [ "$p" = "$pb" ] && continue
		up=$(status "$p" Uid)
		[ -n "$up" ] && [ "$up" != "$ua" ] && [ "$up" != "$ub" ] && in_range "$up" &&
			[ "$(status "$p" CapEff)" = 0000000000000000 ] && return 0
	done
	return 1
}
ok=1
for i in $(seq 50); do
	pool_jailed && { ok=0; break; }
	sleep 0.1
done
tap_check "the pool's warm tender is jailed before its guest comes: a uid of its own ($up), no capability" test $ok -eq 0

# ---- from inside: what ja's tender could do ----
allowed_inside "the probe, against an unjailed process (this shell), opens /etc/passwd" $$ open /etc/passwd
refused_inside "ja's tender cannot open /etc/passwd" "$pa" open /etc/passwd
refused_inside "ja's tender cannot open shoald's state store" "$pa" open "$tmp/state/shoald.db"
refused_inside "ja's tender cannot open jb's /proc entry" "$pa" open "/proc/$pb/status"
refused_inside "ja's tender cannot reach the API socket" "$pa" connect "$SOCK"
allowed_inside "ja's tender may signal itself, pid 1 in its pid namespace (so a refusal below is the jail's)" "$pa" kill 1
out=$("$PROBE" "$pa" kill "$pb" 2>&1)
rc=$?
tap_check "ja's tender cannot see jb's: kill(pid, 0) finds no such process ($out)" \
	sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q 'No such process'"
refused_inside "ja's tender cannot signal jb's" "$pa" signal "$pb"
refused_inside "jb's tender cannot signal ja's" "$pb" signal "$pa"
refused_inside "ja's tender cannot signal shoald" "$pa" signal "$shoald_pid"

# ---- kill -9 of shoald: the next one re-adopts, and keeps the uids ----
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
if ! shoald_start --tender-uid-range=$FIRST-$LAST; then
	tap_not_ok "a second shoald starts after a kill -9 of the first"
	tap_diag "$(tail -n 20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
tap_check "ja is re-adopted, on the same tender ($pa)" sh -c "[ \"\$(\"$CTL\" --socket \"$SOCK\" --json show ja | \"$JSONQ\" pid)\" = $pa ]"
tap_check "jb is re-adopted, on the same tender ($pb)" sh -c "[ \"\$(\"$CTL\" --socket \"$SOCK\" --json show jb | \"$JSONQ\" pid)\" = $pb ]"
tap_check "ja's tender still runs as uid $ua" test "$(status "$pa" Uid)" = "$ua"
ctl deploy --name jc --image "$GUESTS/idle.$PLATFORM" --memory 16
tap_check "a guest deployed after the restart runs" wait_state jc running
pc=$(field jc pid)
uc=$(status "$pc" Uid)
if in_range "$uc" && [ "$uc" != "$ua" ] && [ "$uc" != "$ub" ]; then
	tap_ok "its tender has a uid no adopted tender has ($uc; ja $ua, jb $ub)"
else
	tap_not_ok "its tender's uid $uc, beside ja's $ua and jb's $ub"
fi
ctl pause ja
tap_check "ja pauses under the jail, after the re-adoption" wait_state ja paused
ctl resume ja
tap_check "and resumes" wait_state ja running
ctl stop jb
tap_check "jb stops" wait_state jb stopped
tap_check "its tender is gone" pid_gone "$pb"
# Pid 1 of its pid namespace, a tender gets only the signals it handles:
# SIGTERM (a host's shutdown) ends it all the same, with its own status.
ctl start jb
if wait_state jb running; then
	pt=$(field jb pid)
	kill -TERM "$pt"
	tap_check "SIGTERM ends a jailed tender (pid $pt), at once" pid_gone "$pt"
	for i in $(seq 50); do
		[ "$(field jb last_exit.status)" = 207 ] && break
		sleep 0.1
	done
	tap_check "and its guest's end says so ($(field jb last_exit.status): $(field jb last_exit.reason))" \
		test "$(field jb last_exit.status)" = 207
	ctl stop jb
	wait_state jb stopped
else
	tap_not_ok "jb starts again"
fi

# A range too small: a start that finds no free uid fails, naming it.
# The guests so far are removed first: the next shoald would start them
# again, and one of them could take the one uid before "one" is deployed.
for g in ja jb jc; do ctl rm $g; done
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
shoald_stop_all
# A uid of this run's own: the suite runs tests side by side (the kvm and
# proc columns of this one among them), and another shoald's tender on
# the one uid would leave none free here.
ONE=$((2900000100 + $$ % 100000))
if shoald_start --tender-uid-range=$ONE-$ONE --pool-size=0; then
	ctl deploy --name one --image "$GUESTS/idle.$PLATFORM" --memory 16
	if wait_state one running; then
		tap_ok "with a range of one uid, one guest runs"
	else
		tap_not_ok "with a range of one uid, one guest runs (it is $(field one state))"
		tap_diag "$(cat "$tmp/out" "$tmp/err")" "$(tail -n 8 "$tmp/shoald.log")"
	fi
	ctl deploy --name two --image "$GUESTS/idle.$PLATFORM" --memory 16
	rc=$?
	if [ $rc -ne 0 ] && grep -qF "no uid of tender-uid-range ($ONE-$ONE) is free" "$tmp/err"; then
		tap_ok "a second cannot start, saying why ($(cat "$tmp/err"))"
	else
		tap_not_ok "a second cannot start, saying why (exit $rc: $(cat "$tmp/out" "$tmp/err"))"
	fi
else
	tap_not_ok "shoald starts with a range of one uid"
fi
tap_done
