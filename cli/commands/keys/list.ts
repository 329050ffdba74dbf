import { command } from "../../command.ts";
import { publishedKeys } from "../jwks.ts";

export default command({
  description: "List the server's published signing keys (same as `jwks`)",
  args: {},
  run: (_args, ctx) => publishedKeys(ctx),
});
