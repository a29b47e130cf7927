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

tap_require_kvm() {
	[ -c /dev/kvm ] || tap_skip_all "/dev/kvm does not exist on this machine"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || tap_skip_all "/dev/kvm is not readable and writable by $(id -un)"
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
