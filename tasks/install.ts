// deno task install: installs the host's build from dist/ (run `deno task build` first).
//   $PREFIX/bin/infrasim, and infrasimd and terraform-provider-infrasim linked to it
//   $PREFIX/share/doc/infrasim/  the docs
//   ~/.terraform.d/plugins/...   the provider, in Terraform's implicit local mirror
//   the service file: a systemd user unit (Linux) or a launchd agent (macOS)
// PREFIX defaults to ~/.local. TF_PLUGIN_DIR overrides the plugin directory.
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { BINARIES, hostTarget, TARGETS } from "./lib/targets.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const home = homedir();
const prefix = process.env.PREFIX || join(home, ".local");
const bindir = join(prefix, "bin");
const docdir = join(prefix, "share/doc/infrasim");
const pluginDir = process.env.TF_PLUGIN_DIR || join(home, ".terraform.d/plugins");

const target = hostTarget();
const built = join(root, "dist", target, "infrasim");
if (!existsSync(built)) {
  console.error(`install: ${built} is missing; run \`deno task build\` first`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(join(root, "dist/manifest.json"), "utf8"));
const version: string = manifest.version;

mkdirSync(bindir, { recursive: true });
const exe = join(bindir, "infrasim");
rmSync(exe, { force: true });
copyFileSync(built, exe);
chmodSync(exe, 0o755);
for (const name of BINARIES.slice(1)) {
  rmSync(join(bindir, name), { force: true });
  symlinkSync("infrasim", join(bindir, name));
}
console.log(`installed ${exe} (${version}) and ${BINARIES.slice(1).join(", ")}`);

mkdirSync(docdir, { recursive: true });
cpSync(join(root, "docs"), docdir, { recursive: true });

// Terraform's implicit local mirror: <dir>/<host>/<namespace>/<type>/<version>/<os_arch>/.
const osArch = TARGETS[target].terraform;
const providerDir = join(pluginDir, "registry.terraform.io/infrasim/infrasim", version, osArch);
mkdirSync(providerDir, { recursive: true });
for (const f of readdirSync(providerDir)) rmSync(join(providerDir, f));
const provider = join(providerDir, `terraform-provider-infrasim_v${version}`);
copyFileSync(built, provider);
chmodSync(provider, 0o755);
console.log(`installed the Terraform provider infrasim/infrasim ${version} in ${pluginDir}`);

const fill = (template: string) =>
  readFileSync(join(root, "tasks/service", template), "utf8")
    .replaceAll("@BINDIR@", bindir).replaceAll("@DOCDIR@", docdir).replaceAll("@HOME@", home);
if (process.platform === "darwin") {
  const dir = join(home, "Library/LaunchAgents");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "com.infrasim.daemon.plist"), fill("com.infrasim.daemon.plist"));
  console.log(
    `installed ${dir}/com.infrasim.daemon.plist; start it with:\n` +
      `  launchctl bootstrap gui/$(id -u) ${dir}/com.infrasim.daemon.plist`,
  );
} else {
  const dir = join(process.env.XDG_CONFIG_HOME || join(home, ".config"), "systemd/user");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "infrasimd.service"), fill("infrasimd.service"));
  console.log(
    `installed ${dir}/infrasimd.service; start it with:\n` +
      `  systemctl --user daemon-reload && systemctl --user enable --now infrasimd`,
  );
}
