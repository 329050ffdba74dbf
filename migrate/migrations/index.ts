/**
 * The migrations of docs/spec/cli.md §9, in id order. Each module is imported only when it runs.
 */
import type { MigrationInfo } from "../migration.ts";

export const MIGRATIONS: readonly MigrationInfo[] = [
  {
    id: "0001",
    name: "users_v2",
    counters: [
      { key: "legacyUsers", label: "legacy users" },
      { key: "migrated", label: "migrated", result: "migrated" },
      { key: "skipped", label: "skipped", result: "skipped" },
      { key: "conflicts", label: "conflicts", result: "conflict" },
      { key: "membershipsCreated", label: "memberships created", result: "membership_created" },
      { key: "errors", label: "errors", result: "error" },
    ],
    conflictCounter: "conflicts",
    errorCounter: "errors",
    load: () => import("./0001-users-v2.ts"),
  },
  {
    id: "0002",
    name: "email_index_normalise",
    counters: [
      { key: "indexKeys", label: "index keys" },
      { key: "normalised", label: "normalised", result: "normalised" },
      { key: "merged", label: "merged", result: "merged" },
      { key: "removed", label: "removed", result: "removed" },
      { key: "conflicts", label: "conflicts", result: "conflict" },
      { key: "errors", label: "errors", result: "error" },
    ],
    conflictCounter: "conflicts",
    errorCounter: "errors",
    load: () => import("./0002-email-index-normalise.ts"),
  },
  {
    id: "0003",
    name: "company_memberships",
    counters: [
      { key: "usersWithCompany", label: "users with companyId" },
      { key: "membershipsCreated", label: "memberships created", result: "membership_created" },
      { key: "skipped", label: "skipped", result: "skipped" },
      { key: "missingTenants", label: "missing tenants", result: "missing_tenant" },
      { key: "errors", label: "errors", result: "error" },
    ],
    errorCounter: "errors",
    load: () => import("./0003-company-memberships.ts"),
  },
  {
    id: "0007",
    name: "saml_user_fields",
    counters: [
      { key: "records", label: "records" },
      { key: "updated", label: "updated", result: "updated" },
      { key: "skipped", label: "skipped", result: "skipped" },
      { key: "errors", label: "errors", result: "error" },
    ],
    errorCounter: "errors",
    downCounters: [
      { key: "records", label: "records" },
      { key: "reverted", label: "reverted", result: "reverted" },
      { key: "skipped", label: "skipped", result: "skipped" },
      { key: "errors", label: "errors", result: "error" },
    ],
    load: () => import("./0007-saml-user-fields.ts"),
  },
];

export function fullName(m: MigrationInfo): string {
  return `${m.id}_${m.name}`;
}

/** `0001` or `0001_users_v2`; `undefined` when unknown. */
export function findMigration(idOrName: string): MigrationInfo | undefined {
  return MIGRATIONS.find((m) => m.id === idOrName || fullName(m) === idOrName);
}
