// Daemon logging: one line per event on stderr, "time level message key=value...".
import type { LogLevel } from "./config.ts";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: LogLevel = "info";

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

function write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const kv = fields
    ? Object.entries(fields).map(([k, v]) =>
      ` ${k}=${typeof v === "string" ? JSON.stringify(v) : v}`
    )
      .join("")
    : "";
  process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${msg}${kv}\n`);
}

export const log = {
  debug: (m: string, f?: Record<string, unknown>) => write("debug", m, f),
  info: (m: string, f?: Record<string, unknown>) => write("info", m, f),
  warn: (m: string, f?: Record<string, unknown>) => write("warn", m, f),
  error: (m: string, f?: Record<string, unknown>) => write("error", m, f),
};
