-- Shared by every scenario script: reading the run's data files, and the summary line that
-- bench/load.py parses (wrk's done() hook runs once, in the main Lua state, after the run).

local M = {}

function M.lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end

function M.bearer(tokens, i)
  if #tokens == 0 then return {} end
  return { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] }
end

-- Acknowledged writes, one "<status> <id>" line each, so that a drill can check afterwards that
-- every write the API confirmed is in the database. One file per wrk thread.
function M.ack_log(dir, thread_id)
  if dir == nil or dir == "" then return nil end
  return assert(io.open(dir .. "/acked-" .. thread_id .. ".log", "a"))
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes or 0,
    e.connect or 0, e.read or 0, e.write or 0, e.status or 0, e.timeout or 0,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end

return M
