# Reads the daemon and one existing VM without managing anything. The VM can come
# from anywhere: the two-arch example, the CLI (`infrasim vm create ...`), another
# Terraform configuration.

terraform {
  required_providers {
    infrasim = {
      source = "infrasim/infrasim"
    }
  }
}

provider "infrasim" {}

variable "vm_name" {
  description = "Name (or id) of an existing VM. The default is the x86_64 VM of the two-arch example."
  type        = string
  default     = "demo-x86-64"
}

data "infrasim_daemon" "this" {}

data "infrasim_vm" "vm" {
  name = var.vm_name
}

output "daemon_version" {
  value = data.infrasim_daemon.this.version
}

output "qemu_versions" {
  value = data.infrasim_daemon.this.qemu_versions
}

output "accelerators" {
  description = "The accelerator the daemon uses by default, per guest architecture."
  value       = data.infrasim_daemon.this.accelerators
}

output "vm_count" {
  value = data.infrasim_daemon.this.vm_count
}

output "vm" {
  value = {
    id        = data.infrasim_vm.vm.id
    arch      = data.infrasim_vm.vm.arch
    state     = data.infrasim_vm.vm.state
    running   = data.infrasim_vm.vm.running
    memory_mb = data.infrasim_vm.vm.memory_mb
    labels    = data.infrasim_vm.vm.labels
  }
}

output "vm_urls" {
  description = "One URL per forwarded TCP port of the VM, keyed by guest port."
  value = {
    for f in data.infrasim_vm.vm.port_forwards :
    tostring(f.guest_port) => "http://127.0.0.1:${f.host_port}/" if f.protocol == "tcp"
  }
}
