/**
 * Clients (audiences): `clients:{tenantId}` (client id → Client JSON; docs/spec/storage.md §2.1,
 * docs/spec/api.md §10). Reads are normalised as docs/spec/api.md §2.11.8 requires: `type` upper-cased,
 * `allowedGrantTypes` and `defaultScopes` always arrays.
 */
import type { Client, ClientJwks } from "../../domain/types.ts";
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import { decodeClient, encodeClient } from "./codec.ts";
import { isoNow, type RepoDeps } from "./deps.ts";
import { compareKeys } from "./paging.ts";

export interface NewClient {
  clientId: string;
  /** `sha256:<hex>` of the generated secret (docs/spec/oauth.md §2). */
  secretHash: string;
  /** Case-insensitive; default `SERVICE`. */
  type?: string;
  /** Default `["token_exchange"]`. */
  allowedGrantTypes?: readonly string[];
  /** Default `[]`. */
  defaultScopes?: readonly string[];
  allowedEventTypes?: readonly string[];
  maxTtlSeconds?: number;
  roles?: readonly string[];
  jwks?: ClientJwks;
}

/** Attempts of a read-modify-write before `409 CONCURRENT_UPDATE`. */
const MODIFY_ATTEMPTS = 5;

export interface ClientsRepo {
  /** ★ `HSETNX clients:{t} <clientId>` with status `ACTIVE`; taken → `409 CLIENT_EXISTS`. */
  create(tenantId: string, input: NewClient): Promise<Client>;
  /** `null` when absent; corrupt → `500 INTERNAL`. */
  get(tenantId: string, clientId: string): Promise<Client | null>;
  /** Sorted by client id; any corrupt value → `500 INTERNAL`. */
  list(tenantId: string): Promise<Client[]>;
  /**
   * Read-modify-write with compare-and-set on the stored bytes (`CAS_HSET`), retried on a lost
   * race; `change` returns the next record, or `null` to write nothing. Absent → `null`. Losing
   * every attempt → `409 CONCURRENT_UPDATE`.
   */
  modify(
    tenantId: string,
    clientId: string,
    change: (current: Client) => Client | null,
  ): Promise<Client | null>;
  /**
   * One compare-and-set: writes `next` only if the stored value still encodes to `expected`
   * (e.g. the legacy-hash upgrade of docs/spec/oauth.md §2, where losing to a concurrent writer is fine).
   */
  replaceIf(expected: Client, next: Client): Promise<boolean>;
}

export function createClientsRepo(deps: RepoDeps): ClientsRepo {
  const { kv, clock } = deps;

  /** The hash key and field are authoritative for `tenantId` and `clientId`. */
  const decode = (tenantId: string, clientId: string, text: string): Client => ({
    ...decodeClient(keys.clients(tenantId), tenantId, clientId, text),
    tenantId,
    clientId,
  });

  async function create(tenantId: string, input: NewClient): Promise<Client> {
    const client: Client = {
      clientId: input.clientId,
      tenantId,
      secretHash: input.secretHash,
      type: (input.type ?? "SERVICE").toUpperCase(),
      allowedGrantTypes: [...(input.allowedGrantTypes ?? ["token_exchange"])],
      defaultScopes: [...(input.defaultScopes ?? [])],
      status: "ACTIVE",
      allowedEventTypes: input.allowedEventTypes ? [...input.allowedEventTypes] : undefined,
      maxTtlSeconds: input.maxTtlSeconds,
      roles: input.roles ? [...input.roles] : undefined,
      jwks: input.jwks,
      createdAt: isoNow(clock),
    };
    if (!(await kv.hsetnx(keys.clients(tenantId), client.clientId, encodeClient(client)))) {
      throw new TiktiError("CLIENT_EXISTS");
    }
    return client;
  }

  async function get(tenantId: string, clientId: string): Promise<Client | null> {
    const text = await kv.hget(keys.clients(tenantId), clientId);
    return text === null ? null : decode(tenantId, clientId, text);
  }

  async function list(tenantId: string): Promise<Client[]> {
    const all = await kv.hgetall(keys.clients(tenantId));
    return [...all.keys()].sort(compareKeys).map((id) => decode(tenantId, id, all.get(id) as string));
  }

  async function modify(
    tenantId: string,
    clientId: string,
    change: (current: Client) => Client | null,
  ): Promise<Client | null> {
    const key = keys.clients(tenantId);
    for (let attempt = 0; attempt < MODIFY_ATTEMPTS; attempt++) {
      const text = await kv.hget(key, clientId);
      if (text === null) return null;
      const current = decode(tenantId, clientId, text);
      const next = change(current);
      if (next === null) return current;
      const written = { ...next, tenantId, clientId };
      if (await kv.casHset(key, clientId, text, encodeClient(written))) return written;
    }
    throw new TiktiError("CONCURRENT_UPDATE");
  }

  async function replaceIf(expected: Client, next: Client): Promise<boolean> {
    const key = keys.clients(expected.tenantId);
    const text = await kv.hget(key, expected.clientId);
    if (text === null) return false;
    // Compared on the canonical encoding: Go-era bytes may differ in field order or spacing.
    const stored = decode(expected.tenantId, expected.clientId, text);
    if (encodeClient(stored) !== encodeClient(expected)) return false;
    return kv.casHset(key, expected.clientId, text, encodeClient({ ...next, tenantId: expected.tenantId }));
  }

  return { create, get, list, modify, replaceIf };
}
