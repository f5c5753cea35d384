// `infrasim dashboard`: a one-time link that signs a browser into the dashboard, opened
// in the desktop's browser when there is one. The link's code works once, for a minute;
// the page trades it for a session cookie at once.
import type { Command } from "@commander-js/extra-typings";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../context.ts";
import { render } from "../output.ts";

/** The command that opens a URL on this desktop, or none (no desktop: print only). */
export function openerFor(
  platform: string,
  env: Record<string, string | undefined>,
): string | undefined {
  if (platform === "darwin") return "open";
  if (platform === "linux" && (env.DISPLAY || env.WAYLAND_DISPLAY)) return "xdg-open";
  return undefined;
}

export function dashboardCommand(program: Command, ctx: Ctx): void {
  program.command("dashboard")
    .description(
      "open the web dashboard: prints a one-time sign-in link, and opens it on a desktop",
    )
    .option("--no-open", "only print the link")
    .addHelpText(
      "after",
      "\nThe link works once, within a minute, in one browser; that browser stays signed in\n" +
        "until infrasimd restarts. The page is served on infrasimd's loopback HTTP port\n" +
        "([http] listen in config.toml).\n\nExamples:\n  infrasim dashboard\n" +
        "  infrasim dashboard --no-open",
    )
    .action(async (o) => {
      const login = await (await ctx.client()).createDashboardLogin();
      ctx.print(
        render(
          ctx.format(),
          login,
          () =>
            `${login.url}\n(signs one browser in; works once, within ${login.expires_in_seconds} s)`,
        ),
      );
      const opener = o.open ? openerFor(process.platform, process.env) : undefined;
      if (opener) await openUrl(opener, await loginPage(login.url));
    });
}

/**
 * A page of this user's alone (0600, in a 0700 dir) that goes on to the link: the
 * opener and the browser it starts see the file's path in their command lines, which any
 * local user can read, never the code.
 */
export async function loginPage(url: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "infrasim-login-"));
  const file = join(dir, "dashboard.html");
  const href = JSON.stringify(url).slice(1, -1).replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  await writeFile(
    file,
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}">` +
      `<title>InfraSim dashboard</title><a href="${href}">Open the InfraSim dashboard</a>\n`,
    { mode: 0o600 },
  );
  return file;
}

/** Starts the browser and leaves it running; a failure to start is only a warning. */
function openUrl(cmd: string, url: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(cmd, [url], { stdio: "ignore", detached: true });
    const timer = setTimeout(done, 5000);
    function done() {
      clearTimeout(timer);
      child.unref();
      resolve();
    }
    child.once("error", (e) => {
      process.stderr.write(`warning: could not open a browser (${cmd}: ${e.message})\n`);
      done();
    });
    child.once("spawn", done);
  });
}
