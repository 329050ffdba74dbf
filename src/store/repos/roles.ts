/**
 * Tenant roles: `roles:{tenantId}` (role name → Role JSON; docs/spec/storage.md §2.1, docs/spec/api.md §9).
 *
 * A value that does not parse, or whose `name` differs from its hash field, is corrupt: reading
 * that role answers `500 INTERNAL`, and the exchange treats it as granting nothing.
 */
import type { Role } from "../../domain/types.ts";
import { keys } from "../keys.ts";
import { decodeRole, dedupe, encodeRole } from "./codec.ts";
import type { RepoDeps } from "./deps.ts";
import { compareKeys } from "./paging.ts";

export interface RoleInput {
  name: string;
  permissions: readonly string[];
}

export interface RolesRepo {
  /** ★ `HSET roles:{t} <name>`: create or replace; unknown fields of a readable old value are kept. */
  put(tenantId: string, role: RoleInput): Promise<Role>;
  /** `null` when absent; corrupt → `500 INTERNAL`. */
  get(tenantId: string, name: string): Promise<Role | null>;
  /** Every role sorted by name; any corrupt role → `500 INTERNAL`. */
  list(tenantId: string): Promise<Role[]>;
  /**
   * The union of the permissions of `roleNames` (first-occurrence order, de-duplicated), for the
   * exchange (docs/spec/tokens.md §7). Missing and corrupt roles grant nothing; corrupt ones are logged.
   */
  permissionsOf(tenantId: string, roleNames: readonly string[]): Promise<string[]>;
}

export function createRolesRepo(deps: RepoDeps): RolesRepo {
  const { kv, logger } = deps;

  const decode = (tenantId: string, name: string, text: string): Role =>
    decodeRole(keys.roles(tenantId), tenantId, name, text);

  async function put(tenantId: string, input: RoleInput): Promise<Role> {
    const key = keys.roles(tenantId);
    const old = await kv.hget(key, input.name);
    let raw: Role["raw"];
    if (old !== null) {
      try {
        raw = decode(tenantId, input.name, old).raw;
      } catch {
        // A corrupt old value is replaced whole.
      }
    }
    const role: Role = {
      name: input.name,
      scope: "TENANT",
      tenantId,
      permissions: dedupe(input.permissions),
      raw,
    };
    await kv.hset(key, input.name, encodeRole(role));
    return role;
  }

  async function get(tenantId: string, name: string): Promise<Role | null> {
    const text = await kv.hget(keys.roles(tenantId), name);
    return text === null ? null : decode(tenantId, name, text);
  }

  async function list(tenantId: string): Promise<Role[]> {
    const all = await kv.hgetall(keys.roles(tenantId));
    return [...all.keys()].sort(compareKeys).map((name) => decode(tenantId, name, all.get(name) as string));
  }

  async function permissionsOf(tenantId: string, roleNames: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const name of dedupe(roleNames)) {
      // A store failure still aborts the exchange; only a corrupt value is skipped.
      const text = await kv.hget(keys.roles(tenantId), name);
      if (text === null) continue;
      try {
        out.push(...decode(tenantId, name, text).permissions);
      } catch (err) {
        logger.warn("corrupt role grants nothing", { tenantId, role: name, err });
      }
    }
    return dedupe(out);
  }

  return { put, get, list, permissionsOf };
}
