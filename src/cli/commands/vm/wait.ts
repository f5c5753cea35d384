// `infrasim vm wait NAME --for running|stopped|ready`: built on the Watch API (through
// cli/watch.ts, which also rides out a daemon restart), so it
// returns the moment the VM's stored state says so (the daemon probes readiness itself
// and stores status.ready). A condition of its own (--port, --serial) is probed by the
// daemon for this call (WaitVm).
import type { Command } from "@commander-js/extra-typings";
import { Option } from "@commander-js/extra-typings";
import type { InfrasimClient } from "../../../api/client.ts";
import { ApiError, failedPrecondition, quote, Status } from "../../../api/errors.ts";
import { follow } from "../../watch.ts";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import type { Ctx } from "../../context.ts";
import { intIn, LIMITS } from "../../../api/validate/common.ts";
import { flagFields, localUsage, parseIntArg, UsageError } from "../../flags.ts";
import { formatVm, render } from "../../output.ts";

const CONDITIONS = ["running", "stopped", "ready"] as const;
type Condition = (typeof CONDITIONS)[number];

/** WaitVm with a client deadline a little past the daemon's, so its message arrives. */
export function waitFor(
  client: InfrasimClient,
  ref: string,
  timeoutSeconds: number,
  wait?: T.WaitFor,
): Promise<T.Vm> {
  return client.waitVm(
    { ref, timeout_seconds: timeoutSeconds, wait_for: wait },
    { timeoutSeconds: timeoutSeconds + 10 },
  );
}

const STOPPED: T.VmState[] = ["STOPPED", "CRASHED", "ERROR", "PENDING"];

/** Whether a VM is as asked; throws when it can no longer get there by itself. */
function reached(vm: T.Vm, cond: Condition): boolean {
  const st = vm.status!;
  if (cond === "running") return st.state === "RUNNING";
  if (cond === "stopped") return STOPPED.includes(st.state);
  if (!vm.spec!.wait_for) {
    throw new UsageError(
      `--for ready: vm ${
        quote(vm.meta!.name)
      } has no wait_for; give --port or --serial, or wait --for running`,
    );
  }
  if (st.ready) return true;
  if (st.state !== "RUNNING" && st.state !== "STARTING") {
    throw failedPrecondition(
      `vm ${quote(vm.meta!.name)} is not running (${st.state.toLowerCase()}${
        st.last_exit_reason ? `: ${st.last_exit_reason}` : ""
      }); start it first`,
    );
  }
  return false;
}

/** Watches one VM until it reaches the condition, or the time is up. */
async function watchUntil(
  client: InfrasimClient,
  vm: T.Vm,
  cond: Condition,
  seconds: number,
): Promise<T.Vm> {
  const name = vm.meta!.name;
  let found: T.Vm | undefined;
  let failure: unknown;
  // The first event is the VM as it is now (the watch lists it), then each change.
  const f = follow(client, { kinds: ["vm"], name: vm.meta!.id }, (e) => {
    if (!e.vm || found || failure) return;
    if (e.type === "DELETED") {
      failure = new ApiError(Status.NOT_FOUND, `vm ${quote(name)} was deleted`);
    } else {
      try {
        if (reached(e.vm, cond)) found = e.vm;
      } catch (err) {
        failure = err;
      }
    }
    if (found || failure) f.stop();
  });
  const timer = setTimeout(() => {
    failure = new ApiError(
      Status.DEADLINE_EXCEEDED,
      `vm ${quote(name)} was not ${cond} within ${seconds} s`,
    );
    f.stop();
  }, seconds * 1000);
  try {
    await f.done;
  } finally {
    clearTimeout(timer);
  }
  if (failure) throw failure;
  if (!found) throw new ApiError(Status.UNAVAILABLE, "the watch ended (infrasimd stopped?)");
  return found;
}

export function vmWaitCommand(vm: Command, ctx: Ctx): void {
  flagFields(vm.command("wait"), {
    "wait_for.guest_port": "--port",
    "wait_for.serial": "--serial",
    timeout_seconds: "--timeout",
  })
    .description("wait until a VM is running, stopped or ready (its wait_for, or as given)")
    .argument("<vm>", "id or name")
    .addOption(
      new Option("--for <condition>", "running | stopped | ready (default: ready)")
        .choices(CONDITIONS),
    )
    .option("--port <port>", "ready: a forwarded guest port that answers", parseIntArg("--port"))
    .option("--serial <regex>", "ready: a pattern on the serial console")
    .option(
      "--timeout <seconds>",
      "give up after this long (0: 300)",
      parseIntArg("--timeout"),
      300,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim vm wait web                 # its wait_for is met\n" +
        "  infrasim vm wait web --for stopped   # after vm stop, or the guest's poweroff\n" +
        "  infrasim vm wait web --port 80 --timeout 60\n",
    )
    .action(async (ref, o) => {
      const cond = o.for ?? "ready";
      const given = o.port || o.serial;
      if (given && cond !== "ready") {
        throw new UsageError(`--port and --serial say when a VM is ready; not with --for ${cond}`);
      }
      localUsage(() => intIn(o.timeout, LIMITS.timeoutSeconds, "timeout_seconds"));
      const seconds = o.timeout || 300;
      const client = await ctx.client();
      const v = given
        ? await waitFor(client, ref, seconds, { guest_port: o.port ?? 0, serial: o.serial ?? "" })
        : await watchUntil(client, await client.getVm(ref), cond, seconds);
      ctx.print(render(ctx.format(), v, () => formatVm(v)));
    });
}
