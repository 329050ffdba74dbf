/**
 * Admin user lifecycle (docs/spec/api.md §6.1, §6.2): status changes and global revocation. Both are
 * one `CAS_HSET` of the user record (docs/spec/storage.md §4.2, §4.3), the `tokenVersion` bump inside the
 * same write (docs/spec/tokens.md §5). No HTTP here; reused by the CLI-facing routes and migrations.
 * Each change writes its admin audit record (docs/spec/operations.md §7) here, for the `AdminCaller`.
 */
import type { Clock } from "../clock.ts";
import { parseUserStatus } from "../domain/grammar.ts";
import type { User, UserStatus } from "../domain/types.ts";
import { TiktiError } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import type { Repos } from "../store/repos/index.ts";
import { withTokenVersionBump } from "../store/repos/users.ts";
import { ArgumentProblems } from "./arguments.ts";
import type { AdminCaller, Audit } from "./audit.ts";
import { checkUserRef, findUserByRef, type UserRefInput } from "./user-ref.ts";

/** `email` or `localId`, exactly one (src/services/user-ref.ts). */
export interface UserStatusInput extends UserRefInput {
  /** Case-insensitive `ACTIVE` | `INACTIVE` | `SUSPENDED`. */
  status: string;
}

export interface UserStatusResult {
  user: User;
  /** False when the user already had that status (nothing written). */
  changed: boolean;
  tokenVersionBumped: boolean;
}

export interface RevokeInput extends UserRefInput {
  /** Absent, `""` or `global` (case-insensitive); anything else is refused. */
  scope?: string | undefined;
  /** Must be absent (or `""`): there is no per-tenant token version (docs/spec/tokens.md §5). */
  tenantId?: string | undefined;
}

export interface RevokeResult {
  /** The record as written, with the new `tokenVersion`. */
  user: User;
  /** Server time of the revocation (RFC 3339 UTC); not stored. */
  revokedAt: string;
}

export interface UserAdminService {
  /**
   * docs/spec/api.md §6.1. Moving to `SUSPENDED` or `INACTIVE` from another status bumps `tokenVersion`;
   * back to `ACTIVE` does not (earlier tokens stay dead). The same status writes nothing.
   */
  setStatus(caller: AdminCaller, input: UserStatusInput): Promise<UserStatusResult>;
  /**
   * docs/spec/api.md §6.2: `tokenVersion + 1` in one atomic write. A tenant or non-global scope →
   * `400 UNSUPPORTED_REVOCATION_SCOPE` before anything is read or written.
   */
  revoke(caller: AdminCaller, input: RevokeInput): Promise<RevokeResult>;
}

/** Statuses that end every session: entering one of them bumps `tokenVersion`. */
const REVOKING_STATUSES: readonly UserStatus[] = ["SUSPENDED", "INACTIVE"];

export function createUserAdminService(deps: {
  repos: Repos;
  metrics: Metrics;
  clock: Clock;
  audit: Audit;
}): UserAdminService {
  const { repos, metrics, clock, audit } = deps;

  async function setStatus(caller: AdminCaller, input: UserStatusInput): Promise<UserStatusResult> {
    const problems = new ArgumentProblems();
    const ref = checkUserRef(problems, input);
    const status = parseUserStatus(input.status);
    if (!status) problems.add("status", "must be ACTIVE, INACTIVE or SUSPENDED");
    problems.throwIfAny();
    const user = await findUserByRef(repos, ref);
    const change = await repos.users.mutate(user.localId, (current) => {
      if (current.status === status) return null;
      const next = { ...current, status: status as UserStatus };
      return REVOKING_STATUSES.includes(status as UserStatus) ? withTokenVersionBump(next) : next;
    });
    const tokenVersionBumped = change.changed && change.after.tokenVersion > change.before.tokenVersion;
    if (tokenVersionBumped) metrics.tokenVersionBumps.inc({ cause: "status" });
    // Audited even when nothing changed: the administrator asked, and the answer was a success.
    await audit.adminChange(caller, "user.status", { targetId: change.after.localId });
    return { user: change.after, changed: change.changed, tokenVersionBumped };
  }

  async function revoke(caller: AdminCaller, input: RevokeInput): Promise<RevokeResult> {
    const scope = input.scope ?? "";
    if (
      (input.tenantId !== undefined && input.tenantId !== "") ||
      (scope !== "" && scope.toLowerCase() !== "global")
    ) {
      throw new TiktiError("UNSUPPORTED_REVOCATION_SCOPE");
    }
    const problems = new ArgumentProblems();
    const ref = checkUserRef(problems, input);
    problems.throwIfAny();
    const user = await findUserByRef(repos, ref);
    const change = await repos.users.mutate(user.localId, withTokenVersionBump);
    metrics.tokenVersionBumps.inc({ cause: "revoke" });
    await audit.adminChange(caller, "user.revoke", { targetId: change.after.localId });
    return { user: change.after, revokedAt: new Date(clock.now()).toISOString() };
  }

  return { setStatus, revoke };
}
