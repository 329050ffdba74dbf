/**
 * README promises a new user can rely on (issue 11 item 19): it names every Debian package that
 * `npm test` installs, and its curl walkthrough and docs/cli.md's tikti-cli walkthrough use
 * different tenant and client ids, so both run against one quick-start server.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { required } from "../../scripts/system-deps.mjs";

const root = join(import.meta.dirname, "../..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const cliGuide = readFileSync(join(root, "docs/cli.md"), "utf8");

const all = (text: string, re: RegExp) => new Set([...text.matchAll(re)].map((m) => m[1]!));

describe("README", () => {
  it("names every system package npm test installs", () => {
    const packages = new Set((required as Array<{ pkg: string }>).map((r) => r.pkg));
    expect(packages.size).toBeGreaterThanOrEqual(8);
    for (const pkg of packages) expect(readme, pkg).toContain(`\`${pkg}\``);
  });

  it("names what the walkthrough needs", () => {
    expect(readme).toMatch(/You need `curl`, and `python3`/);
    expect(readme).toContain("python3 -c");
  });

  it("its walkthrough and docs/cli.md's use different tenants and clients", () => {
    const readmeTenants = all(readme, /"id":"([a-z0-9-]+)","name"/g);
    const readmeClients = all(readme, /"clientId":"([A-Za-z0-9._:-]+)"/g);
    const cliTenants = all(cliGuide, /tenant create [^\n]*--id ([a-z0-9-]+)/g);
    const cliClients = all(cliGuide, /client create --client-id ([A-Za-z0-9._:-]+)/g);
    for (const set of [readmeTenants, readmeClients, cliTenants, cliClients])
      expect(set.size).toBeGreaterThan(0);
    expect([...readmeTenants].filter((t) => cliTenants.has(t))).toEqual([]);
    expect([...readmeClients].filter((c) => cliClients.has(c))).toEqual([]);
  });
});
