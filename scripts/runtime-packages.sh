#!/bin/sh
# The Debian packages that hold the shared libraries the given programs
# link directly (their ELF NEEDED entries, found where ldd finds them),
# one a line, sorted: what a root that runs them needs installed, the
# rest coming with those packages' own dependencies.  test_systemd.sh
# installs them in its container's root.
#   scripts/runtime-packages.sh PROGRAM...
# Exits 1, naming it, when a library is in no package.
set -eu
for prog in "$@"; do
	needed=$(LC_ALL=C readelf -d "$prog" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	ldd "$prog" | while read -r name _ path _; do
		# Only the program's own NEEDED, not what those libraries pull in.
		case " $(echo $needed) " in *" $name "*) ;; *) continue ;; esac
		pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null) || {
			echo "runtime-packages.sh: $prog: $path ($name) is in no Debian package" >&2
			exit 1
		}
		echo "${pkg%%:*}"
	done
done | sort -u
