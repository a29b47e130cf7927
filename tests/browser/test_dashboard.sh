#!/bin/sh
# The dashboard in a real browser: tests/browser/test_dashboard.js with playwright-core
# (npm, pinned by tests/browser/package-lock.json, installed into the build
# tree) driving Debian's chromium.  What is missing is installed first:
# chromium, node and npm through scripts/deps.sh.  Skipped only without
# /dev/kvm or when chromium cannot start.
. "$top_srcdir/tests/tap.sh"
tap_require_kvm

if ! command -v chromium >/dev/null 2>&1; then
	"$top_srcdir/scripts/deps.sh" chromium >&2 || tap_diag "scripts/deps.sh chromium failed"
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	"$top_srcdir/scripts/deps.sh" nodejs npm >&2 || tap_diag "scripts/deps.sh nodejs npm failed"
fi
chromium=$(command -v chromium) || tap_skip_all "chromium is not installed and scripts/deps.sh could not install it"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "not ok 1 - node and npm are there (scripts/deps.sh nodejs npm could not install them)"
	echo "1..1"
	exit 1
fi

# playwright-core into the build tree, again only when the lock file changed.
mods=$top_builddir/tests/browser
mkdir -p "$mods"
if ! cmp -s "$top_srcdir/tests/browser/package-lock.json" "$mods/package-lock.json" ||
	[ ! -f "$mods/node_modules/playwright-core/package.json" ]; then
	cp "$top_srcdir/tests/browser/package.json" "$top_srcdir/tests/browser/package-lock.json" "$mods/"
	if ! (cd "$mods" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >"$mods/npm.log" 2>&1; then
		echo "not ok 1 - npm ci installs playwright-core into $mods"
		sed 's/^/# /' "$mods/npm.log" | tail -20
		rm -f "$mods/package-lock.json"
		echo "1..1"
		exit 1
	fi
fi

SHOAL_CHROMIUM=$chromium NODE_PATH=$mods/node_modules exec node "$top_srcdir/tests/browser/test_dashboard.js"
