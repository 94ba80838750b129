-- Logging in (argon2id verification, by design tens of ms of CPU each): BENCH_USERS accounts in
-- turn, all with the seed's password.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local users, password, i = 0, "", 0
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  users = tonumber(os.getenv("BENCH_USERS"))
  password = os.getenv("BENCH_PASSWORD")
  i = id * 1000
end

function request()
  i = i + 1
  local body = string.format('{"email":"user%d@bench.example.com","password":"%s"}',
    (i % users) + 1, password)
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end

done = common.done
