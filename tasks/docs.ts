// Tables in docs/ that are generated from the code, between markers
// `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`: `deno task docs` writes them;
// tests/unit/docs_test.ts fails while one is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QOS_FIELDS, rangeText } from "../src/api/qos.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)]
    .join("\n");
}

/** Every generated table: file, name, content. */
export const GENERATED: Array<{ file: string; name: string; text: () => string }> = [
  {
    file: "docs/api.md",
    name: "link-qos",
    text: () =>
      table([
        ["field", "range", "meaning"],
        ...QOS_FIELDS.map((f) => [`\`${f.name}\``, rangeText(f), f.description]),
      ]),
  },
  {
    file: "docs/cli.md",
    name: "qos-flags",
    text: () =>
      table([
        ["flag", "sets", "e.g."],
        ...QOS_FIELDS.map((f) => [`\`${f.flag}\``, `\`${f.name}\` (${rangeText(f)})`, f.flagHelp]),
      ]),
  },
];

const markers = (name: string) =>
  [`<!-- generated:${name} -->`, `<!-- /generated:${name} -->`] as const;

/** The file with its generated tables as the code says; undefined if a marker is missing. */
export function regenerate(file: string): string | undefined {
  let text = readFileSync(join(ROOT, file), "utf8");
  for (const g of GENERATED.filter((x) => x.file === file)) {
    const [open, close] = markers(g.name);
    const a = text.indexOf(open), b = text.indexOf(close);
    if (a < 0 || b < a) return undefined;
    text = `${text.slice(0, a + open.length)}\n\n${g.text()}\n\n${text.slice(b)}`;
  }
  return text;
}

if (import.meta.main) {
  for (const file of new Set(GENERATED.map((g) => g.file))) {
    const text = regenerate(file);
    if (text === undefined) {
      console.error(`docs: ${file} lacks a generated table's markers`);
      process.exit(1);
    }
    writeFileSync(join(ROOT, file), text);
    console.log(`docs: ${file}`);
  }
}
