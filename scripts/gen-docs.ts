// `npm run docs`: regenerates docs/reference/routes.md and docs/reference/error-codes.md from the route specs.
// Runs on Node >= 22 (type stripping): node scripts/rt.mjs node scripts/gen-docs.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderApiDoc, renderErrorCodes } from "../src/http/api-docs.ts";
import { allPageRouteDocs } from "../src/http/route-docs.ts";
import { docsApp } from "../test/support/docs-app.ts";

const root = join(import.meta.dirname, "..");
const app = await docsApp();
writeFileSync(join(root, "docs/reference/routes.md"), renderApiDoc(app.routeSpecs, allPageRouteDocs()));
writeFileSync(join(root, "docs/reference/error-codes.md"), renderErrorCodes(app.routeSpecs));
console.error("docs/reference/routes.md and docs/reference/error-codes.md written");
process.exit(0);
