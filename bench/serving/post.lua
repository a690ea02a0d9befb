-- wrk script for the serving benchmark: POST varied request bodies, record prediction ids.
--
--   wrk ... -s post.lua URL -- BODIES_FILE [IDS_PREFIX] [AUTHORIZATION]
--
-- BODIES_FILE holds one JSON request body per line (realistic, varied support messages);
-- each thread starts at a different line and walks the file round-robin. The requests are
-- formatted once, in init(), so the load generator does little work per request.
-- With IDS_PREFIX, every 2xx response's "prediction_id" values are appended to
-- IDS_PREFIX.<thread> (line-buffered, so nothing is lost when wrk exits). The same script
-- (with its response() callback) drives every target, so each pays the same client cost.
-- done() prints one machine-readable line: BENCH_JSON {...} with exact counts and
-- latency percentiles in microseconds.

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local requests = {}
local index = 0
local ids_file = nil
answered = 0 -- global: done() reads it with thread:get

function init(args)
  local bodies = args[1]
  local headers = { ["Content-Type"] = "application/json" }
  if args[3] ~= nil and args[3] ~= "" then
    headers["Authorization"] = args[3] -- liveops serve with keys
  end
  for line in io.lines(bodies) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", nil, headers, line)
    end
  end
  if #requests == 0 then
    error("no request bodies in " .. tostring(bodies))
  end
  index = ((tid or 1) * 7919) % #requests
  if args[2] ~= nil and args[2] ~= "" then
    ids_file = assert(io.open(args[2] .. "." .. tostring(tid or 1), "a"))
    ids_file:setvbuf("line")
  end
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    answered = answered + 1
    if ids_file ~= nil then
      for id in string.gmatch(body, '"prediction_id"%s*:%s*"(%w+)"') do
        ids_file:write(id, "\n")
      end
    end
  end
end

function done(summary, latency, requests_stats)
  local answered_total = 0
  for _, thread in ipairs(threads) do
    answered_total = answered_total + (thread:get("answered") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "answered": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, answered_total, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean
  ))
end
