#!/bin/sh
# The API against its contract (api/openapi.yaml): see test_contract.py.
# This wrapper finds a python3 that has the yaml module (Debian's
# python3-yaml, installed by scripts/deps.sh) or skips saying so.
. "$top_srcdir/tests/tap.sh"
for py in /usr/bin/python3 python3; do
	if "$py" -c 'import yaml' 2>/dev/null; then
		exec "$py" "$top_srcdir/tests/integration/test_contract.py"
	fi
done
tap_skip_all "no python3 with the yaml module (Debian: python3 python3-yaml)"
