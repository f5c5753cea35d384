/// <reference lib="dom" />
// VMs: the live list, and one VM's page with its actions, links and serial console.
import { type Vm, VmSchema } from "../../../src/api/gen/es/infrasim/v1/vm_pb.ts";
import { jsonView } from "./stored.ts";
import { api } from "../api.ts";
import { badge, h, since, table } from "../dom.ts";
import { alertLine, live } from "../live.ts";
import { stateName, store } from "../store.ts";
import { openConsole } from "../console.ts";
import { openScreen } from "../screen.ts";
import { openUsage } from "../usage.ts";
import { linkActions } from "./links.ts";

const ports = (vm: Vm) =>
  (vm.status?.portForwards ?? []).map((p) => `${p.hostPort}→${p.guestPort}/${p.protocol}`)
    .join(", ");
const ips = (vm: Vm) => (vm.status?.links ?? []).map((l) => l.ip).filter(Boolean).join(", ");
const running = (vm: Vm) => stateName(vm.status?.state ?? 0) === "RUNNING";

export function vmsPage(root: HTMLElement) {
  const body = h("div");
  root.append(h("h1", {}, "VMs"), body);
  return live(body, () => {
    const vms = [...store.objects.vm.values()].sort((a, b) =>
      a.meta!.name.localeCompare(b.meta!.name)
    );
    return table(
      ["Name", "State", "Arch", "CPUs", "Memory", "Ports", "IPs", "Uptime"],
      vms.map((vm) => ({
        id: vm.meta!.id,
        href: `#/vm/${encodeURIComponent(vm.meta!.name)}`,
        cells: [
          vm.meta!.name,
          badge(stateName(vm.status?.state ?? 0)),
          vm.spec?.arch,
          vm.spec?.cpuCores || 1,
          `${vm.spec?.memoryMb} MiB`,
          ports(vm),
          ips(vm),
          running(vm) ? since(vm.status!.startedAt) : "",
        ],
      })),
      store.synced ? "No VMs yet: create one with `infrasim vm create` or Terraform." : "Loading…",
    );
  }, { everySecond: true });
}

const byName = (name: string) =>
  [...store.objects.vm.values()].find((v) => v.meta!.name === name || v.meta!.id === name);

export function vmPage(root: HTMLElement, name: string) {
  const alert = alertLine();
  const head = h("div");
  const details = h("div");
  // Every field, outside the once-a-second repaint, and left open when it was.
  const json = h("details", {}, h("summary", {}, "Spec and status (JSON)"), h("div"));
  const stopJson = live(json.lastElementChild as HTMLElement, () => {
    const vm = byName(name);
    return vm ? jsonView(VmSchema, vm) : [];
  });
  const consoleBox = h("section", { "aria-label": "Serial console" });
  const screenBox = h("section", { "aria-label": "Screen" });
  const usageBox = h("section", { "aria-label": "Usage" });
  root.append(
    head,
    alert.el,
    details,
    json,
    h("h2", {}, "CPU and memory"),
    usageBox,
    h("h2", {}, "Serial console"),
    consoleBox,
    screenBox,
  );
  let closeConsole: (() => void) | undefined;
  let consoleFor = "";
  const act = (
    label: string,
    fn: (ref: string) => Promise<unknown>,
    enabled: boolean,
    confirmText?: string,
  ) =>
    h("button", {
      "data-key": `act-${label}`,
      disabled: !enabled,
      onclick: () => {
        if (confirmText && !confirm(confirmText)) return;
        alert.run(() => fn(name));
      },
    }, label);
  const stop = live(head, () => {
    const vm = byName(name);
    if (!vm) return h("h1", {}, name, " ", store.synced ? badge("DELETED") : "");
    const state = stateName(vm.status?.state ?? 0);
    return [
      h("h1", {}, vm.meta!.name, " ", badge(state)),
      h(
        "div",
        { class: "actions" },
        act("Start", (ref) => api.vms.startVm({ ref }), !running(vm)),
        act("Stop", (ref) => api.vms.stopVm({ ref }), running(vm)),
        act("Restart", (ref) => api.vms.restartVm({ ref }), running(vm)),
        act(
          "Delete",
          (ref) => api.vms.deleteVm({ ref, force: true }).then(() => (location.hash = "#/vms")),
          true,
          `Delete VM ${vm.meta!.name}? Its disks go with it.`,
        ),
      ),
    ];
  });
  const stopDetails = live(details, () => {
    const vm = byName(name);
    if (!vm) return [];
    const st = vm.status!;
    // The console follows the VM: attached while it runs, detached otherwise.
    const want = running(vm) ? `${vm.meta!.id}:${st.startedAt}` : "";
    if (want !== consoleFor) {
      closeConsole?.();
      closeConsole = undefined;
      consoleFor = want;
      screenBox.replaceChildren();
      if (want) {
        const closeSerial = openConsole(consoleBox, vm.meta!.id);
        const closeUsage = openUsage(usageBox, vm.meta!.id);
        // A VM with display "vnc" shows its screen too.
        const closeScreen = vm.spec?.display === "vnc"
          ? (screenBox.append(h("h2", {}, "Screen"), h("div")),
            openScreen(screenBox.lastElementChild as HTMLElement, vm.meta!.id))
          : undefined;
        closeConsole = () => {
          closeSerial();
          closeUsage();
          closeScreen?.();
        };
      } else {
        const idle = () => h("p", { class: "empty" }, "The VM is not running.");
        consoleBox.replaceChildren(idle());
        usageBox.replaceChildren(idle());
      }
    }
    return [
      h(
        "dl",
        {},
        ...field("Arch", `${vm.spec?.arch} (${st.accelerator || vm.spec?.accelerator || "auto"})`),
        ...field("CPUs", vm.spec?.cpuCores || 1),
        ...field("Memory", `${vm.spec?.memoryMb} MiB`),
        ...field("PID", st.pid || ""),
        ...field("Uptime", running(vm) ? since(st.startedAt) : ""),
        ...field("Ready", st.ready ? `yes, at ${st.readyAt}` : "no"),
        ...field("Ports", ports(vm)),
        ...field(
          "SSH",
          st.ssh?.hostPort ? `ssh -p ${st.ssh.hostPort} ${st.ssh.user}@127.0.0.1` : "",
        ),
        ...field("Last exit", st.lastExitReason),
        ...field("Message", st.message),
      ),
      h("h2", {}, "Links"),
      linkActions(vm, alert),
    ];
  }, { everySecond: true });
  return () => {
    stop();
    stopJson();
    stopDetails();
    closeConsole?.();
  };
}

function field(name: string, value: unknown): Node[] {
  if (value === "" || value === undefined) return [];
  return [h("dt", {}, name), h("dd", {}, String(value))];
}
