-- The load bench/run sends, the same to the gateway and to the nginx peer (README.md beside this file).
-- Each call is GetCustomerDetails with one of CONNS credentials, so the server sees that many connections:
--   MODE=keys   X-API-Key: bench-key-<i>, i in 0 .. CONNS-1 (the keys bench_fixtures registers)
--   MODE=bearer Authorization: Bearer <line i of TOKENS>, a maker each (bench_fixtures tokens)
-- SEQ=1 sends each credential once, in order over the threads, then stops: the warm-up that fills the
-- gateway's token and validated-token caches before the measured run.
-- done() prints one JSON line (the figures bench/run reads).
local mode = os.getenv("MODE") or "keys"
local n = tonumber(os.getenv("CONNS") or "10")
local seq = os.getenv("SEQ") == "1"
local path = "/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1"
local threads, counter = {}, 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tokens
function init(args)
  if mode == "bearer" then
    tokens = {}
    for line in io.lines(os.getenv("TOKENS")) do
      tokens[#tokens + 1] = "Bearer " .. line
      if #tokens == n then break end
    end
    n = #tokens
  end
  -- wrk.thread is this thread's own table: setup's id lands in the global `id`.
  next_i = id or 0
  step = tonumber(os.getenv("THREADS") or "2")
  sent = 0
  math.randomseed(os.time() + 7919 * next_i)
end

local function header(i)
  if mode == "bearer" then
    return { ["Authorization"] = tokens[i + 1] }
  end
  return { ["X-API-Key"] = "bench-key-" .. i }
end

function request()
  local i
  if seq then
    i = next_i
    next_i = next_i + step
    if i >= n then
      -- Past the end: repeat the first credential until the stop below takes effect.
      i = id or 0
    end
  else
    i = math.random(0, n - 1)
  end
  return wrk.format("GET", path, header(i))
end

-- Only in the warm-up: a response() makes wrk hand every answer to Lua, which would cost the measured runs.
if seq then
  function response()
    sent = sent + 1
    if sent * step >= n then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local function p(q) return latency:percentile(q) end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    p(50), p(99), p(99.9)))
end
