-- wrk script: POST /api/v1/signals with distinct bodies, one signal per
-- request or a batch of FP_BENCH_BATCH signals ({"signals":[...]}).
-- Environment: FP_BENCH_KEY (API key), FP_BENCH_RUN (prefix that keeps the
-- dedupe keys of separate runs apart), FP_BENCH_BATCH (default 1).

local key = os.getenv("FP_BENCH_KEY") or error("FP_BENCH_KEY is not set")
local run = os.getenv("FP_BENCH_RUN") or tostring(os.time())
local batch = tonumber(os.getenv("FP_BENCH_BATCH") or "1")

local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local headers = {
  ["Authorization"] = "Bearer " .. key,
  ["Content-Type"] = "application/json",
}
local n = 0

-- One signal; the payload matches the pgbench baseline's row.
local function item()
  n = n + 1
  local tag = run .. "-" .. tid .. "-" .. n
  return '{"type":"bench.ingest","payload":{"n":' .. n .. ',"client":' .. tid
    .. ',"note":"bench"},"dedupe_key":"' .. tag .. '"}'
end

function request()
  local body
  if batch <= 1 then
    body = item()
  else
    local items = {}
    for i = 1, batch do items[i] = item() end
    body = '{"signals":[' .. table.concat(items, ",") .. ']}'
  end
  return wrk.format("POST", "/api/v1/signals", headers, body)
end
