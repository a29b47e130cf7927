# Network namespaces for the shell tests and benches: everything they
# send stays inside one the script makes (and removes: the caller's EXIT
# trap runs `ip netns del "$ns"`).
#   netns_new PREFIX        make PREFIX-PID with lo up; $ns names it;
#                           fails when namespaces cannot be made (not root)
#   netns_bridge BR [ADDR]  a bridge in $ns, up, without IPv6 (its router
#                           solicitations are nobody's business here),
#                           with ADDR (A.B.C.D/P) when given
#   inns CMD...             CMD inside $ns
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
