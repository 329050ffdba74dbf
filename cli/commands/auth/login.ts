import { command, passwordArgs, readPassword } from "../../command.ts";
import { result } from "../../output.ts";

interface SignInResponse {
  idToken: string;
  email: string;
  localId: string;
  expiresIn: number;
}

/** docs/spec/cli.md §5.2: password sign-in; stores the idToken and clears tokens derived from an older one. */
export default command({
  description: "Sign in with email and password and store the idToken",
  args: {
    email: {
      type: "string",
      alias: ["user"],
      required: true,
      valueHint: "email",
      description: "account email",
    },
    ...passwordArgs,
  },
  async run(args, ctx) {
    const http = await ctx.http();
    const password = await readPassword(ctx, args);
    // Without an API key the public route does the same sign-in (docs/spec/api.md §4.2).
    const r = await http.send<SignInResponse>({
      method: "POST",
      path: http.hasApiKey ? "/accounts/signInWithPassword" : "/accounts/signIn",
      auth: http.hasApiKey ? "key" : "public",
      body: { email: args.email, password },
    });
    await ctx.updateProfile((p) => {
      p.idToken = r.idToken;
      delete p.accessToken;
      delete p.workerToken;
    });
    return result({ email: r.email, localId: r.localId, token: "stored", expiresIn: r.expiresIn });
  },
});
