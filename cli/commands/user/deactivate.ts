import { statusCommand } from "./status.ts";

export default statusCommand("INACTIVE", "Deactivate a user (their tokens stop working)");
