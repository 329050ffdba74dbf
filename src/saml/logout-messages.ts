/**
 * Outbound single-logout messages (docs/spec/saml.md §9.2 step 6, §9.3 step 6). Both are signed by the
 * binding that delivers them (outbound.ts): the query for HTTP-Redirect, an enveloped signature for
 * HTTP-POST.
 */
import { buildXml } from "./outbound.ts";
import { STATUS_SUCCESS } from "./response.ts";
import { NS } from "./xml.ts";

export interface LogoutRequestInput {
  id: string;
  issueInstant: string;
  /** The IdP's `sloUrl`. */
  destination: string;
  spEntityId: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
}

export function buildLogoutRequest(input: LogoutRequestInput): string {
  const nameId: Record<string, string> = { "#text": input.nameId };
  if (input.nameIdFormat) nameId["@_Format"] = input.nameIdFormat;
  return buildXml({
    "samlp:LogoutRequest": {
      "@_xmlns:samlp": NS.protocol,
      "@_xmlns:saml": NS.assertion,
      "@_ID": input.id,
      "@_Version": "2.0",
      "@_IssueInstant": input.issueInstant,
      "@_Destination": input.destination,
      "saml:Issuer": input.spEntityId,
      "saml:NameID": nameId,
      ...(input.sessionIndex ? { "samlp:SessionIndex": input.sessionIndex } : {}),
    },
  });
}

export interface LogoutResponseInput {
  id: string;
  issueInstant: string;
  /** The IdP's SLO response location (or `sloUrl`). */
  destination: string;
  inResponseTo: string;
  spEntityId: string;
  statusCode?: string;
}

export function buildLogoutResponse(input: LogoutResponseInput): string {
  return buildXml({
    "samlp:LogoutResponse": {
      "@_xmlns:samlp": NS.protocol,
      "@_xmlns:saml": NS.assertion,
      "@_ID": input.id,
      "@_Version": "2.0",
      "@_IssueInstant": input.issueInstant,
      "@_Destination": input.destination,
      "@_InResponseTo": input.inResponseTo,
      "saml:Issuer": input.spEntityId,
      "samlp:Status": { "samlp:StatusCode": { "@_Value": input.statusCode ?? STATUS_SUCCESS } },
    },
  });
}
