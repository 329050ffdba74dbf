import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderApiDoc, renderErrorCodes } from "../../src/http/api-docs.ts";
import { allPageRouteDocs } from "../../src/http/route-docs.ts";
import { docsApp } from "../support/docs-app.ts";

const root = join(import.meta.dirname, "../..");

describe("generated reference docs are current (run `npm run docs` when this fails)", () => {
  it("docs/reference/routes.md matches the route specs", async () => {
    const app = await docsApp();
    expect(readFileSync(join(root, "docs/reference/routes.md"), "utf8")).toBe(
      renderApiDoc(app.routeSpecs, allPageRouteDocs()),
    );
  });
  it("docs/reference/error-codes.md matches the catalogue", async () => {
    const app = await docsApp();
    expect(readFileSync(join(root, "docs/reference/error-codes.md"), "utf8")).toBe(
      renderErrorCodes(app.routeSpecs),
    );
  });
});
