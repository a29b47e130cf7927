#!/bin/sh
# upload.sh: upload a guest image to shoald's image store and print its
# sha256, for a later deploy to name.
#
#   upload.sh [-s SOCKET] IMAGE
#
# Exits 0 with the sha256 on stdout; otherwise shoalctl's exit code: 1 the
# image was refused (not a shoal guest, too large), 2 bad input (no such
# file), 3 shoald out of reach, 5 shoald failed.
set -u
. "$(dirname "$0")/lib.sh"

usage() { die 2 "usage: $prog [-s SOCKET] IMAGE"; }
while getopts s: opt; do
	case $opt in
	s) SHOAL_SOCKET=$OPTARG && export SHOAL_SOCKET ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
need_tools
[ -f "$1" ] || die 2 "$1: no such file"

out=$(ctl upload "$1")
rc=$?
[ "$rc" -eq 0 ] || die "$rc" "$1 not uploaded (shoalctl exit $rc)"
sha=$(printf '%s' "$out" | jget .sha256)
[ -n "$sha" ] || die 5 "shoald's answer has no sha256: $out"
say "$1 uploaded: $sha ($(printf '%s' "$out" | jget .bytes) bytes)"
echo "$sha"
