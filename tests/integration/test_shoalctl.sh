#!/bin/sh
# shoalctl against a real shoald with real guests (on the platform
# SHOAL_TEST_PLATFORM names, doc/testing.md), through shoalctl only:
# deploys from a spec file, stdin and flags (with uploads), ls, show,
# console (and -f), stop/start/restart, rollback, rm, events, host,
# images, latency and top, every exit code, and
# bad input refused before anything is sent.  Then contrib/: the bash
# completion, the systemd unit, the example configuration and the
# deploy-script example.  Everything this test starts is ended at its end.
. "$top_srcdir/tests/tap.sh"
tap_require_platform

JSONQ=$top_builddir/tests/integration/jsonq
tmp=$(mktemp -d /tmp/shoal-ctl-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"

cleanup() {
	shoald_stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# field NAME PATH: a field of the guest's JSON (through show --json).
field() {
	"$CTL" --socket "$SOCK" show --json "$1" 2>/dev/null | "$JSONQ" "$2"
}

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

state_is() { [ "$(field "$1" state)" = "$2" ]; }
file_has() { grep -qF -- "$2" "$1"; }
count_of() { grep -cF -- "$2" "$1"; }

if shoald_start --pool-size=4; then
	tap_ok "shoald starts and shoalctl host answers"
else
	tap_not_ok "shoald starts and shoalctl host answers"
	tap_diag "$(tail -20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi

# ---- deploys ----
mkdir "$tmp/specs"
cp "$GUESTS/hello.$PLATFORM" "$tmp/specs/"
cat >"$tmp/specs/hello-1.json" <<EOF
{
  "name": "hello-1",
  "image": "hello.$PLATFORM",
  "args": ["from-spec", "two words"],
  "restart": "never"
}
EOF
tap_check "deploy -f uploads the spec's image (relative to the spec file) and deploys" \
	run dep-file 0 deploy -f "$tmp/specs/hello-1.json"
tap_check "deploy says what it did" says dep-file out "hello-1 deployed (state running"
tap_check "deploy from flags (--name --image --memory --class --cpus --slo-us)" \
	run dep-flags 0 deploy --name idle-1 --image "$GUESTS/idle.$PLATFORM" --memory 16 --class batch --cpus 0 \
	--slo-us 500
tap_check "the flags' spec is what shoald keeps" \
	test "$(field idle-1 spec.memory_mib) $(field idle-1 spec.latency_class) $(field idle-1 spec.cpus) $(field idle-1 spec.slo_us)" = "16 batch [0] 500"
tap_check "deploy -f - reads the spec from stdin; flags win over its fields" \
	sh -c "\"$CTL\" --socket \"$SOCK\" deploy -f - --image \"$GUESTS/hello.$PLATFORM\" --arg flag-arg <\"$tmp/specs/hello-1.json\" >\"$tmp/dep-stdin.out\" 2>&1"
tap_check "the spec file's args were replaced by --arg" \
	wait_for 3 sh -c "\"$CTL\" --socket \"$SOCK\" console hello-1 | grep -q 'hello from hello-1: flag-arg'"
tap_check "deploy --json prints the guest's JSON" \
	sh -c "\"$CTL\" --socket \"$SOCK\" deploy --json -n idle-2 -i \"$GUESTS/idle.$PLATFORM\" -m 16 | \"$JSONQ\" name | grep -qx idle-2"
tap_check "deploy --no-wait answers at once" run dep-nowait 0 deploy -n idle-3 -i "$GUESTS/idle.$PLATFORM" -m 16 --no-wait
tap_check "and says the deploy was accepted" says dep-nowait out "idle-3 deploy accepted"
tap_check "upload prints the image's sha256" run upload 0 upload "$GUESTS/spin.$PLATFORM"
sha=$(cat "$tmp/upload.out")
tap_check "the sha256 is 64 hex digits" sh -c "echo '$sha' | grep -qxE '[0-9a-f]{64}'"
tap_check "images lists it" sh -c "\"$CTL\" --socket \"$SOCK\" images | grep -q \"^$(echo "$sha" | cut -c1-12) \""
tap_check "deploy by sha256" run dep-sha 0 deploy -n spin-1 -i "$sha" -m 16 --class batch --arg 50 --restart never

# ---- disks ----
head -c 65536 /dev/zero >"$tmp/www.img"
{ printf 'data'; head -c 8188 /dev/zero; } >"$tmp/data.img"
tap_check "upload --disk prints the disk image's sha256" run upload-disk 0 upload --disk "$tmp/www.img"
dsha=$(cat "$tmp/upload-disk.out")
tap_check "images lists it as a disk" sh -c "\"$CTL\" --socket \"$SOCK\" images | grep -qE \"^$(echo "$dsha" | cut -c1-12) +disk \""
tap_check "upload --kind guest of a disk is refused by shoald: exit 1" run upload-kind 1 upload --kind guest "$tmp/www.img"
tap_check "upload --kind with another kind is a usage error" run upload-bogus 2 upload --kind bogus "$tmp/www.img"
tap_check "deploy --disk without an image is a usage error" run dep-disk-bad 2 deploy -n disky -i "$GUESTS/idle.$PLATFORM" --disk www
tap_check "deploy --disk: a disk by sha256 and a local file, writable" \
	run dep-disk 0 deploy -n disky -i "$GUESTS/idle.$PLATFORM" -m 16 --disk "www=$dsha" --disk "data=$tmp/data.img:rw"
tap_check "the local disk file was uploaded as a disk" \
	sh -c "\"$CTL\" --socket \"$SOCK\" images | grep -qE \"^$(sha256sum "$tmp/data.img" | cut -c1-12) +disk \""
run show-disky 0 show disky
tap_check "show lists a read-only disk" says show-disky out "disks:      www: image $(echo "$dsha" | cut -c1-12), read-only (shared)"
tap_check "and a writable one with its own copy" says show-disky out "data: image $(sha256sum "$tmp/data.img" | cut -c1-12), writable, its own copy (8 KiB)"
# A running guest's disk counters come from its tender's counters page.
if [ -n "$("$CTL" --socket "$SOCK" --json show disky | python3 -c 'import json, sys
print(json.load(sys.stdin)["disks"][0].get("counters", {}).get("reads", ""))' 2>/dev/null)" ]; then
	tap_check "show gives a running guest's disk counters" \
		sh -c "grep -qE '^disks: +www: image [0-9a-f]{12}, read-only \(shared\); [0-9]+ reads? [0-9.]+ (B|KiB|MiB), [0-9]+ writes? [0-9.]+ (B|KiB|MiB), [0-9]+ flush(es)?, [0-9]+ errors?$' \"$tmp/show-disky.out\""
else
	tap_check "show gives no counters when shoald sends none" lacks show-disky out "read-only (shared);"
	tap_skip "show gives a running guest's disk counters" "shoald sent no counters for disky's disk (its tender publishes none)"
fi
tap_check "show of a guest without NICs has no net line" lacks show-disky out "net:"
tap_check "rm disky" run rm-disky 0 rm disky

# ---- ls, show, console ----
tap_check "ls" run ls 0 ls
tap_check "ls prints a table with its heads" grep -qE '^NAME +STATE +CLASS +MEM +VCPUS +RESTARTS +UPTIME +PID' "$tmp/ls.out"
tap_check "ls lists hello-1" says ls out "hello-1 "
tap_check "ls shows idle-1 running, in MiB" sh -c "grep '^idle-1 ' \"$tmp/ls.out\" | grep -qE 'running +batch +16 MiB +1 +0 '"
tap_check "ls has no ADDRESS column while no guest has a NIC" lacks ls out "ADDRESS"
tap_check "ls --json" run ls-json 0 ls --json
tap_check "ls --json is valid JSON" sh -c "\"$JSONQ\" <\"$tmp/ls-json.out\""
tap_check "ls --json has the guests' names" \
	sh -c "\"$JSONQ\" name <\"$tmp/ls-json.out\" | sort | tr '\n' ' ' | grep -q 'hello-1 idle-1 idle-2 idle-3 spin-1'"
tap_check "ls --json is the server's array, not a table" lacks ls-json out "NAME "
wait_for 3 state_is hello-1 stopped
tap_check "show" run show 0 show hello-1
tap_check "show gives the state" says show out "state:      stopped"
tap_check "show quotes arguments as a shell would" says show out "args:       flag-arg"
tap_check "show gives the last exit" says show out "last exit:  status 0: guest exited with code 0"
tap_check "show gives the history of deploys" says show out "history:"
tap_check "show --json is the guest's JSON" sh -c "\"$CTL\" --socket \"$SOCK\" show --json hello-1 | \"$JSONQ\" name | grep -qx hello-1"
tap_check "console of hello after it ended" run console 0 console hello-1
tap_check "has the guest's output" says console out "hello from hello-1: from-spec two words"
tap_check "console --tail gives the end only" run console-tail 0 console hello-1 --tail 40
tap_check "the tail is at most 40 bytes" test "$(wc -c <"$tmp/console-tail.out")" -le 40

# console -f: follows new output; ends by itself when the guest is deleted.
run tick1 0 deploy -n tick -i "$GUESTS/hello.$PLATFORM" --restart never --arg first-run
"$CTL" --socket "$SOCK" console -f tick >"$tmp/follow.out" 2>"$tmp/follow.err" &
follower=$!
tap_check "console -f starts with what the console has" wait_for 5 file_has "$tmp/follow.out" "hello from tick: first-run"
run tick2 0 deploy -n tick -i "$GUESTS/hello.$PLATFORM" --restart never --arg second-run
tap_check "console -f shows output that comes after it started" \
	wait_for 5 file_has "$tmp/follow.out" "hello from tick: second-run"
run rm-tick 0 rm tick
wait_for 5 sh -c "! kill -0 $follower 2>/dev/null"
tap_check "console -f ends when the guest is deleted" sh -c "! kill -0 $follower 2>/dev/null"
wait "$follower"
tap_check "and exits 0 then" test $? -eq 0
"$CTL" --socket "$SOCK" console -f idle-1 >/dev/null 2>&1 &
follower=$!
sleep 0.3
kill -INT "$follower"
wait "$follower"
tap_check "console -f ends on Ctrl-C with exit 0" test $? -eq 0

# ---- actions ----
inst=$(field idle-1 instance)
tap_check "stop" run stop 0 stop idle-1
tap_check "stop answers once the guest has stopped" says stop out "idle-1 stopped (state stopped"
tap_check "start" run start 0 start idle-1
tap_check "start answers once it runs" says start out "idle-1 started (state running"
tap_check "a start is a new instance" test "$(field idle-1 instance)" != "$inst"
inst=$(field idle-1 instance)
tap_check "restart" run restart 0 restart idle-1
tap_check "restart runs a new instance" test "$(field idle-1 instance)" != "$inst"
tap_check "restart --no-wait" run restart-nw 0 restart idle-1 --no-wait
tap_check "redeploy idle-1 with an argument" run redeploy 0 deploy -n idle-1 -i "$GUESTS/idle.$PLATFORM" -m 16 --arg v2
tap_check "the new deploy has the argument" test "$(field idle-1 spec.args)" = '["v2"]'
tap_check "rollback" run rollback 0 rollback idle-1
tap_check "rollback says so" says rollback out "idle-1 rolled back (state running"
tap_check "rollback returns to the previous spec" test "$(field idle-1 spec.args)" = '[]'
tap_check "rm of a stopped guest" run rm 0 rm hello-1
tap_check "a removed guest is not found: exit 4" run gone 4 show hello-1
tap_check "and the server's reason is shown" says gone err "shoalctl: there is no guest named hello-1 (no_such_guest, field name)"

# ---- events, host ----
tap_check "events" run events 0 events
tap_check "events shows what happened" says events out "guest idle-1 rolled back"
tap_check "events --since ID --limit N" run events-since 0 events --since 3 --limit 2
tap_check "gives at most N events" test "$(wc -l <"$tmp/events-since.out")" -eq 2
tap_check "events after ID only" sh -c "! grep -q '  #[123]  ' \"$tmp/events-since.out\""
tap_check "events --json is valid JSON" sh -c "\"$CTL\" --socket \"$SOCK\" events --json | \"$JSONQ\" type | grep -qx deployed"
"$CTL" --socket "$SOCK" events -f >"$tmp/events-f.out" 2>&1 &
follower=$!
sleep 0.3
"$CTL" --socket "$SOCK" deploy -n late -i "$GUESTS/hello.$PLATFORM" --restart never >/dev/null 2>&1
tap_check "events -f shows new events" wait_for 5 file_has "$tmp/events-f.out" "guest late deployed"
kill -INT "$follower"
wait "$follower"
tap_check "events -f ends on Ctrl-C with exit 0" test $? -eq 0
tap_check "host" run host 0 host
tap_check "host names the backend" says host out ", backend $PLATFORM, up "
tap_check "host gives the guests" says host out "guests:"
tap_check "host --json is valid JSON" sh -c "\"$CTL\" --socket \"$SOCK\" host --json | \"$JSONQ\" backend | grep -qx $PLATFORM"
"$CTL" --socket "$SOCK" host --json >"$tmp/host.json" 2>/dev/null
it=$("$JSONQ" loop.iterations <"$tmp/host.json")
h10=$("$JSONQ" loop.held_over_10ms <"$tmp/host.json")
h200=$("$JSONQ" loop.held_over_200ms <"$tmp/host.json")
tap_check "host gives the loop's wake-ups ($it) and those held over 10 ms ($h10) and 200 ms ($h200)" \
	sh -c "[ \"${it:-0}\" -gt 0 ] && [ \"${h10:-x}\" -le \"$it\" ] && [ \"${h200:-x}\" -le \"${h10:-0}\" ]"

# ---- latency and top ----
tap_check "latency" run latency 0 latency idle-1
tap_check "latency shows the 10 s and 60 s windows" \
	sh -c "grep -qE '^10 s +[0-9]+ +0 ' \"$tmp/latency.out\" && grep -qE '^60 s +[0-9]+ +0 ' \"$tmp/latency.out\""
tap_check "and a histogram of the round trips" says latency out "histogram of round trips"
tap_check "latency of an unknown guest exits 4" run latency-none 4 latency no-such-guest
tap_check "latency --buckets all: the histogram since the start" \
	sh -c "\"$CTL\" --socket \"$SOCK\" --json latency --buckets all idle-1 | \"$JSONQ\" buckets_window | grep -qx all"
tap_check "latency --buckets of another span exits 2" run latency-span 2 latency --buckets 1h idle-1
tap_check "and says what it takes" says latency-span err "is 10s, 60s or all"
tap_check "ls, once guests are probed" run ls-lat 0 ls
tap_check "has latency columns" says ls-lat out "P99"
tap_check "top -n 1" run top 0 top -n 1
tap_check "top's table has its heads" grep -qE '^NAME +STATE +CLASS +SLO +P50 +P99 +P99\.9 +MAX +MISSES$' "$tmp/top.out"
tap_check "top shows the probed guest's quantiles" \
	sh -c "grep -qE '^idle-1 +running +batch +500 us +[0-9.]+ (us|ms) +[0-9.]+ (us|ms) +[0-9.]+ (us|ms) +[0-9.]+ (us|ms) +0$' \"$tmp/top.out\""
tap_check "metrics" run metrics 0 metrics
tap_check "metrics counts the loop's wake-ups held over 50 ms" says metrics out 'shoal_loop_held_total{over_ms="50"}'
tap_check "metrics is /metrics' text, with the probed guest's latency" \
	sh -c "grep -q '^# TYPE shoal_' \"$tmp/metrics.out\" && grep -q 'guest=\"idle-1\"' \"$tmp/metrics.out\""
tap_check "metrics takes no argument (exit 2)" run metrics-arg 2 metrics idle-1
# ---- placement, pin and unpin ----
tap_check "placement" run place 0 placement
tap_check "placement shows the CPU map" sh -c "grep -qE '^CPU +NODE +CORE +ROLE +VCPUS +USE +GUESTS$' \"$tmp/place.out\""
tap_check "and says how this host places" says place out "affinity: sched_setaffinity"
tap_check "placement --json is valid JSON" sh -c "\"$CTL\" --socket \"$SOCK\" placement --json | \"$JSONQ\" enabled | grep -qx true"
tap_check "pin" run pin 0 pin idle-2 0
tap_check "pin says where the guest is" says pin out "idle-2 pinned to CPU 0 (now on CPU 0)"
tap_check "the pin is kept in the guest's spec" test "$(field idle-2 spec.cpus)" = "[0]"
tap_check "unpin" run unpin 0 unpin idle-2
tap_check "unpin says so" says unpin out "idle-2 unpinned: shoald places it"
tap_check "pin with a bad CPU list is a usage error" run pin-bad 2 pin idle-2 0-x
tap_check "pin with no CPUs is a usage error" run pin-none 2 pin idle-2 ""
tap_check "pin to a CPU the host lacks is refused by shoald, naming the field" run pin-99 1 pin idle-2 999
tap_check "and the field" says pin-99 err "field cpus[0]"
tap_check "pin of an unknown guest exits 4" run pin-unknown 4 pin no-such-guest 0
tap_check "top -n 2 off a terminal prints two tables" run top2 0 top -n 2 --interval 0.2
tap_check "two of them" test "$(count_of "$tmp/top2.out" "NAME ")" -eq 2
tap_check "and no terminal escapes" lacks top2 out "$(printf '\033')"
if command -v script >/dev/null; then
	script -qec "\"$CTL\" --socket \"$SOCK\" top -n 2 -i 0.2" /dev/null >"$tmp/top-tty.out" 2>&1
	tap_check "top on a terminal clears the screen and redraws in place" \
		test "$(grep -o "$(printf '\033')\[H$(printf '\033')\[2J" "$tmp/top-tty.out" | wc -l)" -eq 2
else
	tap_skip "top on a terminal redraws in place" "script (util-linux) is not installed"
fi

# ---- exit codes ----
tap_check "a refusal exits 1" run bad-mem 1 deploy -n odd -i "$GUESTS/hello.$PLATFORM" --memory 3
tap_check "and shows the server's message, code and field" \
	says bad-mem err "shoalctl: memory_mib must be even (guest memory comes in 2 MiB pages), not 3 (invalid_field, field memory_mib)"
tap_check "an unknown field in a spec file is refused by shoald: exit 1" \
	sh -c "echo '{\"name\":\"x\",\"image\":\"$GUESTS/hello.$PLATFORM\",\"memroy_mib\":4}' >\"$tmp/specs/typo.json\"; \"$CTL\" --socket \"$SOCK\" deploy -f \"$tmp/specs/typo.json\" 2>\"$tmp/typo.err\"; [ \$? -eq 1 ]"
tap_check "naming the field" sh -c "grep -qF '(unknown_field, field memroy_mib)' \"$tmp/typo.err\""
tap_check "rollback with nothing to roll back to: exit 1" run no-prev 1 rollback spin-1
tap_check "an unknown option exits 2" run bad-opt 2 ls --bogus
tap_check "naming it" says bad-opt err "shoalctl: ls: unknown option --bogus"
tap_check "ui with --url (shoald serves the dashboard on TCP): exit 0, no proxy" \
	run ui-url 0 --url https://127.0.0.1:1/ ui
tap_check "and it prints the dashboard's own URL" says ui-url out "https://127.0.0.1:1/ui/"
tap_check "an unknown command exits 2" run bad-cmd 2 frobnicate
tap_check "naming it" says bad-cmd err "unknown command \"frobnicate\""
tap_check "a missing NAME exits 2" run no-name 2 show
tap_check "a bad guest name exits 2" run bad-name 2 show "No/Such"
tap_check "a bad number exits 2" run bad-num 2 deploy -n x -i "$GUESTS/hello.$PLATFORM" --vcpus many
tap_check "help for a command" run help-deploy 0 deploy --help
tap_check "lists its options" says help-deploy out "--no-upload"
tap_check "shoalctl --help documents the exit codes" run help 0 --help
tap_check "all of them" sh -c "grep -q '^    3  cannot reach shoald' \"$tmp/help.out\" && grep -q '^    4  not found' \"$tmp/help.out\""
tap_check "no daemon at the socket exits 3" run no-daemon 3 --socket "$tmp/nothing.sock" ls
tap_check "with a sentence naming the socket" says no-daemon err "shoalctl: cannot reach shoald at $tmp/nothing.sock: there is no socket there"
tap_check "SHOAL_SOCKET names the socket" \
	sh -c "SHOAL_SOCKET=\"$tmp/nothing.sock\" \"$CTL\" ls 2>&1 | grep -qF \"$tmp/nothing.sock\""
tap_check "an unknown guest exits 4" run unknown 4 stop no-such-guest
printf '{\n  "name": "broken",\n  "image": "hello.kvm",\n}\n' >"$tmp/specs/broken.json"
tap_check "a spec file that is not JSON exits 2, before anything is sent" \
	run not-json 2 --socket "$tmp/nothing.sock" deploy -f "$tmp/specs/broken.json"
tap_check "naming the file and the line" says not-json err "shoalctl: deploy: $tmp/specs/broken.json:4:1: the spec file is not valid JSON"
tap_check "a spec that is not an object exits 2" \
	sh -c "echo '[1]' | \"$CTL\" --socket \"$tmp/nothing.sock\" deploy -f - 2>&1 | grep -q 'must be a JSON object'"
tap_check "a missing image file exits 2, before anything is sent" \
	run no-image 2 --socket "$tmp/nothing.sock" deploy -n x -i "$tmp/no-such.kvm"
tap_check "naming the file" says no-image err "image $tmp/no-such.kvm: No such file or directory"
tap_check "--no-upload sends the path for shoald to judge (exit 1)" run no-upload 1 deploy -n x -i no-such.kvm --no-upload
tap_check "with its reason" says no-upload err "(invalid_field, field image)"

# ---- the deploy-script example ----
mkdir "$tmp/fleet"
printf '{"image": "%s", "memory_mib": 16}\n' "$GUESTS/idle.$PLATFORM" >"$tmp/fleet/web.json"
printf '{"image": "%s", "memory_mib": 16}\n' "$GUESTS/idle.$PLATFORM" >"$tmp/fleet/dns.json"
SHOALCTL=$CTL "$top_srcdir/contrib/examples/deploy-fleet.sh" -s "$SOCK" "$tmp/fleet/web.json" \
	"$tmp/fleet/dns.json" >"$tmp/fleet.out" 2>&1
tap_check "deploy-fleet.sh deploys a fleet and exits 0" test $? -eq 0
tap_check "its guests run" sh -c "[ \"\$(\"$CTL\" --socket \"$SOCK\" show --json web | \"$JSONQ\" state)\" = running ]"
printf '{"image": "%s", "memory_mib": 3}\n' "$GUESTS/idle.$PLATFORM" >"$tmp/fleet/odd.json"
cp "$tmp/specs/broken.json" "$tmp/fleet/broken.json"
SHOALCTL=$CTL "$top_srcdir/contrib/examples/deploy-fleet.sh" -s "$SOCK" "$tmp/fleet/odd.json" \
	"$tmp/fleet/broken.json" "$tmp/fleet/web.json" >"$tmp/fleet2.out" 2>&1
tap_check "deploy-fleet.sh exits 1 when some were refused" test $? -eq 1
tap_check "and reports each" sh -c "grep -q 'odd not deployed (shoalctl exit 1' \"$tmp/fleet2.out\" && grep -q 'broken not deployed (shoalctl exit 2' \"$tmp/fleet2.out\" && grep -q '2 of 3 guests not deployed' \"$tmp/fleet2.out\""

# ---- bash completion ----
COMPLETION=$top_srcdir/contrib/shoalctl.bash-completion
if command -v bash >/dev/null; then
	tap_check "the bash completion parses" bash -n "$COMPLETION"
	# complete WORD...: what the completion offers for the words (the last one is being typed).
	complete_words() {
		PATH=$top_builddir/shoalctl:$PATH bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _shoalctl; echo "${COMPREPLY[*]}"' \
			"$COMPLETION" shoalctl "$@"
	}
	tap_check "it completes commands" test "$(complete_words ro)" = "rollback"
	# Every command of shoalctl --help, and help.
	all_cmds=$({ "$CTL" --help | sed -n '/^COMMANDS/,/^$/p' | awk 'NF > 1 { print $1 }'; echo help; } | sort | tr '\n' ' ')
	tap_check "every command of shoalctl --help" test "$(complete_words "" | tr ' ' '\n' | sort | tr '\n' ' ')" = "$all_cmds"
	tap_check "a command's flags" test "$(complete_words deploy --no-)" = "--no-upload --no-wait"
	tap_check "fixed values" test "$(complete_words deploy --restart "")" = "never on-failure always"
	tap_check "files for -f" test "$(complete_words deploy -f "$tmp/specs/hel" | tr ' ' '\n' | sort | tr '\n' ' ')" = \
		"$tmp/specs/hello-1.json $tmp/specs/hello.$PLATFORM "
	tap_check "guest names, asked of shoald" test "$(complete_words --socket "$SOCK" stop id)" = "idle-1 idle-2 idle-3"
	tap_check "nothing, quietly, when no daemon answers" test -z "$(complete_words --socket "$tmp/nothing.sock" stop "" 2>&1)"
else
	tap_skip "the bash completion" "bash is not installed"
fi

# ---- the systemd unit and the example configuration ----
UNIT_IN=$top_srcdir/contrib/shoald.service.in
tap_check "the unit is Type=notify with a watchdog" sh -c "grep -qx 'Type=notify' \"$UNIT_IN\" && grep -q '^WatchdogSec=' \"$UNIT_IN\" && grep -qx 'NotifyAccess=main' \"$UNIT_IN\""
tap_check "the unit leaves guests running across a restart" sh -c "grep -qx 'KillMode=process' \"$UNIT_IN\" && grep -qx 'RuntimeDirectoryPreserve=yes' \"$UNIT_IN\""
tap_check "the built unit names the configured sbindir" grep -q "^ExecStart=/.*/shoald\$" "$top_builddir/contrib/shoald.service"
if command -v systemd-analyze >/dev/null; then
	sed -e "s|@sbindir@|$(cd "$top_builddir/daemon" && pwd)|g" -e 's|@sysconfdir@|/etc|g' \
		-e 's|@docdir@|/usr/share/doc/shoal|g' "$UNIT_IN" >"$tmp/shoald.service"
	systemd-analyze verify --man=no "$tmp/shoald.service" >"$tmp/verify.out" 2>&1
	tap_check "systemd-analyze verify accepts the unit" test $? -eq 0 -a ! -s "$tmp/verify.out"
	[ -s "$tmp/verify.out" ] && tap_diag "$(cat "$tmp/verify.out")"
else
	tap_skip "systemd-analyze verify accepts the unit" "systemd-analyze is not installed"
fi
CONF=$top_builddir/contrib/shoald.conf
missing=
for o in $("$SHOALD" --help | sed -n 's/^  --\([a-z-]*\)  .*/\1/p'); do
	grep -q "^#$o =" "$CONF" || missing="$missing $o"
done
tap_check "shoald.conf documents every option of shoald --help${missing:+ (missing:$missing)}" test -z "$missing"
sed 's/^#\([a-z-]* =\)/\1/' "$CONF" >"$tmp/shoald.conf"
tap_check "and shoald --check takes its values" sh -c "\"$SHOALD\" --check --config=\"$tmp/shoald.conf\" >/dev/null"

# ---- a daemon gone ----
"$CTL" --socket "$SOCK" events -f >/dev/null 2>"$tmp/events-gone.err" &
follower=$!
sleep 0.3
# The socket needs no TLS stack: libcurl (and with it OpenSSL or GnuTLS) is for --url only.
tls_libs=$(grep -oE '/lib(curl|ssl|crypto|gnutls|nss3)[^/ ]*$' "/proc/$follower/maps" 2>/dev/null | sort -u | tr '\n' ' ')
tap_check "on the socket shoalctl has no TLS library mapped${tls_libs:+ (it has: $tls_libs)}" \
	sh -c "grep -q libjansson /proc/$follower/maps && test -z \"$tls_libs\""
kill -9 "$shoald_pid" && wait "$shoald_pid" 2>/dev/null
shoald_pid=
wait "$follower"
tap_check "events -f exits 3 when shoald goes away" test $? -eq 3
tap_check "naming the socket" says events-gone err "shoald at $SOCK"
tap_check "a stale socket (shoald killed) exits 3" run stale 3 ls
tap_check "saying nothing listens on it" says stale err "nothing listens on it"
tap_check "nothing this test started is left running" shoald_stop_all
tap_done
