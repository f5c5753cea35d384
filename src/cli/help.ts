// Help texts beyond commander's option lists: the one-line pointer a usage error ends
// with, and examples (a newcomer copies an example before reading a table of options).

/** "infrasim vm create" for the create command. */
export function commandPath(c: { name(): string; parent: unknown }): string {
  const names: string[] = [];
  for (let cur = c as { name(): string; parent: unknown } | null; cur; cur = cur.parent as never) {
    names.unshift(cur.name());
  }
  return names.join(" ");
}

/** The line after a usage error: where the right --help is. */
export const helpHint = (c: { name(): string; parent: unknown }) =>
  `(run '${commandPath(c)} --help' for usage)`;

export const TOP_EXAMPLES = `
Examples:
  infrasim status                  # is the daemon up? its QEMU and accelerators
  infrasim vm create --name web --kernel ./vmlinux --initrd ./initrd.img \\
    --cmdline console=ttyS0 --port 80 --start
  infrasim vm list
  infrasim vm console web          # Ctrl-] detaches
  infrasim vm delete --force web

Every command has --help (infrasim vm create --help). infrasimd must be running:
start it with \`infrasimd\` (its data in ~/.infrasim). Shell completion for
bash, zsh and fish: infrasim completion --help.`;

export const CREATE_EXAMPLES = `
Examples:
  # a cloud image with its own 8 GiB copy-on-write disk; log in with your key
  infrasim vm create --name web --image debian-12 --disk-size 8G \\
    --ssh-key ~/.ssh/id_ed25519.pub --memory 1024 --wait
  infrasim vm ssh web -- uname -a

  # boot a kernel directly; guest port 80 on a host port the daemon picks
  infrasim vm create --name web --kernel ./vmlinux --initrd ./initrd.img \\
    --cmdline "console=ttyS0" --port 80 --start
  curl "http://$(infrasim vm port web 80)/"

  # boot a disk image through UEFI, with a read-only data disk
  infrasim vm create --name db --disk ./debian.qcow2 --disk ./seed.raw:ro

  # a guest of the other arch (emulated, so slower)
  infrasim vm create --name arm --arch aarch64 --kernel ./Image --initrd ./initrd.img

Relative paths are taken from the current directory. A kernel built for another
arch than --arch (default: the host's) is refused.`;

export const DELETE_EXAMPLES = `
Examples:
  infrasim vm delete web           # a stopped VM
  infrasim vm stop web && infrasim vm delete web
  infrasim vm delete --force web   # a running one: QEMU is killed, no guest shutdown`;

export const CONSOLE_EXAMPLES = `
Examples:
  infrasim vm console web          # on a terminal: Ctrl-] detaches
  printf 'uname -a\\n' | infrasim vm console web   # piped: detaches when input ends`;
