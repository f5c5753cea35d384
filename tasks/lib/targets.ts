// Release targets: Rust-style triple -> Bun compile target and Terraform's os_arch.
// aarch64-apple-darwin is the first-class one.
export const TARGETS: Record<string, { bun: string; terraform: string }> = {
  "aarch64-apple-darwin": { bun: "bun-darwin-arm64", terraform: "darwin_arm64" },
  "x86_64-apple-darwin": { bun: "bun-darwin-x64", terraform: "darwin_amd64" },
  "x86_64-unknown-linux-gnu": { bun: "bun-linux-x64", terraform: "linux_amd64" },
  "aarch64-unknown-linux-gnu": { bun: "bun-linux-arm64", terraform: "linux_arm64" },
};

/** The names the one executable answers to (it dispatches on argv[0]). */
export const BINARIES = ["infrasim", "infrasimd", "terraform-provider-infrasim"] as const;

export function hostTarget(): string {
  const os = process.platform === "darwin" ? "apple-darwin" : "unknown-linux-gnu";
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  return `${arch}-${os}`;
}
