import { command } from "../../../command.ts";
import { usage } from "../../../errors.ts";
import { type Cell, fields, result } from "../../../output.ts";

interface RotationState {
  state: "none" | "prepared" | "committed";
  currentSha256?: string;
  nextSha256?: string;
  preparedAt?: string;
  commitNotBefore?: string;
  committedAt?: string | null;
  loaded: { current: string | null; next: string | null };
}

const ACTIONS = ["prepare", "commit", "abort", "status"] as const;

/**
 * docs/spec/cli.md §5.6 `saml keys rotate`: `POST /admin/saml/sp/rotation` with the action, or `GET` for
 * `--status` (docs/spec/saml.md §13). A refused step (409 ROTATION_STATE_CONFLICT) prints the server's message
 * and exits 1.
 */
export default command({
  description: "Move the SP key rotation on: --prepare, --commit [--force], --abort, or show --status",
  args: {
    prepare: {
      type: "boolean",
      description: "publish the next pair next to the current one (starts the grace period)",
    },
    commit: { type: "boolean", description: "sign with the next pair on every replica" },
    abort: { type: "boolean", description: "drop a prepared (not committed) rotation" },
    status: { type: "boolean", description: "show the rotation state and the pairs loaded on the replica" },
    force: { type: "boolean", description: "with --commit: do not wait for the grace period" },
  },
  async run(args, ctx) {
    const chosen = ACTIONS.filter((a) => args[a] === true);
    if (chosen.length !== 1) {
      throw usage("pass exactly one of --prepare, --commit, --abort, --status");
    }
    const action = chosen[0]!;
    if (args.force && action !== "commit") throw usage("--force only applies to --commit");
    const http = await ctx.http();
    const state =
      action === "status"
        ? await http.send<RotationState>({ method: "GET", path: "/admin/saml/sp/rotation", auth: "admin" })
        : await http.send<RotationState>({
            method: "POST",
            path: "/admin/saml/sp/rotation",
            auth: "admin",
            body: { action, force: args.force === true },
          });
    const rows: Array<readonly [string, Cell]> = [
      ["state", state.state],
      ["current sha256", state.currentSha256],
      ["next sha256", state.nextSha256],
      ["prepared at", state.preparedAt],
      ["commit not before", state.commitNotBefore],
      ["committed at", state.committedAt],
      ["loaded current", state.loaded?.current],
      ["loaded next", state.loaded?.next],
    ];
    return result(state, fields(rows.filter(([, v]) => v !== undefined)));
  },
});
