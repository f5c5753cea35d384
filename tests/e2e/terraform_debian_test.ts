// The issue's own configuration with the real terraform and the real ssh: an image, a
// copy-on-write volume, a VM booting it with cloud_init (your key, your user-data) and
// wait_for; apply returns once sshd answers, ssh checks the host key Terraform was
// given; size_gb grows in place, a smaller one is a plan-time error; both new
// resources import into an empty plan; destroy leaves nothing.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { debianImage, e2eTest } from "../helpers/env.ts";
import { assertImportPlansEmpty, Workspace } from "../helpers/terraform.ts";

const IMAGE = debianImage("x86_64");
const GIB = 1024 ** 3;

function config(keyFile: string, size: number, timeouts = true): string {
  return `
resource "infrasim_image" "debian" {
  name   = "debian-12"
  source = "${IMAGE}"
}

resource "infrasim_volume" "root" {
  name     = "web-root"
  image_id = infrasim_image.debian.id
  size_gb  = ${size}
}

resource "infrasim_vm" "web" {
  name        = "web"
  memory_mb   = 1024
  boot_volume = infrasim_volume.root.id
  cloud_init {
    ssh_authorized_keys = [file("${keyFile}.pub")]
    user_data           = <<-EOT
      #cloud-config
      write_files:
        - path: /etc/infrasim-test
          content: "from user-data\\n"
    EOT
  }
  port_forward { guest_port = 22 }
  wait_for { guest_port = 22 }
${timeouts ? '  timeouts { create = "8m" }\n' : ""}}

output "ssh_port" { value = infrasim_vm.web.port_forward[0].host_port }
output "host_key" { value = infrasim_vm.web.ssh_host_key }
`;
}

e2eTest(
  "terraform (debian): image, volume, cloud_init, wait_for; real ssh; grow in place",
  async (d) => {
    const keys = mkdtempSync("/tmp/iskey-");
    const key = join(keys, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    const ws = new Workspace(d);
    try {
      ws.write(config(key, 4));
      const apply = await ws.apply();
      console.log(
        `debian: terraform apply (import, volume, boot to sshd) took ${
          (apply.ms / 1000).toFixed(1)
        } s`,
      );
      const port = await ws.output("ssh_port");
      const hostKey = await ws.output("host_key");
      assert.match(hostKey, /^ssh-ed25519 AAAA/);
      // The real ssh, with the host key Terraform knows and the user's own key.
      const kh = join(keys, "known_hosts");
      writeFileSync(kh, `[127.0.0.1]:${port} ${hostKey}\n`);
      const ssh = (cmd: string) =>
        spawnSync("ssh", [
          "-p",
          port,
          "-i",
          key,
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=yes",
          "-o",
          `UserKnownHostsFile=${kh}`,
          "infrasim@127.0.0.1",
          cmd,
        ], { encoding: "utf8", timeout: 60_000 });
      const r = ssh("uname -a; cat /etc/infrasim-test; lsblk -bdno SIZE /dev/vda");
      assert.equal(r.status, 0, r.stderr);
      const [uname, fromUserData, disk] = r.stdout.trim().split("\n");
      assert.match(uname, /^Linux web .*x86_64/);
      assert.equal(fromUserData, "from user-data");
      assert.equal(Number(disk), 4 * GIB);
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0, "no drift after apply");

      // Growing is an in-place update of the volume; the running guest sees it.
      ws.write(config(key, 6));
      const plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 2);
      assert.match(plan.stdout, /infrasim_volume\.root will be updated in-place/);
      assert.doesNotMatch(plan.stdout, /must be replaced/);
      const pid = (await d.client.getVm("web")).status!.pid;
      await ws.apply();
      assert.equal(Number(ssh("lsblk -bdno SIZE /dev/vda").stdout.trim()), 6 * GIB);
      assert.equal((await d.client.getVm("web")).status!.pid, pid, "the VM was not restarted");

      // Smaller is an error on the attribute, at plan time, and nothing changes.
      ws.write(config(key, 5));
      const shrink = await ws.run("plan");
      assert.equal(shrink.code, 1);
      assert.match(shrink.stderr, /Volumes cannot shrink/);
      assert.match(shrink.stderr, /size_gb/);
      ws.write(config(key, 6));

      // Both new kinds import (by name) into an empty plan in another workspace.
      // (timeouts live in Terraform's state only: an import cannot know them.)
      await assertImportPlansEmpty(d, config(key, 6, false), [
        ["infrasim_image.debian", "debian-12"],
        ["infrasim_volume.root", "web-root"],
        ["infrasim_vm.web", "web"],
      ]);

      await ws.destroy();
      assert.deepEqual((await d.client.listVms({ label_selector: "" })).vms, []);
      assert.deepEqual((await d.client.listVolumes({ label_selector: "" })).volumes, []);
      assert.deepEqual((await d.client.listImages({ label_selector: "" })).images, []);
      assert.deepEqual(readdirSync(join(d.dataDir, "volumes")), []);
      assert.ok(!readFileSync(join(ws.dir, "terraform.tfstate"), "utf8").includes("infrasim_vm"));
    } finally {
      ws.cleanup();
      rmSync(keys, { recursive: true, force: true });
    }
  },
);

e2eTest("terraform: examples/terraform/cloud-image plans against the real schema", async (d) => {
  const ws = new Workspace(d);
  try {
    ws.writeExample("examples/terraform/cloud-image/main.tf");
    const plan = await ws.run("plan", "-var", `image=${IMAGE}`);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /Plan: 3 to add, 0 to change, 0 to destroy/);
  } finally {
    ws.cleanup();
  }
});
