/**
 * Identifiers made by the core (request ids, CLI correlation ids). Their own module, outside the HTTP
 * middleware, so that any layer can make one (docs/adr/0060-one-layering.md).
 */

/**
 * RFC 9562 UUID version 7: 48-bit ms timestamp, version 7, then the random bits and variant of a
 * native `randomUUID()` (its version nibble replaced). Cheaper than formatting 16 random bytes by
 * hand, which showed up at ~9 % of CPU on the lightest routes (docs/benchmarks.md).
 */
export function uuidv7(nowMs: number): string {
  const t = nowMs.toString(16).padStart(12, "0");
  const r = crypto.randomUUID();
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(15)}`;
}
