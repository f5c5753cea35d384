// Shell completion: the scripts, the completion requests they make (commands, options,
// the daemon's VM names), and real shells completing through them where installed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { BIN, E2E, e2eTest, INFRASIM, sleep, type TestDaemon, waitFor } from "../helpers/env.ts";

const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** The environment of a shell that finds `infrasim` on PATH and talks to d. */
const shellEnv = (d: TestDaemon) => ({
  ...process.env,
  PATH: `${BIN}:${process.env.PATH}`,
  INFRASIM_DATA_DIR: d.dataDir,
  INFRASIM_DAEMON_ADDRESS: "",
});

/** `infrasim complete -- words...`: the candidates' values, without the directive line. */
function complete(d: TestDaemon, ...words: string[]): string[] {
  const r = d.cli(["complete", "--", ...words]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines.pop()!, /^:\d+$/, "the last line is tab's directive");
  return lines.map((l) => l.split("\t")[0]);
}

Deno.test({
  name: "completion: bash, zsh and fish scripts are printed",
  ...E2E,
  fn: () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = spawnSync(INFRASIM, ["completion", shell], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.length > 500, shell);
      assert.match(r.stdout, /infrasim complete --/, shell);
      assert.equal(r.stderr, "");
    }
  },
});

e2eTest("completion: commands, options and the daemon's VM names", async (d) => {
  for (const name of ["web", "db"]) assert.equal(d.cli(["vm", "create", "--name", name]).code, 0);
  // Every command: events was missing once, registered after completion had listed them.
  assert.deepEqual(complete(d, "").slice(0, 10), [
    "status",
    "vm",
    "image",
    "volume",
    "network",
    "snapshot",
    "checkpoint",
    "events",
    "dashboard",
    "completion",
  ]);
  assert.equal(d.cli(["network", "create", "--name", "lan", "--cidr", "10.9.0.0/24"]).code, 0);
  assert.deepEqual(complete(d, "network", "qos", ""), ["lan"]);
  assert.deepEqual(complete(d, "network", "rm", "l"), ["lan"], "an alias");
  const vm = complete(d, "vm", "");
  for (const c of ["list", "create", "start", "stop", "delete", "console", "logs"]) {
    assert.ok(vm.includes(c), c);
  }
  assert.deepEqual(complete(d, "vm", "st"), ["start", "stop"]);
  assert.deepEqual(complete(d, "vm", "start", "").sort(), ["db", "web"]);
  assert.deepEqual(complete(d, "vm", "start", "w"), ["web"]);
  assert.deepEqual(complete(d, "vm", "rm", "-f", "").sort(), ["db", "web"], "an alias");
  assert.deepEqual(complete(d, "vm", "console", "d"), ["db"]);
  assert.deepEqual(complete(d, "vm", "ssh", "w"), ["web"]);
  assert.match(d.cli(["complete", "--", "vm", "start", ""]).stdout, /^web\tPENDING$/m);
  assert.deepEqual(complete(d, "-o", ""), ["table", "json", "yaml"]);
  assert.ok(complete(d, "vm", "create", "--ar").includes("--arch"));
  assert.deepEqual(complete(d, "vm", "list", ""), [], "no VM names where none are taken");

  // No daemon: nothing to offer, no error, no wait.
  await d.stop();
  const t0 = performance.now();
  const r = d.cli(["complete", "--", "vm", "start", ""]);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, ":4\n");
  assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
});

e2eTest("completion: bash completes through the generated script", (d) => {
  assert.ok(
    existsSync(BASH_COMPLETION),
    `${BASH_COMPLETION} is missing: tasks/setup.sh installs it`,
  );
  assert.equal(d.cli(["vm", "create", "--name", "web-1"]).code, 0);
  // What bash's programmable completion does on TAB: fill COMP_* and call the function.
  const script = `
    source ${BASH_COMPLETION}
    source <(infrasim completion bash)
    complete -p infrasim
    COMP_WORDS=(infrasim vm start we); COMP_CWORD=3
    COMP_LINE="infrasim vm start we"; COMP_POINT=\${#COMP_LINE}
    __infrasim_complete 2>/dev/null
    printf 'reply:%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: shellEnv(d) });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^complete -F __infrasim_complete infrasim$/m);
  assert.match(r.stdout, /^reply:web-1$/m);
});

e2eTest("completion: TAB in an interactive bash, zsh and fish (tmux)", async (d) => {
  assert.ok(has("tmux"), "tmux is required (tasks/setup.sh installs it)");
  assert.equal(d.cli(["vm", "create", "--name", "tabby"]).code, 0);
  const shells: Array<[string, string, string]> = [
    [
      "bash",
      "bash --norc --noprofile -i",
      `source ${BASH_COMPLETION}; source <(infrasim completion bash)`,
    ],
    [
      "zsh",
      "zsh -f -i",
      "autoload -U compinit && compinit -u && source <(infrasim completion zsh)",
    ],
    ["fish", "fish --no-config -i", "infrasim completion fish | source"],
  ];
  const tmux = (...a: string[]) =>
    spawnSync("tmux", ["-L", `isct-${process.pid}`, ...a], {
      encoding: "utf8",
      env: shellEnv(d),
    });
  try {
    for (const [shell, cmd, setup] of shells) {
      assert.ok(has(shell), `${shell} is required (tasks/setup.sh installs it)`);
      const s = `c-${shell}`;
      assert.equal(tmux("new-session", "-d", "-s", s, "-x", "150", "-y", "20", cmd).status, 0);
      const screen = () => tmux("capture-pane", "-p", "-t", s).stdout;
      await sleep(500);
      tmux("send-keys", "-t", s, setup, "Enter");
      await sleep(700);
      // "vm sta" is unique (start), then the VM name after it.
      tmux("send-keys", "-t", s, "infrasim vm sta", "Tab");
      await waitFor(
        `${shell} to complete start`,
        () => screen().includes("infrasim vm start"),
        5000,
      );
      tmux("send-keys", "-t", s, " tab", "Tab");
      await waitFor(
        `${shell} to complete the VM name`,
        () => /vm start +tabby/.test(screen()),
        5000,
      );
      tmux("kill-session", "-t", s);
    }
  } finally {
    tmux("kill-server");
  }
});
