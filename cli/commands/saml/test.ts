import { command } from "../../command.ts";
import { CliError, usage } from "../../errors.ts";
import { seg } from "../../http.ts";
import { colourAllowed, fields, renderJson, renderPretty, result } from "../../output.ts";
import { type IdpProjection, rawRequest, samlTenant, tidArg } from "./shared.ts";

const STATE_COOKIE = "__Host-tikti_saml_state";

export interface SamlTestReport {
  tid: string;
  requestId: string;
  redirectUrl: string;
  checks: Record<string, boolean>;
}

/**
 * docs/spec/cli.md §5.6 `saml test`: reads the tenant's IdP record, then starts a real login
 * (`GET /saml/login/{tid}`) without following the redirect and checks what a browser would get:
 * a 302 to the record's SSO URL with a signed AuthnRequest (SAMLRequest, SigAlg, Signature) and the
 * state cookie. Any failed check → exit 1 (the report is still printed). The login leaves a real
 * outstanding request behind; it expires after `requestTTLSeconds`.
 */
export default command({
  description: "Start a real SP-initiated login for the tenant and check the redirect to its IdP",
  args: {
    ...tidArg,
    "relay-state": {
      type: "string",
      default: "/",
      valueHint: "target",
      description: "return target sent as RelayState",
    },
  },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const http = await ctx.http();
    const record = await http.send<IdpProjection>({
      method: "GET",
      path: `/tenants/${seg(tid)}/saml/idp`,
      auth: "admin",
    });
    if (!record.configured || !record.ssoUrl) {
      throw usage(`no IdP registered for tenant "${tid}" (use "saml idp register")`);
    }
    const answer = await rawRequest(ctx, {
      path: `/saml/login/${seg(tid)}`,
      query: { RelayState: args["relay-state"] },
      accept: "text/html",
      anyStatus: true,
    });
    const location = answer.headers.get("location") ?? "";
    let query = new URLSearchParams();
    try {
      query = new URL(location).searchParams;
    } catch {
      // not an absolute URL: the checks below fail
    }
    const state = answer.headers
      .getSetCookie()
      .map((c) => c.split(";", 1)[0]!)
      .find((c) => c.startsWith(`${STATE_COOKIE}=`));
    const requestId = state ? state.slice(STATE_COOKIE.length + 1) : "";
    const checks = {
      status302: answer.status === 302,
      locationIsSsoUrl: location !== "" && location.startsWith(record.ssoUrl),
      samlRequest: (query.get("SAMLRequest") ?? "") !== "",
      sigAlg: (query.get("SigAlg") ?? "") !== "",
      signature: (query.get("Signature") ?? "") !== "",
      stateCookie: requestId !== "",
    };
    const report: SamlTestReport = { tid, requestId, redirectUrl: location, checks };
    const pretty = fields([
      ["tenant", tid],
      ["status", answer.status],
      ["request id", requestId],
      ["redirect url", location],
      ...Object.entries(checks).map(([name, ok]) => [`check ${name}`, ok ? "ok" : "FAILED"] as const),
    ]);
    const failed = Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name);
    if (failed.length === 0) return result(report, pretty);
    // The report is the command's output either way; the failure is the exit code and an error line.
    ctx.io.stdout.write(
      ctx.globals.output === "json"
        ? renderJson(report)
        : renderPretty(pretty, { colour: colourAllowed(ctx.io.stdout.isTTY, ctx.io.env) }),
    );
    throw new CliError("USAGE", `saml test failed: ${failed.join(", ")} (HTTP ${answer.status})`);
  },
});
