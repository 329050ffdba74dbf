import { statusCommand } from "./status.ts";

export default statusCommand("ACTIVE", "Activate a user again (earlier tokens stay revoked)");
