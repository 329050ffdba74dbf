/**
 * How the `token client-credentials` and `token introspect` commands authenticate as an OAuth
 * client (docs/spec/oauth.md §2, §10): `--client-secret-file` → `client_secret_basic`, `--private-key` +
 * `--kid` → `private_key_jwt` with an assertion signed here by jose. The API key is never sent to
 * `/oauth/*`: the client's own credential is the whole point of these routes.
 */
import { createPrivateKey, type JsonWebKey, type KeyObject, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { SignJWT } from "jose";
import { CliError, usage } from "../../errors.ts";
import type { HttpClient } from "../../http.ts";

export const clientAuthArgs = {
  "oauth-client-id": {
    type: "string",
    required: true,
    valueHint: "tenant/client",
    description: "OAuth client id <tenantId>/<clientId>",
  },
  "client-secret-file": {
    type: "string",
    valueHint: "file",
    description: "file holding the client secret (client_secret_basic); one trailing newline is ignored",
  },
  "private-key": {
    type: "string",
    valueHint: "file",
    description: "PEM (PKCS#8, PKCS#1 or SEC1) or JWK private key for private_key_jwt",
  },
  kid: {
    type: "string",
    valueHint: "kid",
    description: "kid of the registered public key (with --private-key)",
  },
  alg: {
    type: "string",
    valueHint: "alg",
    description: "assertion algorithm; RS256 (default) or PS256 for RSA keys, fixed for EC P-256 and Ed25519",
  },
} as const;

export interface ClientAuthFlags {
  "oauth-client-id": string;
  "client-secret-file"?: string | undefined;
  "private-key"?: string | undefined;
  kid?: string | undefined;
  alg?: string | undefined;
}

/** The credentials of one `/oauth/*` request: form parameters and headers. */
export interface ClientCredentials {
  form: Record<string, string>;
  headers: Record<string, string>;
}

/** `<tenantId>/<clientId>`: the first `/` splits it, both parts non-empty (docs/spec/oauth.md §1). */
export function parseOAuthClientId(value: string): { tenantId: string; clientId: string } {
  const cut = value.indexOf("/");
  if (cut <= 0 || cut === value.length - 1) {
    throw usage(`--oauth-client-id must be <tenantId>/<clientId>, got "${value}"`);
  }
  return { tenantId: value.slice(0, cut), clientId: value.slice(cut + 1) };
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);

export function basicAuthorization(oauthClientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(oauthClientId)}:${formEncode(secret)}`, "utf8").toString("base64")}`;
}

/** Checks the flag combination before any file is read or request sent. */
export function checkClientAuthFlags(args: ClientAuthFlags): void {
  parseOAuthClientId(args["oauth-client-id"]);
  const secret = args["client-secret-file"] !== undefined;
  const key = args["private-key"] !== undefined;
  if (secret === key) throw usage("give exactly one of --client-secret-file or --private-key");
  if (key && (args.kid === undefined || args.kid === "")) throw usage("--private-key needs --kid");
  if (secret && args.kid !== undefined) throw usage("--kid goes with --private-key");
  if (secret && args.alg !== undefined) throw usage("--alg goes with --private-key");
}

async function readLocal(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new CliError("LOCAL", `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

export async function readClientSecret(path: string): Promise<string> {
  const secret = (await readLocal(path, "--client-secret-file")).replace(/\r?\n$/, "");
  if (secret === "") throw usage(`--client-secret-file: ${path} is empty`);
  return secret;
}

/** The private key in any common encoding, or a local error that names the file (never its content). */
export async function readPrivateKey(path: string): Promise<KeyObject> {
  const text = await readLocal(path, "--private-key");
  try {
    if (text.trimStart().startsWith("{")) {
      return createPrivateKey({ key: JSON.parse(text) as JsonWebKey, format: "jwk" });
    }
    return createPrivateKey(text);
  } catch {
    throw usage(`--private-key: ${path} holds no readable unencrypted private key (PEM or JWK)`);
  }
}

/** The assertion algorithm follows the key type (docs/spec/oauth.md §2: RS256, PS256, ES256, EdDSA). */
export function assertionAlg(key: KeyObject, requested: string | undefined): string {
  const type = key.asymmetricKeyType;
  const allowed =
    type === "rsa"
      ? ["RS256", "PS256"]
      : type === "rsa-pss"
        ? ["PS256"]
        : type === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1"
          ? ["ES256"]
          : type === "ed25519"
            ? ["EdDSA"]
            : [];
  if (allowed.length === 0) {
    throw usage("--private-key: Tikti accepts RSA, RSA-PSS, EC P-256 and Ed25519 keys only");
  }
  if (type === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw usage("--private-key: RSA keys must have at least 2048 bits");
  }
  if (requested === undefined) return allowed[0]!;
  if (!allowed.includes(requested)) {
    throw usage(`--alg ${requested} does not fit this key (use ${allowed.join(" or ")})`);
  }
  return requested;
}

/** The server's issuer (RFC 8414 metadata): the audience every `/oauth/*` endpoint accepts in an assertion. */
async function issuerOf(http: HttpClient): Promise<string> {
  const meta = await http.send<{ issuer?: unknown }>({
    method: "GET",
    path: "/.well-known/oauth-authorization-server",
    auth: "public",
  });
  if (typeof meta?.issuer !== "string" || meta.issuer === "") {
    throw new CliError("NETWORK", "the server's OAuth metadata names no issuer");
  }
  return meta.issuer;
}

/** Assertions live one minute: enough for one request, short enough to be worthless once seen. */
const ASSERTION_LIFETIME_SECONDS = 60;

/**
 * The credentials for one request. Read the files first (flags already checked), so a typo in a
 * path fails before the network is touched.
 */
export async function clientCredentials(http: HttpClient, args: ClientAuthFlags): Promise<ClientCredentials> {
  const oauthClientId = args["oauth-client-id"];
  if (args["client-secret-file"] !== undefined) {
    const secret = await readClientSecret(args["client-secret-file"]);
    return { form: {}, headers: { Authorization: basicAuthorization(oauthClientId, secret) } };
  }
  const key = await readPrivateKey(args["private-key"]!);
  const alg = assertionAlg(key, args.alg);
  const issuer = await issuerOf(http);
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg, kid: args.kid!, typ: "JWT" })
    .setIssuer(oauthClientId)
    .setSubject(oauthClientId)
    .setAudience(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(key);
  return {
    form: {
      client_id: oauthClientId,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    },
    headers: {},
  };
}
