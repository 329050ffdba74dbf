import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  bitLength,
  children,
  DerError,
  derLength,
  derTime,
  oid,
  readBitStringBytes,
  readDocument,
  readOid,
  readTime,
  readTlv,
  readUnsignedInteger,
  seq,
  type Tlv,
  tlv as tlv_,
  unsignedInteger,
} from "../../src/crypto/der.ts";
import { pkcs1ToPkcs8 } from "../../src/crypto/pem.ts";
import { isTiktiError } from "../../src/errors.ts";

describe("DER OBJECT IDENTIFIER", () => {
  it("encodes rsaEncryption as X.690 does", () => {
    // 1.2.840.113549.1.1.1: the bytes of the AlgorithmIdentifier in src/crypto/pem.ts.
    expect([...oid("1.2.840.113549.1.1.1")]).toEqual([
      0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ]);
  });

  it("encodes a first subidentifier above 127 in base 128 (X.690 §8.19.5 example 2.999.3)", () => {
    expect([...oid("2.999.3")]).toEqual([0x06, 0x03, 0x88, 0x37, 0x03]);
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

describe("DER writer vectors (X.690)", () => {
  it("encodes lengths in short and long form", () => {
    expect([...derLength(0)]).toEqual([0x00]);
    expect([...derLength(0x7f)]).toEqual([0x7f]);
    expect([...derLength(0x80)]).toEqual([0x81, 0x80]);
    expect([...derLength(0x100)]).toEqual([0x82, 0x01, 0x00]);
    expect([...derLength(0x10000)]).toEqual([0x83, 0x01, 0x00, 0x00]);
  });

  it("encodes non-negative INTEGERs minimally, with a 0 byte before a set top bit", () => {
    expect([...unsignedInteger(0)]).toEqual([0x02, 0x01, 0x00]);
    expect([...unsignedInteger(2)]).toEqual([0x02, 0x01, 0x02]);
    expect([...unsignedInteger(0x80)]).toEqual([0x02, 0x02, 0x00, 0x80]);
    expect([...unsignedInteger(65537)]).toEqual([0x02, 0x03, 0x01, 0x00, 0x01]);
    expect([...unsignedInteger(new Uint8Array([0, 0, 0x01]))]).toEqual([0x02, 0x01, 0x01]);
    expect([...unsignedInteger(new Uint8Array([0xff]))]).toEqual([0x02, 0x02, 0x00, 0xff]);
  });

  it("encodes times as RFC 5280 requires (UTCTime until 2049, GeneralizedTime after)", () => {
    const text = (b: Uint8Array) => [b[0], new TextDecoder().decode(b.subarray(2))];
    expect(text(derTime(Date.UTC(2049, 11, 31, 23, 59, 59)))).toEqual([0x17, "491231235959Z"]);
    expect(text(derTime(Date.UTC(2050, 0, 1, 0, 0, 0)))).toEqual([0x18, "20500101000000Z"]);
    expect(text(derTime(Date.UTC(1950, 0, 1)))).toEqual([0x17, "500101000000Z"]);
  });

  it("wraps PKCS#1 in PKCS#8 exactly as OpenSSL does", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const pkcs1 = new Uint8Array(privateKey.export({ format: "der", type: "pkcs1" }));
    const pkcs8 = new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }));
    expect(Buffer.from(pkcs1ToPkcs8(pkcs1)).equals(Buffer.from(pkcs8))).toBe(true);
  });
});

