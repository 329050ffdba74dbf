/**
 * Audit records (docs/spec/operations.md §7): JSON lines, schema version 1, written after the change
 * succeeded. A failed write is logged and counted (`tikti_audit_failures_total`); the response is
 * never affected. The sink is injected: stdout (same stream as logs, `"log": "audit"`) or a file.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";

export type AuditSink = (line: string) => void | Promise<void>;

export type AdminAction =
  | "tenant.create"
  | "tenant.status"
  | "membership.put"
  | "membership.remove"
  | "role.put"
  | "client.create"
  | "client.update"
  | "client.secret.rotate"
  | "client.jwks.put"
  | "user.create"
  | "user.status"
  | "user.revoke"
  | "user.delete"
  | "saml.idp.create"
  | "saml.idp.put"
  | "saml.idp.delete"
  | "saml.idp.refresh"
  | "saml.domain.put"
  | "saml.domain.delete"
  | "saml.sp.rotation";

/**
 * Who asked for an admin change, as the admin audit record names it (docs/spec/operations.md §7):
 * every service method that changes state on an administrator's behalf takes one and writes the
 * record itself, so no caller (HTTP route, future CLI-facing entry) can forget or duplicate it.
 */
export interface AdminCaller {
  /** `apiKey` or `user:<localId>` (the admin bearer). */
  readonly actor: string;
  /** Correlates the record with the request (`httpRequestId`). */
  readonly requestId: string;
}

export interface AdminAuditInput {
  action: AdminAction;
  /** `apiKey` or `user:<localId>` (the admin bearer). */
  actor: string;
  tenantId?: string | undefined;
  targetId?: string | undefined;
  outcome?: "success" | "failure";
  requestId: string;
}

export interface Audit {
  admin(input: AdminAuditInput): Promise<void>;
  /** `admin` for a change `caller` asked for; `outcome` defaults to success. */
  adminChange(
    caller: AdminCaller,
    action: AdminAction,
    change: { tenantId?: string; targetId?: string; outcome?: "success" | "failure" },
  ): Promise<void>;
  /** Any other audit event (e.g. SAML assertion decisions); `event` names it. */
  record(event: string, fields: Record<string, unknown>): Promise<void>;
  /**
   * `record` for a decision that must not go out unaudited (the SAML assertion decision,
   * docs/spec/saml.md §15): false when the write failed — counted and logged like any other failed
   * write — so that the caller fails closed.
   */
  recordOrFail(event: string, fields: Record<string, unknown>): Promise<boolean>;
}

export function createAudit(deps: {
  sink: AuditSink;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  replicaId: string;
}): Audit {
  const write = async (event: string, record: Record<string, unknown>): Promise<boolean> => {
    try {
      await deps.sink(JSON.stringify(record));
      return true;
    } catch (error) {
      deps.metrics.auditFailures.inc({ event });
      deps.logger.error("audit write failed", { event, error });
      return false;
    }
  };
  const envelope = (event: string, fields: Record<string, unknown>) => ({
    log: "audit",
    event,
    schemaVersion: 1,
    ts: new Date(deps.clock.now()).toISOString(),
    ...fields,
    replicaID: deps.replicaId,
  });
  const admin = async (input: AdminAuditInput): Promise<void> => {
    await write(`admin.${input.action}`, {
      log: "audit",
      event: `admin.${input.action}`,
      schemaVersion: 1,
      ts: new Date(deps.clock.now()).toISOString(),
      actor: input.actor,
      tenantId: input.tenantId ?? "",
      targetId: input.targetId ?? "",
      outcome: input.outcome ?? "success",
      httpRequestId: input.requestId,
      replicaID: deps.replicaId,
    });
  };
  return {
    admin,
    adminChange: (caller, action, change) =>
      admin({ action, actor: caller.actor, requestId: caller.requestId, ...change }),
    record: async (event, fields) => {
      await write(event, envelope(event, fields));
    },
    recordOrFail: (event, fields) => write(event, envelope(event, fields)),
  };
}
