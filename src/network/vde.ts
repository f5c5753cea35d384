// Command lines of the vde2 tools that carry private networks (a vde_switch per network,
// and per VM link a small switch the VM plugs into plus a wirefilter from it to the
// network's), and the management commands that change a link's impairment live. Pure
// functions; checked against vde2 2.3.2.
import type { FullQos } from "../api/qos.ts";

export type LinkQos = FullQos;

export interface SwitchPaths {
  /** vde_switch -s: a directory of sockets, what `-netdev vde,sock=` and wirefilter name. */
  sock: string;
  /** The management console; a VM's own port switch has none. */
  mgmt?: string;
  pidFile: string;
  /** How many ports (vde_switch's default is 32). */
  ports?: number;
}

/** A switch that daemonizes itself (it outlives the daemon, like QEMU with -daemonize). */
export function switchArgs(p: SwitchPaths): string[] {
  return [
    "-s",
    p.sock,
    ...(p.mgmt ? ["-M", p.mgmt] : []),
    ...(p.ports ? ["-n", String(p.ports)] : []),
    "-p",
    p.pidFile,
    "-d",
  ];
}

/**
 * wirefilter's values for a link, for the left-to-right channel only: the wire runs from
 * the VM's switch (left) to the network's, so this is what the VM sends, like tc netem
 * on an interface's egress. A ping between two impaired VMs crosses two such channels.
 */
export function qosValues(q: LinkQos): Record<"delay" | "loss" | "dup" | "bandwidth", string> {
  return {
    delay: `LR${q.jitter_ms ? `${q.latency_ms}+${q.jitter_ms}` : q.latency_ms}`,
    loss: `LR${q.loss_percent}`,
    dup: `LR${q.duplicate_percent}`,
    // wirefilter takes bytes per second; 0 is unlimited.
    bandwidth: `LR${Math.round((q.rate_kbps * 1000) / 8)}`,
  };
}

/** A wirefilter between a VM's own switch and the network's, detached, with a console. */
export function wirefilterArgs(
  vmSock: string,
  netSock: string,
  q: LinkQos,
  mgmt: string,
  pidFile: string,
): string[] {
  const v = qosValues(q);
  return [
    "-v",
    `${vmSock}:${netSock}`,
    "-d",
    v.delay,
    "-l",
    v.loss,
    "-D",
    v.dup,
    "-b",
    v.bandwidth,
    "-M",
    mgmt,
    "--daemon",
    "--pidfile",
    pidFile,
  ];
}

/** The console commands that set a running wirefilter to q, one per line, in order. */
export function qosCommands(q: LinkQos): string[] {
  const v = qosValues(q);
  return [`delay ${v.delay}`, `loss ${v.loss}`, `dup ${v.dup}`, `bandwidth ${v.bandwidth}`];
}

/** A console reply's status line ("1000 Success"): the code, or undefined if none yet. */
export function replyStatus(text: string): { code: number; message: string } | undefined {
  const m = text.match(/^(\d{4}) (.*)$/m);
  if (!m || m[1] === "0000") {
    // 0000 opens a data block; its status follows the closing ".".
    const end = text.match(/^\.\r?\n(\d{4}) (.*)$/m);
    return end ? { code: Number(end[1]), message: end[2].trim() } : undefined;
  }
  return { code: Number(m[1]), message: m[2].trim() };
}
