/**
 * One default `jwksKeyId` everywhere (issue 11 item 19): the schema's default, the shipped example,
 * the compose configuration, the chart's values and docs/configuration.md name the same kid, so a
 * resource server's pinned kid or a rotation runbook does not depend on how Tikti was installed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema } from "../../src/config/schema.ts";

const root = join(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(join(root, file), "utf8");

/** `${JWKS_KEY_ID:-x}` → x (the value in effect when the variable is unset). */
function effective(value: unknown): unknown {
  const m = typeof value === "string" ? /^\$\{JWKS_KEY_ID:-([^}]*)\}$/.exec(value) : null;
  return m ? m[1] : value;
}

describe("the default jwksKeyId", () => {
  const schemaDefault = configSchema.parse({}).jwksKeyId;

  it("is tikti-local-1 in the schema (docs/spec/operations.md §2)", () => {
    expect(schemaDefault).toBe("tikti-local-1");
  });

  it.each([
    ["config/tikti.example.yaml", (d: Record<string, unknown>) => d.jwksKeyId],
    ["deploy/compose/tikti.yaml", (d: Record<string, unknown>) => d.jwksKeyId],
    [
      "helm/tikti/values.yaml",
      (d: Record<string, unknown>) => (d.config as Record<string, unknown>).jwksKeyId,
    ],
  ])("%s uses the same default", (file, pick) => {
    expect(effective(pick(parse(read(file)) as Record<string, unknown>))).toBe(schemaDefault);
  });

  it("docs/configuration.md documents it", () => {
    const row = read("docs/configuration.md")
      .split("\n")
      .find((l) => l.startsWith("| `jwksKeyId`"));
    expect(row?.split("|")[3]?.trim()).toBe(`\`${schemaDefault}\``);
  });
});
