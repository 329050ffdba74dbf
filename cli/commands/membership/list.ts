import { collectPages, command, integer, pageArgs, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result, table } from "../../output.ts";

interface Member {
  id: string;
  email: string;
  roles: string[];
  status: string;
  authSource: string;
  createdAt: string;
}

export default command({
  description: "List the users of a tenant (ordered by user id)",
  args: { ...tenantArg, ...pageArgs },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const pageSize = integer(args["page-size"], "--page-size", { min: 1, max: 200 });
    const http = await ctx.http();
    const body = await collectPages(
      (pageToken) =>
        http.send<{ users: Member[]; nextPageToken?: string }>({
          method: "GET",
          path: `/tenants/${seg(tenantId)}/users`,
          auth: "admin",
          query: { pageSize, pageToken },
        }),
      "users",
      args.all,
    );
    if (body.nextPageToken) ctx.warn("more members exist: add --all to list every page");
    const rows = (body.users as Member[]).map((u) => [
      u.id,
      u.email,
      u.roles,
      u.status,
      u.authSource,
      u.createdAt,
    ]);
    return result(
      body,
      table(["user id", "email", "roles", "status", "auth source", "created"], rows, "(no members)"),
    );
  },
});
