import { collectPages, command, integer, pageArgs } from "../../command.ts";
import { result, table } from "../../output.ts";

interface Tenant {
  id: string;
  name: string;
  slug: string;
  status: string;
  createdAt: string;
}

export default command({
  description: "List tenants (ordered by id)",
  args: { ...pageArgs },
  async run(args, ctx) {
    const pageSize = integer(args["page-size"], "--page-size", { min: 1, max: 200 });
    const http = await ctx.http();
    const body = await collectPages(
      (pageToken) =>
        http.send<{ tenants: Tenant[]; nextPageToken?: string }>({
          method: "GET",
          path: "/tenants",
          auth: "admin",
          query: { pageSize, pageToken },
        }),
      "tenants",
      args.all,
    );
    if (body.nextPageToken) ctx.warn("more tenants exist: add --all to list every page");
    const rows = (body.tenants as Tenant[]).map((t) => [t.id, t.name, t.slug, t.status, t.createdAt]);
    return result(body, table(["id", "name", "slug", "status", "created"], rows, "(no tenants)"));
  },
});
