// The dashboard's topology in a real browser: a network with its VMs, a link's label
// that follows a QoS change made through the CLI, a link pulled down from the page (the
// guest's pings stop) and put back, and a capture downloaded from the page that tshark
// reads. Screenshots of every page are kept under the test's temporary directory.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { e2eTest } from "../helpers/env.ts";
import { guestSh, parsePing } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";
import { cli, launchBrowser, screenshot, signedIn } from "../helpers/browser.ts";
import { tsharkFields } from "../helpers/tshark.ts";

const dir = mkdtempSync("/tmp/dashboard-net-");

e2eTest(
  "dashboard topology: live QoS labels, link down from the page, capture download",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "lab" }, spec: { cidr: "10.41.0.0/24" } });
    const [a, b] = await bootAll(d, [
      netVm("a", [{ network: "lab" }]),
      netVm("b", [{ network: "lab" }]),
    ]);
    const ipB = b.status!.links[0].ip;
    assert.equal(parsePing((await guestSh(d.client, a, `ping -c 2 -W 2 ${ipB}`)).out).received, 2);

    const browser = await launchBrowser();
    try {
      const { page } = await signedIn(d, browser);
      const row = (vm: string) => page.locator(`section[aria-label="Links"] tr[data-id="${vm}:0"]`);
      await row(a.meta!.id).filter({ hasText: "no impairment" }).waitFor();
      await row(b.meta!.id).waitFor();
      await page.locator(".graph canvas").first().waitFor();

      // A QoS change through the CLI reaches the page's labels without a reload.
      const up = await cli(d, ["network", "qos", "lab", "--latency", "20ms", "--loss", "1%"]);
      assert.equal(up.code, 0, up.stderr);
      const t0 = performance.now();
      await row(a.meta!.id).filter({ hasText: "20ms, 1% loss" }).waitFor({ timeout: 2000 });
      console.log(`label changed ${(performance.now() - t0).toFixed(0)} ms after the CLI returned`);
      assert.equal((await cli(d, ["network", "qos", "lab", "--reset"])).code, 0);
      await row(a.meta!.id).filter({ hasText: "no impairment" }).waitFor({ timeout: 2000 });

      // Link down from the page: a's pings stop; up again: they pass.
      await row(a.meta!.id).locator("button", { hasText: "Select" }).click();
      const panel = page.locator("aside.panel");
      await panel.locator("h2", { hasText: "a ↔ lab" }).waitFor();
      await screenshot(page, dir, "topology-link");
      await panel.locator("button", { hasText: "Link down" }).click();
      await panel.locator("button", { hasText: "Link up" }).waitFor({ timeout: 5000 });
      const down = parsePing((await guestSh(d.client, a, `ping -c 3 -W 1 ${ipB}`)).out);
      assert.equal(down.received, 0, "pings got through a link that is down");
      assert.equal(down.transmitted, 3);
      await panel.locator("button", { hasText: "Link up" }).click();
      await panel.locator("button", { hasText: "Link down" }).waitFor({ timeout: 5000 });
      const back = parsePing((await guestSh(d.client, a, `ping -c 3 -W 2 ${ipB}`)).out);
      assert.ok(back.received >= 2, `after link up: ${back.received} of 3 answered`);

      // Capture: 3 s of a's link while its guest pings b, downloaded by the page's link.
      await panel.locator('input[name="amount"]').fill("3");
      const pinging = guestSh(d.client, a, `ping -c 25 -i 0.2 -W 1 ${ipB}`);
      const [download] = await Promise.all([
        page.waitForEvent("download", { timeout: 20_000 }),
        panel.locator("a", { hasText: "Download pcapng" }).click(),
      ]);
      const file = join(dir, "a.pcapng");
      await download.saveAs(file);
      await pinging;
      assert.match(download.suggestedFilename(), /\.pcapng$/);
      const requests = tsharkFields(file, "icmp.type == 8", ["frame.interface_name"]).map((r) =>
        r[0]
      );
      assert.ok(requests.length >= 5, `only ${requests.length} echo requests in 3 s of capture`);
      assert.ok(requests.every((i) => i.startsWith("a:nic0:")), requests.slice(0, 3).join(","));

      // Every page, for the record (and each must render without a page error).
      for (
        const [hash, name] of [
          ["#/topology", "topology"],
          ["#/vms", "vms"],
          ["#/vm/a", "vm"],
          ["#/networks", "networks"],
          ["#/network/lab", "network"],
          ["#/images", "images"],
          ["#/volumes", "volumes"],
          ["#/events", "events"],
        ]
      ) {
        await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
        await page.locator("main h1").first().waitFor();
        await screenshot(page, dir, name);
      }
      // Dark, as the system says.
      const dark = await signedIn(d, browser, "dark");
      await dark.page.locator(".feed.ok").waitFor();
      const bg = await dark.page.evaluate("getComputedStyle(document.body).backgroundColor");
      assert.equal(bg, "rgb(21, 24, 29)");
      await screenshot(dark.page, dir, "topology-dark");
      console.log(`screenshots: ${dir}`);
    } finally {
      await browser.close();
    }
  },
);
