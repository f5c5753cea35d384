// A VM's screen (display "vnc"): the devices each arch draws on and the input a browser's
// VNC client needs, with VNC on a unix socket only.
import assert from "node:assert/strict";
import { screenArgs } from "../../src/qemu/args.ts";

Deno.test("screen: VGA on x86_64, virtio-gpu on aarch64, USB keyboard and tablet, VNC on a unix socket", () => {
  const devices = (a: string[]) => a.filter((_, i) => a[i - 1] === "-device");
  const x86 = screenArgs("x86_64", "/d,1/vnc.sock");
  assert.deepEqual(x86.slice(0, 2), ["-vnc", "unix:/d,,1/vnc.sock"]);
  assert.deepEqual(devices(x86), [
    "VGA",
    "qemu-xhci,id=usb0",
    "usb-kbd,bus=usb0.0",
    "usb-tablet,bus=usb0.0",
  ]);
  assert.ok(!x86.some((a) => /tcp|:\d+$|to=/.test(a)), "no TCP port");
  const arm = devices(screenArgs("aarch64", "/v.sock"));
  assert.equal(arm[0], "virtio-gpu-pci");
  assert.ok(!arm.includes("VGA"));
});
