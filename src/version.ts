import pkg from "../package.json" with { type: "json" };

// Replaced at compile time by `bun build --define` (scripts/compile.mjs); "dev" when run from source.
declare const __TIKTI_COMMIT__: string | undefined;

export const VERSION = {
  version: pkg.version,
  commit: typeof __TIKTI_COMMIT__ === "string" ? __TIKTI_COMMIT__ : "dev",
} as const;
