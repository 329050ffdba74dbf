/**
 * Log lines to stdout, written once per event-loop turn instead of once per line (issue 14 item 2):
 * under load a turn finishes many requests, and each access-log line was its own synchronous
 * `write(2)`. Lines keep their order; a batch is also written as soon as it reaches `maxBytes`, and
 * whatever is pending is written before the process exits (the `exit` event runs synchronously, and
 * stdout to a file or pipe is synchronous on Linux). A hard kill (SIGKILL, OOM) can lose the lines of
 * the current turn only — the usual trade of a buffered logger.
 *
 * Audit records (docs/spec/operations.md §7) are not buffered: `now()` writes the pending log lines
 * and then the record, so the audit trail is on the stream when the request that made it answers,
 * and the order of lines on stdout stays the order they were made in.
 */
export interface LineSink {
  /** Queues one line (without its newline). */
  line(text: string): void;
  /** Writes pending lines, then this one, at once. */
  now(text: string): void;
  /** Writes what is pending. */
  flush(): void;
}

export function createLineSink(
  write: (chunk: string) => void,
  schedule: (run: () => void) => void,
  maxBytes = 64 * 1024,
): LineSink {
  let pending: string[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = `${pending.join("\n")}\n`;
    pending = [];
    bytes = 0;
    write(chunk);
  };
  return {
    line(text) {
      pending.push(text);
      bytes += text.length + 1;
      if (bytes >= maxBytes) flush();
      else if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    },
    now(text) {
      pending.push(text);
      flush();
    },
    flush,
  };
}
