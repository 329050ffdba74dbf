/**
 * 0003_company_memberships (docs/spec/cli.md §9.3): every user whose `companyId` names an existing
 * tenant gets a membership there (`{"roles": [<role>]}`) unless it has one. Go Tikti let such users
 * exchange tokens for their `companyId` tenant without a membership; Tikti requires one
 * (docs/spec/tokens.md §7 step 7).
 */
import type { User } from "../../src/domain/types.ts";
import {
  createMembership,
  decodeStoredUser,
  hasMembershipIn,
  type MigrationContext,
  scanUsers,
  tenantExists,
} from "../migration.ts";

export async function run(ctx: MigrationContext): Promise<void> {
  // Tenants are few; users are many.
  const tenants = new Map<string, boolean>();
  for await (const batch of scanUsers(ctx)) {
    for (const [id, text] of batch) {
      let user: User;
      try {
        user = decodeStoredUser(id, text);
      } catch (err) {
        ctx.count("errors");
        ctx.line(`error: ${(err as Error).message}`);
        continue;
      }
      const tenantId = user.companyId;
      if (!tenantId) continue;
      ctx.count("usersWithCompany");
      let exists = tenants.get(tenantId);
      if (exists === undefined) {
        exists = await tenantExists(ctx, tenantId);
        tenants.set(tenantId, exists);
      }
      if (!exists) {
        ctx.count("missingTenants");
        ctx.line(`missing tenant: ${tenantId} (user ${id})`);
        continue;
      }
      if (await hasMembershipIn(ctx, tenantId, id)) ctx.count("skipped");
      else if (await createMembership(ctx, tenantId, user)) ctx.count("membershipsCreated");
      else ctx.count("skipped");
    }
  }
}
