/**
 * Email-domain discovery (docs/spec/saml.md §10, §11.4): `<emailDomainIndexKey>:<domain>` → tenant id,
 * written with `SET NX` and removed with `CAS_DEL` against the tenant id (docs/spec/storage.md §4.3), so a
 * domain belongs to at most one tenant and a tenant can only remove its own mapping. Domains arrive
 * normalised (src/saml/discovery.ts).
 */
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export interface DomainRepo {
  /** Domains mapped to `tenantId`, sorted (scan of the prefix). */
  list(tenantId: string): Promise<string[]>;
  /** `SET NX`; mapped to this tenant already → no-op; elsewhere → `409 DOMAIN_CONFLICT`. */
  put(tenantId: string, domain: string): Promise<void>;
  /** `CAS_DEL` with the tenant id; not mapped to this tenant → `404 DOMAIN_NOT_FOUND`. */
  delete(tenantId: string, domain: string): Promise<void>;
  /** The tenant a domain is mapped to, or null. */
  lookup(domain: string): Promise<string | null>;
}

/** `saml:discover:domain` (config `saml.discover.emailDomainIndexKey`) → `saml:discover:domain:`. */
export function domainKeyPrefix(emailDomainIndexKey: string): string {
  return `${emailDomainIndexKey}:`;
}

export function createDomainRepo(
  deps: Pick<RepoDeps, "kv">,
  options: { emailDomainIndexKey: string },
): DomainRepo {
  const { kv } = deps;
  const prefix = domainKeyPrefix(options.emailDomainIndexKey);
  const keyOf = (domain: string) => keys.samlDomain(prefix, domain);

  return {
    async list(tenantId) {
      const found: string[] = [];
      for await (const batch of kv.scan(prefix)) {
        for (const key of batch) {
          if ((await kv.get(key)) === tenantId) found.push(key.slice(prefix.length));
        }
      }
      return [...new Set(found)].sort();
    },
    async put(tenantId, domain) {
      // A concurrent delete between the NX attempt and the read is retried once.
      for (let attempt = 0; attempt < 2; attempt++) {
        if (await kv.set(keyOf(domain), tenantId, { nx: true })) return;
        const owner = await kv.get(keyOf(domain));
        if (owner === tenantId) return;
        if (owner !== null) {
          throw new TiktiError("DOMAIN_CONFLICT", {
            message: `domain "${domain}" is already mapped to tenant "${owner}"`,
          });
        }
      }
      throw new TiktiError("CONCURRENT_UPDATE");
    },
    async delete(tenantId, domain) {
      if (!(await kv.casDel(keyOf(domain), tenantId))) throw new TiktiError("DOMAIN_NOT_FOUND");
    },
    async lookup(domain) {
      const tid = await kv.get(keyOf(domain));
      return tid === null || tid === "" ? null : tid;
    },
  };
}
