#!/usr/bin/env bash
# Builds a Debian 12 (bookworm) cloud image, from Debian packages only, and caches it.
#
#   bash tasks/debian_image.sh [x86_64|aarch64]      (default: x86_64)
#
# Prints (the only line on stdout) the absolute path of
#   ${INFRASIM_IMAGE_CACHE:-~/.cache/infrasim/images}/debian-12-<arch>-<key>.qcow2
# where <key> hashes this script and RECIPE_VERSION, so edits rebuild; the
# symlink debian-12-<arch>.qcow2 points at the newest one, older keys are removed.
# INFRASIM_IMAGE_REBUILD=1 forces a rebuild. Logs go to stderr.
#
# The image: a GPT disk. Partition 1 is a 128 MiB FAT ESP with systemd-boot as
# EFI/BOOT/BOOTX64.EFI (BOOTAA64.EFI), one loader entry and the kernel+initrd
# (boots under OVMF/AAVMF with no NVRAM setup); partition 2, last so that
# growpart can grow it, is the ext4 root (mkfs.ext4 -d, no loop devices or
# mounts). Inside: linux-image-cloud-*, systemd, systemd-networkd (cloud-init's
# network renderer) + resolved, cloud-init on NoCloud (seed: a "cidata" disk --
# attach it on virtio-blk: the cloud kernel has no AHCI/IDE CD-ROM driver),
# growpart/resizefs, user "debian" with sudo (cloud-init default_user), sshd with
# host keys from user-data `ssh_keys` or generated at first boot, qemu-guest-agent
# (started by udev when the VM has an org.qemu.guest_agent.0 port). No root
# password, empty /etc/machine-id, no baked-in ssh host keys. The aarch64 image's
# initramfs holds only the drivers of QEMU's virt machine (MODULES=list).
# Needs: root, Debian/Ubuntu with apt (installs its own missing build packages);
# aarch64 also qemu-user-static + binfmt_misc (installed/enabled here). With the
# image's Python (python3.11) on the host, the .pyc files are compiled natively.
# Each step logs its time; the aarch64 build, under emulation, takes the longest.
set -euo pipefail

# Bump when anything that changes the output changes (the script's hash counts too).
RECIPE_VERSION=1
SUITE=bookworm
ESP_MIB=128

log() { printf '[debian-image] %s\n' "$*" >&2; }
die() { printf '[debian-image] error: %s\n' "$*" >&2; exit 1; }

case ${1:-x86_64} in
  x86_64|amd64) ARCH=x86_64 DEBARCH=amd64 CONSOLE=ttyS0 EFI_NAME=BOOTX64.EFI SDBOOT=systemd-bootx64.efi
    ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 ;;   # GPT "Linux root (x86-64)"
  aarch64|arm64) ARCH=aarch64 DEBARCH=arm64 CONSOLE=ttyAMA0 EFI_NAME=BOOTAA64.EFI SDBOOT=systemd-bootaa64.efi
    ROOT_TYPE=B921B045-1DF0-41C3-AF44-4C6F280D3FAE ;;   # GPT "Linux root (ARM-64)"
  -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
  *) die "usage: $0 [x86_64|aarch64]" ;;
esac

# The initramfs: Debian's default (MODULES=most) on x86_64. The aarch64 image is built
# under emulation, where mkinitramfs resolving every storage and network module takes
# minutes: it gets just what QEMU's virt machine needs to mount the root (virtio-pci
# and -blk, -scsi; ext4 is built in); udev loads the rest from the root as usual.
INITRAMFS_MODULES=
[ "$ARCH" = x86_64 ] || INITRAMFS_MODULES='echo MODULES=list >"$R/etc/initramfs-tools/conf.d/modules"
printf "virtio_pci\nvirtio_blk\nvirtio_scsi\n" >"$R/usr/share/initramfs-tools/modules.d/infrasim-virt"'

