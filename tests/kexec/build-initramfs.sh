#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# build-initramfs.sh OUT KVER [BUILD_DIR [EXTRA...]]
#
# Build the initramfs that tests/kexec boots in QEMU (README in this
# directory): busybox-static with its applet links, /init (init.sh) and the
# scenarios (scenario-*.sh), the nvdimm modules of kernel KVER (libnvdimm,
# nd_btt, nd_pmem, nd_e820, then ext4; uncompressed), the real mke2fs
# (also as mkfs.ext4), blkid and kexec, the
# kernel image as /boot/vmlinuz-KVER, and, when BUILD_DIR is given, the
# project installed from it with DESTDIR (meson install) plus the EXTRA
# programs (test clients) in /usr/local/libexec/luo-kexec.  Every ELF file
# gets the libraries ldd names, under the name it asks for.
#
# The result is two newc archives, one after the other: the first holds
# everything above, the second holds a copy of the first as
# /boot/initrd.img-KVER, so that the guest can kexec the kernel with the
# same initramfs (the kernel unpacks concatenated archives in order).
# Archives are not compressed: under TCG unpacking gzip costs seconds.
set -eu

[ $# -ge 2 ] || {
	echo "usage: $0 OUT KVER [BUILD_DIR [EXTRA...]]" >&2
	exit 2
}
out=$1
kver=$2
shift 2
build=""
if [ $# -ge 1 ]; then
	build=$1
	shift
fi
here=$(cd "$(dirname "$0")" && pwd)
mods=/lib/modules/$kver/kernel/drivers/nvdimm
kernel=/boot/vmlinuz-$kver

for f in /usr/bin/busybox /usr/sbin/mke2fs /usr/sbin/kexec /usr/sbin/blkid \
	 "$kernel" \
	 "$mods/libnvdimm.ko"; do
	[ -r "$f" ] || { echo "$0: $f is missing" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/luo-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin \
	 "$root"/lib/x86_64-linux-gnu "$root"/lib64 "$root"/proc "$root"/sys \
	 "$root"/dev "$root"/tmp "$root"/run "$root"/mnt "$root"/boot \
	 "$root"/modules "$root"/etc "$root"/usr/local/libexec/luo-kexec

# Copy one ELF file's shared libraries (ldd) under the names it asks for;
# the libraries of the staged tree are found through LD_LIBRARY_PATH.
libdirs=""
copy_libs() {
	LD_LIBRARY_PATH=$libdirs ldd "$1" 2>/dev/null | while read -r a b c _; do
		case "$a" in
		linux-vdso*) ;;
		/*)	# the interpreter: "/lib64/ld-linux-x86-64.so.2 (0x...)"
			[ -e "$root$a" ] || { mkdir -p "$root$(dirname "$a")" &&
				cp -L "$a" "$root$a"; } ;;
		*)	[ "$b" = "=>" ] && [ -n "$c" ] || continue
			case "$c" in /*) ;; *) echo "$0: $1 needs $a: $c" >&2
				exit 1 ;; esac
			dst=$root/lib/x86_64-linux-gnu/$a
			[ -e "$dst" ] || cp -L "$c" "$dst" ;;
		esac
	done
}

# The real tools first, at absolute paths the scripts call them by, and
# where liveupdated --pool looks for blkid and mkfs.ext4 (/usr/sbin first).
for t in mke2fs kexec blkid; do
	cp /usr/sbin/$t "$root"/usr/sbin/$t
	copy_libs /usr/sbin/$t
done
ln -s mke2fs "$root"/usr/sbin/mkfs.ext4

# busybox and a link for every applet that does not name a real tool.
cp /usr/bin/busybox "$root"/bin/busybox
/usr/bin/busybox --list-full | while read -r p; do
	[ -e "$root/$p" ] || [ -L "$root/$p" ] || {
		mkdir -p "$root/$(dirname "$p")"
		ln -s /bin/busybox "$root/$p"
	}
done

# The kernel gives /init the console only if /dev/console exists.
mknod -m 600 "$root"/dev/console c 5 1
mknod -m 666 "$root"/dev/null c 1 3

# The modules, each after those it depends on (modinfo), in the order
# /init loads them (/modules/order): the nvdimm modules in the order that
# gives /dev/pmem0, then ext4 and crc32c, which ext4 asks for at mount
# time by a name only modprobe could resolve, and quota_v2 (with
# quota_tree), the quota format ext4 asks for by name when a pool has user
# quota (--max-pool-per-user).
add_module() {
	local d
	grep -qx "$1" "$root/modules/order" 2>/dev/null && return 0
	for d in $(modinfo -k "$kver" -F depends "$1" | tr ',' ' '); do
		add_module "$d"
	done
	cp "$(modinfo -k "$kver" -n "$1")" "$root/modules/$1.ko"
	echo "$1" >>"$root/modules/order"
}
for m in libnvdimm nd_btt nd_pmem nd_e820 crc32c_generic ext4 quota_v2; do
	add_module $m
done
cp "$kernel" "$root/boot/vmlinuz-$kver"

if [ -n "$build" ]; then
	stage=$work/stage
	meson install -C "$build" --destdir "$stage" --no-rebuild --quiet \
		>"$work/install.log" 2>&1 || {
		cat "$work/install.log" >&2
		exit 1
	}
	# The product only: no headers, manual pages or unit files.
	rm -rf "$stage"/usr/local/include "$stage"/usr/local/share \
	       "$stage"/lib/systemd "$stage"/usr/local/lib/*/pkgconfig
	(cd "$stage" && find . -depth -print | cpio -pdm --quiet "$root")
	libdirs=$(find "$stage" -name 'libluo.so*' -printf '%h\n' | sort -u |
		  tr '\n' ':')
	for x in "$@"; do
		cp "$x" "$root/usr/local/libexec/luo-kexec/"
	done
fi
find "$root" -type f | while read -r f; do
	case "$(head -c 4 "$f" | od -An -c | tr -d ' ')" in
	177ELF) copy_libs "$f" ;;
	esac
done

cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
for s in "$here"/scenario-*.sh; do
	[ -e "$s" ] && cp "$s" "$root/$(basename "$s")"
done
echo "$kver" >"$root/etc/luo-kexec-kver"

(cd "$root" && find . -print | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) >"$work/first.cpio"
mkdir -p "$work/second/boot"
cp "$work/first.cpio" "$work/second/boot/initrd.img-$kver"
(cd "$work/second" && find . -print | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) >"$work/second.cpio"
cat "$work/first.cpio" "$work/second.cpio" >"$out.tmp"
mv "$out.tmp" "$out"
