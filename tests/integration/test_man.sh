#!/bin/sh
# The man pages: they format without a warning (groff -man -ww, or
# mandoc -T lint), and they cannot drift from the programs: every option
# shoald --help lists is in shoald.conf(5), every flag of shoald in
# shoald(8), every command shoalctl --help lists and every option of
# every `shoalctl COMMAND --help` in shoalctl(1), with its exit codes.
. "$top_srcdir/tests/tap.sh"

SHOALD=$top_builddir/daemon/shoald
CTL=$top_builddir/shoalctl/shoalctl
DOC=$top_srcdir/doc
CTLDOC=$top_srcdir/shoalctl
tmp=$(mktemp -d /tmp/shoal-man-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for f in doc/shoald.8 doc/shoald.conf.5 shoalctl/shoalctl.1; do
	page=${f##*/}
	f=$top_builddir/$f
	if [ ! -s "$f" ]; then
		tap_not_ok "$page is built"
		continue
	fi
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W warning "$f" >"$tmp/lint" 2>&1
	elif command -v groff >/dev/null; then
		groff -man -ww -z "$f" >"$tmp/lint" 2>&1
	else
		tap_skip "$page lints clean" "neither mandoc nor groff is installed"
		continue
	fi
	tap_check "$page lints clean" test ! -s "$tmp/lint"
	[ -s "$tmp/lint" ] && tap_diag "$(head -20 "$tmp/lint")"
	tap_check "$page names no unsubstituted path" sh -c "! grep -n '@[a-z]*@' '$f'"
done

# A checked corpus: what the page must name, what the program says.
# missing_in FILE PATTERN-PREFIX PATTERN-SUFFIX WORD...: the words absent.
missing_in() {
	file=$1 pre=$2 post=$3
	shift 3
	out=
	for w in "$@"; do
		grep -qF -- "$pre$w$post" "$file" || out="$out $w"
	done
	echo "$out"
}

opts=$("$SHOALD" --help | sed -n 's/^  --\([a-z-]*\)  .*/\1/p')
tap_check "shoald --help lists its options ($(echo $opts | wc -w))" test "$(echo $opts | wc -w)" -ge 30
m=$(missing_in "$DOC/shoald.conf.5.scd" '*' '* = ' $opts)
tap_check "shoald.conf(5) describes every option of shoald --help${m:+ (missing:$m)}" test -z "$m"
# ... and nothing that shoald does not know.
extra=
for o in $(sed -n 's/^\*\([a-z-]*\)\* = .*/\1/p' "$DOC/shoald.conf.5.scd"); do
	echo "$opts" | grep -qx -- "$o" || extra="$extra $o"
done
tap_check "shoald.conf(5) describes no option shoald lacks${extra:+ (unknown:$extra)}" test -z "$extra"
# Its defaults are shoald's: the page's "Default: N." for each numeric option.
bad=
for o in $opts; do
	d=$("$SHOALD" --help | sed -n "s/^  --$o  *.*(default \([0-9][0-9]*\))\$/\1/p")
	[ -n "$d" ] || continue
	awk -v o="*$o* = " 'index($0, o) == 1 { on = 1; next } on && /^\*/ { exit } on' "$DOC/shoald.conf.5.scd" |
		tr '\n\t' '  ' | tr -s ' ' | grep -q "Default: $d[ .]" || bad="$bad $o=$d"
done
tap_check "and gives shoald's default for each numeric one${bad:+ (wrong:$bad)}" test -z "$bad"

flags=$("$SHOALD" --help | sed -n 's/^  \(-[a-zA-Z]\), \(--[a-z]*\).*/\1 \2/p')
m=$(missing_in "$DOC/shoald.8.scd" '*' '*' $flags)
tap_check "shoald(8) describes every flag of shoald --help${m:+ (missing:$m)}" test -z "$m"

cmds=$("$CTL" --help | sed -n '/^COMMANDS/,/^$/s/^    \([a-z]*\) .*/\1/p')
tap_check "shoalctl --help lists its commands ($(echo $cmds | wc -w))" test "$(echo $cmds | wc -w)" -ge 15
m=$(missing_in "$CTLDOC/shoalctl.1.scd" '*' '*' $cmds)
tap_check "shoalctl(1) describes every command${m:+ (missing:$m)}" test -z "$m"
m=
for c in $cmds; do
	for o in $("$CTL" "$c" --help | sed -n '/^options:/,$p' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -qF -- "*$o*" "$CTLDOC/shoalctl.1.scd" || m="$m $c:$o"
	done
done
tap_check "shoalctl(1) describes every option of every command${m:+ (missing:$m)}" test -z "$m"
m=$(missing_in "$CTLDOC/shoalctl.1.scd" '*' '*' $("$CTL" --help | sed -n '/^OPTIONS/,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u))
tap_check "and every global option${m:+ (missing:$m)}" test -z "$m"
codes=$("$CTL" --help | sed -n '/^EXIT STATUS/,/^$/s/^    \([0-9]\)  .*/\1/p')
m=$(missing_in "$CTLDOC/shoalctl.1.scd" '*' '*' $codes)
tap_check "and every exit code ($(echo $codes))${m:+ (missing:$m)}" test -z "$m" -a -n "$codes"

# The check catches a page that drifted: a corpus with one option dropped.
grep -v '^\*probe-hz\* = ' "$DOC/shoald.conf.5.scd" >"$tmp/drifted.scd"
m=$(missing_in "$tmp/drifted.scd" '*' '* = ' $opts)
tap_check "a page without probe-hz is caught" sh -c "echo '$m' | grep -qw probe-hz"
tap_done
