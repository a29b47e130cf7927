#!/bin/sh
# Every C file of the tree is formatted as .clang-format says, so that the
# formatting stays applied: one check per component folder, naming each
# file that is not, with the first lines clang-format would change.
. "$top_srcdir/tests/tap.sh"

command -v clang-format >/dev/null ||
	tap_skip_all "clang-format is not installed (Debian: clang-format; scripts/deps.sh installs it)"
[ -f "$top_srcdir/.clang-format" ] || tap_skip_all "no .clang-format in $top_srcdir"

tmp=$(mktemp -d /tmp/shoal-format-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The C sources of a folder, without what a build in the source tree adds.
c_files() {
	find "$top_srcdir/$1" \( -name node_modules -o -name _build -o -name '.deps' \) -prune -o \
		\( -name '*.c' -o -name '*.h' \) ! -name 'vmm_seccomp_bpf.h' ! -name 'proc_seccomp_bpf.h' -type f -print | sort
}

total=0
for dir in unikernel-rt common vmm daemon api shoalctl scheduler metrics tests bench; do
	[ -d "$top_srcdir/$dir" ] || continue
	bad= n=0
	for f in $(c_files "$dir"); do
		n=$((n + 1))
		# --style=file finds .clang-format above the file, in the source tree.
		if ! clang-format --style=file --dry-run --Werror "$f" >"$tmp/out" 2>&1; then
			bad="$bad ${f#"$top_srcdir"/}"
			head -6 "$tmp/out" | sed "s|$top_srcdir/||" >>"$tmp/diag"
		fi
	done
	total=$((total + n))
	if [ -z "$bad" ]; then
		tap_ok "$dir/: its $n C files are formatted as .clang-format says"
	else
		tap_not_ok "$dir/: not formatted as .clang-format says:$bad (run clang-format -i on them)"
		[ -s "$tmp/diag" ] && tap_diag "$(head -30 "$tmp/diag")"
	fi
	: >"$tmp/diag"
done
tap_check "the check saw the tree's C files ($total)" test "$total" -gt 100
tap_done
