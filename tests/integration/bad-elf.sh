#!/bin/sh
# The bad-image corpus (tests/data/bad-elf.txt): each damaged copy of the
# hello guest is refused by shoal-vmm with status 203 and a message that
# says what is wrong; the undamaged image still boots.
. "$top_srcdir/tests/tap.sh"
tap_require_kvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MKBAD=$top_builddir/tests/integration/mkbadelf

boots() { "$VMM" "$GUESTS/hello.kvm" >/dev/null; }
tap_check "the undamaged image boots" boots
i=0
grep -v '^#' "$top_srcdir/tests/data/bad-elf.txt" | grep -v '^[[:space:]]*$' |
while IFS='|' read -r name muts expect; do
	name=$(echo "$name" | sed 's/[[:space:]]*$//')
	muts=$(echo "$muts" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	expect=$(echo "$expect" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	i=$((i + 1))
	img=$tmp/bad$i.kvm
	if ! "$MKBAD" "$GUESTS/hello.kvm" "$img" "$muts"; then
		echo "not ok - $name (could not build the image)"
		continue
	fi
	"$VMM" "$img" >"$tmp/out" 2>"$tmp/err"
	st=$?
	if [ $st -eq 203 ] && grep -qF -- "$expect" "$tmp/err"; then
		echo "ok - refuses: $name"
	else
		echo "not ok - refuses: $name"
		echo "# status $st (want 203); stderr: $(cat "$tmp/err")"
		echo "# want: $expect"
	fi
done
echo "1..$(($(grep -v '^#' "$top_srcdir/tests/data/bad-elf.txt" | grep -cv '^[[:space:]]*$') + 1))"
