#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build the Debian packages from a clean clone and try them in a clean
# Debian 12 root (not in the test suite: it takes minutes and needs
# Debian's archive).  As root, from anywhere in the repository:
#
#   sh scripts/deb-check.sh [REF]        (default: HEAD; committed work only)
#
#  1. clone REF into a temporary directory; install the Build-Depends if
#     some are missing (apt-get build-dep);
#  2. dpkg-source -b (the source package, for lintian's source checks) and
#     dpkg-buildpackage -us -uc -b;
#     then no build path may be in an installed binary, and a second build
#     of the same tree in another directory must give identical .debs;
#  3. lintian with pedantic, info and experimental tags: no error allowed,
#     every tag shown;
#  4. debootstrap a minimal Debian 12 root (or unpack $LUO_DEB_ROOT_TARBALL
#     if that file exists; it is written after a debootstrap if it does
#     not), install the three .debs in it with apt, and run there
#     liveupdated --version, liveupdatectl --help, and a program built
#     against libluo-dev (pkg-config) under luo-run --private, which starts
#     the packaged daemon: it creates a session through libluo and one
#     through the preloaded /dev/liveupdate.
#
# Nothing is installed on this machine's own root but missing Build-Depends
# (and debootstrap, lintian, dpkg-dev, if missing).  No service is started
# in the root: policy-rc.d refuses to start the units the package enables.
# Everything runs in a mount namespace of its own (unshare), so the /proc
# and /dev mounted in the root vanish with it.
set -eu
ref=${1:-HEAD}
repo=$(git rev-parse --show-toplevel)
suite=bookworm
mirror=${LUO_DEB_MIRROR:-http://deb.debian.org/debian}
start=$(date +%s)

step() { printf '\n== %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }

[ "$(id -u)" -eq 0 ] || { echo "deb-check: run as root (chroot, apt)"; exit 1; }
need=""
for t in dpkg-buildpackage:dpkg-dev lintian:lintian debootstrap:debootstrap \
	 dh:debhelper; do
	command -v "${t%%:*}" >/dev/null || need="$need ${t#*:}"
done
if [ -n "$need" ]; then
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $need
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/luo-deb-check.XXXXXX")
cleanup() {
	# A mount left behind (the namespace died early) would make rm cross
	# into the host's /proc or /dev: never remove through one.
	if grep -q " $tmp/" /proc/self/mounts; then
		echo "deb-check: $tmp still has mounts; not removed"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT INT TERM

step "clone $ref"
git clone -q "$repo" "$tmp/luo"
git -C "$tmp/luo" checkout -q --detach "$ref"
git -C "$tmp/luo" log -1 --format='%h %s'
rm -rf "$tmp/luo/.git"

step "Build-Depends"
if ! (cd "$tmp/luo" && dpkg-checkbuilddeps); then
	(cd "$tmp/luo" &&
	 DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq ./)
fi

step "dpkg-source -b"
(cd "$tmp" && dpkg-source -b luo)
cp -a "$tmp/luo" "$tmp/luo.clean"

step "dpkg-buildpackage -us -uc -b"
# ccache (which meson uses when it finds it) stays out of the package.
(cd "$tmp/luo" && CCACHE_DISABLE=1 dpkg-buildpackage -us -uc -b) \
	>"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log"; exit 1; }
grep -E "warning|dpkg-gensymbols" "$tmp/build.log" || true
ls -l "$tmp"/*.deb

step "no build path in the binaries; a second build elsewhere is identical"
mkdir -p "$tmp/x" "$tmp/again/in/another/directory"
for deb in "$tmp"/*.deb; do
	dpkg-deb -x "$deb" "$tmp/x"
done
bad=$(find "$tmp/x" -type f \( -perm -u+x -o -name '*.so*' \) \
	-exec grep -l -F -e "$tmp" -e obj- {} +) || true
[ -z "$bad" ] || { echo "build paths in: $bad"; exit 1; }
echo "no build path in: $(find "$tmp/x" -type f \( -perm -u+x -o -name '*.so*' \) \
	! -path '*/debug/*' -printf '%P ')"
cp -a "$tmp/luo.clean" "$tmp/again/in/another/directory/luo"
(cd "$tmp/again/in/another/directory/luo" &&
 CCACHE_DISABLE=1 dpkg-buildpackage -us -uc -b) >"$tmp/again.log" 2>&1 ||
	{ tail -n 40 "$tmp/again.log"; exit 1; }
for deb in "$tmp"/*.deb; do
	if cmp -s "$deb" "$tmp/again/in/another/directory/${deb##*/}"; then
		echo "identical: ${deb##*/}"
	else
		echo "differs: ${deb##*/}"
		exit 1
	fi
done

step "lintian"
lintian --allow-root -EIL +pedantic --tag-display-limit 0 --fail-on error \
	"$tmp"/luo_*.dsc "$tmp"/luo_*_*.changes
echo "lintian: no error"

step "a clean Debian 12 root"
root=$tmp/root
mkdir "$root"
if [ -n "${LUO_DEB_ROOT_TARBALL:-}" ] && [ -f "$LUO_DEB_ROOT_TARBALL" ]; then
	tar -xzf "$LUO_DEB_ROOT_TARBALL" -C "$root"
	echo "unpacked $LUO_DEB_ROOT_TARBALL"
else
	debootstrap --variant=minbase "$suite" "$root" "$mirror" \
		>"$tmp/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$tmp/debootstrap.log"; exit 1; }
	if [ -n "${LUO_DEB_ROOT_TARBALL:-}" ]; then
		tar -czf "$LUO_DEB_ROOT_TARBALL" -C "$root" .
	fi
