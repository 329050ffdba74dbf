import { describe, expect, it } from "vitest";
import { cidrContains, parseCidr, parseIp, resolveClientIp } from "../../src/net/ip.ts";

describe("parseIp / parseCidr", () => {
  it.each([
    ["10.0.0.1", [10, 0, 0, 1]],
    ["::ffff:192.168.1.2", [192, 168, 1, 2]],
    ["255.255.255.255", [255, 255, 255, 255]],
  ])("parses %s", (ip, bytes) => {
    expect(Array.from(parseIp(ip)!)).toEqual(bytes);
  });

  it("parses IPv6 forms", () => {
    expect(parseIp("::1")?.length).toBe(16);
    expect(Array.from(parseIp("::1")!).at(-1)).toBe(1);
    expect(Array.from(parseIp("fd00::")!)[0]).toBe(0xfd);
    expect(parseIp("2001:db8:0:0:0:0:0:1")).toEqual(parseIp("2001:db8::1"));
  });

  it("parses an IPv4 tail of an IPv6 address into its last two groups", () => {
    expect(Array.from(parseIp("64:ff9b::192.0.2.33") ?? [])).toEqual([
      0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33,
    ]);
    expect(parseIp("64:ff9b::192.0.2")).toBeNull();
    expect(parseIp("1:2:3:4:5:6:7:8::")).toBeNull();
  });

  it.each(["256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "::1::", "gggg::", "1:2:3:4:5:6:7:8:9", "", "abc"])(
    "refuses %s",
    (ip) => {
      expect(parseIp(ip)).toBeNull();
    },
  );

  it.each(["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8/1", "x/8", "::/129"])("refuses CIDR %s", (c) => {
    expect(parseCidr(c)).toBeNull();
  });

  it("matches addresses against ranges", () => {
    const ten = parseCidr("10.0.0.0/8")!;
    expect(cidrContains(ten, parseIp("10.200.3.4")!)).toBe(true);
    expect(cidrContains(ten, parseIp("11.0.0.1")!)).toBe(false);
    const odd = parseCidr("192.168.4.0/22")!;
    expect(cidrContains(odd, parseIp("192.168.7.255")!)).toBe(true);
    expect(cidrContains(odd, parseIp("192.168.8.0")!)).toBe(false);
    const v6 = parseCidr("fd00::/8")!;
    expect(cidrContains(v6, parseIp("fd12::1")!)).toBe(true);
    expect(cidrContains(v6, parseIp("10.0.0.1")!)).toBe(false);
    const all = parseCidr("0.0.0.0/0");
    const host = parseCidr("192.0.2.1");
    expect(all && cidrContains(all, new Uint8Array([203, 0, 113, 1]))).toBe(true);
    expect(host && cidrContains(host, new Uint8Array([192, 0, 2, 1]))).toBe(true);
    expect(host && cidrContains(host, new Uint8Array([192, 0, 2, 0]))).toBe(false);
  });
});

describe("resolveClientIp (docs/spec/api.md §2.8)", () => {
  const trusted = [parseCidr("10.0.0.0/8")!];
  it("uses the socket address when it is not a trusted proxy", () => {
    expect(resolveClientIp("203.0.113.9", "1.1.1.1", trusted)).toBe("203.0.113.9");
  });
  it("uses the right-most untrusted X-Forwarded-For hop behind a trusted proxy", () => {
    expect(resolveClientIp("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.1.1.1", trusted)).toBe("198.51.100.7");
  });
  it("ignores X-Forwarded-For with no trusted proxies configured", () => {
    expect(resolveClientIp("10.0.0.5", "6.6.6.6", [])).toBe("10.0.0.5");
  });
  it("takes the left-most hop when every hop is a trusted proxy", () => {
    expect(resolveClientIp("10.0.0.5", "10.9.9.9, 10.1.1.1", trusted)).toBe("10.9.9.9");
  });
  it("falls back to the socket address when the chosen hop is not an address", () => {
    expect(resolveClientIp("10.0.0.5", "garbage", trusted)).toBe("10.0.0.5");
  });
});
