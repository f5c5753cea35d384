// The dashboard's tests drive Debian's chromium, headless, through playwright-core.
// Screenshots go under the test's temporary directory.
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { INFRASIM, type TestDaemon } from "./env.ts";

export const CHROMIUM = process.env.INFRASIM_CHROMIUM ?? "/usr/bin/chromium";

export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: tasks/setup.sh installs chromium (apt)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespace for chromium's sandbox.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
    timeout: 60_000,
  });
}

/** Runs the compiled CLI against the daemon without blocking the event loop. */
export function cli(d: TestDaemon, args: string[], timeoutMs = 120_000) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(INFRASIM, args, {
      encoding: "utf8",
      timeout: timeoutMs,
      env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
    }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A one-time sign-in link from `infrasim dashboard`. */
export async function loginUrl(d: TestDaemon): Promise<string> {
  const r = await cli(d, ["dashboard", "--no-open", "-o", "json"]);
  if (r.code !== 0) throw new Error(`infrasim dashboard: ${r.stderr}`);
  return JSON.parse(r.stdout).url;
}

/** A new browser context (its own cookies) signed in, at 1280×800, on the topology. */
export async function signedIn(
  d: TestDaemon,
  browser: Browser,
  colorScheme: "light" | "dark" = "light",
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  const res = await page.goto(await loginUrl(d));
  if (res?.status() !== 200 || new URL(page.url()).pathname !== "/") {
    throw new Error(`sign-in ended at ${page.url()} (${res?.status()})`);
  }
  return { context, page };
}

export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
