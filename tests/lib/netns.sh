# Network namespaces for the shell tests and benches: everything they
# send stays inside one the script makes (and removes: the caller's EXIT
# trap runs `ip netns del "$ns"`).
#   netns_new PREFIX        make PREFIX-PID with lo up; $ns names it;
#                           fails when namespaces cannot be made (not root)
#   netns_bridge BR [ADDR]  a bridge in $ns, up, without IPv6 (its router
#                           solicitations are nobody's business here),
#                           with ADDR (A.B.C.D/P) when given
#   inns CMD...             CMD inside $ns
#   udp_echo ADDR           one datagram from $ns to ADDR's echo port (7),
#                           the same back within 5 s (python3)
#   tap_gone NS TAP [SECS]  wait up to SECS (5) for TAP to be gone from
#                           namespace NS; fails if it is still there
netns_new() {
	ns=$1-$$
	ip netns add "$ns" 2>/dev/null || return 1
	ip -n "$ns" link set lo up
}
netns_bridge() {
	ip -n "$ns" link add "$1" type bridge || return 1
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" 2>/dev/null
	[ -z "$2" ] || ip -n "$ns" addr add "$2" dev "$1" || return 1
	ip -n "$ns" link set "$1" up
}
inns() { ip netns exec "$ns" "$@"; }
tap_gone() {
	tap_gone_left=$((${3:-5} * 10))
	while ip -n "$1" link show "$2" >/dev/null 2>&1; do
		[ "$tap_gone_left" -gt 0 ] || return 1
		tap_gone_left=$((tap_gone_left - 1))
		sleep 0.1
	done
}
udp_echo() {
	inns python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for attempt in range(5):
    s.sendto(b"shoal nic test", (sys.argv[1], 7))
    try:
        data, _ = s.recvfrom(100)
    except socket.timeout:
        continue
    sys.exit(0 if data == b"shoal nic test" else 1)
sys.exit(1)
PY
}
