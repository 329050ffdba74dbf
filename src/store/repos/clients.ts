/**
 * Clients (audiences): `clients:{tenantId}` (client id → Client JSON; spec/storage.md §2.1,
 * spec/api.md §10). Reads are normalised as api.md §2.11.8 requires: `type` upper-cased,
 * `allowedGrantTypes` and `defaultScopes` always arrays.
 */
import type { Client } from "../../domain/types.ts";
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import { decodeClient, encodeClient } from "./codec.ts";
import { isoNow, type RepoDeps } from "./deps.ts";
import { compareKeys } from "./paging.ts";

export interface NewClient {
  clientId: string;
  /** bcrypt hash of the generated secret (cost 10, Go compatibility). */
  secretHash: string;
  /** Case-insensitive; default `SERVICE`. */
  type?: string;
  /** Default `["token_exchange"]`. */
  allowedGrantTypes?: readonly string[];
  /** Default `[]`. */
  defaultScopes?: readonly string[];
  allowedEventTypes?: readonly string[];
  maxTtlSeconds?: number;
}

export interface ClientsRepo {
  /** ★ `HSETNX clients:{t} <clientId>` with status `ACTIVE`; taken → `409 CLIENT_EXISTS`. */
  create(tenantId: string, input: NewClient): Promise<Client>;
  /** `null` when absent; corrupt → `500 INTERNAL`. */
  get(tenantId: string, clientId: string): Promise<Client | null>;
  /** Sorted by client id; any corrupt value → `500 INTERNAL`. */
  list(tenantId: string): Promise<Client[]>;
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

  return { create, get, list };
}
