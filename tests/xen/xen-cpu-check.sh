#!/bin/sh
# Placement on real Xen, run in Dom0: drives daemon/backend/xen_cpu.c with
# xen-cpu-check against a domain made by `xl create` and checks each effect
# with xl (vcpu-list, sched-credit2, cpupool-list) and xenstore.  TAP.
#
# Needs a host of 4 or more pCPUs, credit2, and an xl config of a guest that
# stays up with 1 vCPU:
#   XEN_CPU_CHECK  the checker (default: xen-cpu-check beside this script)
#   GUEST_CFG      the guest's xl config (its name is replaced)
# Leaves the host as it found it: the domain destroyed, the pool gone.
here=$(cd "$(dirname "$0")" && pwd)
. "${TAP_SH:-$here/../tap.sh}"
CHK=${XEN_CPU_CHECK:-$here/xen-cpu-check}
POOL=shoal-batch
G=xcc-a

command -v xl >/dev/null 2>&1 || tap_skip_all "no xl here: not Dom0 of a Xen host"
xl info >/dev/null 2>&1 || tap_skip_all "xl info fails: not Dom0 of a running Xen"
[ -x "$CHK" ] || tap_skip_all "no checker at $CHK"
[ -n "${GUEST_CFG:-}" ] && [ -r "$GUEST_CFG" ] || tap_skip_all "GUEST_CFG names no readable xl config"
ncpus=$(xl info | sed -n 's/^nr_cpus *: *//p')
[ "${ncpus:-0}" -ge 4 ] || tap_skip_all "Xen has ${ncpus:-no} pCPUs; the checks need 4"
xl info | grep -q '^xen_scheduler *: *credit2' || tap_skip_all "Xen's scheduler is not credit2"

cleanup() {
	xl destroy $G >/dev/null 2>&1
	xl cpupool-list $POOL >/dev/null 2>&1 && {
		for c in $(xl cpupool-list -c $POOL | sed -n "s/^$POOL *//p" | tr ',' ' '); do
			xl cpupool-cpu-remove $POOL "$c" >/dev/null 2>&1
			xl cpupool-cpu-add Pool-0 "$c" >/dev/null 2>&1
		done
		xl cpupool-destroy $POOL >/dev/null 2>&1
	}
}
trap cleanup EXIT
cleanup

# eq WHAT GOT WANT
eq() {
	if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_not_ok "$1"; tap_diag "got \"$2\", expected \"$3\""; fi
}
hard() { xl vcpu-list "$1" | awk 'NR > 1 { print $7 }' | head -n 1; }
xweight() { xl sched-credit2 -d "$1" | awk 'NR > 1 { print $3 }'; }
pool_cpus() { xl cpupool-list -c "$1" 2>/dev/null | awk 'NR > 1 { print $2 }'; }
pool_of() { xl list -c "$1" | awk 'NR > 1 { print $NF }'; }

# ---- the topology ----
out=$("$CHK" topology)
eq "topology: as many pCPUs as xl info says" "$(echo "$out" | sed -n 's/^cpus=\([0-9]*\) .*/\1/p')" "$ncpus"
eq "topology: as many nodes as xl info says" "$(echo "$out" | sed -n 's/.*nodes=//p')" \
	"$(xl info | sed -n 's/^nr_nodes *: *//p')"
# xl info -n: "cpu: core socket node"; CPUs of one (socket, core) share one core in ours, and nodes match.
xl info -n | awk '/^cpu_topology/ { t = 1; next } t && /^ *[0-9]+:/ { sub(":", "", $1); print $1, $2, $3, $4 } /^device_topology|^numa_info/ { t = 0 }' \
	>/tmp/xcc-topo.$$
