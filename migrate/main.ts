#!/usr/bin/env bun
/**
 * tikti-migrate: numbered, recorded data migrations for Redis and the embedded store
 * (spec/cli.md, tikti-migrate section).
 */
import { defineCommand, runMain } from "citty";
import { VERSION } from "../src/version.ts";

export const main = defineCommand({
  meta: {
    name: "tikti-migrate",
    version: `${VERSION.version} (${VERSION.commit})`,
    description: "Apply Tikti's numbered data migrations to Redis or the embedded store",
  },
});

if (import.meta.main) {
  runMain(main);
}
