# The quickstart: one VM booting InfraSim's test guest (built by `deno task guest`),
# with the web server inside it forwarded to a port on 127.0.0.1.
terraform {
  required_providers {
    infrasim = {
      source = "infrasim/infrasim"
    }
  }
}

variable "guest_dir" {
  type        = string
  default     = null
  description = "Directory with kernel, initrd.img and cmdline (default: the x86_64 test guest in this repository)."
}

locals {
  guest = coalesce(var.guest_dir, abspath("${path.module}/../../../.cache/guests/x86_64"))
}

# daemon_address defaults to the local unix socket (~/.infrasim/infrasimd.sock).
provider "infrasim" {}

resource "infrasim_vm" "quickstart" {
  name      = "quickstart"
  cpu_cores = 1
  memory_mb = 256
  kernel    = "${local.guest}/kernel"
  initrd    = "${local.guest}/initrd.img"
  cmdline   = trimspace(file("${local.guest}/cmdline"))
  labels    = { app = "quickstart" }

  port_forward {
    guest_port = 80
  }
}

output "url" {
  value = "http://127.0.0.1:${infrasim_vm.quickstart.port_forward[0].host_port}/"
}

output "vm_id" {
  value = infrasim_vm.quickstart.id
}
