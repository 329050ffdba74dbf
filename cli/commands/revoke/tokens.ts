import { command, userArgs, userRef } from "../../command.ts";
import { usage } from "../../errors.ts";
import { revokeGlobal } from "../user/revoke.ts";

/** Go-era alias of `user revoke`; anything but global revocation fails locally (docs/spec/cli.md §5.3). */
export default command({
  description: "Revoke every token of a user (alias of `user revoke`)",
  args: {
    ...userArgs,
    scope: {
      type: "string",
      default: "global",
      valueHint: "scope",
      description: 'only "global" is supported',
    },
    tenant: { type: "string", valueHint: "id", description: "not supported (tenant-scoped revocation)" },
  },
  async run(args, ctx) {
    if (args.scope !== "global" || args.tenant !== undefined)
      throw usage("only global revocation is supported");
    return revokeGlobal(ctx, userRef(args));
  },
});
