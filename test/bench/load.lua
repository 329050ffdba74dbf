-- wrk script of the benchmark (test/bench/wrk.ts). Arguments after "--":
--   method, path, requests file ("-" = none), API key ("" = none), delay ms (0 = closed loop),
--   content type of POST bodies ("" = application/json)
-- With a requests file, each line is one request body (POST) or one path (GET); connections take
-- lines in turn. done() prints one JSON line starting with "BENCH ".
local reqs = {}
local n = 0
local i = 0
local pause = 0

function init(args)
  local method, path, file, key = args[1], args[2], args[3], args[4]
  pause = tonumber(args[5]) or 0
  local headers = {}
  if key ~= nil and key ~= "" then headers["X-API-Key"] = key end
  local contentType = args[6]
  if contentType == nil or contentType == "" then contentType = "application/json" end
  if method == "POST" then headers["Content-Type"] = contentType end
  if file == nil or file == "-" then
    n = 1
    reqs[1] = wrk.format(method, path, headers, nil)
  else
    for line in io.lines(file) do
      n = n + 1
      if method == "POST" then
        reqs[n] = wrk.format(method, path, headers, line)
      else
        reqs[n] = wrk.format(method, line, headers, nil)
      end
    end
  end
  math.randomseed(os.time())
  i = math.random(n) - 1
  if pause > 0 then
    delay = function() return pause end
  end
end

function request()
  i = i % n + 1
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
