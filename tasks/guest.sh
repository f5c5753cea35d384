#!/usr/bin/env bash
# Builds InfraSim's tiny test guests (x86_64 and aarch64) from Debian packages
# only, and caches them.
#
#   bash tasks/guest.sh [x86_64|aarch64|all]      (default: all)
#
# Output, per arch, in ${INFRASIM_GUEST_DIR:-<repo>/.cache/guests}/<arch>/:
#   kernel      x86_64: the PVH-bootable ELF vmlinux unpacked from the bzImage's
#               xz payload (direct -kernel boot in ~2 s instead of ~4 s; falls
#               back to the bzImage if unpacking fails).
#               aarch64: Debian's arm64 vmlinuz, a plain arm64 Image.
#   initrd.img  gzip'd cpio (newc): static busybox, a few kernel modules and /init.
#   cmdline     the kernel command line to use with `-kernel`/`-initrd`.
#   disk.qcow2  a GPT disk whose FAT EFI System Partition holds a standalone GRUB
#               (EFI/BOOT/BOOTX64.EFI or BOOTAA64.EFI) with grub.cfg, kernel and
#               initrd embedded in its memdisk: boots the same guest under
#               OVMF/AAVMF.
#   stamp       the recipe version and the Debian kernel package used.
#
# The guest's /init mounts proc/sys/devtmpfs, insmods the virtio/input modules,
# sets eth0 to 10.0.2.15/24 via 10.0.2.2 (QEMU user networking), runs busybox
# acpid (ACPI/GPIO power button -> `poweroff -f`, so QMP system_powerdown makes
# QEMU exit), busybox httpd on :80 serving "infrasim-guest-ok", an echo service
# on :7, prints INFRASIM-READY on the console, then keeps a shell on the console.
#
# Idempotent: when all outputs exist and the stamp's recipe version (and this
# script's hash) match, it only prints "cached". INFRASIM_GUEST_REBUILD=1 forces a rebuild.
# Needs: Debian/Ubuntu with apt (installs its own missing build packages), root
# for apt-get install. No loop devices or mounts are used.
set -euo pipefail