CACHE=${INFRASIM_IMAGE_CACHE:-$HOME/.cache/infrasim/images}
case $CACHE in /*) ;; *) CACHE=$PWD/$CACHE ;; esac
KEY=$( { echo "recipe=$RECIPE_VERSION"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-12)
NAME=debian-12-$ARCH
OUT=$CACHE/$NAME-$KEY.qcow2

# --- fast path -------------------------------------------------------------------
cached() { [ -z "${INFRASIM_IMAGE_REBUILD:-}" ] && [ -s "$OUT" ]; }
if cached; then log "cached: $OUT"; echo "$OUT"; exit 0; fi

[ "$(id -u)" = 0 ] || die "building needs root (mmdebstrap root mode, file ownership in the ext4)"
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null || die "building needs a Debian/Ubuntu host with apt"
mkdir -p "$CACHE"
# One builder per arch at a time; whoever waited re-checks the cache.
exec 9>"$CACHE/.$NAME.lock"
flock 9
if cached; then log "cached (built meanwhile): $OUT"; echo "$OUT"; exit 0; fi

# --- host packages ---------------------------------------------------------------
export PATH=$PATH:/usr/sbin:/sbin
# One apt at a time on this host: the test task builds the guests and both Debian images
# at once, and a second `apt-get update` fails at once on apt's lists lock. (fd 7; a
# lock file any user can open, so a root and a sudo run share it.)
apt_lock() {
  local f=/run/lock/infrasim-apt.lock
  [ -d /run/lock ] || f=/tmp/infrasim-apt.lock
  [ -e "$f" ] || (umask 0 && : >>"$f") 2>/dev/null || true
  if exec 7<"$f"; then flock 7; fi
}
apt_lock
HOST_PKGS=(mmdebstrap debian-archive-keyring dosfstools mtools fdisk qemu-utils e2fsprogs util-linux cpio openssl)
[ "$DEBARCH" = "$(dpkg --print-architecture)" ] || HOST_PKGS+=(qemu-user-static binfmt-support arch-test)
missing=()
for p in "${HOST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing apt packages: ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$DEBARCH" != "$(dpkg --print-architecture)" ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-$ARCH ]; then
  # A container/VM without systemd never ran binfmt-support: mount and register.
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable "qemu-$ARCH" >&2 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-$ARCH ] || die "binfmt_misc has no qemu-$ARCH handler"
fi
exec 7<&-   # apt is done: the lock goes

# --- mirror: the host's own Debian mirrors (and the apt proxy settings it uses) -----
host_uri() { # $1 = regex the URI must match
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -nE 's/^[[:space:]]*(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?|URIs:[[:space:]]*)([a-z+]+:\/\/[^[:space:]]+).*/\3/p' |
    grep -E "$1" | head -1 || true
}
MIRROR=$(host_uri '/debian/?$'); MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECMIRROR=$(host_uri '/debian-security/?$'); SECMIRROR=${SECMIRROR:-http://deb.debian.org/debian-security}
APTOPTS=()
for k in Acquire::http::Proxy Acquire::https::Proxy Acquire::Check-Valid-Until Acquire::Check-Date; do
  v=$(apt-config dump --no-empty "$k" 2>/dev/null | sed -n "s/^$k \"\(.*\)\";$/\1/p" | head -1)
  [ -z "$v" ] || APTOPTS+=("--aptopt=$k \"$v\"")
done
log "$ARCH: mirror $MIRROR, security $SECMIRROR"

# --- build -------------------------------------------------------------------------
for d in "$CACHE"/.build-"$NAME".*; do [ -e "$d" ] && rm -rf --one-file-system "$d"; done
WORK=$(mktemp -d "$CACHE/.build-$NAME.XXXXXX")
# --one-file-system: never descend into a chroot's /proc or /dev a killed mmdebstrap left mounted.
trap 'rm -rf --one-file-system "$WORK"' EXIT
trap 'log "error: build failed (line $LINENO)"' ERR
R=$WORK/rootfs
t0=$SECONDS

PKGS=systemd,systemd-sysv,udev,dbus,systemd-resolved,cloud-init,cloud-guest-utils,fdisk,e2fsprogs
PKGS+=,openssh-server,sudo,iproute2,ca-certificates,netbase,kmod,procps,less
PKGS+=,initramfs-tools,linux-image-cloud-$DEBARCH,systemd-boot-efi
# QEMU guest agent (infrasimd's guest-set-time after a snapshot restore): its udev
# rule starts qemu-guest-agent.service when the org.qemu.guest_agent.0 port appears.
# guest-set-time runs /sbin/hwclock, which bookworm ships in util-linux-extra
# (without it qemu-ga 7.2 reports the command unsupported).
PKGS+=,qemu-guest-agent,util-linux-extra

# Three steps start thousands of processes during the install, which under qemu-user
# emulation (aarch64 on an x86_64 host) cost ~0.1-0.3 s each: mkinitramfs (at the
# kernel's configure, and again at the initramfs-tools trigger), update-ca-certificates
# (a few processes per certificate, at configure and again at its trigger) and
# py3compile (a Python start per package). They are diverted to no-ops for the install
# and done once at its end (finish.sh): the initramfs in the chroot, the certificate
# links and bundle by the image's own update-ca-certificates run by the host's shell,
# the .pyc files by the host's Python when it is the image's version. The result is
# what the plain install makes.
DEFERRED="/usr/sbin/update-initramfs /usr/sbin/update-ca-certificates /usr/bin/py3compile"
cat >"$WORK/defer.sh" <<EOF
#!/bin/sh
# mmdebstrap --essential-hook: before the remaining packages are installed.
set -eu
R=\$1
mkdir -p "\$R/etc/initramfs-tools/conf.d"
echo FSTYPE=ext4 >"\$R/etc/initramfs-tools/conf.d/fstype"
# openssh-server's postinst makes host keys only where there are none; the image must
# not carry any (they are removed below), so placeholders spare an emulated RSA keygen.
mkdir -p "\$R/etc/ssh"
for t in rsa ecdsa ed25519; do : >"\$R/etc/ssh/ssh_host_\${t}_key"; done
for f in $DEFERRED; do
  chroot "\$R" dpkg-divert --quiet --local --rename --divert "\$f.deferred" --add "\$f"
  printf '#!/bin/sh\n# tasks/debian_image.sh runs this once, after the install\nexit 0\n' >"\$R\$f"
  chmod 0755 "\$R\$f"
done
EOF
cat >"$WORK/finish.sh" <<EOF
#!/bin/sh
# mmdebstrap --customize-hook: the deferred steps, once.
set -eu
R=\$1
t=\$(date +%s)
say() { echo "[debian-image] $ARCH: \$* (+\$((\$(date +%s) - t)) s)" >&2; }
say "packages installed; now the deferred steps"
for f in $DEFERRED; do
  rm -f "\$R\$f"
  chroot "\$R" dpkg-divert --quiet --local --rename --remove "\$f"
done
rm -f "\$R/var/lib/dpkg/diversions-old"
# CA certificates: with --sysroot the links it makes point into \$R; re-point them.
# Hooks (none in this package set) would have to run in the chroot.
if [ -n "\$(ls -A "\$R/etc/ca-certificates/update.d" 2>/dev/null)" ]; then
  chroot "\$R" update-ca-certificates >&2
else
  sh "\$R/usr/sbin/update-ca-certificates" --sysroot "\$R" --hooksdir "" >/dev/null
  find "\$R/etc/ssl/certs" -type l | while read -r l; do
    target=\$(readlink "\$l")
    case \$target in "\$R"/*) ;; *) continue ;; esac
    target=\${target#"\$R"}
    while [ "\${target#//}" != "\$target" ]; do target=\${target#/}; done
    ln -sfn "\$target" "\$l"
  done
fi
say "update-ca-certificates done"
# .pyc files: what py3compile makes (every module in dist-packages and debpython).
py=\$(basename "\$(readlink -f "\$R/usr/bin/python3")")
if [ "\$(command -v "\$py" || true)" = "/usr/bin/\$py" ]; then
  "\$py" -m compileall -q -j 0 -s "\$R" -p / "\$R/usr/lib/python3/dist-packages" "\$R/usr/share/python3" >&2
else
  chroot "\$R" "\$py" -m compileall -q /usr/lib/python3/dist-packages /usr/share/python3 >&2
fi
say "python byte-compilation done (\$py)"
$INITRAMFS_MODULES
for k in "\$R"/lib/modules/*; do chroot "\$R" update-initramfs -c -k "\${k##*/}" >&2; done
say "initramfs done"
EOF
chmod 0755 "$WORK/defer.sh" "$WORK/finish.sh"

