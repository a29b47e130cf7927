#!/bin/sh
# A Debian 12 (bookworm) root with systemd and the given packages, for
# tests that boot systemd in a container (test_systemd.sh).  debootstrap
# makes it from the archive this machine's apt already uses: the mirror is
# the URI of the first bookworm "main" source in /etc/apt/sources.list and
# /etc/apt/sources.list.d/ (one-line and deb822 files), so no archive is
# named here.  Roots are kept in CACHE, one per package list (its hash in
# the name), so that a second run finds its root and debootstraps nothing;
# a missing one is made anew.  The .debs are kept in CACHE/debs for the
# next list; a root no run has asked for in 30 days is removed when a new
# one is made.
#   scripts/debian-root.sh CACHE [PACKAGE...]
# Prints the root's absolute path.  Exits 2, saying why, when the archive
# cannot be reached (the caller skips), 1 on any other failure.
set -eu
[ $# -ge 1 ] || {
	echo "usage: debian-root.sh CACHE [PACKAGE...]" >&2
	exit 1
}
cache=$1
shift
suite=bookworm

# The packages every root has: systemd as PID 1, and what the tests run in it.
pkgs=$(printf '%s\n' systemd systemd-sysv dbus iproute2 procps "$@" | sort -u | tr '\n' ' ')
pkgs=${pkgs% }
# The root's name changes with the list and with this script's recipe.
key=$( (echo "$suite $pkgs" && cat "$0") | sha256sum | cut -c1-16)
root=$cache/$suite-$key
if [ -f "$root/.complete" ]; then
	touch "$root/.complete"
	echo "$root"
	exit 0
fi

# mirror: the URI of the first "deb" source for $suite with "main".
mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI SUITE COMPONENT...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v s="$suite" '$1 == "deb" && $3 == s { for (i = 4; i <= NF; i++) if ($i == "main") { print $2; exit } }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas, separated by blank lines; fields may repeat per stanza.
		awk -v s="$suite" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" s "( |$)") &&
				    comps ~ /(^| )main( |$)/ && uris != "" && enabled != "no") {
					split(uris, u, " ")
					print u[1]
				}
				types = suites = comps = uris = ""
				enabled = "yes"
			}
			BEGIN { enabled = "yes" }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				line = $0
				sub(/^[^:]*:[ \t]*/, "", line)
				f = tolower($1)
				if (f == "types:") types = line
				else if (f == "uris:") uris = line
				else if (f == "suites:") suites = line
				else if (f == "components:") comps = line
				else if (f == "enabled:") enabled = tolower(line)
			}
			END { flush() }' "$f"
	done
}
uri=$(mirror | head -n 1)
if [ -z "$uri" ]; then
	echo "debian-root.sh: no '$suite' source with 'main' in this machine's apt configuration (/etc/apt/sources.list, /etc/apt/sources.list.d/)" >&2
	exit 2
fi
command -v debootstrap >/dev/null || {
	echo "debian-root.sh: debootstrap is not installed (scripts/deps.sh installs it)" >&2
	exit 1
}

mkdir -p "$cache/debs"
cache=$(cd "$cache" && pwd)
root=$cache/$suite-$key
# One maker at a time; a second caller waits and then finds the root made.
exec 8>"$cache/.lock"
flock 8
if [ -f "$root/.complete" ]; then
	echo "$root"
	exit 0
fi
# The Release file says whether the archive can be reached at all.
if ! curl -fsS -o /dev/null --max-time 30 "$uri/dists/$suite/Release" 2>"$cache/.reach"; then
	echo "debian-root.sh: the archive $uri cannot be reached: $(cat "$cache/.reach")" >&2
	exit 2
fi
# Made beside, moved into place only once complete.
work=$(mktemp -d "$cache/.make-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "debian-root.sh: debootstrap $suite from $uri with: $pkgs" >&2
if ! debootstrap --variant=minbase --cache-dir="$cache/debs" \
	--include="$(echo "$pkgs" | tr ' ' ',')" "$suite" "$work/root" "$uri" >"$work/log" 2>&1; then
	echo "debian-root.sh: debootstrap failed; the end of its log ($work/root/debootstrap/debootstrap.log):" >&2
	tail -n 20 "$work/log" >&2
	[ -f "$work/root/debootstrap/debootstrap.log" ] && tail -n 20 "$work/root/debootstrap/debootstrap.log" >&2
	exit 1
fi
# The container's own: a machine id made at its first boot, no getty.
: >"$work/root/etc/machine-id"
rm -f "$work/root/var/cache/apt/archives/"*.deb
echo "$pkgs" >"$work/root/.complete"
rm -rf "$root"
mv "$work/root" "$root"
# Roots of other lists that no run has used for a month.
for old in "$cache/$suite"-*/.complete; do
	[ -f "$old" ] && [ -n "$(find "$old" -mtime +30)" ] && rm -rf "${old%/.complete}"
done
echo "$root"
