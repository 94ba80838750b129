-- GET a list of paths in turn (BENCH_PATHS: one path per line), optionally with session tokens
-- (BENCH_TOKENS). Used by the baseline, cached, cold and feed scenarios.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local paths, tokens, i = {}, {}, 0
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  paths = common.lines(os.getenv("BENCH_PATHS"))
  tokens = common.lines(os.getenv("BENCH_TOKENS"))
  i = id * 7919  -- threads start at different places in the list
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], common.bearer(tokens, i))
end

done = common.done
