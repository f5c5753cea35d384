// Rendering for the CLI: table for people; json and yaml are the complete API objects.
import { stringify as toYaml } from "yaml";
import type * as T from "../api/gen/infrasim.v1.ts";
import { formatQos } from "./qos_flags.ts";

export type OutputFormat = "table" | "json" | "yaml";

/**
 * Bytes fields are not part of CLI objects; everything else is plain data. The decoder's
 * markers of which optional field is set ("_latency_ms") are not the API's: left out.
 */
export function render(format: OutputFormat, data: unknown, table: () => string): string {
  const plain = JSON.parse(JSON.stringify(data, (k, v) => (k.startsWith("_") ? undefined : v)));
  if (format === "json") return JSON.stringify(plain, null, 2);
  if (format === "yaml") return toYaml(plain).trimEnd();
  return table();
}

export function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  "))
    .join("\n");
}

export function age(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "-";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const ports = (pf: T.PortForward[]) =>
  pf.map((p) => `${p.host_port}->${p.guest_port}${p.protocol === "udp" ? "/udp" : ""}`).join(",") ||
  "-";

export function formatVmTable(vms: T.Vm[]): string {
  if (vms.length === 0) return "No VMs.";
  return columns([
    ["NAME", "STATE", "ARCH", "CPUS", "MEMORY", "ACCEL", "PORTS", "AGE", "ID"],
    ...vms.map((v) => [
      v.meta!.name,
      v.status!.state,
      v.spec!.arch,
      String(v.spec!.cpu_cores),
      `${v.spec!.memory_mb}M`,
      v.status!.accelerator || "-",
      ports(v.status!.port_forwards),
      age(v.meta!.created_at),
      v.meta!.id,
    ]),
  ]);
}

export function formatVm(v: T.Vm): string {
  const m = v.meta!, s = v.spec!, st = v.status!;
  const boot = s.boot?.kernel
    ? `kernel ${s.boot.kernel.kernel_path}${
      s.boot.kernel.initrd_path ? ` initrd ${s.boot.kernel.initrd_path}` : ""
    }`
    : s.boot?.disk
    ? `uefi disk ${s.boot.disk.path}`
    : s.boot?.volume
    ? `uefi volume ${s.boot.volume.volume}`
    : "uefi (no boot disk)";
  const ci = s.cloud_init;
  const w = s.wait_for;
  const rows: [string, string][] = [
    ["Name", m.name],
    ["ID", m.id],
    ["State", st.state + (st.message ? ` (${st.message})` : "")],
    ["Desired", s.power_state === "POWER_ON" ? "running" : "stopped"],
    ["Arch", `${s.arch} (${s.machine})`],
    ["CPUs", String(s.cpu_cores)],
    ["Memory", `${s.memory_mb} MiB`],
    ["Boot", boot],
    ["Disks", s.disks.map((d) => d.path + (d.read_only ? " (ro)" : "")).join(", ") || "-"],
    [
      "Volumes",
      (s.volumes ?? []).map((d) => d.volume + (d.read_only ? " (ro)" : "")).join(", ") || "-",
    ],
    [
      "Cloud-init",
      ci
        ? `user ${ci.user}, hostname ${ci.hostname || m.name}, ${
          ci.ssh_authorized_keys.length
            ? `${ci.ssh_authorized_keys.length} key(s)`
            : "the daemon's key"
        }${ci.user_data ? ", user-data" : ""}`
        : "-",
    ],
    [
      "Wait for",
      w
        ? [w.guest_port && `guest port ${w.guest_port}`, w.serial && `serial /${w.serial}/`]
          .filter(Boolean).join(" and ")
        : "-",
    ],
    ["Network", s.network?.mode ?? "user"],
    ...(st.links ?? []).map((l, i): [string, string] => [
      `Link ${i}`,
      `${l.network_name} ${l.ip}/${l.prefix_length} ${l.mac} ${l.state}${
        l.message ? ` (${l.message})` : ""
      }, ${formatQos(l.link_qos)}${
        formatQos(l.receive_link_qos) === "-" ? "" : `; receives ${formatQos(l.receive_link_qos)}`
      }`,
    ]),
    ["Ports", ports(st.port_forwards)],
    ["Accelerator", st.accelerator || "-"],
    ["PID", st.pid ? String(st.pid) : "-"],
    ["Serial log", st.serial_log_path],
    [
      "Display",
      s.display === "vnc" ? `vnc${st.vnc_socket_path ? ` (${st.vnc_socket_path})` : ""}` : "none",
    ],
    [
      "SSH",
      st.ssh?.host_port
        ? `infrasim vm ssh ${m.name} (${st.ssh.user}@127.0.0.1:${st.ssh.host_port})`
        : "-",
    ],
    ["Restored", st.restored_at ? `${st.restored_at} from snapshot ${st.restored_from}` : "-"],
    ["Last exit", st.last_exit_reason || "-"],
    ["Labels", Object.entries(m.labels).map(([k, val]) => `${k}=${val}`).join(",") || "-"],
    ["Created", m.created_at],
    ["Generation", String(m.generation)],
  ];
  return columns(rows.map(([k, val]) => [`${k}:`, val]));
}

export function formatDaemonStatus(st: T.DaemonStatus): string {
  const rows: [string, string][] = [
    ["Version", st.version],
    ["Host", st.host],
    ["PID", String(st.pid)],
    ["Uptime", `${st.uptime_seconds}s`],
    ["Data dir", st.data_dir],
    ["Dashboard", st.dashboard_url ? `${st.dashboard_url} (infrasim dashboard signs in)` : "off"],
    ["Metrics", st.metrics_url || "off"],
    ...st.qemu.map((q): [string, string] => [
      `QEMU ${q.arch}`,
      `${q.version} (${q.path}), accelerator ${st.accelerators[q.arch] ?? "?"}`,
    ]),
    [
      "VMs",
      Object.entries(st.vm_counts).map(([k, n]) => `${k.toLowerCase()}=${n}`).join(" ") ||
      "total=0",
    ],
  ];
  return columns(rows.map(([k, v]) => [`${k}:`, v]));
}

/** Bytes for people: 1.5 GiB, 300 MiB, 12 KiB. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatImageTable(images: T.Image[]): string {
  if (images.length === 0) return "No images.";
  return columns([
    ["NAME", "FORMAT", "VIRTUAL", "SIZE", "DIGEST", "AGE", "ID"],
    ...images.map((i) => [
      i.meta!.name,
      i.status!.format,
      bytes(i.status!.virtual_size_bytes),
      bytes(i.status!.actual_size_bytes),
      i.status!.digest.slice(0, 19),
      age(i.meta!.created_at),
      i.meta!.id,
    ]),
  ]);
}

export function formatImage(i: T.Image): string {
  const m = i.meta!, st = i.status!;
  const rows: [string, string][] = [
    ["Name", m.name],
    ["ID", m.id],
    ["Source", i.spec!.source],
    ["Digest", st.digest],
    ["Format", st.format],
    ["Virtual size", `${bytes(st.virtual_size_bytes)} (${st.virtual_size_bytes} bytes)`],
    ["Stored", `${bytes(st.actual_size_bytes)} at ${st.path}`],
    ["Labels", Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(",") || "-"],
    ["Created", m.created_at],
  ];
  return columns(rows.map(([k, v]) => [`${k}:`, v]));
}

export function formatVolumeTable(vols: T.Volume[]): string {
  if (vols.length === 0) return "No volumes.";
  return columns([
    ["NAME", "SIZE", "IMAGE", "ATTACHED TO", "AGE", "ID"],
    ...vols.map((v) => [
      v.meta!.name,
      bytes(v.status!.size_bytes),
      v.spec!.image || "-",
      v.status!.attached_to_name || "-",
      age(v.meta!.created_at),
      v.meta!.id,
    ]),
  ]);
}

export function formatVolume(v: T.Volume): string {
  const m = v.meta!, st = v.status!;
  const rows: [string, string][] = [
    ["Name", m.name],
    ["ID", m.id],
    ["Size", `${bytes(st.size_bytes)} (${st.size_bytes} bytes)`],
    ["Image", v.spec!.image ? `${v.spec!.image} (${st.image_id})` : "- (blank)"],
    ["Attached to", st.attached_to_name ? `${st.attached_to_name} (${st.attached_to})` : "-"],
    ["Path", st.path],
    ["Labels", Object.entries(m.labels).map(([k, val]) => `${k}=${val}`).join(",") || "-"],
    ["Created", m.created_at],
  ];
  return columns(rows.map(([k, val]) => [`${k}:`, val]));
}

export function formatNetworkTable(nets: T.Network[]): string {
  if (nets.length === 0) return "No networks.";
  return columns([
    ["NAME", "CIDR", "STATE", "VMS", "LINK QOS", "AGE", "ID"],
    ...nets.map((n) => [
      n.meta!.name,
      n.spec!.cidr,
      n.status!.state,
      String(n.status!.attachments.length),
      formatQos(n.spec!.link_qos),
      age(n.meta!.created_at),
      n.meta!.id,
    ]),
  ]);
}

export function formatNetwork(n: T.Network): string {
  const m = n.meta!, st = n.status!;
  const rows: [string, string][] = [
    ["Name", m.name],
    ["ID", m.id],
    ["State", st.state + (st.message ? ` (${st.message})` : "")],
    ["CIDR", `${n.spec!.cidr} (netmask ${st.netmask})`],
    ["MTU", String(n.spec!.mtu)],
    ["Link QoS", formatQos(n.spec!.link_qos)],
    ["Seed", n.spec!.seed != null ? String(n.spec!.seed) : "-"],
    ["Engine PID", st.engine_pid ? String(st.engine_pid) : "-"],
    ["Labels", Object.entries(m.labels).map(([k, val]) => `${k}=${val}`).join(",") || "-"],
    ["Created", m.created_at],
  ];
  const head = columns(rows.map(([k, val]) => [`${k}:`, val]));
  if (st.attachments.length === 0) return `${head}\n\nNo VMs attached.`;
  return `${head}\n\n${
    columns([
      ["VM", "IF", "IP", "MAC", "LINK", "QOS"],
      ...st.attachments.map((a) => [
        a.vm_name,
        String(a.interface),
        a.ip,
        a.mac,
        a.state,
        formatQos(a.link_qos),
      ]),
    ])
  }`;
}

/** A link engine's counters: one row per link and direction, then the engine's own figures. */
export function formatCounters(c: T.NetworkCounters): string {
  const rows = [[
    "LINK",
    "DIR",
    "FRAMES",
    "BYTES",
    "LOSS",
    "QUEUE",
    "DOWN",
    "MTU",
    "DUP",
    "CORRUPT",
    "REORDER",
    "DEPTH",
  ]];
  for (const l of c.links) {
    for (const [dir, d] of [["sent", l.sent!], ["received", l.received!]] as const) {
      rows.push([
        `${l.vm_name}:nic${l.interface}${l.connected ? "" : " (not connected)"}`,
        dir,
        ...[
          d.frames,
          d.bytes,
          d.dropped_loss,
          d.dropped_queue,
          d.dropped_down,
          d.dropped_mtu,
          d.duplicated,
          d.corrupted,
          d.reordered,
          d.queue_depth,
        ].map(String),
      ]);
    }
  }
  const mib = (c.engine_rss_bytes / 1024 / 1024).toFixed(1);
  const engine = `Engine: pid ${c.engine_pid}, RSS ${mib} MiB, timer lateness p50 ` +
    `${c.timer_lateness_p50_us} µs, p99 ${c.timer_lateness_p99_us} µs` +
    (c.capture_dropped ? `, ${c.capture_dropped} frames lost by slow captures` : "");
  return c.links.length ? `${columns(rows)}\n${engine}` : `No links.\n${engine}`;
}
