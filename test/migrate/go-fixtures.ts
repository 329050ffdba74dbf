/**
 * Writes a keyspace laid out exactly as Go Tikti leaves it (docs/spec/storage.md §2, §6): the legacy
 * `users` hash keyed by the email as old releases stored it (mixed case), `users_v2` records with
 * `localId` and with the legacy `Id`, Go-era `userByEmail:` keys with mixed case, entries readers
 * ignore, memberships (Go wrote `"roles": null` for a nil slice), roles without `scope`/`tenantId`,
 * clients without `allowedGrantTypes`, one-time codes, and keys Tikti must leave alone.
 *
 * Values are literal JSON strings in Go's field order (struct order, `time.Time` as RFC 3339 with
 * nanoseconds), written with plain HSET/SET/SADD — never through Tikti's encoders. Password and
 * client-secret hashes come from an independent bcrypt implementation (Apache's `htpasswd -B`,
 * Debian package apache2-utils), never from Tikti's hasher.
 */
import { execFileSync } from "node:child_process";
import type { KV } from "../../src/store/kv.ts";

let depsChecked = false;
async function ensureHtpasswd(): Promise<void> {
  if (depsChecked) return;
  // scripts/system-deps.mjs lists apache2-utils; plain JS without types, loaded by a computed specifier.
  const specifier: string = new URL("../../scripts/system-deps.mjs", import.meta.url).href;
  const mod = (await import(specifier)) as { ensureSystemDeps: () => void };
  mod.ensureSystemDeps();
  depsChecked = true;
}

const hashCache = new Map<string, string>();

/**
 * bcrypt cost 10 of `password` by htpasswd (`$2y$`). Go's golang.org/x/crypto/bcrypt writes
 * `$2a$`, newer libraries `$2b$`: for the same salt and any password the three variants compute
 * the same hash (the `$2y$`/`$2b$` fixes concern crypt_blowfish's sign-extension bug and OpenBSD's
 * 255-byte wrap, neither of which applies here), so `prefix` relabels the htpasswd output.
 */
export async function independentBcrypt(
  password: string,
  prefix: "2a" | "2b" | "2y" = "2a",
): Promise<string> {
  await ensureHtpasswd();
  let hash = hashCache.get(password);
  if (!hash) {
    const out = execFileSync("htpasswd", ["-bnBC", "10", "", password], { encoding: "utf8" });
    hash = out.trim().replace(/^:/, "");
    if (!/^\$2y\$10\$[./A-Za-z0-9]{53}$/.test(hash)) throw new Error(`unexpected htpasswd output: ${hash}`);
    hashCache.set(password, hash);
  }
  return `$${prefix}$${hash.slice(4)}`;
}

/** One user of the fixture and what the migration must make of it. */
export interface GoUser {
  label: string;
  /** The email exactly as Go stored it. */
  storedEmail: string;
  normalised: string;
  id: string;
  /** The password that must keep working after the migration. */
  password: string;
  /** Tenants the user must be a member of after `tikti-migrate --default-tenant main`. */
  tenantsAfter: string[];
  /** Home tenant after the migration (`undefined` = none). */
  companyIdAfter?: string;
}

export const DEFAULT_TENANT = "main";

/** UUIDv5(URL namespace, "tikti:legacy-user:<normalised>"), computed with Python's `uuid.uuid5`. */
export const ERIN_ID = "42dd8b69-a753-5e90-8cc4-3c77a1423f23";

export const IDS = {
  carol: "3f8e1c52-6d0a-4b7e-9a41-0c2d7e5b9f10",
  dave: "7b2d9e14-1f3c-4a8b-b6d5-2e9f0a1c3d47",
  erin: ERIN_ID,
  frank: "c41a7f0e-8b2d-4e6f-a913-5d7c2b0e8f61",
  zoe: "e5d3b1a9-7c8e-4f20-8d6b-1a2c3e4f5a6b",
  bob: "0b5c6a2e-9d8f-4c1b-a7e3-6f2d1c0b9a88",
  grace: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
  henry: "1d2c3b4a-5f6e-4d7c-9b8a-0f1e2d3c4b5a",
} as const;

