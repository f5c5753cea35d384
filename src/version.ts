// The release version, injected at compile time (bun build --define); "-dev" otherwise.
declare const INFRASIM_VERSION: string | undefined;

export const VERSION: string = typeof INFRASIM_VERSION === "string"
  ? INFRASIM_VERSION
  : "0.1.0-dev";
