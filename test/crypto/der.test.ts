import { describe, expect, it } from "vitest";
import { oid } from "../../src/crypto/der.ts";
import { isTiktiError } from "../../src/errors.ts";

describe("DER OBJECT IDENTIFIER", () => {
  it("encodes rsaEncryption as X.690 does", () => {
    // 1.2.840.113549.1.1.1: the bytes of the AlgorithmIdentifier in src/crypto/pem.ts.
    expect([...oid("1.2.840.113549.1.1.1")]).toEqual([
      0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ]);
  });

  it("refuses an OID of fewer than two arcs (INTERNAL) instead of encoding NaN as 0", () => {
    const caught = (() => {
      try {
        return oid("1");
      } catch (e) {
        return e;
      }
    })();
    expect(isTiktiError(caught) && caught.code).toBe("INTERNAL");
  });
});
