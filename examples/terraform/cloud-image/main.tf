# A Debian 12 cloud image: imported once, a copy-on-write 8 GiB volume of it, and a VM
# that boots the volume with your SSH key and a cloud-config. Apply returns once sshd
# answers; then log in with the host key checked strictly:
#
#   bash tasks/debian_image.sh        # builds the image from Debian packages, prints its path
#   terraform apply -var image=$(bash tasks/debian_image.sh) -var ssh_key=~/.ssh/id_ed25519.pub
#   infrasim vm ssh web -- uname -a   # or plain ssh, see the outputs

terraform {
  required_providers {
    infrasim = {
      source = "infrasim/infrasim"
    }
  }
}

provider "infrasim" {}

variable "image" {
  description = "A cloud image (qcow2 or raw) with cloud-init: a path on this host or an http(s) URL."
  type        = string
}

variable "ssh_key" {
  description = "Your public key file. Empty: the daemon's own key (then use `infrasim vm ssh`)."
  type        = string
  default     = ""
}

resource "infrasim_image" "debian" {
  name   = "debian-12"
  source = startswith(var.image, "http") ? var.image : abspath(pathexpand(var.image))
}

resource "infrasim_volume" "root" {
  name     = "web-root"
  image_id = infrasim_image.debian.id
  size_gb  = 8 # grows in place; the guest's root file system follows at boot (growpart)
}

resource "infrasim_vm" "web" {
  name        = "web"
  memory_mb   = 1024
  boot_volume = infrasim_volume.root.id

  cloud_init {
    ssh_authorized_keys = var.ssh_key == "" ? [] : [file(pathexpand(var.ssh_key))]
    user_data           = <<-EOT
      #cloud-config
      packages_update: false
      write_files:
        - path: /etc/motd
          content: "Booted by InfraSim.\n"
    EOT
  }

  port_forward {
    guest_port = 22
  }

  wait_for {
    guest_port = 22
  }

  # Firmware boot and cloud-init under TCG take about a minute.
  timeouts {
    create = "10m"
    update = "10m"
  }
}

output "ssh" {
  description = "Log in with your key; the known_hosts line pins the host key the daemon made."
  value       = "ssh -p ${infrasim_vm.web.port_forward[0].host_port} infrasim@127.0.0.1"
}

output "known_hosts" {
  value = "[127.0.0.1]:${infrasim_vm.web.port_forward[0].host_port} ${infrasim_vm.web.ssh_host_key}"
}
