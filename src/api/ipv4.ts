// IPv4 arithmetic for private networks: parsing, cidr ranges and allocation. Pure.

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A dotted quad as a number, or undefined (no leading zeros, nothing around it). */
export function parseIp(text: string): number | undefined {
  if (!QUAD.test(text)) return undefined;
  return text.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export const hostCount = (c: Cidr) => 2 ** (32 - c.prefix);

export function netmask(prefix: number): string {
  return formatIp(2 ** 32 - 2 ** (32 - prefix));
}

export function parseCidr(text: string): Cidr | "syntax" | { hostBits: string } {
  const m = text.match(/^([^/]+)\/(\d{1,2})$/);
  const ip = m ? parseIp(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) return "syntax";
  const size = 2 ** (32 - prefix);
  const base = ip - (ip % size);
  if (base !== ip) return { hostBits: `${formatIp(base)}/${prefix}` };
  return { base, prefix };
}

export const formatCidr = (c: Cidr) => `${formatIp(c.base)}/${c.prefix}`;

/** Why ip cannot be a host address in c, or undefined when it can. */
export function hostProblem(c: Cidr, ip: number): string | undefined {
  const size = hostCount(c);
  if (ip < c.base || ip >= c.base + size) return `is outside ${formatCidr(c)}`;
  if (ip === c.base) return "is the network address";
  if (ip === c.base + size - 1) return "is the broadcast address";
  return undefined;
}

/**
 * The first free host address. Networks of 32 addresses or more start at the 10th, so
 * the low ones stay free for addresses people choose (a router at .1).
 */
export function allocateIp(c: Cidr, taken: Set<number>): number | undefined {
  const size = hostCount(c);
  const start = size >= 32 ? 10 : 1;
  for (let k = 0; k < size - 2; k++) {
    const off = ((start - 1 + k) % (size - 2)) + 1;
    if (!taken.has(c.base + off)) return c.base + off;
  }
  return undefined;
}
