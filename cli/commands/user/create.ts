import { command, passwordArgs, readPassword } from "../../command.ts";
import { result } from "../../output.ts";

interface SignUpResponse {
  localId: string;
  email: string;
  createdAt: string;
}

export default command({
  description: "Create a password user (the new user's idToken is discarded)",
  args: {
    email: { type: "string", required: true, valueHint: "email", description: "email of the new user" },
    ...passwordArgs,
    role: {
      type: "string",
      default: "COMPANY_EMPLOYEE",
      valueHint: "role",
      description: "global role: ADMIN, COMPANY_ADMIN or COMPANY_EMPLOYEE (honoured with an API key)",
    },
  },
  async run(args, ctx) {
    const http = await ctx.http();
    const password = await readPassword(ctx, args, { confirm: true });
    // "admin": the API key makes the caller privileged, the bearer satisfies accounts.signUp=admin (docs/spec/api.md §4.1).
    const r = await http.send<SignUpResponse>({
      method: "POST",
      path: "/accounts/signUp",
      auth: "admin",
      body: { email: args.email, password, role: args.role },
    });
    return result({ localId: r.localId, email: r.email, createdAt: r.createdAt });
  },
});
