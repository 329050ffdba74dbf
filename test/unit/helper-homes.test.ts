import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

// docs/architecture.md (helper homes): some helpers have exactly one home, so a second copy cannot
// drift from the first (issue 13 item 5). Each rule names the pattern that marks a copy and the one
// file allowed to hold it; code, CLI, migrations, scripts and tests are all searched.
const root = join(import.meta.dirname, "../..");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name === "node_modules"
      ? []
      : e.isDirectory()
        ? walk(join(dir, e.name))
        : /\.(ts|mjs)$/.test(e.name)
          ? [join(dir, e.name)]
          : [],
  );
}

const files = ["src", "cli", "migrate", "scripts", "test"]
  .flatMap((d) => walk(join(root, d)))
  .map((f) => relative(root, f));

/** Files (other than `home`) whose text matches `pattern`. */
function copies(pattern: RegExp, home: string): string[] {
  return files.filter(
    (f) =>
      f !== home &&
      f !== "test/unit/helper-homes.test.ts" &&
      pattern.test(readFileSync(join(root, f), "utf8")),
  );
}

describe("one home per helper", () => {
  it("searches the whole repository", () => {
    expect(files).toContain("src/crypto/keygen.ts");
    expect(files).toContain("cli/commands/keys/generate.ts");
    expect(files.length).toBeGreaterThan(200);
  });

  it("inbound XML is parsed only by src/saml/xml.ts (fast-xml-parser only builds)", () => {
    const shipped = (f: string) => /^(src|cli|migrate)\//.test(f);
    expect(
      copies(/\bnew\s+DOMParser\b|\bXMLParser\b|\bXMLValidator\b/, "src/saml/xml.ts").filter(shipped),
    ).toEqual([]);
  });

  it("DER is read and written only by src/crypto/der.ts, certificates read and built only by src/crypto/x509.ts", () => {
    expect(
      copies(/\bfunction\s+(?:readTlv|derLength|readLength|oidText|tlv)\b/, "src/crypto/der.ts"),
    ).toEqual([]);
    expect(
      copies(
        /\bfunction\s+(?:parseCertificate\w*|selfSignedCertificate|\w*[sS]elfSigned\w*)\b/,
        "src/crypto/x509.ts",
      ),
    ).toEqual([]);
  });

  it("key pairs are generated only by src/crypto/keygen.ts", () => {
    expect(copies(/\bsubtle\s*\.\s*generateKey\s*\(/, "src/crypto/keygen.ts")).toEqual([]);
  });
});
