-- wrk script for the Opsight ingest benchmark (Benchmarks/run.sh).
--
--   wrk -t2 -c16 -d<SECONDS+GRACE>s --latency -s Benchmarks/post.lua http://HOST:PORT \
--       -- BODY_FILE TOKEN SECONDS [gzip|plain [INTERVAL_MS]]
--
-- Each connection POSTs BODY_FILE (1 000 NDJSON events; with "%d" in the name, the numbered bodies in turn)
-- to /v1/ingest for SECONDS seconds. After that it
-- sends nothing more (delay() parks the connection) so every request that was sent also gets its answer
-- before wrk stops: no request is abandoned in flight, and the events the server acknowledged can be
-- compared exactly with what the API counts afterwards. done() prints one `BENCHRESULT key=value ...`
-- line for run.sh: statuses, the sum of `accepted` and `rejected` over the 200 answers, and the time from
-- the first request sent to the last answer received (CLOCK_MONOTONIC, so the rate excludes the grace).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } opsight_bench_timespec;
  int clock_gettime(int clk_id, opsight_bench_timespec *tp);
]]
local tsbuf = ffi.new("opsight_bench_timespec")
local function now()
  ffi.C.clock_gettime(1, tsbuf) -- CLOCK_MONOTONIC
  return tonumber(tsbuf.tv_sec) + tonumber(tsbuf.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path, token, seconds, gzip = args[1], args[2], tonumber(args[3]), args[4] == "gzip"
  -- INTERVAL_MS paces each connection (a request at most every INTERVAL_MS), for a load below the maximum.
  interval_ms = tonumber(args[5] or "0")
  -- BODY_FILE with a "%d" in it names several bodies (0, 1, ... until one is missing): each connection's
  -- requests go through them in turn, so the posted events cover more series than one body holds.
  local paths = {}
  if string.find(path, "%%d") then
    for i = 0, 999 do
      local p = string.format(path, i)
      local f = io.open(p, "rb")
      if not f then break end
      f:close()
      table.insert(paths, p)
    end
  else
    paths = { path }
  end
  assert(#paths > 0, "cannot open body file " .. tostring(path))
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/x-ndjson",
  }
  if gzip then headers["Content-Encoding"] = "gzip" end
  bodies = {}
  body_bytes = 0
  for _, p in ipairs(paths) do
    local f = assert(io.open(p, "rb"), "cannot open body file " .. p)
    local body = f:read("*a")
    f:close()
    table.insert(bodies, wrk.format("POST", "/v1/ingest", headers, body))
    body_bytes = body_bytes + #body
  end
  body_bytes = math.floor(body_bytes / #bodies) -- the mean body size
  next_body = 0
  deadline = now() + seconds
  first_sent, last_answer = 0, 0
  sent, answered, ok, accepted, rejected, unparsed = 0, 0, 0, 0, 0, 0
  status_list = ""     -- "503,429,..." of non-200 answers (strings cross threads, tables do not)
  running = false      -- wrk calls request() once from init to check the script; that one is not sent
end

function delay()
  -- wrk asks for a delay before each request a connection sends, the first one included.
  running = true
  -- Past the deadline: park the connection for an hour; wrk stops long before.
  if now() >= deadline then return 3600000 end
  return interval_ms
end

function request()
  if running then
    sent = sent + 1
    if first_sent == 0 then first_sent = now() end
  end
  next_body = next_body % #bodies + 1
  return bodies[next_body]
end

function response(status, headers, body)
  answered = answered + 1
  last_answer = now()
  if status == 200 then
    ok = ok + 1
    local a = body and tonumber(string.match(body, '"accepted"%s*:%s*(%d+)'))
    local r = body and tonumber(string.match(body, '"rejected"%s*:%s*(%d+)'))
    if a and r then
      accepted = accepted + a
      rejected = rejected + r
    else
      unparsed = unparsed + 1
    end
  else
    status_list = status_list .. status .. ","
  end
end

function done(summary, latency, requests)
  local t = { sent = 0, answered = 0, ok = 0, accepted = 0, rejected = 0, unparsed = 0, body_bytes = 0 }
  local first, last = math.huge, 0
  local statuses = {}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do
      if k ~= "body_bytes" then t[k] = t[k] + th:get(k) end
    end
    t.body_bytes = th:get("body_bytes")
    local f, l = th:get("first_sent"), th:get("last_answer")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    for s in string.gmatch(th:get("status_list"), "(%d+),") do
      statuses[s] = (statuses[s] or 0) + 1
    end
  end
  local other = ""
  for s, n in pairs(statuses) do other = other .. s .. ":" .. n .. "+" end
  if other == "" then other = "none" end
  local elapsed = (first < math.huge and last > first) and (last - first) or 0
  io.write(string.format(
    "BENCHRESULT sent=%d answered=%d ok=%d accepted=%d rejected=%d unparsed=%d other=%s elapsed=%.6f " ..
    "body_bytes=%d socket_errors=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    t.sent, t.answered, t.ok, t.accepted, t.rejected, t.unparsed, other, elapsed, t.body_bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
