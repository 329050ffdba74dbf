// Standard process series (Prometheus client conventions), from APIs Node, Bun and Deno all offer.
const startSeconds = Math.floor(Date.now() / 1000);

export function processMetrics(): string {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const lines = [
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    "# TYPE process_cpu_seconds_total counter",
    `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
    "# HELP process_resident_memory_bytes Resident memory size in bytes.",
    "# TYPE process_resident_memory_bytes gauge",
    `process_resident_memory_bytes ${mem.rss}`,
    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
    "# TYPE process_start_time_seconds gauge",
    `process_start_time_seconds ${startSeconds}`,
    "# HELP nodejs_heap_size_used_bytes Process heap size used in bytes.",
    "# TYPE nodejs_heap_size_used_bytes gauge",
    `nodejs_heap_size_used_bytes ${mem.heapUsed}`,
    "# HELP nodejs_heap_size_total_bytes Process heap size in bytes.",
    "# TYPE nodejs_heap_size_total_bytes gauge",
    `nodejs_heap_size_total_bytes ${mem.heapTotal}`,
  ];
  return `${lines.join("\n")}\n`;
}
