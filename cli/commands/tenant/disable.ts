import { tenantStatusCommand } from "./status.ts";

export default tenantStatusCommand("DISABLED", "Disable a tenant (its exchanges and tokens stop working)");
