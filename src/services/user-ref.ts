/**
 * How an admin route names an existing user: by `email` (the email index, docs/spec/storage.md §5) or by
 * `localId` (the `users_v2` field), exactly one of the two. The email index names one user per
 * email, but a user outside the index (a SAML user that shares an email, legacy data) is reachable
 * only by id, so every admin route that takes `email` also takes `localId` (issue 11 item 2).
 */
import type { User } from "../domain/types.ts";
import { TiktiError } from "../errors.ts";
import type { Repos } from "../store/repos/index.ts";
import { type ArgumentProblems, checkEmailArgument, argumentReasons as reasons } from "./arguments.ts";

/** As parsed by a route: `undefined` = absent (`null` already reads as absent). */
export interface UserRefInput {
  email?: string | undefined;
  localId?: string | undefined;
}

export type UserRef = { email: string } | { localId: string };

/** Stored ids are UUIDs today; legacy ids are passed through, within a sane bound. */
export const LOCAL_ID_MAX = 256;

export const userRefReasons = {
  neither: "exactly one of email or localId is required",
  both: "give either email or localId, not both",
  localIdTooLong: `must be at most ${LOCAL_ID_MAX} characters`,
} as const;

/**
 * Checks the pair: neither given → `400 INVALID_REQUEST` (a required field is missing) naming both
 * fields; both given → a problem on both; then the given one's own rules (an email's grammar, a
 * non-blank id). Problems are collected in `problems` with the route's other arguments.
 */
export function checkUserRef(problems: ArgumentProblems, input: UserRefInput): UserRef {
  const { email, localId } = input;
  if (email === undefined && localId === undefined) {
    throw new TiktiError("INVALID_REQUEST", {
      details: { email: userRefReasons.neither, localId: userRefReasons.neither },
    });
  }
  if (email !== undefined && localId !== undefined) {
    problems.add("email", userRefReasons.both);
    problems.add("localId", userRefReasons.both);
    return { localId };
  }
  if (localId !== undefined) {
    // Ids are compared exactly: never trimmed or case-folded.
    if (localId.trim() === "") problems.add("localId", reasons.blank);
    else if (localId.length > LOCAL_ID_MAX) problems.add("localId", userRefReasons.localIdTooLong);
    return { localId };
  }
  return { email: checkEmailArgument(problems, email ?? "") };
}

/** The named user, or `404 USER_NOT_FOUND`. */
export async function findUserByRef(repos: Pick<Repos, "users">, ref: UserRef): Promise<User> {
  const user =
    "localId" in ref ? await repos.users.getById(ref.localId) : await repos.users.findByEmail(ref.email);
  if (!user) throw new TiktiError("USER_NOT_FOUND");
  return user;
}
