#!/bin/sh
# The API's contract, api/openapi.yaml, linted by a linter that is not
# ours: Redocly's CLI (npm, pinned by tests/openapi/package-lock.json and
# installed into the build tree), with the rules of tests/openapi/redocly.yaml
# and the few exceptions of tests/openapi/.redocly.lint-ignore.yaml, each
# with its reason.  Any error fails the test.  The linter is first shown a
# contract with known faults, so that one that checks nothing cannot pass.
# What is missing is installed first (node and npm through scripts/deps.sh);
# the test says SKIP only when node, npm or the package cannot be had.
. "$top_srcdir/tests/tap.sh"

src=$top_srcdir/tests/openapi
mods=$top_builddir/tests/openapi
contract=$top_srcdir/api/openapi.yaml
version=$(sed -n 's/.*"@redocly\/cli": *"\([^"]*\)".*/\1/p' "$src/package.json")

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	"$top_srcdir/scripts/deps.sh" nodejs npm >&2 || tap_diag "scripts/deps.sh nodejs npm failed"
fi
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	tap_skip_all "node and npm are not installed and scripts/deps.sh could not install them"
# @redocly/cli 2 runs on node 20.19 and later.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
	tap_skip_all "node $(node --version) is older than @redocly/cli $version needs (20.19)"

# Into the build tree, again only when the lock file changed.
mkdir -p "$mods"
if ! cmp -s "$src/package-lock.json" "$mods/package-lock.json" ||
	[ ! -f "$mods/node_modules/@redocly/cli/package.json" ]; then
	if [ "$(cd "$src" && pwd -P)" != "$(cd "$mods" && pwd -P)" ]; then
		cp "$src/package.json" "$src/package-lock.json" "$mods/"
	fi
	if ! (cd "$mods" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >"$mods/npm.log" 2>&1; then
		sed 's/^/# /' "$mods/npm.log" | tail -20
		[ "$(cd "$src" && pwd -P)" = "$(cd "$mods" && pwd -P)" ] || rm -f "$mods/package-lock.json"
		tap_skip_all "npm ci could not install @redocly/cli $version into $mods (see npm.log there)"
	fi
fi
redocly=$mods/node_modules/.bin/redocly

# No usage report and no look for a newer release: the test needs no network once installed.
REDOCLY_TELEMETRY=off
REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export REDOCLY_TELEMETRY REDOCLY_SUPPRESS_UPDATE_NOTICE

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

got=$("$redocly" --version 2>/dev/null)
tap_check "redocly runs and is the pinned $version (it says \"$got\")" test "$got" = "$version"

# A contract with faults the rules must find: nullable without a type, an
# operation without an operationId, an undefined $ref.
cat >"$tmp/faulty.yaml" <<'EOF'
openapi: 3.0.3
info: { title: faulty, version: "1" }
servers: [{ url: "https://shoal.invalid" }]
security: [{}]
paths:
  /v1/things:
    get:
      summary: things
      responses:
        "200":
          description: things
          content:
            application/json:
              schema:
                type: object
                properties:
                  a: { nullable: true, allOf: [{ $ref: "#/components/schemas/Thing" }] }
                  b: { $ref: "#/components/schemas/Nothing" }
        "400": { description: a refusal }
components:
  schemas:
    Thing: { type: object }
EOF
"$redocly" lint --config "$src/redocly.yaml" --format=stylish "$tmp/faulty.yaml" >"$tmp/faulty.out" 2>&1
rc=$?
ok=1
for rule in nullable-type-sibling operation-operationId no-unresolved-refs; do
	grep -q "error.*$rule" "$tmp/faulty.out" || ok=0
done
if [ "$rc" -ne 0 ] && [ "$ok" = 1 ]; then
	tap_ok "the linter refuses a contract with known faults (nullable-type-sibling, operation-operationId, no-unresolved-refs)"
else
	tap_not_ok "the linter refuses a contract with known faults (nullable-type-sibling, operation-operationId, no-unresolved-refs)"
	tap_diag "exit $rc" "$(grep -v '^ *[╔║╚]' "$tmp/faulty.out" | tail -20)"
fi

"$redocly" lint --config "$src/redocly.yaml" --format=stylish "$contract" >"$tmp/lint.out" 2>&1
rc=$?
errors=$(grep -c '^ *[0-9]*:[0-9]* *error ' "$tmp/lint.out")
warnings=$(grep -c '^ *[0-9]*:[0-9]* *warning ' "$tmp/lint.out")
if [ "$rc" -eq 0 ] && [ "$errors" -eq 0 ]; then
	tap_ok "redocly lint finds no error in api/openapi.yaml ($warnings warnings)"
else
	tap_not_ok "redocly lint finds no error in api/openapi.yaml (exit $rc, $errors errors, $warnings warnings)"
fi
# What it says, errors and warnings alike, without the banners.
grep -v '^ *[╔║╚]' "$tmp/lint.out" | grep -v '^ *$' | sed 's/^/# /'
tap_done
