/**
 * Page size and page tokens of the listing routes (docs/spec/api.md §7.2, §8.3).
 *
 * A token is the base64url (no padding) of `<kind>:<last item key>`: opaque to clients, stateless
 * for every replica, and stable under concurrent inserts and deletes (the next page starts after
 * the last key shown, whatever happened meanwhile). Anything that is not a canonical token of the
 * expected kind is `400 INVALID_ARGUMENT`.
 */
import { toBase64Url } from "../../bytes.ts";
import { TiktiError } from "../../errors.ts";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface PageRequest {
  /** 1–200; default 50. */
  pageSize?: number | undefined;
  /** `""` or absent = first page. */
  pageToken?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** `""` on the last page. */
  nextPageToken: string;
}

export type PageTokenKind = "tenants" | "members";

function invalid(field: "pageSize" | "pageToken", reason: string): TiktiError {
  return new TiktiError("INVALID_ARGUMENT", { details: { [field]: reason } });
}

export function checkPageSize(pageSize: number | undefined): number {
  if (pageSize === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw invalid("pageSize", `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return pageSize;
}

export function encodePageToken(kind: PageTokenKind, lastKey: string): string {
  return toBase64Url(new TextEncoder().encode(`${kind}:${lastKey}`));
}

/** The last key of the previous page, or `null` for the first page. */
export function decodePageToken(kind: PageTokenKind, token: string | undefined): string | null {
  if (token === undefined || token === "") return null;
  const bad = () => invalid("pageToken", "not a page token of this listing");
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let text: string;
  try {
    const bin = atob(token.replace(/-/g, "+").replace(/_/g, "/"));
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    throw bad();
  }
  const prefix = `${kind}:`;
  if (!text.startsWith(prefix) || text.length === prefix.length) throw bad();
  const lastKey = text.slice(prefix.length);
  // Only the canonical spelling is accepted (no padding, no trailing bits).
  if (encodePageToken(kind, lastKey) !== token) throw bad();
  return lastKey;
}

/** Code-unit order, the same for every replica and runtime (no locale collation). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
