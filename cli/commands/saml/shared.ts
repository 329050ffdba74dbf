/**
 * What the `saml` verbs share (docs/spec/cli.md §5.6): the `--tid` flag, the IdP record projection
 * (docs/spec/saml.md §11.1) and its pretty form, JSON map files, and the raw (non-JSON) requests of
 * `saml metadata` and `saml test` — same headers, timeout and no-redirect rule as cli/http.ts.
 */
import { readFile } from "node:fs/promises";
import { tenantArg } from "../../command.ts";
import type { Ctx } from "../../context.ts";
import { CliError, HttpError, usage } from "../../errors.ts";
import { blocks, type Cell, fields, type Pretty, table, text } from "../../output.ts";

/** `--tid` *(tenant)*, also spelled `--tenant`. */
export const tidArg = tenantArg;

export const samlTenant = (ctx: Ctx, args: { tenant?: string | undefined }) =>
  ctx.tenant(args.tenant, "--tid");

export interface IdpProjection {
  configured: boolean;
  tenantId?: string;
  entityId?: string;
  ssoUrl?: string;
  sloUrl?: string;
  sloBinding?: string;
  metadataUrl?: string;
  nameIdFormat?: string;
  attributeMap?: Record<string, string[]>;
  roleMap?: Record<string, string[]>;
  allowUnsolicited?: boolean;
  forceAuthn?: boolean;
  requireEncryptedAssertion?: boolean;
  signingCertificates?: Array<{
    sha256: string;
    subject: string;
    notAfter: string;
    retireAfter: string | null;
  }>;
  signingCertificateCount?: number;
  encryptionCertificateCount?: number;
  lastFetched?: string;
  lastRefreshError?: string;
  generation?: string;
  loginUrl?: string;
  unsolicitedAcsUrl?: string;
}

const mapLines = (map: Record<string, string[]> | undefined): string =>
  Object.keys(map ?? {}).length === 0
    ? "{}"
    : Object.entries(map ?? {})
        .map(([k, v]) => `${k}=${v.join(",")}`)
        .join("; ");

/** `saml idp show` in pretty mode: never certificate bodies, only fingerprints. */
export function idpPretty(p: IdpProjection, tenantId: string): Pretty {
  if (!p.configured) return text(`no IdP registered for tenant "${tenantId}"`);
  const entries: Array<readonly [string, Cell]> = [
    ["tenant", p.tenantId],
    ["entity id", p.entityId],
    ["sso url", p.ssoUrl],
    ["slo url", p.sloUrl || "(none: local logout only)"],
    ["slo binding", p.sloBinding],
    ["metadata url", p.metadataUrl || "(inline XML)"],
    ["name id format", p.nameIdFormat],
    ["attribute map", mapLines(p.attributeMap)],
    ["role map", mapLines(p.roleMap)],
    ["allow unsolicited", p.allowUnsolicited],
    ["force authn", p.forceAuthn],
    ["require encrypted", p.requireEncryptedAssertion],
    ["encryption certs", p.encryptionCertificateCount],
    ["last fetched", p.lastFetched],
    ["last refresh error", p.lastRefreshError],
    ["login url", p.loginUrl],
  ];
  if (p.unsolicitedAcsUrl) entries.push(["unsolicited acs url", p.unsolicitedAcsUrl]);
  const certs = (p.signingCertificates ?? []).map((c) => [c.sha256, c.subject, c.notAfter, c.retireAfter]);
  return blocks(
    fields(entries),
    table(
      ["signing cert sha-256", "subject", "not after", "retire after"],
      certs,
      "(no signing certificates)",
    ),
  );
}

/** A JSON object from a `--attr-map`/`--role-map` file (docs/spec/cli.md §5.6). */
export async function readJsonObject(path: string, flag: string): Promise<Record<string, unknown>> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (e) {
    throw usage(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw usage(`${flag}: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw usage(`${flag}: ${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

export async function readMetadataFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw usage(`--metadata-file: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Exactly one of `--metadata-url`/`--metadata-file` (or, with `optional`, none). */
export async function metadataSource(
  args: { "metadata-url"?: string | undefined; "metadata-file"?: string | undefined },
  optional: boolean,
): Promise<{ metadataUrl: string } | { metadataXml: string } | Record<string, never>> {
  const url = args["metadata-url"];
  const file = args["metadata-file"];
  if (url !== undefined && file !== undefined)
    throw usage("use either --metadata-url or --metadata-file, not both");
  if (url !== undefined) return { metadataUrl: url };
  if (file !== undefined) return { metadataXml: await readMetadataFile(file) };
  if (optional) return {};
  throw usage("one of --metadata-url or --metadata-file is required");
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * A request whose answer is not JSON (SP metadata, the login redirect): the profile's base URL,
 * `User-Agent`, `X-Request-ID`, the timeout, redirects never followed. Non-2xx answers become
 * `HttpError` unless `anyStatus` (the caller judges the answer itself).
 */
export async function rawRequest(
  ctx: Ctx,
  request: { path: string; query?: Record<string, string>; accept?: string; anyStatus?: boolean },
): Promise<RawAnswer> {
  const { baseUrl } = await ctx.http();
  const url = new URL(baseUrl + request.path);
  for (const [k, v] of Object.entries(request.query ?? {})) url.searchParams.set(k, v);
  const timeoutMs = ctx.globals.timeoutSeconds * 1000;
  let response: Response;
  try {
    response = await ctx.io.fetch(
      new Request(url, {
        method: "GET",
        headers: {
          "User-Agent": ctx.userAgent,
          "X-Request-ID": ctx.requestId,
          Accept: request.accept ?? "*/*",
        },
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      }),
    );
  } catch (e) {
    const err = e as Error;
    if (err.name === "TimeoutError" || err.name === "AbortError") {
      throw new CliError("NETWORK", `no answer from ${baseUrl} within ${timeoutMs / 1000}s`, { cause: e });
    }
    const cause = (err.cause as Error | undefined)?.message;
    throw new CliError("NETWORK", `cannot reach ${baseUrl}: ${cause ?? err.message}`, { cause: e });
  }
  let body: string;
  try {
    body = await response.text();
  } catch (e) {
    throw new CliError("NETWORK", `connection lost while reading the answer: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const ok = response.status >= 200 && response.status < 300;
  if (!ok && !request.anyStatus) {
    let parsed: Record<string, unknown> = {};
    try {
      const j = JSON.parse(body) as unknown;
      if (typeof j === "object" && j !== null) parsed = j as Record<string, unknown>;
    } catch {
      // an HTML or text error page
    }
    throw new HttpError({
      status: response.status,
      error:
        typeof parsed.error === "string" ? parsed.error : response.statusText || `HTTP ${response.status}`,
      code: typeof parsed.code === "string" ? parsed.code : "UNKNOWN",
      requestId: ctx.requestId,
    });
  }
  return { status: response.status, headers: response.headers, body };
}
