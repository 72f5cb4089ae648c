-- POST /v1/payments exactly TOTAL times over all of wrk's threads, then go quiet: the
-- benchmark's creates, driven by bench/throughput.py, which stops wrk (SIGINT) once the
-- database holds them all (wrk itself would sleep out its whole -d).
--
--   wrk -t T -c C -d 600s --timeout 60s -s bench/wrk/create_payments.lua http://127.0.0.1:8000 \
--       -- API_KEY TOTAL T WORKLOAD PREFIX [RATE]
--
-- WORKLOAD is airtime or mixed (the five bill types of bench/throughput.py's MIXED, in turn);
-- PREFIX makes request references and Idempotency-Keys unique across runs and wrk processes;
-- RATE (payments/s for this wrk process, 0 = as fast as possible) paces the creates.

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clock_id, timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local MIXED = {
  { plan = "mtn-airtime", extra = ', "amount_kobo": 10000' },
  { plan = "mtn-data-10gb-30d", extra = "" },
  { plan = "dstv-compact", customer = "1212121212", extra = ', "subscription_type": "renew"' },
  { plan = "ikeja-electric-prepaid", customer = "1111111111111", extra = ', "amount_kobo": 100000' },
  { plan = "bet9ja-wallet", customer = "BETTOR01", extra = ', "amount_kobo": 10000' },
}

-- Main thread: number the threads, and keep them to read their counters in done().
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- Each thread: its share of TOTAL, and counters.
local key, workload, prefix, headers
local nthreads, share, rate_per_thread, started_ms
local scheduled, sent = 0, 0
answered, failed = 0, 0 -- globals: done() reads them with thread:get()

function init(args)
  key, nthreads, workload, prefix = args[1], tonumber(args[3]), args[4], args[5]
  local total = tonumber(args[2])
  share = math.floor(total / nthreads) + ((id < total % nthreads) and 1 or 0)
  rate_per_thread = tonumber(args[6] or "0") / nthreads
  headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
  started_ms = now_ms()
end

-- Called before each request: paces the creates when RATE is set (each request reserves the
-- thread's next slot), and idles a connection once the thread has sent its share.
function delay()
  if scheduled >= share then
    return 1000
  end
  local slot = scheduled
  scheduled = scheduled + 1
  if rate_per_thread <= 0 then
    return 0
  end
  local due = started_ms + slot * 1000 / rate_per_thread
  return math.max(0, math.floor(due - now_ms()))
end

local function payment_body(index, reference)
  local phone = string.format("0803%07d", index % 10000000)
  local kind = MIXED[1]
  if workload == "mixed" then
    kind = MIXED[index % #MIXED + 1]
  end
  return string.format(
    '{"request_reference": "%s", "plan": "%s", "customer_id": "%s", "phone": "%s"%s}',
    reference, kind.plan, kind.customer or phone, phone, kind.extra
  )
end

function request()
  if scheduled == 0 then
    -- wrk's own check of the script, on thread 0 before it starts: this one is never sent.
    return wrk.format("GET", "/healthz")
  end
  if sent >= share then
    return wrk.format("GET", "/healthz") -- answers 200 without the database; never counted
  end
  local index = id + sent * nthreads
  sent = sent + 1
  local reference = string.format("%s-%d", prefix, index)
  headers["Idempotency-Key"] = reference
  return wrk.format("POST", "/v1/payments", headers, payment_body(index, reference))
end

-- A create answers 201 (or an error); only the idle GET answers 200.
function response(status)
  if status == 200 then
    return
  end
  answered = answered + 1
  if status ~= 201 then
    failed = failed + 1
  end
  if answered >= share then
    wrk.thread:stop()
  end
end

-- One JSON line for bench/throughput.py (latency in microseconds, over every answer).
function done(summary, latency)
  local answered_all, failed_all = 0, 0
  for _, thread in ipairs(threads) do
    answered_all = answered_all + thread:get("answered")
    failed_all = failed_all + thread:get("failed")
  end
  io.write(string.format(
    'wrk-json: {"answered": %d, "failed": %d, "p50_us": %d, "p99_us": %d, "timeouts": %d}\n',
    answered_all, failed_all, latency:percentile(50), latency:percentile(99),
    summary.errors.timeout
  ))
end
