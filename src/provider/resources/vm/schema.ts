// The infrasim_vm schema: one definition drives what Terraform sees, defaults,
// computed values and requires_replace (the framework reads its flags).
import { defaultArch } from "../../../api/arch.ts";
import { VM_DEFAULTS } from "../../../api/validate/vm.ts";
import { CLOUD_INIT_DEFAULTS } from "../../../api/validate/guest.ts";
import type { BlockDef } from "../../framework/schema.ts";
import { linkQosBlock } from "../link_qos.ts";
import { TIMEOUTS_BLOCK } from "../../framework/timeouts.ts";

export const VM_SCHEMA: BlockDef = {
  description: "A QEMU virtual machine run by infrasimd.",
  attributes: [
    { name: "id", type: "string", computed: true, description: "The VM's UUID." },
    {
      name: "name",
      type: "string",
      required: true,
      forceNew: true,
      field: "meta.name",
      description: "Unique name, a DNS label. Changing it replaces the VM.",
    },
    {
      name: "arch",
      type: "string",
      optional: true,
      computed: true,
      forceNew: true,
      default: defaultArch(),
      field: "spec.arch",
      description: "`aarch64` or `x86_64`; defaults to the host's. Changing it replaces the VM.",
    },
    {
      name: "machine",
      type: "string",
      optional: true,
      computed: true,
      forceNew: true,
      field: "spec.machine",
      description: "QEMU machine type; defaults to `virt` (aarch64) or `q35` (x86_64).",
    },
    {
      name: "cpu_cores",
      type: "number",
      optional: true,
      computed: true,
      default: VM_DEFAULTS.cpuCores,
      field: "spec.cpu_cores",
      description: "CPU cores (1-256). Updated in place; a running VM is restarted.",
    },
    {
      name: "memory_mb",
      type: "number",
      optional: true,
      computed: true,
      default: VM_DEFAULTS.memoryMb,
      field: "spec.memory_mb",
      description: "Memory in MiB (64-1048576). Updated in place; a running VM is restarted.",
    },
    {
      name: "display",
      type: "string",
      optional: true,
      computed: true,
      default: "none",
      field: "spec.display",
      description: 'What the VM shows: "none" (the serial console only) or "vnc" (a screen, ' +
        "USB keyboard and tablet, and a VNC server on a unix socket in its run dir, " +
        "vnc_socket; no TCP port). Updated in place; a running VM is restarted.",
    },
    {
      name: "kernel",
      type: "string",
      optional: true,
      forceNew: true,
      field: "spec.boot.kernel.kernel_path",
      description: "Absolute path of a kernel for direct boot.",
    },
    {
      name: "initrd",
      type: "string",
      optional: true,
      forceNew: true,
      field: "spec.boot.kernel.initrd_path",
      description: "Absolute path of an initrd for direct boot.",
    },
    {
      name: "cmdline",
      type: "string",
      optional: true,
      forceNew: true,
      field: "spec.boot.kernel.cmdline",
      description: "Kernel command line for direct boot.",
    },
    {
      name: "boot_disk",
      type: "string",
      optional: true,
      forceNew: true,
      field: "spec.boot.disk.path",
      description: "Absolute path of a qcow2/raw disk booted through UEFI (instead of `kernel`).",
    },
    {
      name: "boot_volume",
      type: "string",
      optional: true,
      field: "spec.boot.volume.volume",
      description: "A volume (id or name) booted through UEFI. Updated in place; a running VM " +
        "is restarted.",
    },
    {
      name: "labels",
      type: ["map", "string"],
      optional: true,
      field: "meta.labels",
      description: "Labels, selectable with `infrasim vm list -l`. Updated in place.",
    },
    {
      name: "running",
      type: "bool",
      optional: true,
      computed: true,
      default: true,
      field: "spec.power_state",
      description: "Desired power state. Updated in place: false stops the VM (ACPI power " +
        "button, then forced), true starts it.",
    },
    {
      name: "accelerator",
      type: "string",
      computed: true,
      description: "The accelerator QEMU runs with: hvf, kvm or tcg.",
    },
    {
      name: "state",
      type: "string",
      computed: true,
      description: "RUNNING, STOPPED, CRASHED, ...",
    },
    {
      name: "serial_log",
      type: "string",
      computed: true,
      description: "Path of the serial console log.",
    },
    {
      name: "vnc_socket",
      type: "string",
      computed: true,
      description: 'With display "vnc", while the VM runs: the unix socket of its VNC server.',
    },
    {
      name: "ssh_host_key",
      type: "string",
      computed: true,
      description: "The guest's SSH host key (with cloud_init), made by the daemon: pin it.",
    },
    { name: "created_at", type: "string", computed: true, description: "RFC 3339 time." },
  ],
  blocks: [
    {
      typeName: "disk",
      field: "spec.disks",
      nesting: "LIST",
      forceNew: true,
      block: {
        description: "An extra virtio-blk disk. Changing disks replaces the VM.",
        attributes: [
          { name: "path", type: "string", required: true, description: "Absolute image path." },
          {
            name: "format",
            type: "string",
            optional: true,
            description: "`qcow2` or `raw`; detected from the file when unset.",
          },
          {
            name: "read_only",
            type: "bool",
            optional: true,
            computed: true,
            default: false,
            description: "Attach read-only.",
          },
        ],
      },
    },
    {
      typeName: "port_forward",
      field: "spec.network.port_forwards",
      nesting: "LIST",
      forceNew: true,
      block: {
        description: "Forward 127.0.0.1:host_port to the guest. Changing forwards replaces the VM.",
        attributes: [
          { name: "guest_port", type: "number", required: true, description: "Guest port." },
          {
            name: "host_port",
            type: "number",
            optional: true,
            computed: true,
            description: "Host port on 127.0.0.1; allocated when unset.",
          },
          {
            name: "protocol",
            type: "string",
            optional: true,
            computed: true,
            default: "tcp",
            description: "`tcp` or `udp`.",
          },
        ],
      },
    },
    {
      typeName: "volume",
      field: "spec.volumes",
      nesting: "LIST",
      block: {
        description: "A data volume (virtio-blk). Updated in place; a running VM is restarted.",
        attributes: [
          {
            name: "volume_id",
            type: "string",
            required: true,
            field: "volume",
            description: "Volume id or name.",
          },
          {
            name: "read_only",
            type: "bool",
            optional: true,
            computed: true,
            default: false,
            description: "Attach read-only (then other VMs may read it too).",
          },
        ],
      },
    },
    {
      typeName: "cloud_init",
      field: "spec.cloud_init",
      nesting: "LIST",
      maxItems: 1,
      block: {
        description: "A NoCloud seed for the guest's cloud-init. Updated in place: the guest " +
          "sees a change at its next boot.",
        attributes: [
          {
            name: "user_data",
            type: "string",
            optional: true,
            sensitive: true,
            description: "user-data as is (a `#cloud-config`, a script, ...).",
          },
          {
            name: "meta_data",
            type: "string",
            optional: true,
            description: "YAML merged over the generated `instance-id` and `local-hostname`.",
          },
          {
            name: "network_config",
            type: "string",
            optional: true,
            description: "network-config (version 1 or 2); unset: the image's default (DHCP).",
          },
          {
            name: "hostname",
            type: "string",
            optional: true,
            description: "The guest's host name; defaults to the VM name.",
          },
          {
            name: "ssh_authorized_keys",
            type: ["list", "string"],
            optional: true,
            description:
              "Public keys for `user`; none: the daemon's own key (for `infrasim vm ssh`).",
          },
          {
            name: "user",
            type: "string",
            optional: true,
            computed: true,
            default: CLOUD_INIT_DEFAULTS.user,
            description: "The login user made for the keys (with passwordless sudo).",
          },
        ],
      },
    },
    {
      typeName: "wait_for",
      field: "spec.wait_for",
      nesting: "LIST",
      maxItems: 1,
      block: {
        description: "Create and update return only once the guest is ready (bounded by timeouts).",
        attributes: [
          {
            name: "guest_port",
            type: "number",
            optional: true,
            description: "A forwarded TCP guest port that answers (22: the SSH banner arrives).",
          },
          {
            name: "serial",
            type: "string",
            optional: true,
            description: "A regular expression seen on the serial console.",
          },
        ],
      },
    },
    {
      typeName: "network_interface",
      field: "spec.network_interfaces",
      nesting: "LIST",
      block: {
        description: "A NIC on a private network (after the user-mode one). Adding, removing " +
          "or moving one restarts a running VM; its link_qos changes live.",
        attributes: [
          {
            name: "network_id",
            type: "string",
            required: true,
            field: "network",
            description: "The network (id or name).",
          },
          {
            name: "ip",
            type: "string",
            optional: true,
            computed: true,
            description: "IPv4 address in the network's cidr; unset: allocated (and kept).",
          },
          {
            name: "mac",
            type: "string",
            optional: true,
            computed: true,
            description: "MAC address; unset: allocated, unique (52:54:00:...).",
          },
          {
            name: "link_state",
            type: "string",
            optional: true,
            description: "up (unset too) or down: a pulled cable, nothing passes either way. " +
              "Changes live; the guest sees the carrier go.",
          },
        ],
        blocks: [
          linkQosBlock(
            "link_qos",
            "Overrides of the network's link_qos, field by field, for this link.",
          ),
          linkQosBlock(
            "receive_link_qos",
            "Impairment of what this VM receives, after the switch (its own values, none " +
              "inherited). Changes live.",
            "receive_link_qos",
          ),
        ],
      },
    },
    TIMEOUTS_BLOCK,
  ],
};