export const PASSWORDS = {
  carol: "carol-Legacy-pass-1",
  dave: "dave legacy passphrase",
  erin: "erin-without-id-3",
  frankOld: "frank-old-legacy-pw",
  frank: "frank-current-pw-9",
  zoe: "pässwörd-Zoë-ü",
  bob: "bob-go-era-secret",
  grace: "grace-with-capital-Id",
  henry: "henry-orphan-company",
} as const;

export const CLIENT_SECRET = "go-era-client-secret";

/** Every user that exists after the migration (frank once, with his current password). */
export const USERS: readonly GoUser[] = [
  {
    label: "carol (legacy, Id, mixed-case key, companyId acme)",
    storedEmail: "Carol.Legacy@Example.COM",
    normalised: "carol.legacy@example.com",
    id: IDS.carol,
    password: PASSWORDS.carol,
    tenantsAfter: ["acme"],
    companyIdAfter: "acme",
  },
  {
    label: "dave (legacy, localId, COMPANY_ADMIN, no company)",
    storedEmail: "dave@legacy.example",
    normalised: "dave@legacy.example",
    id: IDS.dave,
    password: PASSWORDS.dave,
    tenantsAfter: [DEFAULT_TENANT],
    companyIdAfter: DEFAULT_TENANT,
  },
  {
    label: "erin (legacy, no id, no email field, empty role/status)",
    storedEmail: "Erin@Legacy.Example",
    normalised: "erin@legacy.example",
    id: IDS.erin,
    password: PASSWORDS.erin,
    tenantsAfter: [DEFAULT_TENANT],
    companyIdAfter: DEFAULT_TENANT,
  },
  {
    label: "frank (legacy and users_v2, password changed since)",
    storedEmail: "Frank@Example.com",
    normalised: "frank@example.com",
    id: IDS.frank,
    password: PASSWORDS.frank,
    tenantsAfter: ["globex"],
    companyIdAfter: "globex",
  },
  {
    label: "zoë (legacy, non-ASCII password and email, $2y$)",
    storedEmail: "Zoë@Example.ORG",
    normalised: "zoë@example.org",
    id: IDS.zoe,
    password: PASSWORDS.zoe,
    tenantsAfter: [DEFAULT_TENANT],
    companyIdAfter: DEFAULT_TENANT,
  },
  {
    label: "bob (users_v2, mixed-case index key, membership with a tenant role)",
    storedEmail: "Bob@Example.com",
    normalised: "bob@example.com",
    id: IDS.bob,
    password: PASSWORDS.bob,
    tenantsAfter: ["acme"],
    companyIdAfter: "acme",
  },
  {
    label: "grace (users_v2 record with legacy Id, companyId globex, no membership)",
    storedEmail: "grace@example.com",
    normalised: "grace@example.com",
    id: IDS.grace,
    password: PASSWORDS.grace,
    tenantsAfter: ["globex"],
    companyIdAfter: "globex",
  },
  {
    label: "henry (users_v2, companyId of a tenant that does not exist)",
    storedEmail: "henry@example.com",
    normalised: "henry@example.com",
    id: IDS.henry,
    password: PASSWORDS.henry,
    tenantsAfter: [],
    companyIdAfter: "gone-tenant",
  },
];

export const user = (label: keyof typeof IDS): GoUser => USERS.find((u) => u.id === IDS[label])!;

/** What a full run with `--default-tenant main` must count on this fixture (docs/spec/cli.md §9). */
export const EXPECTED_COUNTS = {
  "0001": {
    legacyUsers: 5,
    // frank's users_v2 record exists but only under a mixed-case key: claiming the normalised key
    // is a write, so he counts as migrated.
    migrated: 5,
    skipped: 0,
    conflicts: 0,
    // dave, erin, zoë: no membership and no companyId (frank has globex, bob acme, grace/henry a companyId).
    membershipsCreated: 3,
    errors: 0,
  },
  "0002": {
    // Bob@, Frank@ (Go-era spellings), ghost@, old-bob@, plus the five keys 0001 wrote and grace/henry.
    indexKeys: 11,
    normalised: 1, // Bob@Example.com → bob@example.com
    merged: 1, // Frank@Example.com: 0001 already claimed frank@example.com
    removed: 2, // ghost@ (no user), old-bob@ (user has another email)
    conflicts: 0,
    errors: 0,
  },
  "0003": {
    // carol acme, frank globex, bob acme, grace globex, henry gone-tenant + dave/erin/zoë main.
    usersWithCompany: 8,
    membershipsCreated: 3, // carol acme, frank globex, grace globex
    skipped: 4, // bob (Go membership), dave/erin/zoë (0001 step 2)
    missingTenants: 1, // henry
    errors: 0,
  },
  "0007": {
    records: 8,
    // frank, bob, grace, henry keep Go's shape until 0007: 0003 finds their companyId set and does
    // not rewrite them. The others were written by 0001 through the repositories (authSource set).
    updated: 4,
    skipped: 4,
    errors: 0,
  },
} as const;

