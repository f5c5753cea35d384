# A VM with a data volume and a snapshot of it taken with its memory, to go back to:
#
#   terraform apply
#   infrasim vm console lab-db               # change something, break something
#   infrasim snapshot restore lab-baseline   # lab-db runs on from the snapshot's moment
#   terraform plan                           # still empty: a restore changes no configuration
#
# Or stop it and start it from the snapshot instead of booting:
#   infrasim vm stop lab-db && infrasim vm start lab-db --from-snapshot lab-baseline

terraform {
  required_providers {
    infrasim = {
      source = "infrasim/infrasim"
    }
  }
}

provider "infrasim" {}

variable "guest_dir" {
  description = "Directory holding x86_64/{kernel,initrd.img,cmdline}. Defaults to the repository's .cache/guests."
  type        = string
  default     = null
}

locals {
  guest = "${coalesce(var.guest_dir, abspath("${path.module}/../../../.cache/guests"))}/x86_64"
}

resource "infrasim_volume" "data" {
  name    = "lab-db-data"
  size_gb = 1
}

resource "infrasim_vm" "db" {
  name      = "lab-db"
  memory_mb = 256
  kernel    = "${local.guest}/kernel"
  initrd    = "${local.guest}/initrd.img"
  cmdline   = trimspace(file("${local.guest}/cmdline"))

  volume {
    volume_id = infrasim_volume.data.id
  }
}

resource "infrasim_snapshot" "baseline" {
  name        = "lab-baseline"
  vm          = infrasim_vm.db.id
  description = "the lab as applied"
}

output "restore" {
  value = "infrasim snapshot restore ${infrasim_snapshot.baseline.name}"
}

output "memory_saved_bytes" {
  value = infrasim_snapshot.baseline.memory_bytes
}
