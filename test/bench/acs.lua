-- wrk script for single-use request bodies: the SAML ACS point (test/bench/wrk.ts `once`).
-- Arguments after "--": method, path, bodies file, content type, rate (requests/s over all
-- connections, 0 = closed loop), connections.
--
-- Each line of the file is the body of exactly one request, sent in file order: the replay guard
-- refuses a repeated Assertion ID. wrk calls request() once at start-up to check the request, which
-- uses up line 1 unsent. When the lines run out the thread stops and prints "EXHAUSTED"; wrk.ts then
-- sends wrk SIGINT, since wrk's main thread otherwise sleeps out the whole duration (and would
-- divide the count by it). The request returned after the last line (a GET /healthz) is written
-- but never read: the loop has already stopped.
--
-- With a rate, all connections share one schedule on a monotonic clock (LuaJIT FFI): delay(),
-- called before every request, hands out the next slot, `1000 / rate` ms after the previous one,
-- and never bursts to catch up on slots missed while every connection was busy. Latency counts
-- from the send, so the wait for a slot is not in it. Without FFI each connection waits
-- `connections * 1000 / rate` ms after each answer instead (the rate then sags by the latency).
-- done() prints one JSON line starting with "BENCH ".
local reqs = {}
local n = 0
local i = 0
local filler = nil
local exhausted = false

function init(args)
  local method, path, file, ctype = args[1], args[2], args[3], args[4]
  local rate = tonumber(args[5]) or 0
  local connections = tonumber(args[6]) or 1
  local headers = { ["Content-Type"] = ctype }
  for line in io.lines(file) do
    n = n + 1
    reqs[n] = wrk.format(method, path, headers, line)
  end
  filler = wrk.format("GET", "/healthz", {}, nil)
  if rate <= 0 then return end
  local interval = 1000 / rate
  local ok, ffi = pcall(require, "ffi")
  if ok then
    ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clk_id, bench_timespec *tp);
    ]]
    local ts = ffi.new("bench_timespec")
    local function now()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    end
    local slot = nil
    delay = function()
      local t = now()
      if slot == nil or slot < t then slot = t end
      local wait = slot - t
      slot = slot + interval
      return math.floor(wait)
    end
  else
    local pause = math.floor(connections * interval)
    delay = function() return pause end
  end
end

function request()
  if i >= n then
    if not exhausted then
      exhausted = true
      io.write("EXHAUSTED\n")
      io.flush()
      wrk.thread:stop()
    end
    return filler
  end
  i = i + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,' ..
    '"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p95Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
