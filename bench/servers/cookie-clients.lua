-- wrk script for bench/scale.ts: every request carries a Cookie header drawn at random
-- (uniformly) from the file named by $COOKIES, one header value a line. The same script
-- serves 1, 20 k and 1 M distinct clients, so the load generator's own cost is the same in
-- each scenario and the ratios compare switchyard alone.
local path = os.getenv("COOKIES")
local cookies = {}
for line in io.lines(path) do cookies[#cookies + 1] = line end
local n = #cookies
math.randomseed(os.time())

request = function()
  return wrk.format(nil, nil, { Cookie = cookies[math.random(n)] })
end
