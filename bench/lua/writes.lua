-- Writes as an author does them: create a draft, then publish it (which invalidates the creator's
-- and the tags' feed caches). BENCH_AUTHORS lines are "<user id> <session token>" of creators; a
-- draft is published with its author's token (found from the author_id in the 201 body, since
-- responses of different connections come back in any order).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local writer = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function writer.init()
  local authors = {}
  local by_user = {}
  for _, line in ipairs(common.lines(os.getenv("BENCH_AUTHORS"))) do
    local uid, token = line:match("^(%d+) (%S+)$")
    authors[#authors + 1] = token
    by_user[uid] = token
  end
  writer.authors, writer.by_user, writer.pending, writer.n = authors, by_user, {}, 0
  writer.ack = common.ack_log(os.getenv("BENCH_ACK_DIR"), id)
end

function writer.request()
  writer.n = writer.n + 1
  local item = table.remove(writer.pending, 1)
  if item ~= nil then
    return wrk.format("POST", "/api/v1/contents/" .. item.id .. "/publish",
      { ["Authorization"] = "Bearer " .. item.token })
  end
  local k = writer.n
  local body = string.format(
    '{"title":"压测草稿 %d-%d","body":"这是一篇压测写入的内容，第%d篇。今天我们一起学习如何使用这个平台。",' ..
    '"tags":["科技","生活"],"visibility":"public"}', id, k, k)
  return wrk.format("POST", "/api/v1/contents",
    { ["Authorization"] = "Bearer " .. writer.authors[(k % #writer.authors) + 1],
      ["Content-Type"] = "application/json" }, body)
end

-- True when the response was a write's; records acknowledged ids.
function writer.response(status, body)
  if status ~= 201 and status ~= 200 then return end
  local cid = body:match('^{"id":(%d+)')
  if cid == nil then return end
  if status == 201 then
    local author = body:match('"author_id":(%d+)')
    writer.pending[#writer.pending + 1] = { id = cid, token = writer.by_user[author] }
    if writer.ack then writer.ack:write("created ", cid, "\n"); writer.ack:flush() end
  elseif body:find('"status":"published"', 1, true) and writer.ack then
    writer.ack:write("published ", cid, "\n"); writer.ack:flush()
  end
end

if os.getenv("BENCH_SCRIPT") == "writes" then
  init = function(args) writer.init() end
  request = writer.request
  response = function(status, headers, body) writer.response(status, body) end
  done = common.done
end

return writer
