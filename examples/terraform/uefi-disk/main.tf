# A VM that boots a qcow2 disk image through edk2 UEFI firmware (OVMF on x86_64,
# AAVMF on aarch64) instead of a kernel. The guest writes to the disk, so give it
# a copy of the image, not the cached original:
#
#   cp .cache/guests/x86_64/disk.qcow2 /tmp/uefi.qcow2
#   terraform apply -var disk_path=/tmp/uefi.qcow2

terraform {
  required_providers {
    infrasim = {
      source = "infrasim/infrasim"
    }
  }
}

provider "infrasim" {}

variable "disk_path" {
  description = "A writable qcow2 or raw disk image with an EFI System Partition. Relative paths are made absolute. It must not be inside the daemon's data dir."
  type        = string
}

variable "arch" {
  description = "Guest architecture of the disk image: x86_64 or aarch64."
  type        = string
  default     = "x86_64"
}

resource "infrasim_vm" "uefi" {
  name      = "demo-uefi"
  arch      = var.arch
  cpu_cores = 1
  memory_mb = 512

  # boot_disk and kernel are mutually exclusive.
  boot_disk = abspath(var.disk_path)

  port_forward {
    guest_port = 80
  }

  # Firmware boot under TCG is slower than a direct kernel boot; these bound
  # each API call the provider makes.
  timeouts {
    create = "5m"
    update = "5m"
  }
}

output "url" {
  description = "The guest's web server (the test guest serves one on port 80 once booted)."
  value       = "http://127.0.0.1:${infrasim_vm.uefi.port_forward[0].host_port}/"
}

output "state" {
  value = infrasim_vm.uefi.state
}

output "serial_log" {
  value = infrasim_vm.uefi.serial_log
}
