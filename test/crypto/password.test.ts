import { describe, expect, it } from "vitest";
import {
  createPasswordHasher,
  GO_BCRYPT_COST,
  type PasswordEngine,
  type PasswordHashPolicy,
  parsePasswordHash,
  passwordNeedsRehash,
} from "../../src/crypto/password.ts";
import {
  argon2idRaw,
  createInProcessPasswordHasher,
  portablePasswordEngine,
  scryptRaw,
} from "../../src/crypto/password-portable.ts";
import { isTiktiError } from "../../src/errors.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The defaults of docs/spec/operations.md §2.5 (OWASP minimum). */
const POLICY: PasswordHashPolicy = {
  scheme: "argon2id",
  bcryptCost: 10,
  scrypt: { ln: 15, r: 8, p: 1 },
  argon2id: { m: 19_456, t: 2, p: 1 },
};
/** Cheap parameters for tests that only exercise the plumbing (not allowed by the config schema). */
const FAST: PasswordHashPolicy = {
  scheme: "argon2id",
  bcryptCost: 4,
  scrypt: { ln: 4, r: 8, p: 1 },
  argon2id: { m: 64, t: 1, p: 1 },
};

describe("scrypt: RFC 7914 §12 test vectors (portable engine)", () => {
  const vectors = [
    {
      P: "",
      S: "",
      N: 16,
      r: 1,
      p: 1,
      dk: "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906",
    },
    {
      P: "password",
      S: "NaCl",
      N: 1024,
      r: 8,
      p: 16,
      dk: "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
    },
    {
      P: "pleaseletmein",
      S: "SodiumChloride",
      N: 16384,
      r: 8,
      p: 1,
      dk: "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887",
    },
    // The fourth vector (N = 2^20, r = 8) needs 1 GiB of memory; it adds nothing the others miss.
  ];
  for (const v of vectors) {
    const params = { ln: Math.log2(v.N), r: v.r, p: v.p };
    it(`P="${v.P}" N=${v.N} r=${v.r} p=${v.p}`, async () => {
      expect(hex(await scryptRaw(utf8(v.P), utf8(v.S), params, 64))).toBe(v.dk);
    });
    it(`negative twin: P="${v.P}x" does not give the vector`, async () => {
      expect(hex(await scryptRaw(utf8(`${v.P}x`), utf8(v.S), params, 64))).not.toBe(v.dk);
    });
  }
});

describe("argon2id: reference implementation vectors (phc-winner-argon2 src/test.c, v=0x13)", () => {
  // RFC 9106 §5.3's argon2id vector uses a secret and associated data; hash-wasm supports a secret
  // but not associated data, so the reference implementation's own argon2id vectors stand in.
  const vectors = [
    {
      m: 65_536,
      t: 2,
      p: 1,
      raw: "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7",
      phc: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    },
    {
      m: 256,
      t: 2,
      p: 1,
      raw: "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe",
      phc: "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
    },
    {
      m: 256,
      t: 2,
      p: 2,
      raw: undefined,
      phc: "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
    },
  ];
  const hasher = createInProcessPasswordHasher(POLICY);
  for (const v of vectors) {
    if (v.raw) {
      it(`raw tag m=${v.m} t=${v.t} p=${v.p}`, async () => {
        const tag = await argon2idRaw(utf8("password"), utf8("somesalt"), v, 32);
        expect(hex(tag)).toBe(v.raw);
      });
    }
    it(`PHC string verifies: ${v.phc}`, async () => {
      expect(await hasher.verify("password", v.phc)).toBe(true);
    });
    it(`negative twin: wrong password for ${v.phc}`, async () => {
      expect(await hasher.verify("passwore", v.phc)).toBe(false);
    });
  }
  it("negative twin: one flipped hash bit fails", async () => {
    const flipped = vectors[0]!.phc.replace("$CTFh", "$CTFg");
    expect(await hasher.verify("password", flipped)).toBe(false);
  });
  it("a non-canonical spelling (non-zero spare bits in the last character) is refused", () => {
    expect(parsePasswordHash(vectors[0]!.phc.replace(/c$/, "d"))).toBeUndefined();
  });
});