log "$ARCH: mmdebstrap $SUITE (minbase + ${PKGS//,/ })"
# Docs/man pages/translations are left out to keep the image small. FSTYPE:
# initramfs-tools can't probe the root's type in a chroot, and without it no
# e2fsck goes into the initramfs (and a root mounted rw is then never checked).
# force-unsafe-io: no fsync per unpacked file (a crashed build is thrown away anyway).
# PATH: Debian's own tools first (mmdebstrap runs mmtarfilter through `env python3`,
# which a pyenv shim would slow down by a second per package).
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH \
mmdebstrap --mode=root --variant=minbase --architectures="$DEBARCH" --components=main \
  --include="$PKGS" "${APTOPTS[@]}" --dpkgopt=force-unsafe-io \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --essential-hook="$WORK/defer.sh" \
  --customize-hook="$WORK/finish.sh" \
  --customize-hook='chroot "$1" systemctl enable -q systemd-networkd systemd-resolved ssh' \
  --customize-hook='chroot "$1" systemctl mask -q apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service' \
  "$SUITE" "$R" \
  "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECMIRROR $SUITE-security main" >&2
log "$ARCH: mmdebstrap done ($((SECONDS - t0)) s)"

KVER=$(cd "$R/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -1)
[ -n "$KVER" ] && [ -f "$R/boot/initrd.img-$KVER" ] || die "no kernel/initrd in the rootfs /boot"
KPKG=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Package} ${Version}' "linux-image-$KVER")
# The root disk must be reachable from the initramfs (virtio-blk or -scsi, ext4).
# (The image's unmkinitramfs is a shell script: the host runs it.)
sh "$R/usr/bin/unmkinitramfs" --list -- "$R/boot/initrd.img-$KVER" >"$WORK/initrd.list"
for m in virtio_blk virtio_pci virtio_scsi ext4; do
  grep -q "/${m}\.ko" "$R/lib/modules/$KVER/modules.builtin" ||
    grep -q "/${m}\.ko" "$WORK/initrd.list" || die "$m is neither built in nor in the initramfs"