describe("DER reader", () => {
  const el = (bytes: number[]) => {
    const buf = new Uint8Array(bytes);
    return { buf, tlv: readTlv(buf, 0) };
  };

  it("round-trips what the writer writes", () => {
    for (const dotted of ["1.2.840.113549.1.1.11", "2.5.29.19", "0.9.2342.19200300.100.1.25", "2.999.3"]) {
      const { buf, tlv } = el([...oid(dotted)]);
      expect(readOid(buf, tlv)).toBe(dotted);
    }
    for (const ms of [Date.UTC(1950, 0, 1), Date.UTC(2049, 11, 31, 23, 59, 59), Date.UTC(2060, 1, 29, 12)]) {
      const { buf, tlv } = el([...derTime(ms)]);
      expect(readTime(buf, tlv)).toBe(ms);
    }
    const { buf, tlv } = el([...unsignedInteger(new Uint8Array([0x80, 0x01]))]);
    expect([...readUnsignedInteger(buf, tlv)]).toEqual([0x80, 0x01]);
    const nested = seq(seq(oid("1.2.3")), tlv_(0x05));
    const top = readDocument(nested, 0x30, "outer");
    expect(children(nested, top).map((c) => c.tag)).toEqual([0x30, 0x05]);
    const bits = el([...tlv_(0x03, new Uint8Array([0]), new Uint8Array([0xaa, 0xbb]))]);
    expect([...readBitStringBytes(bits.buf, bits.tlv)]).toEqual([0xaa, 0xbb]);
  });

  it("reads a UTCTime year 50 as 1950 and 49 as 2049", () => {
    const utc = (s: string) => el([0x17, s.length, ...new TextEncoder().encode(s)]);
    const a = utc("500101000000Z");
    const b = utc("491231235959Z");
    expect(readTime(a.buf, a.tlv)).toBe(Date.UTC(1950, 0, 1));
    expect(readTime(b.buf, b.tlv)).toBe(Date.UTC(2049, 11, 31, 23, 59, 59));
  });

  it("counts significant bits", () => {
    expect(bitLength(new Uint8Array([0x00, 0x80, 0x00]))).toBe(16);
    expect(bitLength(new Uint8Array([0x01]))).toBe(1);
    expect(bitLength(new Uint8Array([0, 0]))).toBe(0);
    expect(bitLength(new Uint8Array(0))).toBe(0);
  });

  // Negative twins: each differs from a valid encoding above in one place.
  it.each<[string, () => unknown]>([
    ["truncated length", () => readTlv(new Uint8Array([0x30, 0x82, 0x01]), 0)],
    ["length beyond the data", () => readTlv(new Uint8Array([0x04, 0x03, 0xaa, 0xbb]), 0)],
    [
      "length beyond the parent",
      () =>
        children(
          new Uint8Array([0x30, 0x02, 0x04, 0x02, 0xaa]),
          readTlv(new Uint8Array([0x30, 0x02, 0x04, 0x02, 0xaa]), 0, 4),
        ),
    ],
    ["indefinite length", () => readTlv(new Uint8Array([0x30, 0x80, 0x00, 0x00]), 0)],
    ["length of five bytes", () => readTlv(new Uint8Array([0x04, 0x85, 0, 0, 0, 0, 1, 0]), 0)],
    ["high tag number", () => readTlv(new Uint8Array([0x1f, 0x81, 0x00]), 0)],
    ["wrong tag", () => readDocument(new Uint8Array([0x31, 0x00]), 0x30, "SEQUENCE")],
    ["trailing bytes", () => readDocument(new Uint8Array([0x30, 0x00, 0x00]), 0x30, "SEQUENCE")],
    ["OID read from an INTEGER", () => readOid(...args([0x02, 0x01, 0x01]))],
    ["empty OID", () => readOid(...args([0x06, 0x00]))],
    ["truncated OID", () => readOid(...args([0x06, 0x02, 0x2a, 0x86]))],
    ["UTCTime without Z", () => readTime(...args([0x17, 0x0c, ...new TextEncoder().encode("491231235959")]))],
    ["time of another tag", () => readTime(...args([0x04, 0x01, 0x30]))],
    ["empty INTEGER", () => readUnsignedInteger(...args([0x02, 0x00]))],
    ["BIT STRING with unused bits", () => readBitStringBytes(...args([0x03, 0x02, 0x01, 0xaa]))],
  ])("%s → DerError", (_label, run) => {
    expect(run).toThrow(DerError);
  });
});

function args(bytes: number[]): [Uint8Array, Tlv] {
  const buf = new Uint8Array(bytes);
  return [buf, readTlv(buf, 0)];
}
