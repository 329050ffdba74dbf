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
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (i === items.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        groups.push(Number.parseInt(g, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
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
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.bytes[i]! & mask) !== (ip[i]! & mask)) return false;
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
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isTrusted(hop)) return parseIp(hop) ? hop : socketAddress;
  }
  return hops[0] ?? socketAddress;
}
