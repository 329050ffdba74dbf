/**
 * Accounts (docs/spec/api.md §4): sign-up, password and one-time-code sign-in, lookup, update, delete,
 * one-time codes and password reset. All business rules live here, with no HTTP: the route group
 * (src/http/routes/accounts.ts), the CLI-facing routes and migrations call these functions.
 *
 * Rules that shape the code:
 * - Sign-in failures are indistinguishable (docs/spec/api.md §4.2): unknown user, SAML-only user, wrong
 *   password and a user that is not ACTIVE give the same error after the same kind of hash work;
 *   the status is read only after a verify, so timing does not reveal it.
 * - Rate limits and the lockout run before any hash work (docs/spec/api.md §2.8).
 * - Every change to a user is one CAS write that also bumps `tokenVersion` (docs/spec/storage.md §4.2,
 *   docs/spec/tokens.md §5), and it re-checks the version the presented token was verified against, so an
 *   update racing a revocation cannot hand out a token that outlives it.
 * - Emails, passwords, tokens and codes never reach a log line (docs/spec/operations.md §7): emails are
 *   logged as `hashForLog` digests.
 */
import type { Config } from "../config/schema.ts";
import type { AuthMethod, IdTokenSigner } from "../crypto/id-token.ts";
import type { PasswordHasher } from "../crypto/password.ts";
import { BCRYPT_MAX_PASSWORD_BYTES } from "../crypto/password.ts";
import { isCommonPassword } from "../domain/common-passwords.ts";
import { isValidEmail, normaliseEmail } from "../domain/email.ts";
import { GLOBAL_ROLES, isGlobalRole, isPathTenantId, parseOobRequestType } from "../domain/grammar.ts";
import type { OobRequestType, User } from "../domain/types.ts";
import { isTiktiError, TiktiError } from "../errors.ts";
import { hashForLog, type Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { Repos } from "../store/repos/index.ts";
import { codeIsCurrent } from "../store/repos/oob.ts";
import { withTokenVersionBump } from "../store/repos/users.ts";
import type { Audit } from "./audit.ts";
import type { RefreshTokenService } from "./oauth/refresh-tokens.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { IdTokenVerifier } from "./verify-id-token.ts";

/** Longest password accepted, in code points (docs/spec/api.md §2.10). */
export const PASSWORD_MAX_CODE_POINTS = 128;
const DEFAULT_ROLE = "COMPANY_EMPLOYEE";

/**
 * docs/spec/api.md §4.1: whether a sign-up asks for more than the default role. With
 * `admin.requireAdminToken: true` such a request is honoured only with a valid admin bearer.
 */
export function signUpRoleNeedsAdminBearer(requireAdminToken: boolean, role: string | undefined): boolean {
  return requireAdminToken && role !== undefined && role !== "" && role !== DEFAULT_ROLE;
}

export interface AccountsDeps {
  config: Pick<Config, "accounts" | "admin" | "idTokenTtlSeconds">;
  repos: Repos;
  rateLimiter: RateLimiter;
  verifyIdToken: IdTokenVerifier;
  idTokens: Pick<IdTokenSigner, "sign">;
  passwords: PasswordHasher;
  metrics: Pick<Metrics, "signIn" | "signUp" | "lookup" | "tokenVersionBumps">;
  audit: Audit;
  logger: Logger;
  /** Starts a refresh-token family for each password and email-code sign-in (docs/spec/oauth.md §6). */
  refreshTokens: Pick<RefreshTokenService, "startFamily">;
}

/** Who is asking; filled by the HTTP layer (or a CLI/migration caller). */
export interface RequestContext {
  /** Client IP (docs/spec/api.md §2.8), the rate-limit subject of the per-IP buckets. */
  clientIp: string;
  /** Correlates audit records with the request (`httpRequestId`). */
  requestId: string;
  /** Request-scoped logger; defaults to the service logger. */
  log?: Logger;
}

/** `signIn`, `signInWithPassword`, `signInWithOobCode` (docs/spec/api.md §4.2, §4.7). */
export interface SignInResult {
  idToken: string;
  email: string;
  localId: string;
  expiresIn: number;
  /** Absent when `tokens.refresh.enabled` is false. */
  refreshToken?: string;
}

export interface SignUpInput {
  email: string;
  password: string;
  /** Honoured only when `privileged`; ignored otherwise (docs/spec/api.md §4.1). */
  role?: string | undefined;
  /**
   * The audit actor (`apiKey` or `user:<localId>`) when the caller is privileged; `undefined` for
   * an anonymous caller of the `open` mode.
   */
  privilegedActor?: string | undefined;
}

export interface SignUpResult {
  localId: string;
  email: string;
  createdAt: string;
  idToken: string;
  expiresIn: number;
  refreshToken?: string;
}

export interface LookupUser {
  localId: string;
  email: string;
  role?: string;
  status?: string;
  tenantId?: string;
}

export interface UpdateInput {
  idToken: string;
  email?: string | undefined;
  password?: string | undefined;
}

export interface UpdateResult {
  localId: string;
  email: string;
  idToken: string;
  expiresIn: number;
  refreshToken?: string;
}

export interface SendOobCodeResult {
  /** Normalised. */
  email: string;
  requestType: OobRequestType;
  oobCode: string;
  /** `accounts.oobCodeTtlSeconds`. */
  expiresIn: number;
}

export interface AccountsService {
  /** docs/spec/api.md §4.1. The caller decides `privilegedActor` from the `accounts.signUp` mode. */
  signUp(input: SignUpInput, ctx: RequestContext): Promise<SignUpResult>;
  /** docs/spec/api.md §4.2: one function behind `signIn` and `signInWithPassword`. */
  signInWithPassword(input: { email: string; password: string }, ctx: RequestContext): Promise<SignInResult>;
  /** docs/spec/api.md §4.3: every failure, an unknown user included, is `401 INVALID_TOKEN`. */
  lookup(idToken: string): Promise<LookupUser>;
  /** docs/spec/api.md §4.4. */
  update(input: UpdateInput, ctx: RequestContext): Promise<UpdateResult>;
  /** docs/spec/api.md §4.5. */
  deleteAccount(idToken: string, ctx: RequestContext): Promise<void>;
  /** docs/spec/api.md §4.6. */
  sendOobCode(input: { requestType: string; email: string }, ctx: RequestContext): Promise<SendOobCodeResult>;
  /** docs/spec/api.md §4.7. */
  signInWithOobCode(input: { email: string; oobCode: string }, ctx: RequestContext): Promise<SignInResult>;
  /** docs/spec/api.md §4.8. */
  resetPassword(input: { oobCode: string; newPassword: string }, ctx: RequestContext): Promise<void>;
  /** docs/spec/api.md §4.9. */
  sendTenantOobCode(
    input: { tenantId: string; requestType: string; email: string },
    ctx: RequestContext,
  ): Promise<SendOobCodeResult>;
}

function invalidArgument(details: Record<string, string>): TiktiError {
  return new TiktiError("INVALID_ARGUMENT", { details });
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * The password rules of docs/spec/api.md §2.10, or `null` when the password passes: `minLength`–128 code
 * points, ≤ 72 UTF-8 bytes when new hashes use bcrypt, not the email or its local part
 * (case-insensitive), and not a common password (`"too common"`). The password is taken as sent
 * (never trimmed); `email` is the normalised email it will belong to.
 */
export function passwordPolicyProblem(
  password: string,
  email: string | null,
  policy: { minLength: number; scheme: string },
): string | null {
  const length = codePointLength(password);
  if (length < policy.minLength) return `must be at least ${policy.minLength} characters`;
  if (length > PASSWORD_MAX_CODE_POINTS) return `must be at most ${PASSWORD_MAX_CODE_POINTS} characters`;
  if (policy.scheme === "bcrypt" && new TextEncoder().encode(password).length > BCRYPT_MAX_PASSWORD_BYTES) {
    return `must be at most ${BCRYPT_MAX_PASSWORD_BYTES} UTF-8 bytes`;
  }
  if (email !== null) {
    const lower = password.toLowerCase();
    const at = email.lastIndexOf("@");
    if (lower === email) return "must not equal the email";
    if (at > 0 && lower === email.slice(0, at)) return "must not equal the email's local part";
  }
  if (isCommonPassword(password)) return "too common";
  return null;
}

/** A normalised email that passes the grammar of docs/spec/api.md §2.10, or `400 INVALID_ARGUMENT`. */
function requireEmail(input: string, field = "email"): string {
  const email = normaliseEmail(input);
  if (email === "") throw invalidArgument({ [field]: "must not be blank" });
  if (!isValidEmail(email)) throw invalidArgument({ [field]: "must be a valid email address" });
  return email;
}

/** A normalised, non-blank email (lookups of existing users: legacy spellings stay reachable). */
function requireNonBlankEmail(input: string, field = "email"): string {
  const email = normaliseEmail(input);
  if (email === "") throw invalidArgument({ [field]: "must not be blank" });
  return email;
}

function requireRequestType(input: string): OobRequestType {
  const type = parseOobRequestType(input);
  if (!type) throw invalidArgument({ requestType: "must be PASSWORD_RESET or EMAIL_SIGNIN" });
  return type;
}

/** 32 random bytes, base64url: the secret behind the "random unusable password hash" of §4.9. */
function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Password users that may receive codes (docs/spec/api.md §4.6 table). */
function canReceiveCodes(user: User | null): user is User {
  return user !== null && user.status === "ACTIVE" && user.authSource === "password";
}

export function createAccountsService(deps: AccountsDeps): AccountsService {
  const { repos, rateLimiter, passwords, metrics, config } = deps;
  const policy = {
    minLength: config.accounts.passwordMinLength,
    scheme: config.accounts.passwordHash.scheme,
  };
  const expiresIn = config.idTokenTtlSeconds;

  function checkPassword(password: string, email: string | null, field: string): void {
    const problem = passwordPolicyProblem(password, email, policy);
    if (problem) throw invalidArgument({ [field]: problem });
  }

  async function issueIdToken(user: User, amr: AuthMethod): Promise<string> {
    const signed = await deps.idTokens.sign({
      sub: user.localId,
      email: user.email,
      role: user.role,
      ...(user.companyId ? { tid: user.companyId } : {}),
      amr,
      ver: user.tokenVersion,
    });
    return signed.token;
  }

  /**
   * A refresh token continuing the session of the idToken just issued to `user` (same `amr` and
   * `tid`), as a field to spread into the answer; none when refresh tokens are off.
   */
  async function refreshTokenFor(user: User, amr: "pwd" | "oob"): Promise<{ refreshToken?: string }> {
    const refreshToken = await deps.refreshTokens.startFamily(user, { amr, tid: user.companyId });
    return refreshToken === undefined ? {} : { refreshToken };
  }

  async function signInResult(user: User, amr: "pwd" | "oob"): Promise<SignInResult> {
    return {
      idToken: await issueIdToken(user, amr),
      email: user.email,
      localId: user.localId,
      expiresIn,
      ...(await refreshTokenFor(user, amr)),
    };
  }

  /** Counts the outcome of `work`: `success` when it returns, `failure` when it throws. */
  async function counted<T>(
    count: (result: "success" | "failure") => void,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      const value = await work();
      count("success");
      return value;
    } catch (e) {
      count("failure");
      throw e;
    }
  }

  // ------------------------------------------------------------------ sign-up (§4.1)

  async function signUp(input: SignUpInput, ctx: RequestContext): Promise<SignUpResult> {
    return counted(
      (result) => metrics.signUp.inc({ result }),
      async () => {
        const privileged = input.privilegedActor !== undefined;
        // The API key alone never creates an ADMIN or COMPANY_ADMIN in this mode: the route checks
        // the bearer first; this backstop keeps any other caller of the service from skipping it.
        const viaAdminBearer = input.privilegedActor?.startsWith("user:") === true;
        if (
          privileged &&
          signUpRoleNeedsAdminBearer(config.admin.requireAdminToken, input.role) &&
          !viaAdminBearer
        ) {
          throw new TiktiError("ADMIN_AUTH_REQUIRED");
        }
        // Limits before any hash work (docs/spec/api.md §2.8).
        await rateLimiter.check("signUpIp", ctx.clientIp);
        const email = requireEmail(input.email);
        checkPassword(input.password, email, "password");
        let role = DEFAULT_ROLE;
        if (privileged && input.role !== undefined && input.role !== "") {
          if (!isGlobalRole(input.role)) {
            throw invalidArgument({ role: `must be one of ${GLOBAL_ROLES.join(", ")}` });
          }
          role = input.role;
        }
        // Cheap early answer; the index claim below is what enforces uniqueness (docs/spec/storage.md §4.3).
        if (await repos.users.findByEmail(input.email)) throw new TiktiError("EMAIL_EXISTS");

        const tenant = await signUpTenant(ctx);
        const hash = await passwords.hash(input.password);
        // The raw spelling: create also checks a legacy `users` entry under it (docs/spec/storage.md §5).
        const user = await repos.users.create({
          email: input.email,
          password: hash,
          role,
          ...(tenant ? { companyId: tenant } : {}),
        });
        if (tenant) await repos.memberships.put(tenant, user.localId, [role]);
        if (privileged) {
          await deps.audit.admin({
            action: "user.create",
            actor: input.privilegedActor as string,
            tenantId: tenant ?? undefined,
            targetId: user.localId,
            requestId: ctx.requestId,
          });
        }
        return {
          localId: user.localId,
          email: user.email,
          createdAt: user.createdAt,
          idToken: await issueIdToken(user, "pwd"),
          expiresIn,
          ...(await refreshTokenFor(user, "pwd")),
        };
      },
    );
  }

  /** `accounts.signUpTenant` when it names an existing ACTIVE tenant, else `null`. */
  async function signUpTenant(ctx: RequestContext): Promise<string | null> {
    const id = config.accounts.signUpTenant;
    if (id === "") return null;
    const tenant = isPathTenantId(id) ? await repos.tenants.get(id) : null;
    if (tenant?.status === "ACTIVE") return tenant.id;
    (ctx.log ?? deps.logger).warn("sign-up tenant missing or not active; no membership created", {
      tenantId: id,
    });
    return null;
  }

  // ------------------------------------------------------------------ password sign-in (§4.2)

  async function signInWithPassword(
    input: { email: string; password: string },
    ctx: RequestContext,
  ): Promise<SignInResult> {
    const log = ctx.log ?? deps.logger;
    const email = requireNonBlankEmail(input.email);
    return counted(
      (result) => metrics.signIn.inc({ method: "password", result }),
      async () => {
        // 1. Limits and the lockout, before any hash work.
        await rateLimiter.check("signInIp", ctx.clientIp);
        await rateLimiter.check("signInEmail", email);
        await rateLimiter.checkLockout(email, ctx.clientIp);
        // 2.
        const user = await repos.users.findByEmail(input.email);
        // 3. `verify` spends a dummy verify itself when the stored hash is empty or unknown.
        const matches = user
          ? await passwords.verify(input.password, user.password)
          : await passwords.verifyDummy(input.password);
        // 4. The status is read only now, after the same work for every case.
        if (!user || !matches || user.status !== "ACTIVE") {
          await rateLimiter.recordFailure(email, ctx.clientIp);
          log.info("sign-in failed", {
            userId: user?.localId ?? "",
            email: await hashForLog(email),
            result: "failure",
            code: "INVALID_CREDENTIALS",
          });
          throw new TiktiError("INVALID_CREDENTIALS");
        }
        // 5.
        await rateLimiter.clearFailures(email, ctx.clientIp);
        await upgradeHash(user, input.password, log);
        return signInResult(user, "pwd");
      },
    );
  }

  /**
   * docs/spec/operations.md §2.5: a hash weaker than policy is replaced after a successful sign-in, by a CAS
   * write against the hash just verified (a concurrent password change wins). Never fails the
   * sign-in: a failure is logged.
   */
  async function upgradeHash(user: User, password: string, log: Logger): Promise<void> {
    if (!passwords.needsRehash(user.password)) return;
    try {
      const upgraded = await passwords.hash(password);
      const change = await repos.users.mutate(user.localId, (current) =>
        current.password === user.password ? { ...current, password: upgraded } : null,
      );
      if (change.changed) log.info("password hash upgraded", { userId: user.localId });
    } catch (error) {
      log.warn("password hash upgrade failed", { userId: user.localId, error });
    }
  }

  // ------------------------------------------------------------------ lookup (§4.3)

  async function lookup(idToken: string): Promise<LookupUser> {
    return counted(
      (result) => metrics.lookup.inc({ result }),
      async () => {
        // docs/spec/api.md §2.11.3 (binding clarification, names lookup): a verified token whose user no
        // longer exists is 404 USER_NOT_FOUND; every other failure is 401 (§4.3, docs/spec/tokens.md §4.2).
        // The membership index depends only on `sub` (a verified user's id always equals it): read it in
        // the round trip of the user read, so a lookup is two round trips on Redis (issue 14).
        let indexed: Promise<string[]> | undefined;
        const { user, claims, saml } = await deps.verifyIdToken(idToken, {
          checkTenant: true,
          missingUserIs404: true,
          alongside: (verified) => {
            if (verified.amr.includes("saml")) return;
            indexed = repos.memberships.indexedTenants(verified.sub);
            indexed.catch(() => {});
          },
        });
        let tenantId: string | undefined;
        if (saml) tenantId = claims.tid;
        else {
          const memberships = await repos.memberships.tenantsOfUser(user.localId, {
            userKnownToExist: true,
            ...(indexed && user.localId === claims.sub ? { indexed } : {}),
          });
          tenantId = memberships[0]?.tenantId ?? user.companyId;
        }
        const out: LookupUser = { localId: user.localId, email: user.email };
        if (user.role) out.role = user.role;
        if (user.status) out.status = user.status;
        if (tenantId) out.tenantId = tenantId;
        return out;
      },
    );
  }

  // ------------------------------------------------------------------ update and delete (§4.4, §4.5)

  /** docs/spec/tokens.md §4.2 for update and delete: procedure V, no SAML token, no SAML-managed user. */
  async function verifyForChange(idToken: string) {
    const verified = await deps.verifyIdToken(idToken, { missingUserIs404: true });
    if (verified.saml) throw new TiktiError("FEDERATED_TOKEN_NOT_ALLOWED");
    if (verified.user.authSource === "saml") {
      throw invalidArgument({ idToken: "the user is managed by its tenant's identity provider" });
    }
    return verified;
  }

  async function update(input: UpdateInput, ctx: RequestContext): Promise<UpdateResult> {
    if (input.email === undefined && input.password === undefined) {
      throw invalidArgument({ body: "email or password is required" });
    }
    const { user, claims } = await verifyForChange(input.idToken);
    const newEmail = input.email === undefined ? undefined : requireEmail(input.email);
    const emailChanges = newEmail !== undefined && newEmail !== user.email;
    if (input.password !== undefined) {
      checkPassword(input.password, newEmail ?? normaliseEmail(user.email), "password");
    }
    const hash = input.password === undefined ? undefined : await passwords.hash(input.password);

    // The record must still be the one the token was verified against: a revocation or status
    // change in between wins, and the caller gets what a fresh verification would answer.
    const guard = (current: User): User => {
      if (current.tokenVersion !== user.tokenVersion || current.status !== "ACTIVE") {
        throw new TiktiError("INVALID_TOKEN", { cause: new Error("user changed since token verification") });
      }
      return hash === undefined ? current : { ...current, password: hash };
    };
    let after = user;
    if (emailChanges) {
      after = (await repos.users.changeEmail(user.localId, newEmail, guard)).after;
      metrics.tokenVersionBumps.inc({ cause: "email" });
    } else if (hash !== undefined) {
      after = (await repos.users.mutate(user.localId, (current) => withTokenVersionBump(guard(current))))
        .after;
      metrics.tokenVersionBumps.inc({ cause: "password" });
    }
    (ctx.log ?? deps.logger).info("account updated", {
      userId: user.localId,
      emailChanged: emailChanges,
      passwordChanged: hash !== undefined,
    });
    // The new token replaces the presented one and keeps its method (docs/spec/api.md §4.4); a Go-era token
    // without `amr` came from a password sign-in.
    const amr = claims.amr.includes("oob") && !claims.amr.includes("pwd") ? "oob" : "pwd";
    return {
      localId: after.localId,
      email: after.email,
      idToken: await issueIdToken(after, amr),
      expiresIn,
      ...(await refreshTokenFor(after, amr)),
    };
  }

  async function deleteAccount(idToken: string, ctx: RequestContext): Promise<void> {
    const { user } = await verifyForChange(idToken);
    const deleted = await repos.users.delete(user.localId);
    if (!deleted) throw new TiktiError("USER_NOT_FOUND");
    await deps.audit.admin({
      action: "user.delete",
      actor: `user:${user.localId}`,
      tenantId: deleted.companyId,
      targetId: user.localId,
      requestId: ctx.requestId,
    });
  }

  // ------------------------------------------------------------------ one-time codes (§4.6–§4.9)

  async function issueCode(
    user: User,
    email: string,
    requestType: OobRequestType,
  ): Promise<SendOobCodeResult> {
    const issued = await repos.oob.issue({ email, requestType, tokenVersion: user.tokenVersion });
    return { email, requestType, oobCode: issued.code, expiresIn: config.accounts.oobCodeTtlSeconds };
  }

  async function sendOobCode(
    input: { requestType: string; email: string },
    _ctx: RequestContext,
  ): Promise<SendOobCodeResult> {
    const requestType = requireRequestType(input.requestType);
    const email = requireNonBlankEmail(input.email);
    // Counted whether or not the user exists (docs/spec/api.md §4.6).
    await rateLimiter.check("oobSendEmail", email);
    const user = await repos.users.findByEmail(input.email);
    if (!canReceiveCodes(user)) {
      if (requestType === "PASSWORD_RESET") throw new TiktiError("USER_NOT_FOUND");
      // EMAIL_SIGNIN does not reveal whether the user exists: a code that was never stored.
      return {
        email,
        requestType,
        oobCode: crypto.randomUUID(),
        expiresIn: config.accounts.oobCodeTtlSeconds,
      };
    }
    return issueCode(user, email, requestType);
  }

  async function signInWithOobCode(
    input: { email: string; oobCode: string },
    ctx: RequestContext,
  ): Promise<SignInResult> {
    const email = normaliseEmail(input.email);
    const code = input.oobCode.trim();
    const blank: Record<string, string> = {};
    if (email === "") blank.email = "must not be blank";
    if (code === "") blank.oobCode = "must not be blank";
    if (Object.keys(blank).length > 0) throw invalidArgument(blank);
    const log = ctx.log ?? deps.logger;
    return counted(
      (result) => metrics.signIn.inc({ method: "oob", result }),
      async () => {
        await rateLimiter.check("oobSignInIp", ctx.clientIp);
        await rateLimiter.check("oobSignInEmail", email);
        // A PASSWORD_RESET code is left untouched (WRONG_TYPE).
        const consumed = await repos.oob.consume(code, "EMAIL_SIGNIN");
        if (consumed.status !== "OK" || consumed.email !== email) {
          log.info("code sign-in failed", { email: await hashForLog(email), code: "INVALID_OOB_CODE" });
          throw new TiktiError("INVALID_OOB_CODE");
        }
        const user = await repos.users.findByEmail(input.email);
        if (user?.status !== "ACTIVE") {
          log.info("code sign-in failed", { userId: user?.localId ?? "", code: "INVALID_CREDENTIALS" });
          throw new TiktiError("INVALID_CREDENTIALS");
        }
        // A token-version bump since issue (revoke, password or status change) voids the code.
        if (!codeIsCurrent(consumed.ver, user.tokenVersion)) {
          log.info("code sign-in failed", {
            userId: user.localId,
            code: "INVALID_OOB_CODE",
            reason: "revoked",
          });
          throw new TiktiError("INVALID_OOB_CODE");
        }
        return signInResult(user, "oob");
      },
    );
  }

  async function resetPassword(
    input: { oobCode: string; newPassword: string },
    ctx: RequestContext,
  ): Promise<void> {
    const code = input.oobCode.trim();
    if (code === "") throw invalidArgument({ oobCode: "must not be blank" });
    // Policy failures leave the code in place (docs/spec/api.md §4.8): the rules that need no email first,
    // then the email rule against the code's email, read without consuming it.
    checkPassword(input.newPassword, null, "newPassword");
    const peeked = await repos.oob.peek(code);
    if (peeked?.requestType === "PASSWORD_RESET") {
      checkPassword(input.newPassword, normaliseEmail(peeked.email), "newPassword");
    }
    // Hash only for a code that looks spendable, so unknown codes cost no hash work.
    const hash = peeked?.requestType === "PASSWORD_RESET" ? await passwords.hash(input.newPassword) : null;
    // An EMAIL_SIGNIN code is left in place (WRONG_TYPE); an expired one is deleted.
    const consumed = await repos.oob.consume(code, "PASSWORD_RESET");
    if (consumed.status !== "OK" || hash === null) throw new TiktiError("INVALID_OOB_CODE");

    const user = await repos.users.findByEmail(consumed.email);
    // A user that became SAML-managed since the code was issued must not get a password.
    if (user?.authSource !== "password") throw new TiktiError("USER_NOT_FOUND");
    // A token-version bump since issue voids the code; re-checked inside the CAS so that a
    // revocation landing between the read and the write still wins.
    const voided = () =>
      new TiktiError("INVALID_OOB_CODE", { cause: new Error("code predates a token-version bump") });
    if (!codeIsCurrent(consumed.ver, user.tokenVersion)) throw voided();
    await repos.users.mutate(user.localId, (current) => {
      if (!codeIsCurrent(consumed.ver, current.tokenVersion)) throw voided();
      return withTokenVersionBump({ ...current, password: hash });
    });
    metrics.tokenVersionBumps.inc({ cause: "password" });
    // The guessed-at password is gone: the resetting address and the per-email ceiling start over
    // (other addresses' counters keep locking those addresses until their windows end).
    await rateLimiter.clearFailures(consumed.email, ctx.clientIp, { alsoEmailCeiling: true });
    (ctx.log ?? deps.logger).info("password reset", { userId: user.localId });
  }

  async function sendTenantOobCode(
    input: { tenantId: string; requestType: string; email: string },
    ctx: RequestContext,
  ): Promise<SendOobCodeResult> {
    // 1. (The path tenant, then the arguments, then existence: the order of the tenancy routes.)
    if (!isPathTenantId(input.tenantId)) throw new TiktiError("INVALID_TENANT");
    const requestType = requireRequestType(input.requestType);
    const email = requireNonBlankEmail(input.email);
    const tenant = await repos.tenants.get(input.tenantId);
    if (!tenant) throw new TiktiError("TENANT_NOT_FOUND");
    if (tenant.status !== "ACTIVE") throw new TiktiError("INVALID_TENANT");
    await rateLimiter.check("oobSendEmail", email);

    let user = await repos.users.findByEmail(input.email);
    if (requestType === "PASSWORD_RESET") {
      // 2.
      if (!canReceiveCodes(user) || !(await repos.memberships.get(tenant.id, user.localId))) {
        throw new TiktiError("USER_NOT_FOUND");
      }
      return issueCode(user, email, requestType);
    }
    // 3.
    if (!user) user = await createCodeUser(input.email, tenant.id, ctx);
    else {
      // 4.
      if (user.status !== "ACTIVE" || user.authSource === "saml") throw new TiktiError("ACCOUNT_DISABLED");
      if (!(await repos.memberships.get(tenant.id, user.localId))) {
        throw new TiktiError("TENANT_ACCESS_DENIED");
      }
    }
    // 5.
    return issueCode(user, email, requestType);
  }

  /** docs/spec/api.md §4.9 step 3: a password user nobody knows the password of, member of the tenant. */
  async function createCodeUser(email: string, tenantId: string, ctx: RequestContext): Promise<User> {
    requireEmail(email);
    const hash = await passwords.hash(randomPassword());
    let user: User;
    try {
      user = await repos.users.create({
        email,
        password: hash,
        role: DEFAULT_ROLE,
        companyId: tenantId,
      });
    } catch (e) {
      // A concurrent dispatch created it first: continue with step 4 on that user.
      if (!isTiktiError(e) || e.code !== "EMAIL_EXISTS") throw e;
      const existing = await repos.users.findByEmail(email);
      if (!existing) throw e;
      if (existing.status !== "ACTIVE" || existing.authSource === "saml")
        throw new TiktiError("ACCOUNT_DISABLED");
      if (!(await repos.memberships.get(tenantId, existing.localId)))
        throw new TiktiError("TENANT_ACCESS_DENIED");
      return existing;
    }
    await repos.memberships.put(tenantId, user.localId, [DEFAULT_ROLE]);
    await deps.audit.admin({
      action: "user.create",
      actor: "apiKey",
      tenantId,
      targetId: user.localId,
      requestId: ctx.requestId,
    });
    return user;
  }

  return {
    signUp,
    signInWithPassword,
    lookup,
    update,
    deleteAccount,
    sendOobCode,
    signInWithOobCode,
    resetPassword,
    sendTenantOobCode,
  };
}
