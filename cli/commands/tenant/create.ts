import { command, mirror } from "../../command.ts";

export default command({
  description: "Create a tenant",
  args: {
    name: { type: "string", required: true, valueHint: "name", description: "display name" },
    slug: { type: "string", required: true, valueHint: "slug", description: "slug ([a-z0-9-])" },
    id: { type: "string", valueHint: "id", description: "tenant id (default: a UUID chosen by the server)" },
  },
  run: (args, ctx) =>
    mirror(ctx, {
      method: "POST",
      path: "/tenants",
      auth: "admin",
      body: { name: args.name, slug: args.slug, id: args.id },
    }),
});