done
grep -q 'fsck\.ext4$' "$WORK/initrd.list" || die "no fsck.ext4 in the initramfs"

# -- guest configuration (plain files; nothing below needs to run in the chroot)
ROOT_PARTUUID=$(cat /proc/sys/kernel/random/uuid) ESP_PARTUUID=$(cat /proc/sys/kernel/random/uuid)
: >"$R/etc/machine-id"                   # each VM generates its own on first boot
rm -f "$R"/etc/ssh/ssh_host_* "$R/var/lib/dbus/machine-id"   # never share host keys
rm -f "$R/etc/apt/apt.conf.d/99mmdebstrap"                   # the build host's proxy settings
sed -i '/^force-unsafe-io$/d' "$R/etc/dpkg/dpkg.cfg.d/99mmdebstrap"  # the build's only (path-excludes stay)
echo debian >"$R/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
printf 'PARTUUID=%s / ext4 rw,discard,errors=remount-ro 0 1\n' "$ROOT_PARTUUID" >"$R/etc/fstab"
cat >"$R/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian $SUITE main
deb http://deb.debian.org/debian $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
echo 'LANG=C.UTF-8' >"$R/etc/default/locale"
cat >"$R/etc/cloud/cloud.cfg.d/99-infrasim.cfg" <<'EOF'
# InfraSim (tasks/debian_image.sh): seed only from a NoCloud "cidata" disk.
datasource_list: [ NoCloud, None ]
# Render network config (v1/v2, or the DHCP fallback) for systemd-networkd.
system_info:
  network:
    renderers: [ networkd ]
