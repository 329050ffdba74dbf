#!/usr/bin/env bun
/**
 * tikti-cli: administration and developer command line (spec/cli.md). Talks to the server over
 * HTTP only. Commands live one per file under cli/commands/<noun>/<verb>.ts and are imported
 * lazily, so `--help` and `--version` stay instant.
 */
import { defineCommand, runMain } from "citty";
import { VERSION } from "../src/version.ts";

export const main = defineCommand({
  meta: {
    name: "tikti-cli",
    version: `${VERSION.version} (${VERSION.commit})`,
    description: "Administer a Tikti identity service and obtain tokens from it",
  },
  subCommands: {},
});

if (import.meta.main) {
  runMain(main);
}
