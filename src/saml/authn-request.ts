/**
 * The AuthnRequest of docs/spec/saml.md §5 step 5 — no XML declaration and no enveloped signature — and
 * its signed HTTP-Redirect URL (step 7), signed with the pair the rotation state selects (§13).
 */
import { BINDING_POST } from "./metadata.ts";
import { buildXml, redirectUrl } from "./outbound.ts";
import type { SpKeyPair } from "./sp-keys.ts";
import type { SamlUrls } from "./urls.ts";
import { NS } from "./xml.ts";

export interface AuthnRequestInput {
  /** `_` + 40 lowercase hex. */
  id: string;
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  issueInstant: string;
  /** The IdP record's `ssoUrl`. */
  destination: string;
  /** `sp.acsURL`. */
  acsUrl: string;
  /** `sp.entityID`. */
  spEntityId: string;
  /** The IdP record's `nameIdFormat`. */
  nameIdFormat: string;
  forceAuthn: boolean;
}

export function buildAuthnRequest(input: AuthnRequestInput): string {
  return buildXml({
    "samlp:AuthnRequest": {
      "@_xmlns:samlp": NS.protocol,
      "@_xmlns:saml": NS.assertion,
      "@_ID": input.id,
      "@_Version": "2.0",
      "@_IssueInstant": input.issueInstant,
      "@_Destination": input.destination,
      ...(input.forceAuthn ? { "@_ForceAuthn": "true" } : {}),
      "@_ProtocolBinding": BINDING_POST,
      "@_AssertionConsumerServiceURL": input.acsUrl,
      "saml:Issuer": input.spEntityId,
      "samlp:NameIDPolicy": { "@_Format": input.nameIdFormat, "@_AllowCreate": "true" },
    },
  });
}

/** §5 steps 5 and 7: the URL the browser is sent to. */
export async function authnRequestUrl(
  saml: { urls: SamlUrls; rotation: { signingPair(): Promise<SpKeyPair> } },
  input: {
    id: string;
    issueInstant: string;
    destination: string;
    nameIdFormat: string;
    forceAuthn: boolean;
    relayState: string;
  },
): Promise<string> {
  const xml = buildAuthnRequest({
    id: input.id,
    issueInstant: input.issueInstant,
    destination: input.destination,
    acsUrl: saml.urls.acsUrl,
    spEntityId: saml.urls.entityId,
    nameIdFormat: input.nameIdFormat,
    forceAuthn: input.forceAuthn,
  });
  return redirectUrl({
    destination: input.destination,
    parameter: "SAMLRequest",
    xml,
    relayState: input.relayState,
    pair: await saml.rotation.signingPair(),
  });
}
