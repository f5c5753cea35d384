// How to run this program again (for helpers that are modes of the one executable, such
// as a network's link engine): the compiled executable itself, or the runtime and script.

export function selfCommand(...args: string[]): { binary: string; args: string[] } {
  const script = process.argv[1];
  // A compiled Bun executable names its embedded entry under /$bunfs (B:/~BUN on Windows).
  if (!script || script.startsWith("/$bunfs") || script.startsWith("B:/~BUN")) {
    return { binary: process.execPath, args };
  }
  const runtime = "Deno" in globalThis ? ["run", "-A"] : [];
  return { binary: process.execPath, args: [...runtime, script, ...args] };
}
