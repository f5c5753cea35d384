# Two VMs, one per guest architecture, booting InfraSim's test guests directly
# (kernel + initrd, no firmware). Each forwards guest port 80 (busybox httpd in
# the test guest) to a port on 127.0.0.1 that infrasimd allocates.
#
# Build the test guests first with `deno task guest` (they land in .cache/guests/).

terraform {
  required_providers {
    infrasim = {
      source = "infrasim/infrasim"
    }
  }
}

# The daemon address defaults to $INFRASIM_DAEMON_ADDRESS, else the unix socket
# infrasimd.sock in $INFRASIM_DATA_DIR (or ~/.infrasim).
provider "infrasim" {}

variable "guest_dir" {
  description = "Directory holding <arch>/{kernel,initrd.img,cmdline}. Defaults to the repository's .cache/guests."
  type        = string
  default     = null
}

variable "memory_mb" {
  description = "Memory of each VM, in MiB."
  type        = number
  default     = 256
}

locals {
  # A variable's default cannot call a function, so the default is worked out here.
  # The provider only accepts absolute paths.
  guest_dir = abspath(coalesce(var.guest_dir, "${path.module}/../../../.cache/guests"))
}

resource "infrasim_vm" "x86_64" {
  name      = "demo-x86-64"
  arch      = "x86_64"
  memory_mb = var.memory_mb

  kernel  = "${local.guest_dir}/x86_64/kernel"
  initrd  = "${local.guest_dir}/x86_64/initrd.img"
  cmdline = trimspace(file("${local.guest_dir}/x86_64/cmdline"))

  labels = {
    example = "two-arch"
  }

  # host_port is left unset: infrasimd allocates a free port on 127.0.0.1 and
  # keeps it for the VM's lifetime.
  port_forward {
    guest_port = 80
  }
}

resource "infrasim_vm" "aarch64" {
  name      = "demo-aarch64"
  arch      = "aarch64"
  memory_mb = var.memory_mb

  kernel  = "${local.guest_dir}/aarch64/kernel"
  initrd  = "${local.guest_dir}/aarch64/initrd.img"
  cmdline = trimspace(file("${local.guest_dir}/aarch64/cmdline"))

  labels = {
    example = "two-arch"
  }

  port_forward {
    guest_port = 80
  }
}

# The guests need a few seconds to boot after apply (longer under TCG): apply
# returns once QEMU runs, not once the guest is up.
output "x86_64_url" {
  description = "The x86_64 guest's web server."
  value       = "http://127.0.0.1:${infrasim_vm.x86_64.port_forward[0].host_port}/"
}

output "aarch64_url" {
  description = "The aarch64 guest's web server."
  value       = "http://127.0.0.1:${infrasim_vm.aarch64.port_forward[0].host_port}/"
}

output "accelerators" {
  description = "The accelerator each VM runs with: kvm, hvf or tcg."
  value = {
    x86_64  = infrasim_vm.x86_64.accelerator
    aarch64 = infrasim_vm.aarch64.accelerator
  }
}

output "serial_logs" {
  description = "The serial console logs; the test guest prints INFRASIM-READY there once it has booted."
  value = {
    x86_64  = infrasim_vm.x86_64.serial_log
    aarch64 = infrasim_vm.aarch64.serial_log
  }
}
