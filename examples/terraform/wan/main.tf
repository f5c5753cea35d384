# Two network segments and a router VM between them, with the WAN side impaired like a
# real long-distance link: a client on "lan" reaches a server on "wan" through the
# router, and every packet sent into "wan" is delayed, may be lost, and is rate-limited.
# The VMs boot InfraSim's test guests (`deno task guest`), which read their addresses
# from the kernel command line (infrasim.nic=, set by infrasimd) and take a static route
# (infrasim.route=<cidr>,<gateway>) and IP forwarding (infrasim.forward=1) from there too.
#
#   terraform apply
#   infrasim vm console client      # then: ping 10.2.0.20   (ttl=63: one router hop)
#   infrasim network qos wan --latency 150ms --loss 5%   # live, nothing restarts

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

variable "wan_latency_ms" {
  description = "Delay of what each VM sends into the WAN, in ms (a ping across it crosses two such links)."
  type        = number
  default     = 40
}

locals {
  guest_dir = abspath(coalesce(var.guest_dir, "${path.module}/../../../.cache/guests"))
  kernel    = "${local.guest_dir}/x86_64/kernel"
  initrd    = "${local.guest_dir}/x86_64/initrd.img"
  cmdline   = trimspace(file("${local.guest_dir}/x86_64/cmdline"))
}

resource "infrasim_network" "lan" {
  name = "lan"
  cidr = "10.1.0.0/24"
}

resource "infrasim_network" "wan" {
  name = "wan"
  cidr = "10.2.0.0/24"
  link_qos {
    latency_ms   = var.wan_latency_ms
    jitter_ms    = 5
    loss_percent = 1
    rate_kbps    = 10000
  }
}

resource "infrasim_vm" "router" {
  name      = "router"
  arch      = "x86_64"
  memory_mb = 256
  kernel    = local.kernel
  initrd    = local.initrd
  cmdline   = "${local.cmdline} infrasim.forward=1"

  network_interface {
    network_id = infrasim_network.lan.id
    ip         = "10.1.0.1"
  }
  network_interface {
    network_id = infrasim_network.wan.id
    ip         = "10.2.0.1"
  }
}

resource "infrasim_vm" "client" {
  name      = "client"
  arch      = "x86_64"
  memory_mb = 256
  kernel    = local.kernel
  initrd    = local.initrd
  cmdline   = "${local.cmdline} infrasim.route=10.2.0.0/24,10.1.0.1"

  network_interface {
    network_id = infrasim_network.lan.id # ip allocated from the cidr (10.1.0.10)
  }
}

resource "infrasim_vm" "server" {
  name      = "server"
  arch      = "x86_64"
  memory_mb = 256
  kernel    = local.kernel
  initrd    = local.initrd
  cmdline   = "${local.cmdline} infrasim.route=10.1.0.0/24,10.2.0.1"

  network_interface {
    network_id = infrasim_network.wan.id
    ip         = "10.2.0.20"
    link_qos {
      latency_ms = 80 # this link only: the server answers from further away
    }
  }
}

output "client_ip" {
  value = infrasim_vm.client.network_interface[0].ip
}

output "server_ip" {
  value = infrasim_vm.server.network_interface[0].ip
}
