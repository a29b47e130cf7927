#!/bin/sh
# make install into a DESTDIR: every file where the configured directories
# say (binaries, the tender, guests, the unit, the configuration, bash
# completion, man pages, the Markdown pages of doc/, examples), the
# installed pieces naming each other (the unit's shoald, shoald's
# tender), systemd-analyze verify on the installed unit, an admin's
# configuration kept across install and uninstall, and make uninstall
# leaving no file behind.  Then the tarball: every file git tracks is in
# it (make distcheck itself runs from scripts/distcheck.sh).
. "$top_srcdir/tests/tap.sh"

tmp=$(mktemp -d /tmp/shoal-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
dest=$tmp/dest
B=$(cd "$top_builddir" && pwd)

# The makes below are the test's own, not part of the make that runs it
# (under make distcheck that one is several levels deep).
unset MAKEFLAGS MFLAGS MAKELEVEL
# dir VAR: a make variable of the build, expanded (prefix, sbindir, ...).
dir() { printf 'print-dir:\n\t@echo $(%s)\n' "$1" | make -s --no-print-directory -C "$B" -f Makefile -f - print-dir; }
sbindir=$(dir sbindir) bindir=$(dir bindir) pkglibexecdir=$(dir pkglibexecdir) pkgdatadir=$(dir pkgdatadir)
sysconfdir=$(dir sysconfdir) mandir=$(dir mandir) docdir=$(dir docdir) unitdir=$(dir systemdsystemunitdir)
compdir=$(dir bashcompletiondir) prefix=$(dir prefix)

# The tree is built already (make check builds it); install is quiet.
make -s -C "$B" install DESTDIR="$dest" >"$tmp/install.out" 2>&1
tap_check "make install DESTDIR=... succeeds" test $? -eq 0 || tap_diag "$(tail -20 "$tmp/install.out")"
(cd "$dest" && find . -type f | sed 's|^\.||' | sort) >"$tmp/files"
tap_diag "installed (prefix $prefix):" $(cat "$tmp/files")

has() { # has PATH [test-flag]
	[ -e "$dest$1" ] && { [ -z "${2:-}" ] || test "$2" "$dest$1"; } && return 0
	tap_diag "missing: $1"
	return 1
}
tap_check "shoald in sbindir ($sbindir)" has "$sbindir/shoald" -x
tap_check "shoalctl in bindir ($bindir)" has "$bindir/shoalctl" -x
tap_check "shoal-vmm in pkglibexecdir ($pkglibexecdir)" has "$pkglibexecdir/shoal-vmm" -x
tap_check "shoal-proc in pkglibexecdir" has "$pkglibexecdir/shoal-proc" -x
tap_check "the example guests in pkgdatadir/guests, for kvm, xen-pv, xen-pvh and proc" sh -c "for g in hello idle spin hang badcall crash; do for p in kvm xen-pv xen-pvh proc; do [ -f '$dest$pkgdatadir/guests/'\$g.\$p ] || exit 1; done; done"
tap_check "the web dashboard in pkgdatadir/ui" sh -c "[ -f '$dest$pkgdatadir/ui/index.html' ] && [ -f '$dest$pkgdatadir/ui/app.js' ]"
tap_check "shoald's default ui-dir is the installed one" \
	sh -c "'$dest$sbindir/shoald' --help | grep -q -- '--ui-dir .*default $pkgdatadir/ui)'"
tap_check "the unit in systemd's directory ($unitdir)" has "$unitdir/shoald.service"
tap_check "the configuration in sysconfdir/shoal" has "$sysconfdir/shoal/shoald.conf"
tap_check "and among the examples" has "$docdir/examples/shoald.conf"
tap_check "shoalctl's bash completion ($compdir)" has "$compdir/shoalctl"
tap_check "man pages in man1, man5, man8" sh -c "[ -f '$dest$mandir/man1/shoalctl.1' ] && [ -f '$dest$mandir/man5/shoald.conf.5' ] && [ -f '$dest$mandir/man8/shoald.8' ]"
tap_check "the Markdown pages of doc/ in docdir ($docdir)" \
	sh -c "for p in '$top_srcdir'/doc/*.md; do [ -f '$dest$docdir/'\${p##*/} ] || exit 1; done"
tap_check "the Grafana dashboard and Prometheus configuration among the examples" \
	sh -c "[ -f '$dest$docdir/examples/grafana/shoal.json' ] && [ -f '$dest$docdir/examples/prometheus/shoal.yml' ]"
tap_check "the deploy scripts among the examples, runnable" \
	sh -c "for s in deploy upload wait-slo; do [ -x '$dest$docdir/examples/deploy/'\$s.sh ] || exit 1; done && [ -f '$dest$docdir/examples/deploy/lib.sh' ]"
tap_check "nothing outside the prefix but the unit's directory" \
	sh -c "! grep -v -e '^$prefix/' -e '^$unitdir/' '$tmp/files'"
tap_check "no state directory made by make install (the unit's StateDirectory= makes it)" \
	sh -c "! grep -q '/var/lib/shoal' '$tmp/files' && [ ! -e '$dest/var/lib/shoal' ]"

# The installed pieces find each other where they were installed.
tap_check "the unit starts the installed shoald" grep -qx "ExecStart=$sbindir/shoald" "$dest$unitdir/shoald.service"
tap_check "shoald's default tender is the installed one" \
	sh -c "'$dest$sbindir/shoald' --help | grep -q -- '--vmm .*default $pkglibexecdir/shoal-vmm)'"
tap_check "shoald's default configuration is the installed one" \
	sh -c "'$dest$sbindir/shoald' --help | grep -q -- 'default $sysconfdir/shoal/shoald.conf)'"
tap_check "the installed configuration names the installed tender" \
	grep -qx "#vmm = $pkglibexecdir/shoal-vmm" "$dest$sysconfdir/shoal/shoald.conf"
sed 's/^#\([a-z-]* = \)/\1/' "$dest$sysconfdir/shoal/shoald.conf" >"$tmp/all.conf"
tap_check "shoald --check takes the installed configuration, every option set" \
	sh -c "'$dest$sbindir/shoald' --check -c '$tmp/all.conf' >/dev/null"
tap_check "shoalctl runs" sh -c "'$dest$bindir/shoalctl' --version | grep -q '^shoalctl '"

# systemd-analyze verify on the installed unit, in a root made of the
# DESTDIR and systemd's own units, so that ExecStart= and Documentation=
# (man:) are checked against what was installed.  PID 1 need not be systemd.
if command -v systemd-analyze >/dev/null && [ -d /usr/lib/systemd/system ]; then
	root=$tmp/root
	mkdir -p "$root/usr/lib/systemd"
	cp -a "$dest/." "$root/" && cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
	# systemd finds units under a root only in its own directories; a
	# unitdir elsewhere (make distcheck's prefix) is verified from /etc.
	unit=$unitdir/shoald.service
	case $unitdir in
	/lib/systemd/system | /usr/lib/systemd/system | /usr/local/lib/systemd/system | /etc/systemd/system) ;;
	*)
		mkdir -p "$root/etc/systemd/system" && cp "$root$unit" "$root/etc/systemd/system/"
		unit=/etc/systemd/system/shoald.service
		tap_diag "$unitdir is not one of systemd's directories: verifying a copy in $unit"
		;;
	esac
	# The host's own programs the unit runs (ExecReload=/bin/kill ...), as a
	# Dom0 has them; the unit's shoald stays the installed one.
	for p in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\(\/[^ ]*\).*/\1/p' "$root$unit"); do
		case $p in "$prefix"/*) continue ;; esac
		[ -e "$root$p" ] || [ ! -x "$p" ] || { mkdir -p "$root${p%/*}" && cp "$p" "$root$p"; }
	done
	MANPATH=$root$mandir systemd-analyze verify --root="$root" "$unit" >"$tmp/verify.out" 2>&1
	rc=$?
	tap_check "systemd-analyze verify accepts the installed unit" test "$rc" -eq 0 -a ! -s "$tmp/verify.out"
	[ -s "$tmp/verify.out" ] && tap_diag "$(cat "$tmp/verify.out")"
	sed -i 's/^Type=notify/Type=notfy/' "$root$unit"
	MANPATH=$root$mandir systemd-analyze verify --root="$root" "$unit" >"$tmp/verify-bad.out" 2>&1
	tap_check "and says so for a unit with a bad line" grep -q "notfy" "$tmp/verify-bad.out"
	rm "$root$mandir/man8/shoald.8"
	MANPATH=$root$mandir systemd-analyze verify --root="$root" "$unit" >"$tmp/verify-man.out" 2>&1
	tap_check "and for a unit whose man page is missing" grep -q "man shoald(8)" "$tmp/verify-man.out"
else
	tap_skip "systemd-analyze verify on the installed unit" "systemd-analyze is not installed (Debian: systemd)"
fi

# An admin's configuration is never overwritten, nor removed.
echo "probe-hz = 20" >"$dest$sysconfdir/shoal/shoald.conf"
make -s -C "$B" install DESTDIR="$dest" >"$tmp/install2.out" 2>&1
tap_check "a second install keeps the admin's configuration" grep -qx "probe-hz = 20" "$dest$sysconfdir/shoal/shoald.conf"
tap_check "saying so" grep -q "KEEP .*shoald.conf" "$tmp/install2.out"
make -s -C "$B" uninstall DESTDIR="$dest" >"$tmp/uninstall.out" 2>&1
tap_check "make uninstall succeeds" test $? -eq 0
tap_check "and keeps the admin's configuration" grep -qx "probe-hz = 20" "$dest$sysconfdir/shoal/shoald.conf"
rm "$dest$sysconfdir/shoal/shoald.conf"
make -s -C "$B" install DESTDIR="$dest" >/dev/null 2>&1 && make -s -C "$B" uninstall DESTDIR="$dest" >/dev/null 2>&1
(cd "$dest" && find . -type f -o -type l) >"$tmp/left"
tap_check "install then uninstall leaves no file" test ! -s "$tmp/left"
[ -s "$tmp/left" ] && tap_diag "left:" $(cat "$tmp/left")

# The tarball has every file git tracks (what a build from it needs).
if command -v git >/dev/null &&
	[ "$(git -C "$top_srcdir" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$top_srcdir" && pwd -P)" ]; then
	mkdir -p "$tmp/dist" && make -s -C "$B" distdir distdir="$tmp/dist/shoal" >"$tmp/distdir.out" 2>&1
	tap_check "make distdir succeeds" test $? -eq 0 || tap_diag "$(tail -20 "$tmp/distdir.out")"
	git -C "$top_srcdir" ls-files | grep -v -e '^\.ci/' -e '^\.gitignore$' -e '^\.clang-format$' -e '^m4/\.keep$' \
		| sort >"$tmp/tracked"
	missing=
	while read -r f; do
		[ -e "$tmp/dist/shoal/$f" ] || missing="$missing $f"
	done <"$tmp/tracked"
	tap_check "every file git tracks is in the tarball${missing:+ (missing:$missing)}" test -z "$missing"
else
	tap_skip "every file git tracks is in the tarball" "the source tree is not a git checkout"
fi
tap_done