fi
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/tmp/debs"
cp "$tmp"/liveupdated_*.deb "$tmp"/libluo0_*.deb "$tmp"/libluo-dev_*.deb \
	"$root/tmp/debs/"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cat >"$root/tmp/t.c" <<'EOT'
/* A libluo-dev user: a session through libluo, one through the device. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <luo/libluo.h>

int main(void)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	struct luo_status st = { .size = sizeof(st) };
	int fd, sfd, dev, ret;

	fd = luo_open();
	if (fd < 0)
		return fprintf(stderr, "luo_open: %s\n", strerror(-fd)), 1;
	sfd = luo_create_session(fd, "deb-check");
	if (sfd < 0)
		return fprintf(stderr, "create: %s\n", strerror(-sfd)), 1;
	ret = luo_status(fd, &st);
	if (ret < 0)
		return fprintf(stderr, "status: %s\n", strerror(-ret)), 1;
	printf("libluo: session fd %d, daemon %s\n", sfd, st.version);
	luo_close(sfd);
	luo_close(fd);

	dev = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return perror("open /dev/liveupdate"), 1;
	memcpy(arg.name, "deb-check-dev", sizeof("deb-check-dev"));
	if (ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &arg) < 0)
		return perror("CREATE_SESSION"), 1;
	printf("/dev/liveupdate under luo-run: session fd %d\n", arg.fd);
	return 0;
}
EOT
cat >"$root/tmp/inside.sh" <<'EOT'
set -eu
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
apt-get update -qq
apt-get install -y -qq --no-install-recommends /tmp/debs/*.deb \
	gcc libc6-dev pkgconf >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log; exit 1; }
dpkg -l liveupdated libluo0 libluo-dev | tail -n 3
echo '$ liveupdated --version'; liveupdated --version
echo '$ liveupdatectl --help'; liveupdatectl --help
cd /tmp
# shellcheck disable=SC2046
gcc -std=gnu11 -Wall -Wextra -Werror -o t t.c $(pkg-config --cflags --libs libluo)
echo '$ luo-run --private ./t'; luo-run --private ./t
echo '$ luo-run without its library'
mv /usr/lib/*/luo/libluo-preload.so /tmp/
rc=0; luo-run --private ./t || rc=$?
[ "$rc" -eq 127 ] || { echo "luo-run ran without its library (exit $rc)"; exit 1; }
EOT

step "install and run in the root"
unshare --mount --propagation private --fork sh -eu -c '
	root=$1
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	chroot "$root" sh -eu /tmp/inside.sh
' sh "$root"

step "OK: built, lintian-clean, installed and run in a clean Debian 12 root"