# Bump when anything that changes the outputs changes.
RECIPE_VERSION=1

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Editing this script also invalidates the cache (its hash is in the stamp).
SCRIPT_SHA=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
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
  -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
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
[ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
  die "building guests needs a Debian/Ubuntu host with apt"

HOST_PKGS=(busybox-static cpio gzip xz-utils dosfstools mtools fdisk qemu-utils grub-common)
for a in "${todo[@]}"; do [ "$a" = x86_64 ] && HOST_PKGS+=(grub-efi-amd64-bin); done
missing=()
for p in "${HOST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_update=
for a in "${todo[@]}"; do
  if [ "$a" = aarch64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "enabling the arm64 dpkg architecture (for arm64 package downloads)"
    dpkg --add-architecture arm64
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
  apt-get update -qq >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing apt packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$OUT_ROOT"
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

# Unpack the vmlinux ELF from an x86 bzImage whose payload is xz (Debian's
# CONFIG_KERNEL_XZ); the ELF has the PVH entry note, so QEMU -kernel boots it
# directly (no real-mode setup, no in-guest decompression).
extract_vmlinux() {
  local bz=$1 out=$2 off
  for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | cut -d: -f1); do
    tail -c +$((off + 1)) "$bz" | xz -dc 2>/dev/null >"$out.tmp" || true
    if [ "$(head -c 4 "$out.tmp" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
      mv "$out.tmp" "$out"
      return 0
    fi
  done
  rm -f "$out.tmp"
  return 1
}

# Writes a newc cpio archive (stdout) holding only dev/ and the dev/console
# character device (5,1), so the kernel has a console for /init without mknod
# privileges at build time. Concatenated before the main archive.
cpio_console_node() {
  local ino=1 name mode rmaj rmin
  entry() { # name mode rdevmajor rdevminor
    local n=$1 ns=$((${#1} + 1)) hdr pad
    hdr=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
      "$ino" "$2" 0 0 1 0 0 0 0 "$3" "$4" "$ns" 0)
    printf '%s%s\0' "$hdr" "$n"
    pad=$(((4 - (110 + ns) % 4) % 4))
    head -c "$pad" /dev/zero
    ino=$((ino + 1))
  }
  entry dev $((0040755)) 0 0
  entry dev/console $((0020600)) 5 1
  entry 'TRAILER!!!' 0 0 0
}

write_init() { # $1 = path, $2 = arch
  cat >"$1" <<'EOF'
#!/bin/busybox sh
# InfraSim test guest init (generated by tasks/guest.sh).
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root TERM=vt100
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp /var/log /var/run /root
mount -t devpts devpts /dev/pts 2>/dev/null
exec </dev/console >/dev/console 2>&1
dmesg -n 1

# Kernel modules, in dependency order (resolved at build time). Modules that
# are built into this kernel are simply not shipped; errors are ignored.
while read -r m; do
  [ -n "$m" ] && insmod "/lib/modules/$m.ko" 2>/dev/null
done </lib/modules/load.order

hostname infrasim-guest
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
if [ -e /sys/class/net/eth0 ]; then
  ip addr add 10.0.2.15/24 dev eth0
  ip link set eth0 up
  ip route add default via 10.0.2.2
else
  echo "infrasim-guest: no eth0"
fi

# Power button (ACPI button / gpio-keys -> evdev) -> /etc/acpi/PWRF/00000080.
acpid -c /etc/acpi -l /var/log/acpid.log
httpd -p 80 -h /www
nc -ll -p 7 -e cat </dev/null >/dev/null 2>&1 &
# Wait (max ~3 s) until :80 and :7 are listening, so READY means reachable.
i=0
while [ $i -lt 60 ]; do
  listening() { grep -qE "^ *[0-9]+: [0-9A-F]+:$1 [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
  listening 0050 && listening 0007 && break
  usleep 50000; i=$((i + 1))
done

echo INFRASIM-READY

# An interactive shell on the console, forever.
while :; do
  setsid cttyhack sh -l
  sleep 1
done
EOF
  chmod 0755 "$1"
}

# Resolves modules' dependencies from the .ko files themselves (Debian ships no
# modules.dep in the package) and prints them in load order.
declare -A KO SEEN
ORDER=()
index_modules() { # $1 = lib/modules/<abi> dir
  KO=() SEEN=() ORDER=()
  local f n
  while IFS= read -r f; do
    n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
    KO[$n]=$f
  done < <(find "$1" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
}
ko_plain() { # prints the uncompressed module to stdout
  case $1 in
    *.ko.xz) xz -dc "$1" ;; *.ko.zst) zstd -qdc "$1" ;; *.ko.gz) gzip -dc "$1" ;; *) cat "$1" ;;
  esac
}
resolve_module() { # $1 = name, $2 = builtin list
  local n=${1//-/_} d deps
  [ -z "${SEEN[$n]:-}" ] || return 0
  SEEN[$n]=1
  if [ -z "${KO[$n]:-}" ]; then
    if grep -q "/${n//_/[-_]}\.ko" "$2" 2>/dev/null; then log "  module $n: built in"
    else log "  module $n: not found, skipped"; fi
    return 0
  fi
  deps=$(ko_plain "${KO[$n]}" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
  for d in $deps; do resolve_module "$d" "$2"; done
  ORDER+=("$n")
}

build_arch() {
  local arch=$1 debarch w t0=$SECONDS
  debarch=$(arch_debarch "$arch")
  w=$WORK/$arch
  mkdir -p "$w/debs" "$w/x" "$w/bb" "$w/grub" "$w/rootfs" "$w/out"

  # -- packages: linux-image-<arch> metapackage -> real ABI image package
  log "$arch: resolving linux-image-$debarch"
  (cd "$w/debs" && apt_download "linux-image-$debarch:$debarch")
  local meta img_pkg img_ver
  meta=$(ls "$w/debs"/linux-image-"$debarch"_*.deb)
  img_pkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -1)
  [ -n "$img_pkg" ] || die "cannot read the kernel package from $meta"
  local extra=("busybox-static:$debarch")
  [ "$arch" = aarch64 ] && extra+=("grub-efi-arm64-bin:arm64")
  log "$arch: downloading $img_pkg ${extra[*]}"
  (cd "$w/debs" && apt_download "$img_pkg:$debarch" "${extra[@]}")
  img_ver=$(dpkg-deb -f "$w/debs/${img_pkg}"_*.deb Version)

  log "$arch: unpacking $img_pkg $img_ver"
  dpkg-deb -x "$w/debs/${img_pkg}"_*.deb "$w/x"
  local abi=${img_pkg#linux-image-}
  local vmlinuz=$w/x/boot/vmlinuz-$abi moddir=$w/x/lib/modules/$abi
  [ -f "$vmlinuz" ] || die "no $vmlinuz in $img_pkg"
  if [ "$arch" = aarch64 ]; then
    # busybox for the guest and GRUB's arm64-efi modules come from arm64 debs.
    dpkg-deb -x "$w/debs"/busybox-static_*_arm64.deb "$w/bb"
    dpkg-deb -x "$w/debs"/grub-efi-arm64-bin_*_arm64.deb "$w/grub"
  else
    dpkg-deb -x "$w/debs"/busybox-static_*_amd64.deb "$w/bb"
  fi
  local busybox=$w/bb/bin/busybox
  [ -x "$busybox" ] || die "no busybox in busybox-static:$debarch"

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
    wanted=(virtio_pci virtio_mmio virtio_net virtio_blk virtio_rng button evdev)
  else
    wanted=(virtio_pci virtio_mmio virtio_net virtio_blk virtio_rng gpio_pl061 gpio_keys button evdev)
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
  printf '%s\n' "${ORDER[@]}" >"$r/lib/modules/load.order"
  write_init "$r/init" "$arch"
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

  # -- UEFI disk: GPT + FAT ESP with a standalone GRUB embedding everything.
  local efi_name grub_dir grub_fmt
  if [ "$arch" = x86_64 ]; then
    efi_name=BOOTX64.EFI grub_fmt=x86_64-efi grub_dir=/usr/lib/grub/x86_64-efi
  else
    efi_name=BOOTAA64.EFI grub_fmt=arm64-efi grub_dir=$w/grub/usr/lib/grub/arm64-efi
  fi
  [ -d "$grub_dir" ] || die "no GRUB modules at $grub_dir"
  mkdir -p "$w/esp/boot/grub"
  cat >"$w/esp/grub.cfg" <<EOF
set timeout=0
set timeout_style=hidden
linux /boot/vmlinuz $(arch_cmdline "$arch")
initrd /boot/initrd.img
boot
EOF
  # Debian's arm64 vmlinuz is a plain Image (~33 MB); GRUB gunzips kernels
  # transparently, so embed it gzip'd to keep the EFI binary small.
  if [ "$arch" = aarch64 ]; then
    gzip -6nc "$vmlinuz" >"$w/esp/vmlinuz"
  else
    cp "$vmlinuz" "$w/esp/vmlinuz"
  fi
  log "$arch: grub-mkstandalone ($grub_fmt)"
  (cd "$w/esp" && grub-mkstandalone -O "$grub_fmt" -d "$grub_dir" -o "$w/$efi_name" \
    --locales= --fonts= --themes= \
    --install-modules="linux normal configfile memdisk tar echo test gzio boot" \
    --modules="linux gzio" \
    "boot/grub/grub.cfg=./grub.cfg" "boot/vmlinuz=./vmlinuz" "boot/initrd.img=$w/out/initrd.img")
  local efi_bytes fat_mib disk_mib
  efi_bytes=$(stat -c %s "$w/$efi_name")
  fat_mib=$(((efi_bytes * 11 / 10) / 1048576 + 4))
  [ $fat_mib -ge 34 ] || fat_mib=34   # comfortably FAT16/FAT32-valid
  disk_mib=$((fat_mib + 2))           # 1 MiB before, GPT backup after
  mkfs.vfat -C -n INFRASIM "$w/esp.fat" $((fat_mib * 1024)) >/dev/null
  mmd -i "$w/esp.fat" ::/EFI ::/EFI/BOOT
  mcopy -i "$w/esp.fat" "$w/$efi_name" "::/EFI/BOOT/$efi_name"
  truncate -s "${disk_mib}M" "$w/disk.raw"
  printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"\n' \
    $((fat_mib * 2048)) | sfdisk -q "$w/disk.raw" >/dev/null
  dd if="$w/esp.fat" of="$w/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
  qemu-img convert -f raw -O qcow2 "$w/disk.raw" "$w/out/disk.qcow2"
  log "$arch: disk.qcow2 ($efi_name $((efi_bytes / 1048576)) MiB, ESP $fat_mib MiB)"

  printf 'recipe=%s\nscript=%s\nkernel=%s\nkernel_version=%s\nbusybox=%s\nbuilt=%s\n' \
    "$RECIPE_VERSION" "$SCRIPT_SHA" "$img_pkg" "$img_ver" \
    "$(dpkg-deb -f "$w/debs"/busybox-static_*.deb Version)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >"$w/out/stamp"

  # -- publish atomically: rename the finished dir into place.
  local dest=$OUT_ROOT/$arch
  if [ -e "$dest" ]; then mv "$dest" "$w/old"; fi
  mv "$w/out" "$dest"
  rm -rf "$w"
  log "$arch: done in $((SECONDS - t0)) s -> $dest"
}

for a in "${todo[@]}"; do build_arch "$a"; done
