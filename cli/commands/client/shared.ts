/**
 * Shared by the client commands (docs/spec/oauth.md §2, §3, §10): the `--jwks` file, the `--previous-ttl`
 * duration and how a client object is printed.
 */
import { readFile } from "node:fs/promises";
import { CliError, usage } from "../../errors.ts";
import { objectFields, type Pretty } from "../../output.ts";

/** JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/**
 * A JWK set file `{"keys": [...]}`. A file holding private key material is refused before anything
 * is sent: the server would refuse it too, but by then the private key would have crossed the
 * network and sit in request logs of any proxy on the way. Everything else (key types, sizes,
 * `kid` rules) is the server's to judge, so the rules live in one place.
 */
export async function readJwksFile(path: string, flag: string): Promise<{ keys: unknown[] }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new CliError("LOCAL", `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw usage(`${flag}: ${path} is not JSON`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || !Array.isArray(keys)) {
    throw usage(`${flag}: ${path} must hold a JWK set {"keys": [...]}`);
  }
  keys.forEach((key, i) => {
    if (typeof key === "object" && key !== null && PRIVATE_MEMBERS.some((m) => m in key)) {
      throw usage(`${flag}: key ${i} of ${path} holds private key material; register the public key only`);
    }
  });
  return doc as { keys: unknown[] };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `30m`, `24h`, `7d` → seconds; `0` ends the old secret at once. */
export function duration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!m) throw usage(`${flag} must be a duration like 3600, 90s, 30m, 24h or 7d, got "${value}"`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || "s"]!;
  if (!Number.isSafeInteger(seconds)) throw usage(`${flag} is too large`);
  return seconds;
}

/**
 * A client object as key/value lines (`objectFields` order), with `jwks` shown as its keys' `kid`
 * and type rather than a JSON blob of moduli.
 */
export function clientPretty(client: Record<string, unknown>): Pretty {
  const shown: Record<string, unknown> = { ...client };
  const keys = (client.jwks as { keys?: unknown } | undefined)?.keys;
  if (Array.isArray(keys)) {
    shown.jwks = keys.map((k: { kid?: unknown; kty?: unknown; crv?: unknown }) =>
      [k.kid, k.crv ?? k.kty].filter((p) => typeof p === "string").join(" "),
    );
  }
  return objectFields(shown);
}

/**
 * The settings flags `client create` and `client update` share (same names, hints and meaning);
 * create adds its defaults for `--type` and `--grant`, update adds `--status` and `--unset`.
 */
export const clientSettingArgs = {
  grant: {
    type: "string",
    valueHint: "a,b",
    description: "allowed grant types: token_exchange, client_credentials",
  },
  scopes: { type: "string", valueHint: "a,b", description: "default scopes, also the ceiling" },
  "event-types": { type: "string", valueHint: "a,b", description: "allowed event types (ceiling)" },
  "max-ttl": {
    type: "string",
    valueHint: "seconds",
    description: "cap on access-token lifetime (60-86400)",
  },
  roles: {
    type: "string",
    valueHint: "a,b",
    description: "tenant roles whose permissions the client holds itself (client_credentials)",
  },
} as const;
