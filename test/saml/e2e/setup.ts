/**
 * One end-to-end environment: the real app with SAML enabled on a given store (embedded or Redis),
 * SP key files in a temp dir, tenant `acme` with a token-exchange client, and a pysaml2 IdP loaded
 * with Tikti's own SP metadata (GET /saml/metadata) and registered through the admin API by its
 * metadata URL (loopback http is accepted because the test config is in dev mode, docs/spec/saml.md §16.3).
 */
import type { KV } from "../../../src/store/kv.ts";
import {
  buildSamlTestApp,
  createTenant,
  makeCert,
  rsaKey,
  type SamlTestApp,
  type SpFiles,
  spFiles,
} from "../metadata/helpers.ts";
import { type PysamlIdp, startPysamlIdp, type TestUser } from "./pysaml-idp.ts";

export const TID = "acme";
export const CLIENT = "app-backend";
export const CLIENT_SCOPES = ["codeq:claim", "codeq:result"];

export interface E2E {
  t: SamlTestApp;
  idp: PysamlIdp;
  files: SpFiles;
  /** `PUT /tenants/:tid/saml/idp` with the IdP's metadata URL and extra settings. */
  registerIdp(settings?: Record<string, unknown>, tid?: string): Promise<Record<string, unknown>>;
  /** Number of users and of live SAML sessions in the store. */
  counts(): Promise<{ users: number; sessions: number }>;
  close(): Promise<void>;
}

export async function setupE2E(
  store: KV,
  options: { user?: TestUser; saml?: Record<string, unknown> } = {},
): Promise<E2E> {
  const files = await spFiles();
  await files.install("current", await makeCert({ key: await rsaKey("e2e-sp"), cn: "tikti-sp" }));
  const t = await buildSamlTestApp({ store, files, ...(options.saml ? { saml: options.saml } : {}) });
  await createTenant(t, TID);
  const client = await t.call(`/tenants/${TID}/clients`, {
    json: {
      clientId: CLIENT,
      type: "SERVICE",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: CLIENT_SCOPES,
    },
  });
  if (client.status !== 200) throw new Error(`client: ${client.status} ${await client.text()}`);
  const metadata = await t.app.request("https://id.test.example/saml/metadata");
  if (metadata.status !== 200) throw new Error(`SP metadata: ${metadata.status}`);
  const idp = await startPysamlIdp({
    spMetadataXml: await metadata.text(),
    ...(options.user ? { user: options.user } : {}),
  });

  const registerIdp = async (settings: Record<string, unknown> = {}, tid = TID) => {
    const res = await t.call(`/tenants/${tid}/saml/idp`, {
      method: "PUT",
      json: { metadataUrl: idp.metadataUrl, ...settings },
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`register IdP: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  await registerIdp();

  return {
    t,
    idp,
    files,
    registerIdp,
    async counts() {
      let sessions = 0;
      for await (const batch of store.scan("saml:sid:")) sessions += batch.length;
      return { users: await store.hlen("users_v2"), sessions };
    },
    async close() {
      await idp.stop();
      await files.cleanup();
    },
  };
}
