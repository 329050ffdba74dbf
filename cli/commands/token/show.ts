import { command } from "../../command.ts";
import { result, text } from "../../output.ts";

const FIELD = { id: "idToken", access: "accessToken", worker: "workerToken" } as const;

/** The unverified `exp` of a JWT as RFC 3339, or null (display only: nothing is trusted from it). */
export function unverifiedExpiry(jwt: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      exp?: unknown;
    };
    return typeof payload.exp === "number"
      ? new Date(payload.exp * 1000).toISOString().replace(".000Z", "Z")
      : null;
  } catch {
    return null;
  }
}

export default command({
  description: "Print a stored token (pretty: the token alone)",
  args: {
    type: {
      type: "enum",
      options: ["id", "access", "worker"],
      default: "access",
      description: "which token",
    },
  },
  async run(args, ctx) {
    const type = args.type as keyof typeof FIELD;
    const token = await ctx.storedToken(FIELD[type]);
    return result({ type, token, expiresAt: unverifiedExpiry(token) }, text(token));
  },
});
