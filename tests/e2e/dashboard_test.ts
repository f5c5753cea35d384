// The dashboard in a real browser (Debian's chromium through playwright-core): access
// (401 without a session, a login code that works once, WebSockets only from the page's
// own Origin), a VM created through the CLI showing up live, started from the page, and
// its serial console answering what is typed.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import WebSocket from "ws";
import { e2eTest, guest, guestSpec, READY, sleep, waitFor } from "../helpers/env.ts";
import { cli, launchBrowser, loginUrl, screenshot, signedIn } from "../helpers/browser.ts";
import { screenVmArgs } from "../helpers/rfb.ts";

const shots = mkdtempSync("/tmp/dashboard-shots-");

/** Opens a WebSocket and resolves to the HTTP status of the answer (101 when upgraded). */
function wsStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("error", (e) => reject(e));
  });
}

e2eTest(
  "dashboard: no session is 401, a login code works once, other origins are refused",
  async (d) => {
    const base = `http://127.0.0.1:${d.httpPort}`;
    for (const path of ["/", "/app.js", "/capture?network=x&seconds=1"]) {
      const r = await fetch(base + path);
      assert.equal(r.status, 401, path);
      assert.match(await r.text(), /infrasim dashboard/);
    }
    const api = await fetch(`${base}/api/infrasim.v1.VmService/ListVms`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(api.status, 401);

    // The code: exchanged for an HttpOnly, SameSite=Strict cookie, then useless.
    const url = await loginUrl(d);
    const first = await fetch(url, { redirect: "manual" });
    assert.equal(first.status, 303);
    const setCookie = first.headers.get("set-cookie") ?? "";
    assert.match(
      setCookie,
      new RegExp(`^infrasim_session_${d.httpPort}=[\\w-]{43}; HttpOnly; SameSite=Strict; Path=/$`),
    );
    const again = await fetch(url, { redirect: "manual" });
    assert.equal(again.status, 401);
    const cookie = setCookie.split(";")[0];
    assert.equal((await fetch(`${base}/`, { headers: { cookie } })).status, 200);
    // A signed-in browser reads /metrics too, as the "token or cookie".
    const metrics = await fetch(`${base}/metrics`, { headers: { cookie } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# HELP infrasim_/m);

    // The API with the cookie: from the page's origin yes, from another no.
    const call = (origin: string) =>
      fetch(`${base}/api/infrasim.v1.VmService/ListVms`, {
        method: "POST",
        headers: { "Content-Type": "application/json", cookie, origin },
        body: "{}",
      });
    assert.equal((await call(base)).status, 200);
    assert.equal((await call("http://evil.example")).status, 403);
    // A browser session cannot mint further logins.
    const mint = await fetch(`${base}/api/infrasim.v1.DaemonService/CreateDashboardLogin`, {
      method: "POST",
      headers: { "Content-Type": "application/json", cookie },
      body: "{}",
    });
    assert.equal(mint.status, 404);

    // WebSockets: the cookie and the page's own Origin, both.
    const ws = `ws://127.0.0.1:${d.httpPort}/ws/console/nope`;
    assert.equal(await wsStatus(ws, { cookie, origin: "http://evil.example" }), 403);
    assert.equal(await wsStatus(ws, { origin: base }), 401);
    assert.equal(await wsStatus(ws, { cookie, origin: base }), 404); // past both checks

    // The daemon's token never reaches a URL, a page or the log.
    assert.ok(!url.includes(d.token) && !d.stderr.includes(d.token));
    assert.ok(!d.stderr.includes(new URL(url).searchParams.get("code")!), "login code logged");
  },
);

e2eTest(
  "dashboard: a VM from the CLI shows up live, starts from the page, and its console answers",
  async (d) => {
    const browser = await launchBrowser();
    try {
      const { page, context } = await signedIn(d, browser);
      await page.waitForSelector(".feed.ok");
      await page.click('nav a[href="#/vms"]');
      await page.waitForSelector("text=No VMs yet");

      const g = guest("x86_64");
      const spec = { ...guestSpec(g), power_state: "POWER_OFF" as const };
      const vm = await d.client.createVm({ meta: { name: "web1" }, spec });
      const t0 = performance.now();
      await page.waitForSelector(`tr[data-id="${vm.meta!.id}"]`, { timeout: 1000 });
      console.log(
        `VM on the list ${(performance.now() - t0).toFixed(0)} ms after CreateVm returned`,
      );
      await page.waitForSelector("text=web1", { timeout: 1000 });
      // ...and in the topology, without a reload.
      await page.click('nav a[href="#/topology"]');
      await page.locator(".graph canvas").first().waitFor();
      await screenshot(page, shots, "topology");
      await page.click('nav a[href="#/vms"]');
      await screenshot(page, shots, "vms");

      await page.click("text=web1");
      await page.waitForSelector("h1 >> text=PENDING"); // created powered off: never started
      await page.click("button:has-text('Start')");
      await page.waitForSelector("h1 >> text=RUNNING", { timeout: 30_000 });
      // The console shows the guest's ready marker, then answers a typed command.
      const term = page.locator(".console-screen");
      await term.filter({ hasText: READY }).waitFor({ timeout: 90_000 });
      await page.click(".console-screen");
      await page.keyboard.type("echo $((6*7))-answered\n");
      await term.filter({ hasText: "42-answered" }).waitFor({ timeout: 30_000 });
      // A frame over the daemon's 64 KiB limit is refused (1009), and the daemon lives on.
      const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
      const big = new WebSocket(`ws://127.0.0.1:${d.httpPort}/ws/console/web1`, {
        headers: { cookie, origin: `http://127.0.0.1:${d.httpPort}` },
      });
      await once(big, "open");
      big.send(new Uint8Array(100 * 1024));
      const [closeCode] = await once(big, "close");
      assert.equal(closeCode, 1009);
      await sleep(500);
      assert.equal(d.proc.exitCode, null, `infrasimd exited:\n${d.stderr.slice(-1500)}`);
      assert.equal(await d.client.health(), "SERVING");
      // A second viewer: it gets the recent output, and what it types shows in both.
      const second = await signedIn(d, browser);
      await second.page.evaluate(`location.hash = "#/vm/web1"`);
      const term2 = second.page.locator(".console-screen");
      await term2.filter({ hasText: "42-answered" }).waitFor({ timeout: 15_000 });
      await term2.click();
      await second.page.keyboard.type("echo $((6*6))-from-two\n");
      await term.filter({ hasText: "36-from-two" }).waitFor({ timeout: 15_000 });
      await second.context.close();
      // CPU and memory charts fill from GetVmUsage.
      const usage = page.locator('section[aria-label="Usage"] [role="status"]');
      await usage.filter({ hasText: /\d+% CPU, \d+ MiB/ }).waitFor({ timeout: 15_000 });
      const mib = Number((await usage.textContent())!.match(/(\d+) MiB/)![1]);
      assert.ok(mib > 50 && mib < 2048, `QEMU's resident memory: ${mib} MiB`);
      await screenshot(page, shots, "vm");
      const r = await cli(d, ["vm", "get", "web1", "-o", "json"]);
      assert.equal(JSON.parse(r.stdout).status.state, "RUNNING");
      await waitFor(
        "the page's state to be live",
        async () => (await page.textContent("h1"))?.includes("RUNNING"),
      );
      console.log(`screenshots: ${shots}`);
    } finally {
      await browser.close();
    }
  },
);

e2eTest("dashboard: a VM with display vnc shows its UEFI screen through noVNC", async (d) => {
  const tmp = mkdtempSync("/tmp/isd-webvnc-");
  const disk = join(tmp, "boot.qcow2");
  copyFileSync(guest("x86_64").disk, disk);
  const browser = await launchBrowser();
  try {
    const r = await cli(d, screenVmArgs("screen", disk));
    assert.equal(r.code, 0, r.stderr);
    const { page } = await signedIn(d, browser);
    await page.evaluate(`location.hash = "#/vm/screen"`);
    await page.locator(".screen canvas").first().waitFor({ timeout: 30_000 });
    await page.locator(".console-state", { hasText: "connected" }).last().waitFor();
    // Poll until the guest has set a mode of its own (the firmware's, then the kernel's)
    // and drawn on it.
    let best = 0;
    for (const t0 = Date.now(); Date.now() - t0 < 120_000 && best < 200;) {
      best = await page.evaluate(`(() => {
        const c = document.querySelector(".screen canvas");
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let differ = 0;
        for (let i = 4; i < px.length; i += 4) {
          if (px[i] !== px[0] || px[i + 1] !== px[1] || px[i + 2] !== px[2]) differ++;
        }
        return c.width > 640 ? differ : 0; // QEMU's own 640x480 "not initialized" text is not it

      })()`) as number;
      if (best < 200) await sleep(500);
    }
    await screenshot(page, shots, "vm-screen");
    assert.ok(best >= 200, `the page's screen stayed one colour (${best} pixels differ)`);
  } finally {
    await browser.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

e2eTest(
  "dashboard: networks, volumes and images are made, resized and deleted from the page",
  async (d) => {
    const browser = await launchBrowser();
    try {
      const { page } = await signedIn(d, browser);
      page.on("dialog", (dl) => dl.type() === "prompt" ? dl.accept("2") : dl.accept());
      const alert = page.locator('main [role="alert"]');

      await page.evaluate(`location.hash = "#/networks"`);
      await page.fill('input[name="name"]', "paged");
      await page.fill('input[name="cidr"]', "10.300.0.0/24");
      await page.click("button:has-text('Create')");
      await alert.filter({ hasText: "cidr" }).waitFor(); // the daemon's words, naming the field
      await page.fill('input[name="cidr"]', "10.52.0.0/24");
      await page.click("button:has-text('Create')");
      await page.locator("tr", { hasText: "paged" }).waitFor();
      assert.equal((await cli(d, ["network", "get", "paged"])).code, 0);

      await page.evaluate(`location.hash = "#/volumes"`);
      await page.fill('input[name="name"]', "scratch");
      await page.fill('input[name="size"]', "1");
      await page.click("button:has-text('Create')");
      const row = page.locator("tr", { hasText: "scratch" });
      await row.filter({ hasText: "1.0 GiB" }).waitFor();
      await row.locator("button", { hasText: "Resize" }).click(); // the prompt answers 2
      await row.filter({ hasText: "2.0 GiB" }).waitFor();
      await screenshot(page, shots, "volumes");
      // Its own page: every field as JSON, and delete from there.
      await row.locator("a", { hasText: "scratch" }).click();
      await page.locator("pre.json", { hasText: '"sizeBytes": "2147483648"' }).waitFor();
      await screenshot(page, shots, "volume");
      await page.click("button:has-text('Delete')");
      await page.locator("main h1", { hasText: "Volumes" }).waitFor();
      await row.waitFor({ state: "detached" });
      assert.notEqual((await cli(d, ["volume", "get", "scratch"])).code, 0);

      await page.evaluate(`location.hash = "#/images"`);
      await page.fill('input[name="name"]', "guestdisk");
      await page.fill('input[name="source"]', guest("x86_64").disk);
      await page.click("button:has-text('Import')");
      await page.locator("tr", { hasText: "guestdisk" }).filter({ hasText: "qcow2" }).waitFor({
        timeout: 60_000,
      });
      await page.locator("text=imported guestdisk").waitFor();
      await screenshot(page, shots, "images");
      await page.locator("tr a", { hasText: "guestdisk" }).click();
      await page.locator("pre.json", { hasText: '"digest": "sha256:' }).waitFor();
      const img = JSON.parse((await cli(d, ["image", "get", "guestdisk", "-o", "json"])).stdout);
      assert.match(img.status.digest, /^sha256:[0-9a-f]{64}$/);
    } finally {
      await browser.close();
    }
  },
);
