#!/bin/sh
# Installs what shoal needs to build and run on Debian 12, with apt-get.
# Quiet and idempotent: packages already present are not fetched again.
# dpkg-dev: scripts/lwip.sh unpacks Debian's lwip source package with it.
# apache2-utils: ab, the site test's bounded load.
# clang, libclang-rt-14-dev: the fuzz harnesses (libFuzzer, ASan, UBSan).
#   scripts/deps.sh [extra-package...]
set -e
pkgs="autoconf automake pkg-config gcc make libc6-dev
      libev-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev
      libsqlite3-dev libseccomp-dev libsystemd-dev libcmocka-dev nettle-dev
      clang libclang-rt-14-dev
      libxen-dev python3 python3-yaml openssl scdoc jq groff-base systemd clang-format
      dosfstools mtools dpkg-dev curl iproute2 apache2-utils $*"
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
