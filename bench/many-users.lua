-- wrk script of bench/many-users.sh: every request carries the session cookie of a user drawn
-- at random from the tokens file (one `bs_session` token a line), so requests spread over all
-- users.
--
--   wrk -s bench/many-users.lua URL -- TOKENS_FILE PATH

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
  assert(#tokens > 0, "no tokens in " .. args[1])
  path = args[2] or "/"
  -- Each thread its own sequence; LuaJIT's first draws after seeding are poorly mixed.
  math.randomseed(os.time() * 1000 + (id or 0))
  for _ = 1, 16 do
    math.random()
  end
end

function request()
  return wrk.format("GET", path, { Cookie = "bs_session=" .. tokens[math.random(#tokens)] })
end
