import { command } from "../../command.ts";
import { result } from "../../output.ts";

export default command({
  description: "Create a tenant",
  args: {
    name: { type: "string", required: true, valueHint: "name", description: "display name" },
    slug: { type: "string", required: true, valueHint: "slug", description: "slug ([a-z0-9-])" },
    id: { type: "string", valueHint: "id", description: "tenant id (default: a UUID chosen by the server)" },
  },
  async run(args, ctx) {
    const http = await ctx.http();
    return result(
      await http.send({
        method: "POST",
        path: "/tenants",
        auth: "admin",
        body: { name: args.name, slug: args.slug, id: args.id },
      }),
    );
  },
});