describe("bcrypt: hashes written by an independent implementation", () => {
  // Generated with Debian's apache2-utils 2.4.71 (`htpasswd -bnBC <cost> "" <password>`, the
  // leading ":" removed). htpasswd writes the `$2y$` prefix.
  const fixtures = [
    // htpasswd -bnBC 10 "" password
    { password: "password", hash: "$2y$10$uMB41ItiY/45YRtB0Jxure18hvq9NCxQj4VzURBy1Z2DJA7y5NT6S" },
    // htpasswd -bnBC 4 "" 'correct horse battery staple'
    {
      password: "correct horse battery staple",
      hash: "$2y$04$iSm77nsrJ8j0dicMStfxpemHzN/l1iLjJp2X7tT.PK3z0LWdK42Wy",
    },
    // htpasswd -bnBC 4 "" 'pässwörd-ünïcødé'   (UTF-8 bytes)
    { password: "pässwörd-ünïcødé", hash: "$2y$04$rnjrImp/oN2RdxvGEglMUOiMmU4snYSPXOBEbk7OLAv76Yuj2rTki" },
    // htpasswd -bnBC 4 "" "$(printf 'a%.0s' $(seq 1 72))"   (exactly 72 bytes)
    { password: "a".repeat(72), hash: "$2y$04$wH1QkalCD2m9yxDmkj4uBeo9IZvkRSwIhDX0cTiYg7yE2BlyTLiOq" },
  ];
  const hasher = createInProcessPasswordHasher({ ...POLICY, scheme: "bcrypt" });
  for (const f of fixtures) {
    it(`verifies ${f.hash.slice(0, 7)}… (${f.password.length} chars)`, async () => {
      expect(await hasher.verify(f.password, f.hash)).toBe(true);
    });
    it(`negative twin: wrong password for ${f.hash.slice(0, 7)}…`, async () => {
      expect(await hasher.verify(`${f.password.slice(0, -1)}!`, f.hash)).toBe(false);
    });
  }
  it("$2a$ and $2b$ spellings of the same hash verify too", async () => {
    const rest = fixtures[0]!.hash.slice(4);
    expect(await hasher.verify("password", `$2a$${rest}`)).toBe(true);
    expect(await hasher.verify("password", `$2b$${rest}`)).toBe(true);
  });
  it("uses the first 72 bytes when verifying, as OpenBSD bcrypt (and htpasswd) do", async () => {
    expect(await hasher.verify(`${"a".repeat(72)}ignored`, fixtures[3]!.hash)).toBe(true);
    expect(await hasher.verify("a".repeat(71), fixtures[3]!.hash)).toBe(false);
  });
  it("refuses to hash more than 72 bytes (docs/spec/api.md §2.10)", async () => {
    const err = await hasher.hash("é".repeat(37)).catch((e: unknown) => e);
    expect(isTiktiError(err) && err.code).toBe("INVALID_ARGUMENT");
  });
  it("writes $2b$ with the configured cost", async () => {
    const h = await createInProcessPasswordHasher({ ...FAST, scheme: "bcrypt" }).hash("password");
    expect(h).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{53}$/);
  });
});

