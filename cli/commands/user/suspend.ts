import { statusCommand } from "./status.ts";

export default statusCommand("SUSPENDED", "Suspend a user (their tokens stop working)");
