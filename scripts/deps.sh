#!/bin/sh
# Install what building and testing luo needs on Debian 12.
set -eu
pkgs="gcc meson ninja-build pkg-config libfdt-dev libjson-c-dev zlib1g-dev
      valgrind groff-base mandoc bash-completion python3 libmemcached-tools
      iproute2 libsystemd-dev abigail-tools"
# The systemd test (tests/systemd): systemd-nspawn boots a debootstrapped
# Debian 12 root.
pkgs="$pkgs systemd-container debootstrap"
# The kexec suite (tests/kexec/README.md): Debian's stock kernel booted in
# QEMU under TCG with a busybox initramfs, kexec'd into itself.
pkgs="$pkgs qemu-system-x86 linux-image-amd64 busybox-static kexec-tools
      cpio e2fsprogs"
# The fuzz targets (fuzz/README.md): clang (the package "clang" gives
# /usr/bin/clang), and libclang_rt.fuzzer.
pkgs="$pkgs clang clang-14 libclang-rt-14-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
