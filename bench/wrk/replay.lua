-- wrk script: replays prepared requests from a file, one line each, in order.
--
--   wrk -t2 -c16 -d15s -s bench/wrk/replay.lua http://127.0.0.1:18080 -- REQUESTS_FILE MODE
--
-- REQUESTS_FILE has one request per line: METHOD <TAB> PATH <TAB> HEADERS <TAB> BODY, where
-- HEADERS is `name: value` pairs joined by ` | ` and BODY may be empty. Each wrk thread takes
-- the lines whose index modulo the thread count is its own, so no line is sent twice by two
-- threads. MODE `cycle` starts a thread's lines again when they run out (reads); MODE `once`
-- (writes, which consume prepared rows) counts every request past the end as an overrun, and
-- the harness fails the run when there is one (the re-sent request would also fail, 409/412).
--
-- At the end it prints one line `WRKJSON {...}` with the request count, duration, latency
-- percentiles (µs), the error counts and the overruns.

local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local function split(s, sep)
  local out = {}
  local from = 1
  while true do
    local i, j = string.find(s, sep, from, true)
    if not i then
      table.insert(out, string.sub(s, from))
      return out
    end
    table.insert(out, string.sub(s, from, i - 1))
    from = j + 1
  end
end

function init(args)
  local file, mode = args[1], args[2] or "cycle"
  -- wrk sets `tid` before init runs; the thread count is passed in by the harness
  local n = tonumber(args[3]) or 1
  cycle = (mode == "cycle")
  reqs = {}
  local i = 0
  local total = 0
  for line in io.lines(file) do
    if line ~= "" then total = total + 1 end
  end
  -- fewer lines than threads (a report: one request): every thread replays them all
  local share = total >= n
  for line in io.lines(file) do
    if line ~= "" then
      if not share or i % n == tid then
        local f = split(line, "\t")
        local headers = {}
        if f[3] and f[3] ~= "" then
          for _, h in ipairs(split(f[3], " | ")) do
            local c = string.find(h, ":", 1, true)
            headers[string.sub(h, 1, c - 1)] = string.gsub(string.sub(h, c + 1), "^%s+", "")
          end
        end
        local body = f[4]
        if body == "" then body = nil end
        table.insert(reqs, wrk.format(f[1], f[2], headers, body))
      end
      i = i + 1
    end
  end
  pos = 0
  overrun = 0
end

function request()
  pos = pos + 1
  if pos > #reqs then
    if cycle then
      pos = 1
    else
      overrun = overrun + 1
      pos = #reqs
    end
  end
  return reqs[pos]
end

function done(summary, latency, requests)
  local over = 0
  for _, t in ipairs(threads) do
    over = over + (t:get("overrun") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "overrun": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, over))
end
