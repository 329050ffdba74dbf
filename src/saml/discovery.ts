/**
 * Email-domain discovery (docs/spec/saml.md §10, §11.4): the grammar of a domain and of a discovery
 * email. The mapping itself is the repository src/store/repos/saml-domains.ts.
 */
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/** Lower-cased, one trailing dot removed, then the grammar of §11.4; `null` when invalid. */
export function normalizeDomain(input: string): string | null {
  const d = input.toLowerCase().replace(/\.$/, "");
  return DOMAIN_PATTERN.test(d) ? d : null;
}

/**
 * The domain of a discovery email (§10): trimmed, exactly one `@`, a non-empty local part and a
 * valid domain; `null` otherwise.
 */
export function emailDomain(email: string): string | null {
  const trimmed = email.trim();
  const [local, domain, ...more] = trimmed.split("@");
  if (domain === undefined || more.length > 0 || local === "") return null;
  return normalizeDomain(domain);
}