# C.UTF-8 needs no locale-gen (slow under TCG).
locale: C.UTF-8
# RSA host key generation takes many seconds under TCG; ed25519+ecdsa suffice.
ssh_genkeytypes: [ ed25519, ecdsa ]
EOF
# Don't hold boot for 2 min when one of several NICs stays unconfigured.
mkdir -p "$R/etc/systemd/system/systemd-networkd-wait-online.service.d"
printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30\n' \
  >"$R/etc/systemd/system/systemd-networkd-wait-online.service.d/infrasim.conf"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/log/*.log

# -- ESP: systemd-boot + loader entry + kernel/initrd
SD=$R/usr/lib/systemd/boot/efi/$SDBOOT
[ -f "$SD" ] || die "no $SD (systemd-boot-efi)"
mkdir -p "$WORK/esp"
printf 'timeout 0\ndefault debian.conf\neditor no\nauto-entries no\nauto-firmware no\nrandom-seed-mode off\nconsole-mode keep\n' \
  >"$WORK/esp/loader.conf"
printf 'title Debian 12 (%s)\nlinux /debian/vmlinuz\ninitrd /debian/initrd.img\noptions root=PARTUUID=%s rw console=tty0 console=%s,115200n8\n' \
  "$KVER" "$ROOT_PARTUUID" "$CONSOLE" >"$WORK/esp/debian.conf"
export MTOOLS_SKIP_CHECK=1
mkfs.vfat -F 32 -n ESP -C "$WORK/esp.fat" $((ESP_MIB * 1024)) >/dev/null
mmd -i "$WORK/esp.fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/debian
mcopy -i "$WORK/esp.fat" "$SD" "::/EFI/BOOT/$EFI_NAME"
mcopy -i "$WORK/esp.fat" "$WORK/esp/loader.conf" ::/loader/loader.conf
mcopy -i "$WORK/esp.fat" "$WORK/esp/debian.conf" ::/loader/entries/debian.conf
mcopy -i "$WORK/esp.fat" "$R/boot/vmlinuz-$KVER" ::/debian/vmlinuz
mcopy -i "$WORK/esp.fat" "$R/boot/initrd.img-$KVER" ::/debian/initrd.img

# -- root ext4 from the directory: used size + 25% + 64 MiB of headroom; 4 KiB
# blocks even though it is small (mke2fs's "small" profile would pick 1 KiB).
used=$(du -sxm "$R" | cut -f1)
ROOT_MIB=$((used * 5 / 4 + 64))
log "$ARCH: rootfs ${used} MiB -> ${ROOT_MIB} MiB ext4"
mkfs.ext4 -q -F -T default -b 4096 -L debian-root -U "$(cat /proc/sys/kernel/random/uuid)" \
  -d "$R" "$WORK/root.ext4" "${ROOT_MIB}M" >/dev/null   # (prints "Creating regular file" despite -q)

# -- GPT: 1 MiB gap, ESP, root (last, so it can grow), 1 MiB for the backup GPT.
truncate -s $((1 + ESP_MIB + ROOT_MIB + 1))M "$WORK/disk.raw"
sfdisk -q "$WORK/disk.raw" >/dev/null <<EOF
label: gpt
start=2048, size=$((ESP_MIB * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID, name="EFI System"
start=$(((1 + ESP_MIB) * 2048)), size=$((ROOT_MIB * 2048)), type=$ROOT_TYPE, uuid=$ROOT_PARTUUID, name="root"
EOF
dd if="$WORK/esp.fat" of="$WORK/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$WORK/root.ext4" of="$WORK/disk.raw" bs=1M seek=$((1 + ESP_MIB)) conv=notrunc,sparse status=none
qemu-img convert -c -f raw -O qcow2 "$WORK/disk.raw" "$WORK/image.qcow2"

# -- publish atomically, then point the stable name at it and drop stale keys.
mv -f "$WORK/image.qcow2" "$OUT"
ln -sfn "$(basename "$OUT")" "$WORK/link" && mv -fT "$WORK/link" "$CACHE/$NAME.qcow2"
for f in "$CACHE/$NAME"-*.qcow2; do [ "$f" = "$OUT" ] || rm -f "$f"; done
log "$ARCH: $KPKG, $(($(stat -c %s "$OUT") / 1048576)) MiB qcow2, built in $((SECONDS - t0)) s"
echo "$OUT"
