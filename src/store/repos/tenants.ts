/**
 * Tenants: the `tenants` hash (docs/spec/storage.md §2, §4.3; docs/spec/api.md §7).
 */
import type { Tenant, TenantStatus } from "../../domain/types.ts";
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import { casHashField } from "./cas.ts";
import { decodeTenant, encodeTenant } from "./codec.ts";
import { isoNow, type RepoDeps } from "./deps.ts";
import {
  checkPageSize,
  compareKeys,
  decodePageToken,
  encodePageToken,
  type Page,
  type PageRequest,
} from "./paging.ts";

export interface NewTenant {
  /** Default a new UUID v4. The grammar (docs/spec/api.md §2.10) is checked by the caller. */
  id?: string;
  slug: string;
  name: string;
}

export interface TenantChange {
  before: Tenant;
  after: Tenant;
  changed: boolean;
}

export interface TenantsRepo {
  /** ★ `HSETNX tenants <id>` with status `ACTIVE`; taken → `409 TENANT_EXISTS`. */
  create(input: NewTenant): Promise<Tenant>;
  /** `null` when absent; a corrupt value → `500 INTERNAL`. */
  get(id: string): Promise<Tenant | null>;
  /** Ordered by id; `pageSize` 1–200 (default 50); bad size or token → `400 INVALID_ARGUMENT`. */
  list(page?: PageRequest): Promise<Page<Tenant>>;
  /** ★ `CAS_HSET tenants <id>`; absent → `404 TENANT_NOT_FOUND`; same status → no write. */
  setStatus(id: string, status: TenantStatus): Promise<TenantChange>;
}

const TENANTS = keys.tenants();

export function createTenantsRepo(deps: RepoDeps): TenantsRepo {
  const { kv, clock } = deps;

  const decode = (id: string, text: string): Tenant => ({ ...decodeTenant(TENANTS, id, text), id });

  async function create(input: NewTenant): Promise<Tenant> {
    const tenant: Tenant = {
      id: input.id ?? crypto.randomUUID(),
      slug: input.slug,
      name: input.name,
      status: "ACTIVE",
      createdAt: isoNow(clock),
    };
    if (!(await kv.hsetnx(TENANTS, tenant.id, encodeTenant(tenant)))) throw new TiktiError("TENANT_EXISTS");
    return tenant;
  }

  async function get(id: string): Promise<Tenant | null> {
    const text = await kv.hget(TENANTS, id);
    return text === null ? null : decode(id, text);
  }

  async function list(page: PageRequest = {}): Promise<Page<Tenant>> {
    const size = checkPageSize(page.pageSize);
    const after = decodePageToken("tenants", page.pageToken);
    const all = await kv.hgetall(TENANTS);
    const ids = [...all.keys()].filter((id) => after === null || id > after).sort(compareKeys);
    const shown = ids.slice(0, size);
    const items = shown.map((id) => decode(id, all.get(id) as string));
    const last = shown[shown.length - 1];
    return {
      items,
      nextPageToken: ids.length > size && last !== undefined ? encodePageToken("tenants", last) : "",
    };
  }

  async function setStatus(id: string, status: TenantStatus): Promise<TenantChange> {
    let before: Tenant | undefined;
    const outcome = await casHashField(kv, TENANTS, id, (text) => {
      if (text === null) throw new TiktiError("TENANT_NOT_FOUND");
      before = decode(id, text);
      return before.status === status ? null : encodeTenant({ ...before, status });
    });
    const first = before as Tenant;
    return outcome.written && outcome.after !== null
      ? { before: first, after: decode(id, outcome.after), changed: true }
      : { before: first, after: first, changed: false };
  }

  return { create, get, list, setStatus };
}
