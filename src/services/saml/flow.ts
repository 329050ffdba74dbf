/**
 * What the SAML browser flows (login.ts, acs.ts, logout.ts) share: their dependencies and the
 * per-request inputs. Rendering (error pages, redirects, cookies) is src/http/saml/render.ts.
 */
import type { AppDeps } from "../../deps.ts";
import { isTiktiError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { Services } from "../index.ts";
import type { SamlContext } from "./context.ts";

export interface FlowDeps {
  deps: AppDeps;
  saml: SamlContext;
  services: Services;
}

/** The parts of one HTTP request a flow may use. */
export interface FlowRequest {
  /** Per-request logger (carries the request id). */
  log: Logger;
  /** `X-Request-ID` of the request. */
  httpRequestId: string;
  /** The raw `Cookie` header. */
  cookieHeader: string | null;
}

export function isStoreUnavailable(error: unknown): boolean {
  return isTiktiError(error) && error.code === "STORE_UNAVAILABLE";
}
