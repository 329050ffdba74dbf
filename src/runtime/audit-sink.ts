// Audit sink of docs/spec/operations.md §7: stdout (same stream as logs) or a file appended per record.
import { open } from "node:fs/promises";
import type { Config } from "../config/schema.ts";
import type { AuditSink } from "../services/audit.ts";

export async function createAuditSink(
  audit: Config["audit"],
  stdout: (line: string) => void,
): Promise<{ write: AuditSink; close(): Promise<void> }> {
  if (audit.sink !== "file") return { write: stdout, close: async () => {} };
  const handle = await open(audit.filePath, "a", 0o600);
  return {
    // One write per record; O_APPEND keeps concurrent records whole.
    write: async (line) => {
      await handle.write(`${line}\n`);
    },
    close: () => handle.close(),
  };
}
