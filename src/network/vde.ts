// Command lines of the vde2 tools that carry private networks (a vde_switch per network,
// a wirefilter per VM link), and the management commands that change a link's
// impairment live. Pure functions; checked against vde2 2.3.2.
export interface LinkQos {
  latency_ms: number;
  jitter_ms: number;
  loss_percent: number;
  duplicate_percent: number;
  rate_kbps: number;
}

export interface SwitchPaths {
  /** vde_switch -s: a directory of sockets, what `-netdev vde,sock=` and wirefilter name. */
  sock: string;
  mgmt: string;
  pidFile: string;
}

/** A switch that daemonizes itself (it outlives the daemon, like QEMU with -daemonize). */
export function switchArgs(p: SwitchPaths): string[] {
  return ["-s", p.sock, "-M", p.mgmt, "-p", p.pidFile, "-d"];
}

/**
 * wirefilter's values for a link. Each applies in both directions, so a ping's round trip
 * sees twice the latency, and loss on both legs (1 - (1 - l)^2).
 */
export function qosValues(q: LinkQos): Record<"delay" | "loss" | "dup" | "bandwidth", string> {
  return {
    delay: q.jitter_ms ? `${q.latency_ms}+${q.jitter_ms}` : String(q.latency_ms),
    loss: String(q.loss_percent),
    dup: String(q.duplicate_percent),
    // wirefilter takes bytes per second; 0 is unlimited.
    bandwidth: String(Math.round((q.rate_kbps * 1000) / 8)),
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
