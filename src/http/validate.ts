/**
 * Turns zod failures into the documented 400 bodies (docs/spec/api.md §2.1, §2.11.1):
 * wrong JSON types and missing required fields → INVALID_REQUEST; a well-typed value that breaks a
 * grammar or range rule → INVALID_ARGUMENT. `details` has one entry per field, keyed by dotted path.
 */
import type { z } from "zod";
import { TiktiError } from "../errors.ts";

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: Record<string, string> = {};
  let typeProblem = false;
  for (const issue of result.error.issues) {
    const path = issue.path.map(String).join(".") || "body";
    if (issue.code === "invalid_type") typeProblem = true;
    if (!(path in details)) details[path] = issue.message;
  }
  throw new TiktiError(typeProblem ? "INVALID_REQUEST" : "INVALID_ARGUMENT", { details });
}
