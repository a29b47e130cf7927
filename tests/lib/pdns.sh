# PowerDNS for the DNS test and bench: pdns_server with shoald as its
# remote backend, on the loopback of the network namespace $ns, with a
# private configuration in $tmp/pdns and its caches off (an answer is
# always shoald's of the moment).
#   pdns_start SOCKET PORT [SETTING...]  start it on 127.0.0.1:PORT with
#                                        shoald's backend socket SOCKET and
#                                        any more settings (name=value);
#                                        $pdns_pid is its pid, its output
#                                        in $tmp/pdns.log
#   pdns_stop                            end it, if it runs
PDNS=$(command -v pdns_server || echo /usr/sbin/pdns_server)
pdns_pid=
pdns_start() {
	sock=$1 port=$2
	shift 2
	mkdir -p "$tmp/pdns"
	cat >"$tmp/pdns/pdns.conf" <<CONF
launch=remote
remote-connection-string=unix:path=$sock,timeout=2000
local-address=127.0.0.1
local-port=$port
socket-dir=$tmp/pdns
guardian=no
daemon=no
disable-syslog=yes
write-pid=no
security-poll-suffix=
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
zone-cache-refresh-interval=0
loglevel=4
CONF
	for setting in "$@"; do echo "$setting" >>"$tmp/pdns/pdns.conf"; done
	# ip execs pdns_server: $! is its pid.
	ip netns exec "$ns" "$PDNS" --config-dir="$tmp/pdns" >"$tmp/pdns.log" 2>&1 &
	pdns_pid=$!
}
pdns_stop() {
	[ -n "$pdns_pid" ] && kill "$pdns_pid" 2>/dev/null && wait "$pdns_pid" 2>/dev/null
	pdns_pid=
}
