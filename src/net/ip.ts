/**
 * IPv4/IPv6 addresses and CIDR ranges as bytes, for `http.trustedProxies` (docs/spec/api.md §2.8).
 */

export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 is returned as IPv4); `null` when invalid. */
export function parseIp(input: string): Uint8Array | null {
  const s = input.trim();
  if (s.includes(":")) {
    const v6 = parseIpv6(s.replace(/^\[|\]$/g, "").split("%")[0] ?? "");
    if (!v6) return null;
    // ::ffff:a.b.c.d → a.b.c.d, so IPv4 CIDRs match dual-stack sockets.
    if (v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return v6.slice(12);
    return v6;
  }
  return parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (const [i, p] of parts.entries()) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const [first, second, ...more] = s.split("::");
  if (first === undefined || more.length > 0) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    const items = part.split(":");
    for (const [i, g] of items.entries()) {
      if (i === items.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        // Two big-endian 16-bit groups; DataView throws (fails closed) on fewer than 4 bytes.
        const view = new DataView(v4.buffer, v4.byteOffset, v4.byteLength);
        groups.push(view.getUint16(0), view.getUint16(2));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        groups.push(Number.parseInt(g, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(first);
  const tail = second === undefined ? [] : parseGroups(second);
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (second === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array<number>(second === undefined ? 0 : missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). `null` when invalid. */
export function parseCidr(input: string): Cidr | null {
  const [addr, prefixText, ...rest] = input.trim().split("/");
  if (addr === undefined || rest.length > 0) return null;
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const max = bytes.length * 8;
  if (prefixText === undefined) return { bytes, prefix: max };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > max) return null;
  return { bytes, prefix };
}

export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  if (cidr.bytes.length !== ip.length) return false;
  let bits = cidr.prefix;
  for (const [i, byte] of ip.entries()) {
    if (bits <= 0) break;
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    const network = cidr.bytes[i];
    // Same length was checked above; a missing byte could only mean "not inside".
    if (network === undefined || (network & mask) !== (byte & mask)) return false;
    bits -= 8;
  }
  return true;
}

/**
 * The client address of a request: the socket address, unless it is a trusted proxy, in which case
 * the right-most `X-Forwarded-For` entry that is not a trusted proxy.
 */
export function resolveClientIp(
  socketAddress: string,
  forwardedFor: string | undefined,
  trusted: Cidr[],
): string {
  const isTrusted = (addr: string) => {
    const bytes = parseIp(addr);
    return bytes !== null && trusted.some((c) => cidrContains(c, bytes));
  };
  if (trusted.length === 0 || !forwardedFor || !isTrusted(socketAddress)) return socketAddress;
  const hops = forwardedFor
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  for (const hop of hops.toReversed()) {
    if (!isTrusted(hop)) return parseIp(hop) ? hop : socketAddress;
  }
  return hops[0] ?? socketAddress;
}
