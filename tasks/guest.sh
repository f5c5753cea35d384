#!/usr/bin/env bash
# Builds InfraSim's tiny test guests (x86_64 and aarch64) from Debian packages
# only, and caches them.
#
#   bash tasks/guest.sh [x86_64|aarch64|all]      (default: all)
#
# Output, per arch, in ${INFRASIM_GUEST_DIR:-<repo>/.cache/guests}/<arch>/:
#   kernel      x86_64: the PVH-bootable ELF vmlinux unpacked from the bzImage's
#               xz payload (QEMU -kernel boots it directly, no in-guest
#               decompression: ~2.5 s to READY under TCG instead of ~7 s with
#               the bzImage); falls back to the bzImage if unpacking fails.
#               aarch64: Debian's arm64 vmlinuz, a plain arm64 Image.
#   initrd.img  gzip'd cpio (newc): static busybox, a few kernel modules, /init,
#               and the QEMU guest agent: Debian's qemu-ga (qemu-guest-agent) with
#               the shared libraries it needs (its ELF NEEDED closure, found in the
#               $debarch debs of its package dependencies) and the dynamic loader.
#   cmdline     the kernel command line to use with `-kernel`/`-initrd`.
#   disk.qcow2  a GPT disk whose FAT EFI System Partition holds systemd-boot as
#               EFI/BOOT/BOOTX64.EFI or BOOTAA64.EFI, a loader entry, and the same
#               kernel (EFI-stub form) and initrd: boots the guest under
#               OVMF/AAVMF with no NVRAM setup.
#   stamp       the recipe version and the Debian package versions used.
#
# The guest's /init mounts proc/sys/devtmpfs, insmods the virtio/input/console modules,
# configures the private NICs infrasimd names on the kernel command line
# (infrasim.nic=<mac>,<ip>/<prefix>,<mtu>; plus infrasim.route=<cidr>,<gw> and
# infrasim.forward=1 for routing tests), sets eth0 (the user-mode NIC) to
# 10.0.2.15/24 via 10.0.2.2 (QEMU user networking), runs busybox
# acpid (ACPI/GPIO power button -> `poweroff -f`, so QMP system_powerdown makes
# QEMU exit), busybox httpd on :80 serving "infrasim-guest-ok", an echo service
# on :7; when the VM has a virtio-serial port named org.qemu.guest_agent.0 (no
# udev here, so /init finds its /dev/vportNpM by /sys/class/virtio-ports/*/name)
# it starts qemu-ga on it in the background (daemonized, log in
# /var/log/qemu-ga.log); guest-set-time works (busybox /sbin/hwclock -w on the
# RTC). Then it prints INFRASIM-READY on the console, and
# keeps a shell on the console. Without such a port, boot is as before.
#
# Idempotent: when all outputs exist and the stamp's recipe version (and this
# script's hash) match, it only prints "cached". INFRASIM_GUEST_REBUILD=1 forces a rebuild.
# Needs: Debian/Ubuntu with apt (installs its own missing build packages), root
# for apt-get install. No loop devices or mounts are used.
set -euo pipefail

# Bump when anything that changes the outputs changes.
RECIPE_VERSION=3

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Editing this script or its parts also invalidates the cache (their hash is in the stamp).
SCRIPT_SHA=$(cat "${BASH_SOURCE[0]}" "$ROOT/tasks/lib/guest_parts.sh" | sha256sum | cut -c1-16)
OUT_ROOT=${INFRASIM_GUEST_DIR:-$ROOT/.cache/guests}
READY_MARKER=INFRASIM-READY
HTTP_BODY=infrasim-guest-ok

log() { printf '[guest] %s\n' "$*" >&2; }
die() { printf '[guest] error: %s\n' "$*" >&2; exit 1; }

want=${1:-all}
case "$want" in
  all) ARCHES=(x86_64 aarch64) ;;
  x86_64|amd64) ARCHES=(x86_64) ;;
  aarch64|arm64) ARCHES=(aarch64) ;;
  -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
  *) die "usage: $0 [x86_64|aarch64|all]" ;;
esac

arch_debarch() { case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; esac; }
arch_console() { case $1 in x86_64) echo ttyS0 ;; aarch64) echo ttyAMA0 ;; esac; }
arch_cmdline() { echo "console=$(arch_console "$1") quiet panic=-1"; }

is_cached() {
  local d=$OUT_ROOT/$1 f
  for f in kernel initrd.img cmdline disk.qcow2 stamp; do [ -s "$d/$f" ] || return 1; done
  grep -qx "recipe=$RECIPE_VERSION" "$d/stamp" && grep -qx "script=$SCRIPT_SHA" "$d/stamp"
}

