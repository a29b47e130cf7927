# TAP helpers for the shell tests: source it, call the checks, end with
# tap_done.  A test that cannot run here calls tap_skip_all with the reason.
tap_n=0

tap_ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
tap_not_ok() { tap_n=$((tap_n + 1)); echo "not ok $tap_n - $*"; }
tap_skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
tap_diag() { printf '# %s\n' "$@"; }
tap_skip_all() { echo "1..0 # SKIP $*"; exit 0; }
tap_done() { echo "1..$tap_n"; }

# tap_check DESCRIPTION COMMAND...: ok when the command succeeds.
tap_check() {
	desc=$1
	shift
	if "$@"; then tap_ok "$desc"; else tap_not_ok "$desc"; fi
}

# tap_timing_lock: hold the suite's timing lock until this test ends.
# Tests whose checks are timed (placement reacting within seconds, a
# bounded CPU cost) take it, and so does the Xen run, whose QEMU takes
# every CPU: make check -j runs them one at a time, beside the rest.
tap_timing_lock() {
	command -v flock >/dev/null || return 0
	exec 9>"$top_builddir/tests/timing.lock" || return 0
	flock 9
}

# Whether this machine has a usable /dev/kvm; SHOAL_TEST_NO_KVM=1 makes
# it act as if it had none (to see the suite's skips on a KVM machine).
tap_have_kvm() {
	case ${SHOAL_TEST_NO_KVM:-0} in 0) ;; *) return 1 ;; esac
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}

# A test of KVM alone (it has no proc column): SKIP without /dev/kvm.
tap_require_kvm() {
	case ${SHOAL_TEST_NO_KVM:-0} in 0) ;; *) tap_skip_all "no /dev/kvm (SHOAL_TEST_NO_KVM is set)" ;; esac
	[ -c /dev/kvm ] || tap_skip_all "/dev/kvm does not exist on this machine"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || tap_skip_all "/dev/kvm is not readable and writable by $(id -un)"
}

# The test matrix (doc/testing.md): a guest test runs once per platform,
# SHOAL_TEST_PLATFORM=kvm (the default) or proc; $PLATFORM is also its
# images' suffix ("$GUESTS/idle.$PLATFORM").  tap_require_platform names
# the column in a TAP comment, so that a failure says which, and SKIPs it
# where the machine cannot run it.
PLATFORM=${SHOAL_TEST_PLATFORM:-kvm}
tap_require_platform() {
	echo "# platform: $PLATFORM"
	case $PLATFORM in
	kvm) tap_have_kvm || tap_skip_all "no /dev/kvm: the kvm column is skipped; the proc column runs" ;;
	proc)
		[ -x "$top_builddir/vmm/shoal-proc" ] ||
			tap_skip_all "the proc column needs $top_builddir/vmm/shoal-proc, which was not built"
		[ -f "$GUESTS/idle.proc" ] || tap_skip_all "the proc column needs the proc guests, which were not built"
		;;
	*)
		echo "Bail out! SHOAL_TEST_PLATFORM=$PLATFORM is neither kvm nor proc"
		exit 1
		;;
	esac
}

# tap_require_nic_guests: what a test of guests with NICs on the column's
# platform needs (tap_require_platform, the lwIP guests, python3, ip, the
# tun device), or SKIP naming what is missing.
tap_require_nic_guests() {
	tap_require_platform
	[ -f "$GUESTS/echo.$PLATFORM" ] ||
		tap_skip_all "lwIP was not built (no lwIP source tree when configure ran: scripts/lwip.sh fetches Debian's into the build directory)"
	command -v python3 >/dev/null || tap_skip_all "python3 is not installed"
	command -v ip >/dev/null || tap_skip_all "ip (iproute2) is not installed"
	[ -c /dev/net/tun ] || tap_skip_all "/dev/net/tun does not exist"
}

# tap_skip_on_proc DESCRIPTION REASON: a check that holds on KVM only,
# skipped on proc with the reason; 0 on proc (the caller goes on without
# it), 1 on kvm (the caller makes the check).
tap_skip_on_proc() {
	[ "$PLATFORM" = proc ] || return 1
	tap_skip "$1" "not on proc: $2"
}

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
VMM=$top_builddir/vmm/shoal-vmm
GUESTS=$top_builddir/unikernel-rt/examples

# tap_vmm NAME EXPECTED_STATUS ARG...: run shoal-vmm ARG..., keeping its
# stdout and stderr in $tmp/NAME.out and $tmp/NAME.err; fails, with both
# as diagnostics, when it ends with another status.
tap_vmm() {
	tap_vmm_name=$1 tap_vmm_want=$2
	shift 2
	"$VMM" "$@" >"$tmp/$tap_vmm_name.out" 2>"$tmp/$tap_vmm_name.err"
	tap_vmm_got=$?
	[ "$tap_vmm_got" -eq "$tap_vmm_want" ] && return 0
	tap_diag "$tap_vmm_name: exit status $tap_vmm_got, expected $tap_vmm_want" \
		"stdout: $(cat "$tmp/$tap_vmm_name.out")" "stderr: $(cat "$tmp/$tap_vmm_name.err")"
	return 1
}

# tap_said NAME out|err TEXT: what tap_vmm NAME printed there has TEXT.
tap_said() {
	grep -qF -- "$3" "$tmp/$1.$2" && return 0
	tap_diag "$1: its $2 lacks \"$3\"; it was: $(cat "$tmp/$1.$2")"
	return 1
}
