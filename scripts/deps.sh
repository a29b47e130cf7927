#!/bin/sh
# Installs what shoal needs to build and run on Debian 12, with apt-get.
# Quiet and idempotent: packages already present are not fetched again.
# dpkg-dev: scripts/lwip.sh unpacks Debian's lwip source package with it.
# apache2-utils: ab, the site test's bounded load.
# ethtool: the site test turns a veth's checksum offload off with it.
# sslscan: test_tls_scan.sh scans shoald's TLS listener with it.
# pdns-server, pdns-backend-remote, bind9-dnsutils: PowerDNS with shoald as
#   its remote backend, and dig, for test_dns.sh (which starts its own
#   pdns_server; the system's is stopped and disabled when the package
#   starts one).
# clang, libclang-rt-14-dev: the fuzz harnesses (libFuzzer, ASan, UBSan).
# libasan8, libubsan1: gcc's sanitizer runtimes, for the sanitized build
#   (_build-asan, configure --enable-sanitizers) the integration tests run in.
# libbpf-dev (and clang's bpf target): the proc backend's network rate
#   limit, a BPF program shoald loads on a guest's taps; bpftool: its test
#   looks for what a removed guest left in the kernel with it.
# libvirt-dev: the libvirt backend, tested on libvirt's in-process test driver.
# debootstrap, systemd-container: test_systemd.sh boots systemd in a
#   container (systemd-nspawn) on a Debian root it makes with debootstrap.
#   scripts/deps.sh [extra-package...]
set -e
pkgs="autoconf automake pkg-config gcc make libc6-dev
      libev-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev
      libsqlite3-dev libseccomp-dev libsystemd-dev libcmocka-dev nettle-dev
      clang libclang-rt-14-dev libasan8 libubsan1 libbpf-dev bpftool
      libxen-dev libvirt-dev python3 python3-yaml openssl scdoc jq groff-base systemd clang-format
      dosfstools mtools dpkg-dev curl iproute2 apache2-utils ethtool sslscan
      pdns-server pdns-backend-remote bind9-dnsutils debootstrap systemd-container $*"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian's pdns-server starts a PowerDNS of its own on port 53 where an
# init system runs: shoal's tests start theirs, on loopback.
case $missing in *pdns-server*)
	if command -v systemctl >/dev/null && systemctl is-active -q pdns 2>/dev/null; then
		$SUDO systemctl disable --now pdns >/dev/null 2>&1 || :
	fi
	;;
esac
