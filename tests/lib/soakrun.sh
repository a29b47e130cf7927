# The soak's set-up, for bench/soak.sh and tests/integration/test_soak.sh:
# source it with $top (the source tree), $build and $PLATFORM set; it makes
# $tmp, a network namespace ($ns) with bridge br0 (10.94.0.0/16, a pool
# shoald hands out), and an EXIT trap that removes them with shoald and
# its tenders.
#   soak_run SECONDS BACKGROUND SAMPLE SUMMARY
#                starts shoald in $ns, uploads a read-only FAT disk and a
#                zeroed writable one, and runs tests/lib/soak.py; 0, or 1
#                with why on stderr (shoald's log tail with it); with
#                SOAK_NO_NIC=1 the churn's guests have no NIC (the stop's
#                cost without a tap, beside the default's)
top_srcdir=$top
top_builddir=$build
VMM=$build/vmm/shoal-vmm
GUESTS=$build/unikernel-rt/examples
tmp=$(mktemp -d /tmp/shoal-soak-XXXXXX)
. "$top/tests/lib/netns.sh"
. "$top/tests/lib/shoald.sh"
ns=
trap 'shoald_stop_all; [ -z "$ns" ] || ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

soak_run() {
	netns_new shoal-soak || {
		echo "soak: cannot make a network namespace (needs root)" >&2
		return 1
	}
	netns_bridge br0 10.94.0.1/16 || return 1
	SHOALD_NETNS=$ns
	shoald_start --bridge="br0 10.94.0.0/16" --max-guests=$(($2 + 64)) \
		--latency-vcpus-per-cpu=$(($2 + 64)) --pool-size=4 --log-level=info || {
		echo "soak: shoald did not start" >&2
		tail -5 "$tmp/shoald.log" >&2
		return 1
	}
	mkdir -p "$tmp/www"
	printf 'soak\n' >"$tmp/www/index.html"
	MTOOLS_SKIP_CHECK=1 mkfs.fat -C -F 12 "$tmp/ro.img" 1024 >/dev/null &&
		MTOOLS_SKIP_CHECK=1 mcopy -i "$tmp/ro.img" "$tmp/www/index.html" ::/ || {
		echo "soak: cannot make a FAT image (mkfs.fat, mcopy)" >&2
		return 1
	}
	truncate -s 256K "$tmp/rw.img"
	ro=$(api POST "/v1/images?kind=disk" "$tmp/ro.img" application/octet-stream | jq_ sha256)
	rw=$(api POST "/v1/images?kind=disk" "$tmp/rw.img" application/octet-stream | jq_ sha256)
	[ -n "$ro" ] && [ -n "$rw" ] || {
		echo "soak: the disk images were not taken (HTTP $(status))" >&2
		return 1
	}
	tender=$tmp/shoal-vmm
	[ "$PLATFORM" = proc ] && tender=$tmp/shoal-proc
	python3 "$top/tests/lib/soak.py" --sock "$SOCK" --pid "$shoald_pid" --tender "$tender" \
		--state "$tmp/state" --netns "$ns" --bridge br0 --image "$GUESTS/echo.$PLATFORM" \
		--ro-disk "$ro" --rw-disk "$rw" --background "$2" --duration "$1" --sample "$3" \
		--summary "$4" ${SOAK_NO_NIC:+--no-nic} || {
		tail -5 "$tmp/shoald.log" >&2
		return 1
	}
}
