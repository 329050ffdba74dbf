/**
 * The SAML browser flows as one service, built once by `createServices` (src/services/index.ts) and
 * handed to the SAML browser routes as `services.samlFlows`. Each returns a decision
 * (src/services/saml/flow.ts) that src/http/saml/render.ts renders.
 */
import { type AcsRequest, handleAcs } from "./acs.ts";
import type { FlowDecision, FlowDeps } from "./flow.ts";
import { type LoginRequest, startLogin } from "./login.ts";
import { type SloRequest, type SpLogoutRequest, sloEndpoint, spLogout } from "./logout.ts";

export interface SamlFlows {
  /** `GET /saml/login/:tid` (docs/spec/saml.md §5). */
  login(req: LoginRequest): Promise<FlowDecision>;
  /** `POST /saml/acs`, `POST /saml/acs/:tid` (§6). */
  acs(req: AcsRequest): Promise<FlowDecision>;
  /** `GET /saml/logout/:tid` (§9.2). */
  spLogout(req: SpLogoutRequest): Promise<FlowDecision>;
  /** `GET|POST /saml/slo` (§9.3, §9.4). */
  slo(req: SloRequest): Promise<FlowDecision>;
}

export function createSamlFlows(flow: FlowDeps): SamlFlows {
  return {
    login: (req) => startLogin(flow, req),
    acs: (req) => handleAcs(flow, req),
    spLogout: (req) => spLogout(flow, req),
    slo: (req) => sloEndpoint(flow, req),
  };
}
