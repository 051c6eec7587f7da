-- each request carries one of N API keys, so the gateway sees N connections
local n = tonumber(os.getenv("CONNS") or "10")
request = function()
  local key = "bench-key-" .. tostring(math.random(0, n - 1))
  return wrk.format("GET", "/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1", { ["X-API-Key"] = key })
end
