/**
 * The node:crypto HS256 MAC (src/runtime/hmac-node.ts) is a drop-in for Web Crypto's: same bytes
 * for the same secret and input (RFC 4231 vector included), tokens signed with one verify with the
 * other, and tampering fails — on Node (this process) and on Bun (a child process).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import { createIdTokenSigner } from "../../src/crypto/id-token.ts";
import { importHs256Key, webCryptoHs256Mac } from "../../src/crypto/jws.ts";
import { TiktiError } from "../../src/errors.ts";
import { createNodeHs256Mac, runtimeHs256Mac } from "../../src/runtime/hmac-node.ts";
import { repoRoot } from "../support/tikti-process.ts";

const SECRET = "an-idtoken-secret-of-at-least-32-bytes!!";
const CONFIG = {
  jwtSecret: SECRET,
  issuerBaseUrl: "https://id.example.com",
  defaultAudience: "tikti",
  idTokenTtlSeconds: 3600,
  clockSkewSeconds: 30,
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const enc = (s: string) => new TextEncoder().encode(s);

describe("node:crypto HS256 MAC", () => {
  it("matches RFC 4231 test case 2 and Web Crypto on the same inputs", async () => {
    expect(hex(await createNodeHs256Mac("Jefe")(enc("what do ya want for nothing?")))).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
    const web = webCryptoHs256Mac(await importHs256Key(enc(SECRET)));
    const node = createNodeHs256Mac(SECRET);
    for (const input of ["", "a", "eyJhbGciOiJIUzI1NiJ9.e30", "é".repeat(500)]) {
      expect(hex(await node(enc(input)))).toBe(hex(await web(enc(input))));
    }
  });

  it("tokens signed with one MAC verify with the other; a flipped signature fails", async () => {
    const now = Date.now();
    const web = await createIdTokenSigner(CONFIG);
    const node = await createIdTokenSigner(CONFIG, undefined, createNodeHs256Mac(SECRET));
    const input = { sub: "u1", email: "a@x.com", role: "COMPANY_EMPLOYEE", amr: "pwd" as const, ver: 0 };
    const a = await web.sign(input);
    const b = await node.sign(input);
    expect((await node.verifyIdTokenCrypto(a.token, now)).sub).toBe("u1");
    expect((await web.verifyIdTokenCrypto(b.token, now)).sub).toBe("u1");
    const last = b.token.at(-1) === "A" ? "B" : "A";
    const tampered = `${b.token.slice(0, -1)}${last}`;
    await expect(node.verifyIdTokenCrypto(tampered, now)).rejects.toBeInstanceOf(TiktiError);
    const otherSecret = await createIdTokenSigner(CONFIG, undefined, createNodeHs256Mac(`${SECRET}x`));
    await expect(otherSecret.verifyIdTokenCrypto(b.token, now)).rejects.toBeInstanceOf(TiktiError);
  });

  it("is used on Bun and Node, not on Deno", () => {
    expect(runtimeHs256Mac("node", SECRET)).toBeTypeOf("function");
    expect(runtimeHs256Mac("bun", SECRET)).toBeTypeOf("function");
    expect(runtimeHs256Mac("deno", SECRET)).toBeUndefined();
  });

  it("computes the same MAC on Bun", async () => {
    const input = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSJ9";
    const r = spawnSync(
      runtimeBinary("bun"),
      [join(repoRoot, "test/crypto/support/hmac-bun.ts"), SECRET, input],
      {
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(hex(await createNodeHs256Mac(SECRET)(enc(input))));
  });
});

describe("synchronous SHA-256 for API-key checks", () => {
  it("matches Web Crypto and keeps the matcher's answers", async () => {
    const { runtimeSha256 } = await import("../../src/runtime/hmac-node.ts");
    const { secretMatcher, sha256 } = await import("../../src/crypto/compare.ts");
    const sync = runtimeSha256("node")!;
    expect(runtimeSha256("deno")).toBeUndefined();
    for (const v of ["", "abc", "é".repeat(100)]) expect(hex(sync(enc(v)))).toBe(hex(await sha256(v)));
    const key = "the-configured-api-key-0123456789";
    for (const matcher of [secretMatcher(key), secretMatcher(key, sync)]) {
      expect(await matcher(key)).toBe(true);
      expect(await matcher(`${key}x`)).toBe(false);
      expect(await matcher("")).toBe(false);
    }
  });
});
