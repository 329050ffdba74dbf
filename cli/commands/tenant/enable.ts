import { tenantStatusCommand } from "./status.ts";

export default tenantStatusCommand("ACTIVE", "Enable a disabled tenant again");
