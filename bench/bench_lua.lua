-- Lua binding speed (issue 10): scoring one BG/NBD customer from a Lua table,
-- model:score{frequency = .., recency = .., T = ..}, against the bare C call
-- churn_btyd_score() timed by bench/bench_lua.c in the same run.
--
-- Run by `meson test -C <build> --benchmark lua` (or `ninja -C <build> benchmark`), or:
--   LUA_CPATH='<build>/bindings/?.so' CHURN_BENCH_C=<build>/bench/bench_lua lua5.4 bench/bench_lua.lua
-- Sizes: BENCH_LUA_N calls per run (default 2000000), BENCH_LUA_REPS runs (best of, default 3).
-- Times are CPU time (os.clock here, CLOCK_PROCESS_CPUTIME_ID in C): the machine is shared.
local churn = require "churn"

local n = tonumber(os.getenv("BENCH_LUA_N") or "") or 2000000
local reps = tonumber(os.getenv("BENCH_LUA_REPS") or "") or 3
local K = 1000

-- customer i of the formula shared with bench_lua.c
local function customer(i)
  local x = i % 30
  local T = 10 + i % 40
  local tx = x > 0 and T * ((i * 7) % 10 + 1) / 11.0 or 0
  return x, tx, T
end

local m = assert(churn.model("bgnbd", {r = 0.2425945, alpha = 4.4136019, a = 0.7929199, b = 2.4258881}))
local tables, xs, txs, Ts = {}, {}, {}, {}
for i = 0, K - 1 do
  local x, tx, T = customer(i)
  tables[i + 1] = {frequency = x, recency = tx, T = T}
  xs[i + 1], txs[i + 1], Ts[i + 1] = x, tx, T
end

local function best_of(f)
  local best = math.huge
  for _ = 1, reps do
    collectgarbage("collect")
    local t0 = os.clock()
    f()
    best = math.min(best, os.clock() - t0)
  end
  return best / n * 1e9
end

local sum = 0
-- 1. the CRM hot path: the customer's table already exists (a row from the CRM)
local lua_ns = best_of(function()
  local s = 0
  for i = 0, n - 1 do
    local pa, e = m:score(tables[i % K + 1], 52)
    s = s + pa + e
  end
  sum = s
end)
-- 2. the table built for the call
local lua_new_ns = best_of(function()
  for i = 0, n - 1 do
    local k = i % K + 1
    local pa = m:score({frequency = xs[k], recency = txs[k], T = Ts[k]}, 52)
  end
end)
-- 3. many customers per call (score_many over the K tables)
local blocks = math.max(1, n // K)
local many_ns = best_of(function()
  for _ = 1, blocks do m:score_many(tables, 52) end
end) * n / (blocks * K)

print(string.format("BG/NBD, horizon 52, %d customers scored in turn, %d calls, best of %d (CPU time)", K, n, reps))
print(string.format("  Lua  model:score(customer_table)              %8.1f ns/call", lua_ns))
print(string.format("  Lua  model:score({frequency=..,recency=..,T=..}) %5.1f ns/call (table built per call)", lua_new_ns))
print(string.format("  Lua  model:score_many(1000 tables)            %8.1f ns/customer", many_ns))

local exe = os.getenv("CHURN_BENCH_C")
if not exe or exe == "" then
  print("  C baseline skipped: set CHURN_BENCH_C to the bench_lua program")
  return
end
local p = assert(io.popen(string.format("'%s' %d", exe, n)))
local out = {}
for line in p:lines() do
  local k, v = line:match("^(%S+)%s+(%S+)$")
  if k then out[k] = tonumber(v) end
end
p:close()
local c_ns = out.c_ns_per_call
if not c_ns then error("bench_lua.c gave no timing") end
print(string.format("  C    churn_btyd_score(n = 1)                  %8.1f ns/call", c_ns))
print(string.format("  C    churn_btyd_score(n = 1000)               %8.1f ns/customer", out.c_vector_ns_per_customer))
print(string.format("  checksum Lua %.12g, C %.12g", sum, out.checksum))
print(string.format("ratio Lua/C (one customer from a table): %.2f (Lua overhead %.1f ns); table built per call: %.2f",
  lua_ns / c_ns, lua_ns - c_ns, lua_new_ns / c_ns))
print(string.format("target: under 2 us per customer from a Lua table: %s (%.2f us)",
  lua_ns < 2000 and "met" or "NOT met", lua_ns / 1000))
