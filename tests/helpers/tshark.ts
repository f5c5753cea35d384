// Reading captures with the real tshark: the chosen fields of the frames a display
// filter keeps, one array per frame.
import { spawnSync } from "node:child_process";

export function tsharkFields(file: string, filter: string, fields: string[]): string[][] {
  const r = spawnSync("tshark", [
    "-r",
    file,
    "-Y",
    filter,
    "-T",
    "fields",
    ...fields.flatMap((f) => ["-e", f]),
  ], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`tshark: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => l.split("\t"));
}