# --- fast path ----------------------------------------------------------------
todo=()
for a in "${ARCHES[@]}"; do
  if [ -z "${INFRASIM_GUEST_REBUILD:-}" ] && is_cached "$a"; then
    log "$a: cached ($OUT_ROOT/$a, $(grep '^kernel=' "$OUT_ROOT/$a/stamp"))"
  else
    todo+=("$a")
  fi
done
[ ${#todo[@]} -gt 0 ] || exit 0

# --- host packages ----------------------------------------------------------------
if ! { [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; }; then
  die "building guests needs a Debian/Ubuntu host with apt"
fi

mkdir -p "$OUT_ROOT"
# One builder at a time (parallel test runs may all call this script); whoever
# waited re-checks the cache, and leftovers of killed builds are removed.
exec 9>"$OUT_ROOT/.lock"
flock 9
todo2=()
for a in "${todo[@]}"; do
  if [ -z "${INFRASIM_GUEST_REBUILD:-}" ] && is_cached "$a"; then log "$a: cached (built meanwhile)"
  else todo2+=("$a"); fi
done
[ ${#todo2[@]} -gt 0 ] || exit 0
todo=("${todo2[@]}")

SUDO=
if [ "$(id -u)" != 0 ]; then command -v sudo >/dev/null && SUDO=sudo; fi
APT_OPTS=(-o DPkg::Lock::Timeout=300)   # wait if another apt/dpkg is running
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
HOST_PKGS=(cpio gzip xz-utils dosfstools mtools fdisk qemu-utils util-linux binutils)
missing=()
for p in "${HOST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_update=
for a in "${todo[@]}"; do
  da=$(arch_debarch "$a")
  if [ "$da" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$da"; then
    log "enabling the $da dpkg architecture (for $da package downloads)"
    $SUDO dpkg --add-architecture "$da"
    need_update=1
  fi
done
if [ -z "$need_update" ]; then
  for a in "${todo[@]}"; do
    pol=$(apt-cache policy "linux-image-$(arch_debarch "$a"):$(arch_debarch "$a")" 2>/dev/null || true)
    grep -q 'Candidate: [0-9]' <<<"$pol" || need_update=1
  done
fi
if [ -n "$need_update" ] || [ ${#missing[@]} -gt 0 ]; then
  log "apt-get update"
  $SUDO apt-get "${APT_OPTS[@]}" update -qq >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing apt packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
exec 7<&-   # apt is done: the lock goes
export PATH=$PATH:/usr/sbin:/sbin

rm -rf "$OUT_ROOT"/.build.*
WORK=$(mktemp -d "$OUT_ROOT/.build.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# apt-get download into the current dir; keeps apt's "unsandboxed" note quiet.
apt_download() {
  chmod 0777 "$PWD" 2>/dev/null || true
  apt-get download -q=2 "$@" 2>&1 | grep -v -e 'unsandboxed' -e '^$' >&2 || true
  local p
  for p in "$@"; do
    ls "${p%%:*}"_*.deb >/dev/null 2>&1 || die "apt-get download $p failed"
  done
}

# The functions that make the files (kept apart: this script stays readable).
# shellcheck source=tasks/lib/guest_parts.sh
source "$ROOT/tasks/lib/guest_parts.sh"

build_arch() {
  local arch=$1 debarch w t0=$SECONDS
  debarch=$(arch_debarch "$arch")
  w=$WORK/$arch
  mkdir -p "$w/debs" "$w/x" "$w/bb" "$w/sdboot" "$w/rootfs" "$w/out"

  # -- packages: linux-image-<arch> metapackage -> real ABI image package
  log "$arch: resolving linux-image-$debarch"
  (cd "$w/debs" && apt_download "linux-image-$debarch:$debarch")
  local meta img_pkg img_ver
  meta=$(ls "$w/debs/linux-image-${debarch}"_*.deb)
  img_pkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -1)
  [ -n "$img_pkg" ] || die "cannot read the kernel package from $meta"
  local extra=("busybox-static:$debarch" "systemd-boot-efi:$debarch" "qemu-guest-agent:$debarch")
  log "$arch: downloading $img_pkg ${extra[*]}"
  (cd "$w/debs" && apt_download "$img_pkg:$debarch" "${extra[@]}")
  img_ver=$(dpkg-deb -f "$w/debs/${img_pkg}"_*.deb Version)
  # qemu-ga's library packages: its Depends, recursively (no Pre-Depends: those
  # are install-time tools, not libraries); only the .so files it needs are kept.
  local qga_deps
  mapfile -t qga_deps < <(apt-cache depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends \
    "qemu-guest-agent:$debarch" | grep -v -e '^ ' -e '^<' | sed 's/:.*//' |
    grep -vx qemu-guest-agent | LC_ALL=C sort -u | sed "s/\$/:$debarch/")
  [ ${#qga_deps[@]} -gt 0 ] || die "cannot resolve the dependencies of qemu-guest-agent:$debarch"
  log "$arch: downloading qemu-guest-agent's dependencies: ${qga_deps[*]%:*}"
  mkdir -p "$w/debs/qga"
  (cd "$w/debs/qga" && apt_download "${qga_deps[@]}")

  log "$arch: unpacking $img_pkg $img_ver"
  dpkg-deb -x "$w/debs/${img_pkg}"_*.deb "$w/x"
  local abi=${img_pkg#linux-image-}
  local vmlinuz=$w/x/boot/vmlinuz-$abi moddir=$w/x/lib/modules/$abi
  [ -f "$vmlinuz" ] || die "no $vmlinuz in $img_pkg"
  # The guest's busybox and the EFI boot manager come from $debarch debs.
  dpkg-deb -x "$w/debs"/busybox-static_*_"$debarch".deb "$w/bb"
  dpkg-deb -x "$w/debs"/systemd-boot-efi_*_"$debarch".deb "$w/sdboot"
  local busybox=$w/bb/bin/busybox
  [ -x "$busybox" ] || die "no busybox in busybox-static:$debarch"
  # qemu-ga and its libraries, unpacked together (the libraries are Debian's
  # $debarch builds: the guest's loader finds them at their usual paths).
  local d
  mkdir -p "$w/qga"
  for d in "$w/debs"/qemu-guest-agent_*_"$debarch".deb "$w/debs/qga"/*.deb; do dpkg-deb -x "$d" "$w/qga"; done
  [ -x "$w/qga/usr/sbin/qemu-ga" ] || die "no usr/sbin/qemu-ga in qemu-guest-agent:$debarch"

  # -- kernel for direct boot
  if [ "$arch" = x86_64 ]; then
    if extract_vmlinux "$vmlinuz" "$w/out/kernel"; then
      log "$arch: kernel = vmlinux ELF (PVH) from the bzImage's xz payload"
    else
      log "$arch: could not unpack vmlinux; kernel = bzImage"
      cp "$vmlinuz" "$w/out/kernel"
    fi
  else
    cp "$vmlinuz" "$w/out/kernel"
  fi

  # -- modules
  local wanted
  if [ "$arch" = x86_64 ]; then
    wanted=(virtio_pci virtio_mmio virtio_net virtio_blk virtio_rng virtio_console rtc_cmos button evdev)
  else
    wanted=(virtio_pci virtio_mmio virtio_net virtio_blk virtio_rng virtio_console rtc_pl031 gpio_pl061 gpio_keys button evdev)
  fi
  log "$arch: resolving modules: ${wanted[*]}"
  index_modules "$moddir"
  local m
  for m in "${wanted[@]}"; do resolve_module "$m" "$moddir/modules.builtin"; done
  log "$arch: load order: ${ORDER[*]}"

  # -- initramfs tree
  local r=$w/rootfs
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,root,www,lib/modules,etc/acpi/PWRF,var/log,var/run}
  cp "$busybox" "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  for m in "${ORDER[@]}"; do ko_plain "${KO[$m]}" >"$r/lib/modules/$m.ko"; done
  cp "$w/qga/usr/sbin/qemu-ga" "$r/usr/sbin/qemu-ga"
  copy_elf_closure "$w/qga" "$r" "$w/qga/usr/sbin/qemu-ga"
  local qga_files
  qga_files=$(cd "$r" && find usr/sbin/qemu-ga lib lib64 usr/lib -type f ! -path 'lib/modules/*' 2>/dev/null | LC_ALL=C sort) || true
  log "$arch: qemu-ga + libraries: $(echo $qga_files) ($(cd "$r" && cat $qga_files | wc -c | awk '{print int($1 / 1024)}') KiB)"
  printf '%s\n' "${ORDER[@]}" >"$r/lib/modules/load.order"
  write_init "$r/init"
  printf '%s\n' "$HTTP_BODY" >"$r/www/index.html"
  printf '#!/bin/sh\n# power button (QMP system_powerdown): clean, immediate power off\nsync\npoweroff -f\n' \
    >"$r/etc/acpi/PWRF/00000080"
  chmod 0755 "$r/etc/acpi/PWRF/00000080"
  # gpio-keys/ACPI can also report as PWRB on some paths.
  mkdir -p "$r/etc/acpi/PWRB" && cp "$r/etc/acpi/PWRF/00000080" "$r/etc/acpi/PWRB/00000080"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\n' >"$r/etc/group"
  printf 'nameserver 10.0.2.3\n' >"$r/etc/resolv.conf"
  printf '127.0.0.1 localhost\n10.0.2.15 infrasim-guest\n' >"$r/etc/hosts"
  printf 'export PS1="infrasim# "\n' >"$r/etc/profile"
  { cpio_console_node
    (cd "$r" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet)
  } | gzip -9n >"$w/out/initrd.img"
  arch_cmdline "$arch" >"$w/out/cmdline"
  log "$arch: initrd.img $(($(stat -c %s "$w/out/initrd.img") / 1024)) KiB"

  # -- UEFI disk: GPT + FAT ESP booting the same kernel/initrd via systemd-boot.
  # Why systemd-boot and not GRUB: Debian 12's GRUB 2.06 standalone image
  # (grub-mkstandalone, kernel+initrd in its memdisk) did boot, but only with
  # >= 320 MiB of guest RAM: at 256 MiB x86_64 GRUB failed with "out of memory"
  # (and via linuxefi the kernel's EFI stub then failed to decompress), and on
  # aarch64 GRUB took a synchronous exception. systemd-boot (Debian's
  # systemd-boot-efi package, just unpacked) hands the kernel to the firmware's
  # LoadImage (the kernel's own EFI stub) and the initrd via LoadFile2, so
  # both arches boot at 256 MiB, and faster.
  local efi_name sdboot
  if [ "$arch" = x86_64 ]; then efi_name=BOOTX64.EFI sdboot=systemd-bootx64.efi
  else efi_name=BOOTAA64.EFI sdboot=systemd-bootaa64.efi; fi
  sdboot=$w/sdboot/usr/lib/systemd/boot/efi/$sdboot
  [ -f "$sdboot" ] || die "no $sdboot in systemd-boot-efi:$debarch"
  mkdir -p "$w/esp"
  printf 'timeout 0\ndefault infrasim.conf\neditor no\nauto-entries no\nauto-firmware no\nrandom-seed-mode off\nconsole-mode keep\n' \
    >"$w/esp/loader.conf"
  printf 'title InfraSim test guest\nlinux /infrasim/vmlinuz\ninitrd /infrasim/initrd.img\noptions %s\n' \
    "$(arch_cmdline "$arch")" >"$w/esp/infrasim.conf"
  local payload fat_mib disk_mib
  # EFI boot needs the kernel's PE/EFI-stub form: the bzImage on x86_64, the
  # (uncompressed) Image on arm64 -- not the vmlinux ELF.
  payload=$(($(stat -c %s "$sdboot") + $(stat -c %s "$vmlinuz") + $(stat -c %s "$w/out/initrd.img")))
  fat_mib=$((payload * 11 / 10 / 1048576 + 4))
  [ $fat_mib -ge 16 ] || fat_mib=16
  disk_mib=$((fat_mib + 2))           # 1 MiB before the ESP, GPT backup after
  mkfs.vfat -C -n INFRASIM "$w/esp.fat" $((fat_mib * 1024)) >/dev/null
  mmd -i "$w/esp.fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/infrasim
  mcopy -i "$w/esp.fat" "$sdboot" "::/EFI/BOOT/$efi_name"
  mcopy -i "$w/esp.fat" "$w/esp/loader.conf" ::/loader/loader.conf
  mcopy -i "$w/esp.fat" "$w/esp/infrasim.conf" ::/loader/entries/infrasim.conf
  mcopy -i "$w/esp.fat" "$vmlinuz" ::/infrasim/vmlinuz
  mcopy -i "$w/esp.fat" "$w/out/initrd.img" ::/infrasim/initrd.img
  truncate -s "${disk_mib}M" "$w/disk.raw"
  printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"\n' \
    $((fat_mib * 2048)) | sfdisk -q "$w/disk.raw" >/dev/null
  dd if="$w/esp.fat" of="$w/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
  qemu-img convert -f raw -O qcow2 "$w/disk.raw" "$w/out/disk.qcow2"
  log "$arch: disk.qcow2 (GPT, ${fat_mib} MiB ESP: EFI/BOOT/$efi_name = systemd-boot)"

  printf 'recipe=%s\nscript=%s\narch=%s\nkernel=%s\nkernel_version=%s\nbusybox=%s\nsystemd_boot=%s\nqemu_guest_agent=%s\nbuilt=%s\n' \
    "$RECIPE_VERSION" "$SCRIPT_SHA" "$arch" "$img_pkg" "$img_ver" \
    "$(dpkg-deb -f "$w/debs"/busybox-static_*.deb Version)" \
    "$(dpkg-deb -f "$w/debs"/systemd-boot-efi_*.deb Version)" \
    "$(dpkg-deb -f "$w/debs"/qemu-guest-agent_*.deb Version)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >"$w/out/stamp"

  # -- publish atomically: rename the finished dir into place.
  local dest=$OUT_ROOT/$arch
  if [ -e "$dest" ]; then mv "$dest" "$w/old"; fi
  mv "$w/out" "$dest"
  rm -rf "$w"
  log "$arch: done in $((SECONDS - t0)) s -> $dest"
}

for a in "${todo[@]}"; do build_arch "$a"; done
