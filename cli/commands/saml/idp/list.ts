import { command } from "../../../command.ts";
import { result, table } from "../../../output.ts";

interface IdpListEntry {
  tenantId: string;
  entityId: string;
  metadataUrl: string;
  lastFetched: string;
  lastRefreshError: string;
}

/** docs/spec/cli.md §5.6 `saml idp list`: `GET /admin/saml/idps`, sorted by tenant id. */
export default command({
  description: "List every tenant's IdP with its last metadata fetch",
  args: {},
  async run(_args, ctx) {
    const http = await ctx.http();
    const body = await http.send<{ idps: IdpListEntry[] }>({
      method: "GET",
      path: "/admin/saml/idps",
      auth: "admin",
    });
    const rows = body.idps.map((i) => [i.tenantId, i.entityId, i.lastFetched, i.lastRefreshError]);
    return result(body, table(["tenant id", "entity id", "last fetched", "last error"], rows, "(no IdPs)"));
  },
});