describe("stored forms (docs/spec/operations.md §2.5)", () => {
  it("argon2id at the configured parameters: 16-byte salt, 32-byte hash, unpadded base64", async () => {
    const hasher = createInProcessPasswordHasher(POLICY);
    const stored = await hasher.hash("correct horse");
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await hasher.verify("correct horse", stored)).toBe(true);
    expect(await hasher.verify("correct horsE", stored)).toBe(false);
    expect(hasher.needsRehash(stored)).toBe(false);
  });
  it("scrypt: $scrypt$ln=..,r=..,p=..$salt$hash", async () => {
    const hasher = createInProcessPasswordHasher({ ...FAST, scheme: "scrypt" });
    const stored = await hasher.hash("correct horse");
    expect(stored).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await hasher.verify("correct horse", stored)).toBe(true);
    expect(await hasher.verify("correct horsE", stored)).toBe(false);
  });
  it("salts are random", async () => {
    const hasher = createInProcessPasswordHasher(FAST);
    expect(await hasher.hash("same")).not.toBe(await hasher.hash("same"));
  });
  it("refuses to hash an empty password", async () => {
    const err = await createInProcessPasswordHasher(FAST)
      .hash("")
      .catch((e: unknown) => e);
    expect(isTiktiError(err) && err.code).toBe("INVALID_ARGUMENT");
  });
  it.each([
    ["empty (SAML-only user)", ""],
    [
      "unknown scheme",
      "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    ],
    ["md5-crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"],
    [
      "padded base64",
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    ],
    [
      "old argon2 version",
      "$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    ],
    [
      "memory bomb",
      "$argon2id$v=19$m=9999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    ],
    ["bcrypt cost 3", "$2b$03$uMB41ItiY/45YRtB0Jxure18hvq9NCxQj4VzURBy1Z2DJA7y5NT6S"],
    ["truncated bcrypt", "$2b$10$uMB41ItiY/45YRtB0Jxure18hvq9NCxQj4VzURBy1Z2DJA7y5NT6"],
  ])("verify answers false for %s", async (_name, stored) => {
    const hasher = createInProcessPasswordHasher(FAST);
    expect(parsePasswordHash(stored)).toBeUndefined();
    expect(await hasher.verify("password", stored)).toBe(false);
  });
  it("an empty password never verifies", async () => {
    const hasher = createInProcessPasswordHasher(FAST);
    expect(await hasher.verify("", await hasher.hash("x"))).toBe(false);
  });
});

describe("needsRehash: weaker than policy (docs/spec/operations.md §2.5)", () => {
  const salt = "AAAAAAAAAAAAAAAAAAAAAA"; // 16 bytes
  const hash = "A".repeat(43); // 32 bytes
  const bcrypt = (cost: string, v = "2b") => `$${v}$${cost}$${"a".repeat(22)}${"b".repeat(31)}`;
  const table: Array<[string, PasswordHashPolicy["scheme"], string, boolean]> = [
    ["argon2id at policy", "argon2id", `$argon2id$v=19$m=19456,t=2,p=1$${salt}$${hash}`, false],
    ["argon2id above policy", "argon2id", `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${hash}`, false],
    ["argon2id lower m", "argon2id", `$argon2id$v=19$m=19455,t=2,p=1$${salt}$${hash}`, true],
    ["argon2id lower t", "argon2id", `$argon2id$v=19$m=65536,t=1,p=1$${salt}$${hash}`, true],
    [
      "argon2id with a 32-byte salt (Bun.password)",
      "argon2id",
      `$argon2id$v=19$m=19456,t=2,p=1$${salt}${salt}$${hash}`,
      false,
    ],
    ["argon2id 8-byte salt", "argon2id", `$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$${hash}`, true],
    ["argon2id 16-byte hash", "argon2id", `$argon2id$v=19$m=19456,t=2,p=1$${salt}$${salt}`, true],
    ["bcrypt under argon2id policy", "argon2id", bcrypt("12"), true],
    ["scrypt under argon2id policy", "argon2id", `$scrypt$ln=15,r=8,p=1$${salt}$${hash}`, true],
    ["bcrypt cost 10 at policy", "bcrypt", bcrypt("10"), false],
    ["bcrypt $2y$ cost 10", "bcrypt", bcrypt("10", "2y"), false],
    ["bcrypt cost 12 above policy", "bcrypt", bcrypt("12"), false],
    ["bcrypt cost 9", "bcrypt", bcrypt("09"), true],
    ["argon2id under bcrypt policy", "bcrypt", `$argon2id$v=19$m=19456,t=2,p=1$${salt}$${hash}`, true],
    ["scrypt at policy", "scrypt", `$scrypt$ln=15,r=8,p=1$${salt}$${hash}`, false],
    ["scrypt lower ln", "scrypt", `$scrypt$ln=14,r=8,p=1$${salt}$${hash}`, true],
    ["scrypt lower r", "scrypt", `$scrypt$ln=16,r=4,p=1$${salt}$${hash}`, true],
    ["scrypt higher p", "scrypt", `$scrypt$ln=15,r=8,p=2$${salt}$${hash}`, false],
    ["garbage", "argon2id", "not a hash", true],
    ["empty (no password sign-in to upgrade)", "argon2id", "", false],
  ];
  it.each(table)("%s", (_name, scheme, stored, expected) => {
    expect(passwordNeedsRehash({ ...POLICY, scheme }, stored)).toBe(expected);
  });
  it("follows configured parameters above the minimum", () => {
    const policy = { ...POLICY, argon2id: { m: 65_536, t: 3, p: 2 } };
    expect(passwordNeedsRehash(policy, `$argon2id$v=19$m=65536,t=3,p=1$${salt}$${hash}`)).toBe(true);
    expect(passwordNeedsRehash(policy, `$argon2id$v=19$m=65536,t=3,p=2$${salt}$${hash}`)).toBe(false);
  });
});

describe("verifyDummy", () => {
  // Timing-based: retried, since a loaded CI machine can slow one measurement.
  it("answers false and costs what a real verify costs", { retry: 2 }, async () => {
    const hasher = createInProcessPasswordHasher(POLICY);
    const stored = await hasher.hash("correct horse");
    await hasher.verifyDummy("warm up"); // the dummy hash is made once, on first use
    const time = async (f: () => Promise<unknown>) => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    };
    const real = Math.min(
      await time(() => hasher.verify("wrong", stored)),
      await time(() => hasher.verify("wrong", stored)),
    );
    const dummy = Math.min(
      await time(() => hasher.verifyDummy("wrong")),
      await time(() => hasher.verifyDummy("wrong")),
    );
    expect(await hasher.verifyDummy("correct horse")).toBe(false);
    expect(dummy).toBeGreaterThan(real * 0.5);
    expect(dummy).toBeLessThan(real * 2);
    // An unknown stored value takes the same path.
    const unknown = await time(() => hasher.verify("wrong", ""));
    expect(unknown).toBeGreaterThan(real * 0.5);
  });
});

describe("the dummy hash of a failed check", () => {
  it("fails closed (INTERNAL) when the engine writes a hash that does not parse, and is made again next time", async () => {
    const policy: PasswordHashPolicy = { ...FAST, scheme: "bcrypt", bcryptCost: GO_BCRYPT_COST };
    const written = ["not a password hash"];
    const engine: PasswordEngine = {
      async hash(password, p) {
        const encoded = await portablePasswordEngine.hash(password, p);
        return written.shift() ?? encoded;
      },
      verify: (password, stored) => portablePasswordEngine.verify(password, stored),
    };
    const hasher = createPasswordHasher(policy, engine);
    const first = await hasher.verifyDummy("wrong").catch((e: unknown) => e);
    expect(isTiktiError(first) && first.code).toBe("INTERNAL");
    expect(await hasher.verifyDummy("wrong")).toBe(false);
  });
});
