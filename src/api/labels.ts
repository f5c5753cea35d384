// Kubernetes-style label selectors: "a=b", "a==b", "a!=b", "a" (exists), "!a" (absent),
// "a in (x,y)", "a notin (x,y)", combined with commas (AND).
import { invalid, quote } from "./errors.ts";

export type Requirement =
  | { key: string; op: "exists" | "absent" }
  | { key: string; op: "in" | "notin"; values: string[] };

export function parseSelector(selector: string, field = "label_selector"): Requirement[] {
  const s = selector.trim();
  if (s === "") return [];
  // Split on commas that are not inside parentheses.
  const parts: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")") depth--;
    else if (s[i] === "," && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  const key = String.raw`([A-Za-z0-9][-A-Za-z0-9_./]*)`;
  const val = String.raw`([-A-Za-z0-9_.]*)`;
  return parts.map((raw) => {
    const p = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = p.match(new RegExp(`^${key}\\s*(==|=|!=)\\s*${val}$`)))) {
      return { key: m[1], op: m[2] === "!=" ? "notin" : "in", values: [m[3]] };
    }
    if ((m = p.match(new RegExp(`^${key}\\s+(in|notin)\\s*\\(([^)]*)\\)$`)))) {
      const values = m[3].split(",").map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${val}$`).test(v))) {
        throw invalid(field, `bad value list in ${quote(p)}`);
      }
      return { key: m[1], op: m[2] as "in" | "notin", values };
    }
    if ((m = p.match(new RegExp(`^!\\s*${key}$`)))) return { key: m[1], op: "absent" };
    if ((m = p.match(new RegExp(`^${key}$`)))) return { key: m[1], op: "exists" };
    throw invalid(field, `cannot parse requirement ${quote(p)}`);
  });
}

export function matches(reqs: Requirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "absent":
        return !has;
      case "in":
        return has && r.values.includes(labels[r.key]);
      case "notin":
        return !has || !r.values.includes(labels[r.key]);
    }
  });
}