bad=$(echo "$out" | awk -v f=/tmp/xcc-topo.$$ '
	BEGIN { while ((getline l < f) > 0) { split(l, a, " "); key[a[1]] = a[3] "/" a[2]; node[a[1]] = a[4] } }
	/^cpu / { c = $2; sub("core=", "", $3); sub("node=", "", $4)
		if (node[c] != $4) print "cpu " c " node " $4 " xl " node[c]
		if ((key[c] in ours) && ours[key[c]] != $3) print "cpu " c " core " $3
		if (($3 in theirs) && theirs[$3] != key[c]) print "cpu " c " shares core " $3
		ours[key[c]] = $3; theirs[$3] = key[c] }')
rm -f /tmp/xcc-topo.$$
eq "topology: cores and nodes are Xen's (xl info -n)" "$bad" ""
eq "topology: node memory is Xen's total" \
	"$(echo "$out" | awk '/^node / { sub("memory_mib=", "", $3); s += $3 } END { print s }')" \
	"$(xl info | sed -n 's/^total_memory *: *//p')"
eq "topology: Dom0's memory is what Dom0 has" \
	"$(echo "$out" | awk '/^node / { sub("dom0_mib=", "", $4); s += $4 } END { print s }')" \
	"$(xl list 0 | awk 'NR == 2 { print $3 }')"
tap_check "mechanism names credit2 and the batch pool" sh -c "'$CHK' mechanism | grep -q 'credit2 weight 1.*cpupool $POOL'"

# ---- a guest ----
if ! xl create -q "$GUEST_CFG" "name=\"$G\"" "vcpus=1" >/tmp/xcc-create.$$ 2>&1; then
	tap_not_ok "xl create $G"
	tap_diag "$(cat /tmp/xcc-create.$$)"
	tap_done
	exit 0
fi
rm -f /tmp/xcc-create.$$
id=$(xl domid $G)
tap_ok "xl create $G (domain $id)"

"$CHK" affinity "$id" 2
eq "affinity 2: xl vcpu-list shows hard affinity 2" "$(hard $G)" 2
eq "get reads affinity 2 back" "$("$CHK" get "$id")" "cpus=2 weight=100 batch=0"
"$CHK" affinity "$id" 1-2
eq "affinity 1-2: xl vcpu-list shows 1-2" "$(hard $G)" 1-2

for w in "200 512" "100 256" "1 3" "10 26" "10000 25600"; do
	set -- $w
	"$CHK" weight "$id" "$1"
	eq "weight $1: credit2 weight $2" "$(xweight $G)" "$2"
	eq "get reads weight $1 back" "$("$CHK" get "$id" | sed 's/.*weight=\([0-9]*\).*/\1/')" "$1"
done
"$CHK" weight "$id" 0 2>/tmp/xcc-err.$$
eq "weight 0 is refused" "$?" 1
"$CHK" weight "$id" 10001 2>>/tmp/xcc-err.$$
eq "weight 10001 is refused" "$?" 1
tap_check "the refusals say why" grep -q "Invalid argument" /tmp/xcc-err.$$
eq "the weight stays after refusals" "$(xweight $G)" 25600

"$CHK" weight "$id" 50
"$CHK" batch "$id" 1
eq "batch 1: credit2 weight 1" "$(xweight $G)" 1
eq "batch 1: its weight is kept in xenstore" "$(xenstore-read /local/domain/"$id"/shoal/weight)" 50
eq "get reads the class and the kept weight" "$("$CHK" get "$id")" "cpus=1-2 weight=50 batch=1"
"$CHK" weight "$id" 20
eq "a weight while batch leaves credit2 at 1" "$(xweight $G)" 1
eq "... and is kept for later" "$(xenstore-read /local/domain/"$id"/shoal/weight)" 20
"$CHK" batch "$id" 1
eq "batch 1 twice keeps the kept weight" "$(xenstore-read /local/domain/"$id"/shoal/weight)" 20
"$CHK" batch "$id" 0
eq "batch 0: the kept weight comes back (20 -> 51)" "$(xweight $G)" 51
tap_check "batch 0: nothing kept in xenstore" sh -c "! xenstore-read /local/domain/$id/shoal/weight 2>/dev/null"
eq "get: normal class" "$("$CHK" get "$id")" "cpus=1-2 weight=20 batch=0"

# ---- the batch pool ----
"$CHK" roles 1 2-3
eq "roles 1 / 2-3: pool $POOL has CPUs 2-3" "$(pool_cpus $POOL)" "2,3"
eq "roles 1 / 2-3: Pool-0 keeps 0-1" "$(pool_cpus Pool-0)" "0,1"
"$CHK" roles 1 2-3
eq "the same roles again change nothing" "$(pool_cpus $POOL)" "2,3"
d0=$(for i in 1 2 3 4 5; do xl vcpu-list 0 | awk 'NR > 1 { print $4 }'; sleep 0.2; done | sort -u | tr '\n' ' ')
tap_check "Dom0's vCPUs run only on 0-1 now (seen on: $d0)" sh -c "! echo '$d0' | grep -q '[23]'"

"$CHK" weight "$id" 30
"$CHK" affinity "$id" 3
eq "affinity 3: the domain moved into $POOL" "$(pool_of $G)" $POOL
eq "... with hard affinity 3" "$(hard $G)" 3
eq "... and its weight (30 -> 77)" "$(xweight $G)" 77
"$CHK" batch "$id" 1
"$CHK" affinity "$id" 1
eq "affinity 1: back in Pool-0" "$(pool_of $G)" Pool-0
eq "... with hard affinity 1" "$(hard $G)" 1
eq "... still of the batch class" "$(xweight $G)" 1
eq "get after the moves" "$("$CHK" get "$id")" "cpus=1 weight=30 batch=1"
"$CHK" affinity "$id" 1-3
eq "affinity 1-3 (mostly batch CPUs): $POOL" "$(pool_of $G)" $POOL
eq "... with affinity within the pool, 2-3" "$(hard $G)" 2-3

"$CHK" affinity "$id" 2
"$CHK" roles 1-2 3
eq "roles 1-2 / 3: CPU 2 left $POOL though a guest was pinned there" "$(pool_cpus $POOL)" 3
eq "... and joined Pool-0" "$(pool_cpus Pool-0)" "0,1,2"
"$CHK" affinity "$id" 2
eq "the guest follows its CPU into Pool-0" "$(pool_of $G)" Pool-0
eq "... on CPU 2" "$(hard $G)" 2

"$CHK" roles 1-2 3
"$CHK" weight "$id" 40 # kept: it is of the batch class
"$CHK" affinity "$id" 3
eq "the guest on CPU 3 is in $POOL" "$(pool_of $G)" $POOL
"$CHK" roles 1-3 none
eq "roles 1-3 / none: every CPU back in Pool-0" "$(pool_cpus Pool-0)" "0,1,2,3"
eq "... and $POOL empty" "$(pool_cpus $POOL)" ""
eq "... its guest moved to Pool-0 first" "$(pool_of $G)" Pool-0
eq "... still of the batch class" "$(xweight $G)" 1
eq "... with the weight it keeps" "$("$CHK" get "$id" | sed 's/.* weight=/weight=/')" "weight=40 batch=1"
"$CHK" affinity "$id" 2

t1=$("$CHK" time "$id")
sleep 1
t2=$("$CHK" time "$id")
tap_check "CPU time is counted ($t1 ns, then $t2 ns)" test "$t2" -ge "$t1" -a "$t2" -gt 0

# ---- bad input ----
"$CHK" get 30000 2>/tmp/xcc-err.$$
eq "get of a domain that does not exist fails" "$?" 1
tap_check "... and says so" grep -q "domain 30000" /tmp/xcc-err.$$
"$CHK" affinity "$id" 3-1 2>/dev/null
eq "a bad CPU list is refused" "$?" 2
"$CHK" affinity "$id" none 2>/dev/null
eq "an empty CPU set is refused" "$?" 1
eq "... and the affinity stays" "$(hard $G)" 2
rm -f /tmp/xcc-err.$$
tap_done
