/**
 * The one HTTP client of tikti-cli (docs/spec/cli.md §1): canonical paths on the profile's base URL, the
 * API key only in `X-API-Key`, the stored idToken as bearer on admin routes, one `X-Request-ID` per
 * invocation, `User-Agent: tikti-cli/<version>`, a per-request timeout, and no redirects followed.
 * Non-2xx answers become `HttpError` with the server's `error`/`code`; transport failures become
 * `CliError("NETWORK")`.
 */
import { CliError, HttpError } from "./errors.ts";
import type { Fetch } from "./io.ts";

/** `public`: no credentials; `key`: API key; `admin`: API key plus the idToken bearer when stored (docs/spec/api.md §2.3). */
export type RouteAuth = "public" | "key" | "admin";

export interface HttpClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  idToken?: string | undefined;
  requestId: string;
  userAgent: string;
  timeoutMs: number;
  fetch: Fetch;
}

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  auth: RouteAuth;
  body?: Record<string, unknown>;
  /** An `application/x-www-form-urlencoded` body (the `/oauth/*` routes, RFC 6749 §3.2); undefined values are left out. */
  form?: Record<string, string | undefined>;
  /** Extra headers, e.g. `Authorization: Basic` of client_secret_basic (never with `auth: "admin"`). */
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
}

export interface HttpClient {
  readonly baseUrl: string;
  readonly hasApiKey: boolean;
  send<T = unknown>(request: HttpRequest): Promise<T>;
}

/** Encodes one path segment (tenant ids, client ids, role names). */
export const seg = (value: string) => encodeURIComponent(value);

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { baseUrl, apiKey, idToken, requestId, userAgent, timeoutMs } = options;
  return {
    baseUrl,
    hasApiKey: apiKey !== undefined && apiKey !== "",
    async send<T>(request: HttpRequest): Promise<T> {
      const url = new URL(baseUrl + request.path);
      for (const [k, v] of Object.entries(request.query ?? {})) {
        if (v !== undefined) url.searchParams.set(k, String(v));
      }
      const headers = new Headers({
        "User-Agent": userAgent,
        "X-Request-ID": requestId,
        Accept: "application/json",
      });
      if (request.auth !== "public" && apiKey) headers.set("X-API-Key", apiKey);
      if (request.auth === "admin" && idToken) headers.set("Authorization", `Bearer ${idToken}`);
      for (const [k, v] of Object.entries(request.headers ?? {})) headers.set(k, v);
      let body: string | undefined;
      if (request.body !== undefined) {
        headers.set("Content-Type", "application/json");
        body = JSON.stringify(request.body);
      } else if (request.form !== undefined) {
        const form = new URLSearchParams();
        for (const [k, v] of Object.entries(request.form)) if (v !== undefined) form.set(k, v);
        headers.set("Content-Type", "application/x-www-form-urlencoded");
        body = form.toString();
      }
      let response: Response;
      try {
        response = await options.fetch(
          new Request(url, {
            method: request.method,
            headers,
            body,
            redirect: "manual",
            signal: AbortSignal.timeout(timeoutMs),
          }),
        );
      } catch (e) {
        const err = e as Error;
        if (err.name === "TimeoutError" || err.name === "AbortError") {
          throw new CliError("NETWORK", `no answer from ${baseUrl} within ${timeoutMs / 1000}s`, {
            cause: e,
          });
        }
        const cause = (err.cause as Error | undefined)?.message;
        throw new CliError("NETWORK", `cannot reach ${baseUrl}: ${cause ?? err.message}`, { cause: e });
      }
      const text = await readText(response);
      if (response.status >= 200 && response.status < 300) {
        if (text === "") return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new HttpError({
            status: response.status,
            error: "the server answered with a body that is not JSON",
            code: "BAD_RESPONSE",
            requestId,
          });
        }
      }
      throw toHttpError(response, text, requestId);
    },
  };
}

async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch (e) {
    throw new CliError("NETWORK", `connection lost while reading the answer: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function toHttpError(response: Response, text: string, requestId: string): HttpError {
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get("location") ?? "(no Location)";
    return new HttpError({
      status: response.status,
      error: `unexpected redirect to ${location} (redirects are not followed)`,
      code: "REDIRECT",
      requestId,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const body = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  // The `/oauth/*` routes answer RFC 6749 §5.2 (`error` is the code, `error_description` the text):
  // shown as `<description> [<code>]` like every other error line.
  if (body.code === undefined && typeof body.error === "string" && /^[a-z_]+$/.test(body.error)) {
    return new HttpError({
      status: response.status,
      error: typeof body.error_description === "string" ? body.error_description : body.error,
      code: body.error,
      requestId,
    });
  }
  return new HttpError({
    status: response.status,
    error: typeof body.error === "string" ? body.error : response.statusText || `HTTP ${response.status}`,
    code: typeof body.code === "string" ? body.code : "UNKNOWN",
    details:
      typeof body.details === "object" && body.details !== null
        ? (body.details as Record<string, unknown>)
        : undefined,
    requestId,
  });
}