/** users_v2 records 0007 must complete (Go-era records without authSource). */
export const GO_ERA_RECORDS_WITHOUT_AUTH_SOURCE = [IDS.bob, IDS.grace, IDS.henry, IDS.frank];

/** Writes the fixture into an empty store. `nowSeconds` dates the one-time codes. */
export async function writeGoFixtures(kv: KV, nowSeconds = Math.floor(Date.now() / 1000)): Promise<void> {
  const h = {
    carol: await independentBcrypt(PASSWORDS.carol, "2a"),
    dave: await independentBcrypt(PASSWORDS.dave, "2b"),
    erin: await independentBcrypt(PASSWORDS.erin, "2a"),
    frankOld: await independentBcrypt(PASSWORDS.frankOld, "2a"),
    frank: await independentBcrypt(PASSWORDS.frank, "2a"),
    zoe: await independentBcrypt(PASSWORDS.zoe, "2y"),
    bob: await independentBcrypt(PASSWORDS.bob, "2a"),
    grace: await independentBcrypt(PASSWORDS.grace, "2a"),
    henry: await independentBcrypt(PASSWORDS.henry, "2a"),
    client: await independentBcrypt(CLIENT_SECRET, "2a"),
  };

  // Tenants (Go: {"id","slug","name","status","createdAt"}).
  await kv.hset(
    "tenants",
    "acme",
    `{"id":"acme","slug":"acme","name":"Acme Corp","status":"ACTIVE","createdAt":"2023-05-01T09:00:00.123456789Z"}`,
  );
  await kv.hset(
    "tenants",
    "globex",
    `{"id":"globex","slug":"globex","name":"Globex","status":"ACTIVE","createdAt":"2023-06-01T09:00:00Z"}`,
  );

  // Legacy `users` hash: field = the email as the first releases stored it.
  await kv.hset(
    "users",
    "Carol.Legacy@Example.COM",
    `{"Id":"${IDS.carol}","email":"Carol.Legacy@Example.COM","password":"${h.carol}","role":"COMPANY_EMPLOYEE","status":"ACTIVE","companyId":"acme","createdAt":"2022-01-10T08:00:00.5Z"}`,
  );
  await kv.hset(
    "users",
    "dave@legacy.example",
    `{"localId":"${IDS.dave}","email":"dave@legacy.example","password":"${h.dave}","role":"COMPANY_ADMIN","status":"ACTIVE","createdAt":"2022-02-11T08:00:00Z","nickname":"D"}`,
  );
  await kv.hset("users", "Erin@Legacy.Example", `{"password":"${h.erin}","role":"","status":""}`);
  await kv.hset(
    "users",
    "Frank@Example.com",
    `{"Id":"${IDS.frank}","email":"Frank@Example.com","password":"${h.frankOld}","role":"COMPANY_EMPLOYEE","status":"ACTIVE","createdAt":"2021-12-01T00:00:00Z"}`,
  );
  await kv.hset(
    "users",
    "Zoë@Example.ORG",
    `{"Id":"${IDS.zoe}","email":"Zoë@Example.ORG","password":"${h.zoe}","role":"COMPANY_EMPLOYEE","status":"ACTIVE","createdAt":"2022-03-03T03:03:03Z"}`,
  );

  // users_v2 as Go Tikti wrote it (no authSource/externalSubject; `tokenVersion` only once bumped).
  await kv.hset(
    "users_v2",
    IDS.frank,
    `{"localId":"${IDS.frank}","email":"Frank@Example.com","password":"${h.frank}","role":"COMPANY_EMPLOYEE","status":"ACTIVE","companyId":"globex","tokenVersion":1,"createdAt":"2021-12-01T00:00:00Z"}`,
  );
  await kv.hset(
    "users_v2",
    IDS.bob,
    `{"localId":"${IDS.bob}","email":"Bob@Example.com","password":"${h.bob}","role":"COMPANY_EMPLOYEE","status":"ACTIVE","companyId":"acme","tokenVersion":2,"createdAt":"2024-01-02T03:04:05.678901234Z","legacyFlag":true}`,
  );
  await kv.hset(
    "users_v2",
    IDS.grace,
    `{"Id":"${IDS.grace}","email":"grace@example.com","password":"${h.grace}","role":"COMPANY_EMPLOYEE","status":"ACTIVE","companyId":"globex","createdAt":"2024-02-02T00:00:00Z"}`,
  );
  await kv.hset(
    "users_v2",
    IDS.henry,
    `{"localId":"${IDS.henry}","email":"henry@example.com","password":"${h.henry}","role":"COMPANY_EMPLOYEE","status":"ACTIVE","companyId":"gone-tenant","createdAt":"2024-03-02T00:00:00Z"}`,
  );

  // Email index: Go-era mixed-case keys, normalised keys, and entries readers ignore.
  await kv.set("userByEmail:Frank@Example.com", IDS.frank);
  await kv.set("userByEmail:Bob@Example.com", IDS.bob);
  await kv.set("userByEmail:grace@example.com", IDS.grace);
  await kv.set("userByEmail:henry@example.com", IDS.henry);
  await kv.set("userByEmail:ghost@example.com", "5e0c2d7a-0000-4000-8000-00000000dead"); // no such user
  await kv.set("userByEmail:old-bob@example.com", IDS.bob); // left by an email change

  // Memberships: Go wrote `null` for a nil roles slice; bob has a tenant role.
  await kv.hset(
    "memberships:acme",
    IDS.bob,
    `{"id":"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","tenantId":"acme","userId":"${IDS.bob}","roles":["reader"],"createdAt":"2024-01-02T03:05:00Z"}`,
  );
  await kv.sadd(`membershipsByUser:${IDS.bob}`, "acme");

  // Roles without scope/tenantId (legacy shape).
  await kv.hset("roles:acme", "reader", `{"name":"reader","permissions":["docs:read"]}`);
  await kv.hset("roles:globex", "worker", `{"name":"worker","permissions":["codeq:claim","codeq:result"]}`);

  // Clients without allowedGrantTypes (Go-era); lower-case type as some Go versions stored it.
  await kv.hset(
    "clients:acme",
    "docs-api",
    `{"clientId":"docs-api","tenantId":"acme","secretHash":"${h.client}","type":"service","defaultScopes":["docs:read"],"status":"ACTIVE"}`,
  );
  await kv.hset(
    "clients:acme",
    "billing-worker",
    `{"clientId":"billing-worker","tenantId":"acme","secretHash":"${h.client}","type":"SERVICE","defaultScopes":["codeq:claim","codeq:result"],"status":"ACTIVE"}`,
  );
  await kv.hset(
    "clients:globex",
    "billing-worker",
    `{"clientId":"billing-worker","tenantId":"globex","secretHash":"${h.client}","type":"SERVICE","defaultScopes":["codeq:claim"],"status":"ACTIVE"}`,
  );

  // One-time codes: the current shape with a TTL, and Go's legacy `oobs` hash (not read).
  await kv.hset("oob:go-era-code-1", "email", "bob@example.com");
  await kv.hset("oob:go-era-code-1", "reqType", "PASSWORD_RESET");
  await kv.hset("oob:go-era-code-1", "expiresAt", String(nowSeconds + 900));
  await kv.expire("oob:go-era-code-1", 900);
  await kv.hset("oobs", "legacy-code", `{"email":"bob@example.com","reqType":"EMAIL_SIGNIN"}`);

  // Go-only keys Tikti ignores and must leave alone.
  await kv.set("managedClients:acme", `["docs-api"]`);
  await kv.hset("saml_users_v2", "nameid-1", `{"userId":"${IDS.bob}"}`);
}
