-- wrk script for bench/scale.ts: every request carries a Cookie header drawn at random
-- (uniformly) from the file named by $COOKIES, one header value a line. The requests are
-- formatted once, in init (after wrk has set the Host header), so a request costs wrk one
-- random draw and one table read, and makes no garbage for Lua's GC to trace through a
-- million-entry table. The same script serves 1, 20 k and 1 M distinct clients, so the load
-- generator's own work is the same in each scenario (bare-1 and bare-1M measure what is left).
local requests = {}
local n = 0

function init(args)
  for line in io.lines(os.getenv("COOKIES")) do
    n = n + 1
    requests[n] = wrk.format(nil, nil, { Cookie = line })
  end
  math.randomseed(os.time())
end

function request()
  return requests[math.random(n)]
end
