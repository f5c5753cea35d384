// Provider logs: hclog-style JSON lines on stderr, which go-plugin parses and
// Terraform filters by TF_LOG / TF_LOG_PROVIDER. stdout is reserved for the handshake.
const LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
type Level = (typeof LEVELS)[number];

function threshold(): number {
  const raw = (process.env.TF_LOG_PROVIDER || process.env.TF_LOG || "").toLowerCase();
  if (raw === "json") return 0;
  const i = LEVELS.indexOf(raw as Level);
  return i >= 0 ? i : LEVELS.length; // off unless asked for
}

const min = threshold();

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (LEVELS.indexOf(level) < min) return;
  process.stderr.write(
    JSON.stringify({
      "@level": level,
      "@message": msg,
      "@module": "provider.infrasim",
      // go-plugin parses exactly hclog's layout, 2006-01-02T15:04:05.000000Z07:00.
      "@timestamp": new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000Z"),
      ...fields,
    }) + "\n",
  );
}

export const plog = {
  trace: (m: string, f?: Record<string, unknown>) => write("trace", m, f),
  debug: (m: string, f?: Record<string, unknown>) => write("debug", m, f),
  info: (m: string, f?: Record<string, unknown>) => write("info", m, f),
  warn: (m: string, f?: Record<string, unknown>) => write("warn", m, f),
  error: (m: string, f?: Record<string, unknown>) => write("error", m, f),
};
