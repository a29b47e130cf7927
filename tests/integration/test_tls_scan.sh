#!/bin/sh
# shoald's TLS listener scanned by a real scanner (Debian's sslscan), once
# with an ECDSA certificate and once with an RSA one (the RSA key
# exchanges only show with an RSA key): every protocol, cipher suite and
# key exchange group it accepts must be in Mozilla's "intermediate"
# profile (TLS 1.2 and 1.3; in TLS 1.2 only ECDHE or DHE with AES-GCM or
# ChaCha20-Poly1305), and TLS 1.2 and 1.3 must both be there.  Whatever
# is outside the profile is named.  No guest is needed: on a machine
# without /dev/kvm shoald runs the proc backend.
. "$top_srcdir/tests/tap.sh"
for t in sslscan openssl python3; do
	command -v $t >/dev/null || tap_skip_all "$t is not installed (scripts/deps.sh installs it)"
done
if ! tap_have_kvm; then
	[ -x "$top_builddir/vmm/shoal-proc" ] || tap_skip_all "neither /dev/kvm nor shoal-proc to start shoald with"
	PLATFORM=proc
fi
tmp=$(mktemp -d /tmp/shoal-tlsscan-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# The profile, as sslscan (OpenSSL's names) prints it.
TLS13_OK="TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256"
TLS12_OK="ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-GCM-SHA256
	ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-RSA-AES256-GCM-SHA384
	ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-RSA-CHACHA20-POLY1305
	DHE-RSA-AES128-GCM-SHA256 DHE-RSA-AES256-GCM-SHA384 DHE-RSA-CHACHA20-POLY1305"
GROUPS_OK="x25519 secp256r1 secp384r1 ffdhe2048"

port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

# A CA, and for each key type a certificate for 127.0.0.1 signed by it.
(cd "$tmp" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
		-days 2 -subj /CN=shoal-test-ca &&
	printf 'subjectAltName=IP:127.0.0.1\n' >san &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ecdsa.key -out ecdsa.csr \
		-subj /CN=127.0.0.1 &&
	openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj /CN=127.0.0.1 &&
	for k in ecdsa rsa; do
		openssl x509 -req -in $k.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $k.pem -days 2 \
			-extfile san || exit 1
	done &&
	echo "$(openssl rand -hex 32) scan" >tokens &&
	chmod 600 ecdsa.key rsa.key tokens) >"$tmp/openssl.log" 2>&1
tap_check "a CA, an ECDSA and an RSA certificate and a token are made" \
	test -s "$tmp/ecdsa.pem" -a -s "$tmp/rsa.pem" -a -s "$tmp/tokens"

# scan KEY: start shoald with that certificate, scan it, judge the scan.
scan() {
	k=$1
	if ! shoald_start --listen-tcp=127.0.0.1:$port --tls-cert="$tmp/$k.pem" --tls-key="$tmp/$k.key" \
		--token-file="$tmp/tokens"; then
		tap_not_ok "shoald starts with its TCP listener and the $k certificate"
		tap_diag "$(tail -n 5 "$tmp/shoald.log")"
		return
	fi
	sslscan --no-colour --no-heartbleed --no-renegotiation --no-compression --no-fallback \
		127.0.0.1:$port >"$tmp/scan-$k.txt" 2>&1
	rc=$?
	shoald_stop_all
	if [ $rc -ne 0 ] || ! grep -q '^Connected to 127.0.0.1' "$tmp/scan-$k.txt"; then
		tap_not_ok "sslscan scans the listener ($k certificate; exit $rc)"
		sed 's/^/#   /' "$tmp/scan-$k.txt"
		return
	fi
	# Each line that the profile does not allow, and what it lacks.
	awk -v ok13="$TLS13_OK" -v ok12="$TLS12_OK" -v okg="$GROUPS_OK" '
		BEGIN {
			n = split(ok13, a, /[ \t\n]+/); for (i = 1; i <= n; i++) c13[a[i]] = 1
			n = split(ok12, a, /[ \t\n]+/); for (i = 1; i <= n; i++) c12[a[i]] = 1
			n = split(okg, a, /[ \t\n]+/); for (i = 1; i <= n; i++) g[a[i]] = 1
		}
		/^(SSLv2|SSLv3|TLSv1\.[0-3]) +(enabled|disabled)$/ {
			proto[$1] = $2
			if ($2 == "enabled" && $1 != "TLSv1.2" && $1 != "TLSv1.3")
				print "protocol " $1 " is enabled"
		}
		/^(Preferred|Accepted) +(SSLv|TLSv)/ {
			ciphers[$2]++
			if (!($2 == "TLSv1.3" && ($5 in c13)) && !($2 == "TLSv1.2" && ($5 in c12)))
				print "cipher suite " $5 " is accepted with " $2
		}
		/Server Key Exchange Group/ { groups = 1; next }
		groups && /^ *$/ { groups = 0 }
		groups && /^TLSv/ && !($4 in g) { print "group " $4 " is accepted with " $1 }
		END {
			for (p in proto) n++
			if (!n) print "no protocol line in the scan"
			if (proto["TLSv1.2"] != "enabled") print "TLSv1.2 is not enabled"
			if (proto["TLSv1.3"] != "enabled") print "TLSv1.3 is not enabled"
			if (!ciphers["TLSv1.2"]) print "no TLSv1.2 cipher suite is accepted"
			if (!ciphers["TLSv1.3"]) print "no TLSv1.3 cipher suite is accepted"
		}' "$tmp/scan-$k.txt" >"$tmp/outside-$k.txt"
	found=$(grep -E '^(Preferred|Accepted)' "$tmp/scan-$k.txt" | awk '{ print $2 " " $5 }' | tr '\n' ',' | sed 's/,$//; s/,/, /g')
	if [ -s "$tmp/outside-$k.txt" ]; then
		tap_not_ok "$k certificate: only Mozilla's intermediate profile is accepted"
		tap_diag "outside the profile:"
		sed 's/^/#   /' "$tmp/outside-$k.txt"
		tap_diag "the scan:"
		sed 's/^/#   /' "$tmp/scan-$k.txt"
	else
		tap_ok "$k certificate: only Mozilla's intermediate profile is accepted ($found)"
	fi
}

scan ecdsa
scan rsa
tap_done
