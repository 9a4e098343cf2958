-- wrk script of benchmarks/load.py. Arguments (after --):
--   post <authorization> <idempotency-key prefix> <JSON body>   each request a key of its own
--   get <authorization> <path> [<path> ...]                       the paths in turn
-- done() prints one line: WRK {"requests", "duration_us", "errors", "p50_us", "p99_us"}.
local mode, paths, prefix
local counter = 0
local headers = {}
local threads = 0

function setup(thread)  -- runs in the main state: number the threads, for unique keys
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  mode = args[1]
  headers["Authorization"] = args[2]
  if mode == "post" then
    prefix = args[3] .. "-" .. tostring(id) .. "-"
    wrk.method = "POST"
    wrk.body = args[4]
    headers["Content-Type"] = "application/json"
  else
    paths = {}
    for i = 3, #args do paths[#paths + 1] = args[i] end
  end
  wrk.headers = headers
end

function request()
  counter = counter + 1
  if mode == "post" then
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    h["Idempotency-Key"] = prefix .. counter
    return wrk.format(nil, nil, h)
  end
  return wrk.format("GET", paths[(counter - 1) % #paths + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
