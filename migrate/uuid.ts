/**
 * UUID version 5 (RFC 9562 §5.5): SHA-1 of namespace bytes + name, version and variant bits set.
 * Used for ids that must come out the same on every run of a migration (docs/spec/cli.md §9.1).
 */

/** The RFC 9562 URL namespace, named by docs/spec/cli.md §9.1 for legacy user ids. */
export const LEGACY_USER_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export async function uuidV5(namespace: string, name: string): Promise<string> {
  const ns = uuidBytes(namespace);
  const text = new TextEncoder().encode(name);
  const input = new Uint8Array(ns.length + text.length);
  input.set(ns);
  input.set(text, ns.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", input)).subarray(0, 16);
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id 0001 gives a legacy user without `localId`/`Id` (docs/spec/cli.md §9.1). */
export function legacyUserId(normalisedEmail: string): Promise<string> {
  return uuidV5(LEGACY_USER_NAMESPACE, `tikti:legacy-user:${normalisedEmail}`);
}

/**
 * The id of a membership created by a migration: derived from tenant and user, so a re-run after a
 * crash, or a run on a copy of the data, writes the same record (not in the spec; any UUID is valid).
 */
export function migrationMembershipId(tenantId: string, userId: string): Promise<string> {
  return uuidV5(LEGACY_USER_NAMESPACE, `tikti:migration-membership:${tenantId}\u0000${userId}`);
}
