-- The mixed workload: BENCH_WRITE_SHARE of requests are writes (create a draft, publish it),
-- the rest read contents by slug with a Zipf(s = BENCH_ZIPF_S) popularity over BENCH_CONTENTS
-- items. Every read carries a reader's session (BENCH_TOKENS), every write its author's.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local writer = dofile(os.getenv("BENCH_LUA_DIR") .. "/writes.lua")
local cdf, n_items, stride, tokens, share, i = {}, 0, 7919, {}, 0.1, 0
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  n_items = tonumber(os.getenv("BENCH_CONTENTS"))
  share = tonumber(os.getenv("BENCH_WRITE_SHARE") or "0.1")
  local s = tonumber(os.getenv("BENCH_ZIPF_S") or "1.0")
  local total = 0
  for r = 1, n_items do
    total = total + 1 / r ^ s
    cdf[r] = total
  end
  for r = 1, n_items do cdf[r] = cdf[r] / total end
  tokens = common.lines(os.getenv("BENCH_TOKENS"))
  math.randomseed(os.time() + id * 1000)
  writer.init()
end

-- Rank 1 is the most read item; ranks map to ids by a fixed stride (coprime with the count) so
-- the popular items are spread over creators and dates, the same mapping bench/scenarios.py uses.
local function zipf_id()
  local u, lo, hi = math.random(), 1, n_items
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return ((lo - 1) * stride) % n_items + 1
end

function request()
  i = i + 1
  if math.random() < share then return writer.request() end
  local path = string.format("/api/v1/contents/slug/p-%08x", zipf_id())
  return wrk.format("GET", path, common.bearer(tokens, i))
end

function response(status, headers, body)
  writer.response(status, body)
end

done = common.done
