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

tap_require_kvm() {
	[ -c /dev/kvm ] || tap_skip_all "/dev/kvm does not exist on this machine"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || tap_skip_all "/dev/kvm is not readable and writable by $(id -un)"
}

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
VMM=$top_builddir/vmm/shoal-vmm
GUESTS=$top_builddir/unikernel-rt/examples
