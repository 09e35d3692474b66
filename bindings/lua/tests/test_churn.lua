-- Lua binding tests, run by `meson test -C <build> lua` with Debian's lua5.4
-- (and under valgrind by the 'lua-valgrind' test). Environment (set by
-- bindings/meson.build): LUA_CPATH, CHURN_SHARED_DATA, CHURN_TEST_TMP,
-- CHURN_EXE, CHURN_PYTHON, CHURN_LIBRARY, PYTHONPATH, CHURN_SOURCE_ROOT.
-- CHURN_LUA_NO_SUBPROCESS=1 skips the parts that run the command and Python.
local churn = require "churn"

local passed, failed = 0, 0
local function check(name, cond, msg)
  if cond then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("FAIL: ", name, msg ~= nil and (": " .. tostring(msg)) or "", "\n")
  end
end
local timing = os.getenv("CHURN_LUA_TIMING") == "1"
local t_section, section_name = os.clock(), "start"
local function section(name)
  if timing then
    io.stderr:write(string.format("[%6.2fs] %s\n", os.clock() - t_section, section_name))
  end
  t_section, section_name = os.clock(), name
end
local function skip(name, why) print(string.format("SKIP %s: %s", name, why)) end
local function rel(a, b) return math.abs(a - b) / math.max(math.abs(b), 1e-300) end
local function close(a, b, rtol) return a == b or rel(a, b) <= rtol end
local function near(a, b, atol) return math.abs(a - b) <= atol end
local function raises(f, pattern)
  local ok, e = pcall(f)
  return not ok and (pattern == nil or tostring(e):find(pattern, 1, true) ~= nil), e
end

local src = os.getenv("CHURN_SOURCE_ROOT") or "."
local shared = os.getenv("CHURN_SHARED_DATA")
if shared == "" then shared = nil end
local golden = src .. "/tests/data/models/golden_v1_minimal.json"

-- ---- helpers: files, CSV, shell ------------------------------------------------

local function file_exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

local function shared_path(rel_path)
  if not shared then return nil end
  local p = shared .. "/" .. rel_path
  return file_exists(p) and p or nil
end

-- Read a CSV with a header (fields without embedded commas; quotes stripped).
-- Lines starting with '#' are comments. Returns header, rows (arrays of text).
local function read_csv(path)
  local header, rows = nil, {}
  for line in io.lines(path) do
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local fields = {}
      for field in (line .. ","):gmatch("([^,]*),") do
        fields[#fields + 1] = field:gsub('^"(.*)"$', "%1")
      end
      if header then rows[#rows + 1] = fields else header = fields end
    end
  end
  return header, rows
end

-- CSV as records keyed by header names, numbers converted with tonumber
-- (strtod: the same doubles the C reader and Python's float() get).
local function read_records(path)
  local header, rows = read_csv(path)
  local out = {}
  for i, r in ipairs(rows) do
    local rec = {}
    for j, name in ipairs(header) do rec[name] = tonumber(r[j]) or r[j] end
    out[i] = rec
  end
  return out, header
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function run(cmd)
  local ok, how, code = os.execute(cmd)
  return ok == true, code
end

local tmp_root = os.getenv("CHURN_TEST_TMP") or "/tmp"
local tmpname = os.tmpname() -- a unique name (os.tmpname creates the file: remove it)
os.remove(tmpname)
local tmpdir = tmp_root .. "/lua_tests_" .. tmpname:match("([^/]+)$")
run("mkdir -p " .. q(tmpdir))

-- ---- 1. model files: load, accessors, closing ----------------------------------------
section("1. model files: load, accessors, closing")

do
  local m, err = churn.load(golden)
  check("load golden", m ~= nil, err)
  check("family", m:family() == "bgnbd")
  local p = m:params()
  check("param b", p.b == 2.4258881)
  check("param names in order", table.concat(m:param_names(), ",") == "r,alpha,a,b")
  check("tostring", tostring(m):find("bgnbd") ~= nil, tostring(m))
  m:close()
  m:close()
  check("closed tostring", tostring(m):find("closed") ~= nil)
  check("use after close raises", raises(function() return m:params() end, "closed"))
  check("score after close raises", raises(function() return m:score{frequency = 1, recency = 1, T = 2} end, "closed"))
end

-- expected failures return nil, message, code
do
  local m, msg, code = churn.load("/nonexistent/model.json")
  check("missing file -> nil", m == nil)
  check("missing file message names path", msg and msg:find("/nonexistent/model.json") ~= nil, msg)
  check("missing file code", code == churn.status.EIO and code == -6, code)
  local m2, msg2, code2 = churn.from_json('{"format":"libchurn-model","format_version":42,"family":"bgnbd"}')
  check("newer version -> nil", m2 == nil and code2 == churn.status.EVERSION, msg2)
  local m3, msg3, code3 = churn.from_json("not json")
  check("bad json -> EFORMAT", m3 == nil and code3 == churn.status.EFORMAT, msg3)
end

-- to-be-closed variables, JSON round trip
do
  local text
  do
    local m <close> = assert(churn.load(golden))
    check("tbc", m:family() == "bgnbd")
    text = m:to_json()
  end
  local m2 = assert(churn.from_json(text))
  check("to_json round trip", m2:params().alpha == assert(churn.load(golden)):params().alpha)
  local path = tmpdir .. "/roundtrip.json"
  check("save", m2:save(path) == true)
  local m3 = assert(churn.load(path))
  local c = {frequency = 3, recency = 10, T = 20}
  local a1, e1 = m2:score(c, 10)
  local a2, e2 = m3:score(c, 10)
  check("saved model predicts identically", a1 == a2 and e1 == e2)
  local ok, msg, code = m2:save("/nonexistent/dir/m.json")
  check("save to a bad path -> nil, msg, code", ok == nil and code == churn.status.EIO, msg)
end

-- misuse raises
do
  check("unknown family raises", raises(function() return churn.fit_btyd("nonsense", {}, {}, {}) end, "nonsense"))
  check("unknown option raises", raises(function() return churn.fit("bgnbd", {{frequency = 1, recency = 1, T = 2}}, {max_iters = 3}) end, "max_iters"))
  local m = assert(churn.model("bgnbd", {0.24, 4.4, 0.79, 2.4}))
  check("missing customer field raises", raises(function() return m:score{frequency = 1, T = 3} end, "recency"))
  check("non-number field raises", raises(function() return m:score{frequency = "x", recency = 1, T = 3} end, "frequency"))
  check("wrong family raises", raises(function() return m:expected_spend({1}, {2}) end))
  local pa, msg, code = m:score{frequency = 1, recency = 5, T = 3}
  check("recency > T -> nil, msg, code", pa == nil and code == churn.status.EINVAL and msg:find("recency") ~= nil, msg)
  local pa2 = m:score{x = 1, t_x = 2, T = 3}
  check("lifetimes aliases x, t_x", type(pa2) == "number")
  check("numeric strings accepted", m:score{frequency = "1", recency = "2", T = "3"} == pa2)
  check("bad model params -> nil, msg", churn.model("bgnbd", {r = -1, alpha = 1, a = 1, b = 1}) == nil)
  check("model() for a fitted family raises", raises(function() return churn.model("logit", {}) end))
end

-- ---- 2. CDNOW: published BG/NBD fit and per-customer scores ------------------------------
section("2. CDNOW: published BG/NBD fit and per-customer scores")

-- Independent reference in plain Lua: BG/NBD P(alive) (Fader, Hardie & Lee 2005,
-- "Counting your customers the easy way", eq. 12 of the technical note) and the
-- conditional expectation (eq. 10), with the Gauss series for 2F1.
local function hyp2f1(a, b, c, z)
  local term, sum = 1, 1
  for k = 0, 5000 do
    term = term * (a + k) * (b + k) / ((c + k) * (k + 1)) * z
    sum = sum + term
    if math.abs(term) < 1e-17 * math.abs(sum) then break end
  end
  return sum
end
local function bgnbd_ref(p, x, tx, T, t)
  local r, al, a, b = p.r, p.alpha, p.a, p.b
  local d = x > 0 and a / (b + x - 1) * ((al + T) / (al + tx)) ^ (r + x) or 0
  local e = (a + b + x - 1) / (a - 1)
      * (1 - ((al + T) / (al + T + t)) ^ (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t)))
      / (1 + d)
  return 1 / (1 + d), e
end

local published = {r = 0.2425945, alpha = 4.4136019, a = 0.7929199, b = 2.4258881}
do
  local m = assert(churn.model("bgnbd", published))
  local pa, e = m:score({frequency = 26, recency = 30.857, T = 31}, 52)
  check("published P(alive) 0.96885", near(pa, 0.96885, 5e-6), pa)
  check("published E[52] 25.7566 (rounded in the paper)", near(e, 25.7566, 1e-3), e)
  local rpa, re = bgnbd_ref(published, 26, 30.857, 31, 52)
  check("P(alive) = closed form in Lua", close(pa, rpa, 1e-12), pa .. " vs " .. rpa)
  check("E[52] = closed form with 2F1 series in Lua", close(e, re, 1e-10), e .. " vs " .. re)
  local pa2, e2 = m:score({frequency = 2, recency = 30.43, T = 38.86}, 39)
  check("published E[39] 1.2259 (x 2)", near(e2, 1.2259, 1e-4), e2)
  -- array forms agree with the hot path
  local pav = m:p_alive({26, 2}, {30.857, 30.43}, {31, 38.86})
  local ev = m:expected_purchases(52, {26, 2}, {30.857, 30.43}, {31, 38.86})
  check("p_alive array = score", pav[1] == pa and pav[2] == pa2)
  -- churn_btyd_expected_purchases and churn_btyd_score agree to a few ulps
  check("expected_purchases array = score", close(ev[1], e, 1e-14), ev[1] - e)
  local spa, se = m:score_many({frequency = {26, 2}, recency = {30.857, 30.43}, T = {31, 38.86}}, 52)
  check("score_many columns = score", spa[1] == pa and se[1] == e and spa[2] == pa2)
  local rpa2, re2 = m:score_many({{frequency = 26, recency = 30.857, T = 31}}, 52)
  check("score_many rows = score", rpa2[1] == pa and re2[1] == e)
  local empty_pa = m:score_many({}, 52)
  check("score_many of no customers", #empty_pa == 0)
end

local cdnow = shared_path("cdnow/lifetimes_clv.csv")
if not cdnow then
  skip("CDNOW", "cdnow/lifetimes_clv.csv not found under CHURN_SHARED_DATA (" .. tostring(shared) .. ")")
else
  local recs = read_records(cdnow)
  local x, tx, T, z = {}, {}, {}, {}
  for i, r in ipairs(recs) do x[i], tx[i], T[i], z[i] = r.x, r.t_x, r.T, r.zbar end
  check("CDNOW has 2357 customers", #x == 2357, #x)
  local m, msg = churn.fit_btyd("bgnbd", x, tx, T, nil, {unit = "week"})
  check("CDNOW BG/NBD fit", m ~= nil, msg)
  if m then
    local p = m:params()
    check("r 0.2426", close(p.r, 0.2425945, 2e-5), p.r)
    check("alpha 4.4136", close(p.alpha, 4.4136019, 2e-5), p.alpha)
    check("a 0.7929", close(p.a, 0.7929199, 2e-5), p.a)
    check("b 2.4259", close(p.b, 2.4258881, 2e-5), p.b)
    check("LL -9582.43", near(m:loglik(), -9582.429, 1e-3), m:loglik())
    check("converged", m:converged())
    check("unit recorded", m:time_unit() == 7)
    print(string.format("CDNOW BG/NBD from Lua: r %.7f alpha %.7f a %.7f b %.7f LL %.4f",
      p.r, p.alpha, p.a, p.b, m:loglik()))
  end
  -- the same fit from an array of customer tables
  local rows = {}
  for i = 1, #x do rows[i] = {frequency = x[i], recency = tx[i], T = T[i], monetary_value = z[i]} end
  local m2 = assert(churn.fit("bgnbd", rows))
  check("fit from rows = fit from arrays", m and m2:loglik() == m:loglik() and m2:params().r == m:params().r)

  -- per customer against lifetimes (its own parameters, from the file header)
  local lt = assert(churn.model("bgnbd", {r = 0.2425945434, alpha = 4.413602716, a = 0.7929218333, b = 2.425905729}))
  local pa, e52 = lt:score_many(rows, 52)
  local worst_pa, worst_e = 0, 0
  for i, r in ipairs(recs) do
    worst_pa = math.max(worst_pa, rel(pa[i], r.p_alive))
    worst_e = math.max(worst_e, rel(e52[i], r.expected_purchases_52w))
  end
  check("P(alive) = lifetimes for 2357 customers", worst_pa < 1e-8, worst_pa)
  check("E[52] = lifetimes for 2357 customers", worst_e < 1e-8, worst_e)

  -- Gamma-Gamma: published fit on the 946 repeat buyers, lifetimes' expected spend and CLV
  local gg, gmsg = churn.fit("gammagamma", rows)
  check("CDNOW Gamma-Gamma fit", gg ~= nil, gmsg)
  if gg then
    local gp = gg:params()
    check("Gamma-Gamma p 6.25 q 3.74 gamma 15.44",
      near(gp.p, 6.25, 5e-3) and near(gp.q, 3.74, 5e-3) and near(gp.gamma, 15.44, 5e-3),
      string.format("%g %g %g", gp.p, gp.q, gp.gamma))
    check("Gamma-Gamma LL -4055.918", near(gg:loglik(), -4055.918, 1e-3), gg:loglik())
    check("Gamma-Gamma published customer: 40 over 2 -> 39.13",
      near(gg:score{frequency = 2, monetary_value = 40}, 39.13, 5e-3))
  end
  -- lifetimes' Gamma-Gamma parameters (file header) as a version-1 model file
  local ltgg, ltmsg = churn.from_json(string.format(
    '{"format": "libchurn-model", "format_version": 1, "family": "gammagamma", ' ..
    '"param_names": ["p", "q", "gamma"], "params": [%.10g, %.10g, %.10g], ' ..
    '"std_errors": [null, null, null], "covariance": null, ' ..
    '"fit": {"converged": true}, "features": [], "arrays": {}}',
    6.249572278, 3.744224675, 15.44352102))
  check("Gamma-Gamma model from a hand-written file", ltgg ~= nil, ltmsg)
  if ltgg then
    local spend = ltgg:score_many(rows)
    local clv = churn.clv(lt, ltgg, rows, {horizon = 12, period = 4.345, discount = 0.01})
    local worst_s, worst_c = 0, 0
    for i, r in ipairs(recs) do
      worst_s = math.max(worst_s, rel(spend[i], r.expected_spend))
      worst_c = math.max(worst_c, rel(clv.clv[i], r.clv_12m))
    end
    check("expected spend = lifetimes", worst_s < 1e-8, worst_s)
    check("12-month CLV = lifetimes", worst_c < 1e-7, worst_c)
    local one = churn.clv(lt, ltgg, rows[1], {horizon = 12, period = 4.345, discount = 0.01})
    check("clv of one customer = clv of many", one.clv == clv.clv[1] and one.p_alive == clv.p_alive[1])
  end
end

-- ---- 3. purchases -> features, in Lua and with the command ------------------------------------
section("3. purchases -> features, in Lua and with the command")

-- Deterministic purchase histories (a BG/NBD-like process with dropout), 2023-2024.
local function lcg(seed)
  local s = seed
  return function()
    s = s * 6364136223846793005 + 1442695040888963407
    return ((s >> 11) & ((1 << 53) - 1)) / 2 ^ 53
  end
end
local base = 1672531200 -- 2023-01-01T00:00:00Z
local purchases = {}
do
  local u = lcg(20240611)
  for c = 1, 400 do
    local id = (c % 3 == 0) and ("C" .. c) or c -- string and integer ids
    local t = math.floor(u() * 240)
    local rate = 0.01 + 0.08 * u() -- purchases per day
    local drop = 0.05 + 0.3 * u()
    local mean_spend = 15 * (-math.log(1 - u()) + 0.5) -- customers differ in spend
    while t < 545 do
      local hour = math.floor(u() * 24)
      local when = base + t * 86400 + hour * 3600
      local amount = math.floor(mean_spend * (0.5 + u()) * 100 + 0.5) / 100
      local tm = (c % 2 == 0) and when or os.date("!%Y-%m-%dT%H:%M:%SZ", when)
      purchases[#purchases + 1] = {customer = id, time = tm, amount = amount}
      local v = u()
      if v < 0.05 then -- same-day second order
        purchases[#purchases + 1] = {customer = id, time = when + 60, amount = 5}
      elseif v < 0.08 then -- a refund
        purchases[#purchases + 1] = {customer = id, time = when + 120, amount = -amount / 2}
      end
      if u() < drop then break end
      t = t + math.max(1, math.floor(-math.log(1 - u()) / rate))
    end
  end
end

local feat_opts = {cutoff = "2023-12-31", holdout_end = "2024-06-30", unit = "week"}
local rows, info = churn.features(purchases, feat_opts)
check("features rows", rows and #rows > 300, info)
check("features info", info.customers == #rows and info.time_unit == 7 and info.excluded >= 0)
check("features cutoff", info.cutoff == churn.parse_date("2023-12-31"))
check("features has labels", rows[1].churned ~= nil and rows[1].duration ~= nil and rows[1].event ~= nil)
check("customer ids are text", type(rows[1].customer_id) == "string")

-- the same through a transaction log and a customer table userdata
do
  local log = assert(churn.txlog(purchases))
  check("txlog counts", log:num_transactions() == #purchases, log:num_transactions())
  check("txlog tostring", tostring(log):find("transactions") ~= nil)
  local tab = assert(log:customers(feat_opts))
  check("customer table length", #tab == #rows)
  local col = tab:column("frequency")
  check("column = rows", col[1] == rows[1].frequency and col[#col] == rows[#rows].frequency)
  local r5 = tab:row(5)
  local found, at = tab:find(r5.customer_id)
  check("find by id", at == 5 and found.recency == r5.recency)
  local nf, nmsg, ncode = tab:find("no such customer")
  check("find missing -> nil, msg, code", nf == nil and ncode == churn.status.ENOTFOUND, nmsg)
  local bad, bmsg = tab:column("no_such_column")
  check("unknown column -> nil, msg", bad == nil and bmsg:find("no_such_column") ~= nil, bmsg)
  local met = tab:metrics()
  check("metrics", met.churn_rate >= 0 and met.churn_rate <= 1 and met.repeat_rate > 0)
  local rows2 = log:features(feat_opts)
  check("log:features = churn.features", rows2[7].T == rows[7].T and rows2[7].customer_id == rows[7].customer_id)
  tab:close()
  check("closed table raises", raises(function() return #tab end, "closed"))
  local ok, amsg, acode = log:add("x", "not a date", 1)
  check("bad date -> nil, msg, code", ok == nil and acode == churn.status.EFORMAT, amsg)
  check("add ok", log:add(17, base, 3.5) == true)
  check("add non-finite amount -> nil", log:add(17, base, 0 / 0) == nil)
  check("purchase without amount: unknown", churn.txlog({{customer = 1, time = base}}) ~= nil)
  check("purchase with a text amount raises", raises(function() return churn.txlog({{customer = 1, time = base, amount = "x"}}) end, "amount"))
  local l2, m2, c2 = churn.txlog({{customer = 1, time = base, amount = 1}, {customer = 2, time = "2023-02-30", amount = 1}})
  check("bad date in purchases -> nil, msg naming the purchase", l2 == nil and m2:find("purchases[2]", 1, true) ~= nil, m2)
  local l3, m3 = churn.read_csv("/nonexistent/tx.csv")
  check("read_csv missing -> nil, msg", l3 == nil and m3:find("/nonexistent/tx.csv", 1, true) ~= nil, m3)
  check("unknown features option raises", raises(function() return churn.features(purchases, {cuttoff = 1}) end, "cuttoff"))
end

-- incremental per-customer state = batch columns
do
  local by_customer, order = {}, {}
  for _, p in ipairs(purchases) do
    local id = tostring(p.customer)
    if not by_customer[id] then by_customer[id] = {} order[#order + 1] = id end
    local t = type(p.time) == "number" and p.time or churn.parse_date(p.time)
    table.insert(by_customer[id], {t = t, amount = p.amount})
  end
  local cutoff = churn.parse_date("2023-12-31")
  local worst, compared, bytes_ok = 0, 0, true
  local idx = {}
  for i, r in ipairs(rows) do idx[r.customer_id] = r end
  for _, id in ipairs(order) do
    local st = churn.state{unit = "week"}
    local hist = by_customer[id]
    table.sort(hist, function(a, b) return a.t < b.t end)
    for _, h in ipairs(hist) do
      if h.t < cutoff + 86400 then assert(st:add(h.t, h.amount)) end
    end
    local r = idx[id]
    if r then
      local f, msg = st:features("2023-12-31")
      if not f then check("state features " .. id, false, msg) break end
      for k, v in pairs(f) do worst = math.max(worst, math.abs(v - r[k]) / math.max(1, math.abs(r[k]))) end
      compared = compared + 1
      local st2 = churn.state_from_bytes(st:to_bytes())
      bytes_ok = bytes_ok and st2:value("frequency", cutoff) == r.frequency
    end
  end
  check("incremental state = batch table", compared == #rows and worst < 1e-12, worst)
  check("state bytes round trip", bytes_ok)
  local st = churn.state()
  assert(st:add("2023-05-01", 10))
  local ok, msg, code = st:add("2023-04-01", 10)
  check("state: earlier time -> nil, msg, code", ok == nil and code == churn.status.EINVAL, msg)
  check("state: batch-only column -> EUNSUPPORTED", select(3, st:value("gap_median", "2023-06-01")) == churn.status.EUNSUPPORTED)
  check("state_from_bytes garbage -> nil", churn.state_from_bytes("xyz") == nil)
end

-- option `columns`: a subset holds exactly the full table's values
do
  local log = assert(churn.txlog(purchases))
  local full = assert(log:customers(feat_opts))
  local function same_columns(name, sub, names)
    local ok, bad = #sub == #full, nil
    for _, c in ipairs(names) do
      local a, b = sub:column(c), full:column(c)
      for i = 1, #b do
        if not a or a[i] ~= b[i] then ok, bad = false, c break end
      end
    end
    local ids_a, ids_b = sub:ids(), full:ids()
    for i = 1, #ids_b do ok = ok and ids_a[i] == ids_b[i] end
    check(name, ok, bad)
  end
  local function opts_with(cols)
    local o = {columns = cols}
    for k, v in pairs(feat_opts) do o[k] = v end
    return o
  end
  local subsets = {
    {"frequency", "recency", "T", "monetary_value"},
    {"event", "spend_trend", "gap_std", "net_spend", "value_tier", "churned", "duration"},
    {"gap_median", "n_products", "r_score"},
  }
  for k, cols in ipairs(subsets) do
    local sub = assert(log:customers(opts_with(cols)))
    check("columns subset " .. k .. ": only those columns", #sub:columns() == #cols, #sub:columns())
    same_columns("columns subset " .. k .. " = full table", sub, cols)
  end
  local sub = assert(log:customers(opts_with("T, frequency")))
  local names = sub:columns()
  check("columns as text: the table's order", names[1] == "frequency" and names[2] == "T" and #names == 2)
  same_columns("columns as text = full table", sub, names)
  local frows = churn.features(purchases, opts_with({"T"}))
  check("features with columns", frows[3].T == full:column("T")[3] and frows[3].frequency == nil)
  local nt, nmsg, ncode = log:customers(opts_with({"frequency", "nosuch"}))
  check("unknown column -> nil, msg naming it, EINVAL", nt == nil and ncode == churn.status.EINVAL
    and nmsg:find("nosuch", 1, true) ~= nil, nmsg)
  check("columns of the wrong type raise", raises(function() return log:customers({columns = 3}) end, "columns"))
  check("empty columns array raises", raises(function() return log:customers({columns = {}}) end, "columns"))
end

-- churn.stream: chunks of a date-sorted log give the batch table's values
do
  local sorted = {}
  for i, p in ipairs(purchases) do
    sorted[i] = {customer = p.customer, time = type(p.time) == "number" and p.time or churn.parse_date(p.time),
                 amount = p.amount, i = i}
  end
  table.sort(sorted, function(a, b) if a.time ~= b.time then return a.time < b.time end return a.i < b.i end)
  local batch = assert(assert(churn.txlog(sorted)):customers(feat_opts))
  local st = assert(churn.stream(feat_opts))
  local bounds = {0, 500, 501, 1400, #sorted}
  for k = 1, #bounds - 1 do
    local chunk = {}
    for i = bounds[k] + 1, bounds[k + 1] do chunk[#chunk + 1] = sorted[i] end
    local ok, msg = st:add(chunk)
    if not ok then check("stream add", false, msg) end
  end
  check("stream rows_folded", st:rows_folded() == #sorted, st:rows_folded())
  check("stream tostring", tostring(st):find("folded") ~= nil)
  local tab = assert(st:finish())
  check("finished stream is closed", raises(function() return st:add({}) end, "closed")
    and st:rows_folded() == #sorted)
  local names, ok, bad = tab:columns(), #tab == #batch, nil
  for _, c in ipairs(names) do
    local a, b = tab:column(c), batch:column(c)
    for i = 1, #b do if a[i] ~= b[i] then ok, bad = false, c break end end
  end
  check("stream = batch table", ok and #names == #batch:columns() - 2, bad or #names)
  check("stream leaves out gap_median, n_products", select(3, tab:column("gap_median")) == churn.status.ENOTFOUND)
  -- the same rows from a CSV file, read in chunks
  local path = tmpdir .. "/stream.csv"
  local f = io.open(path, "w")
  f:write("customer_id,date,amount\n")
  for _, p in ipairs(sorted) do
    f:write(tostring(p.customer), ",", string.format("%d", p.time), ",", string.format("%.17g", p.amount), "\n")
  end
  f:close()
  local st2 <close> = assert(churn.stream(feat_opts))
  local rok, rmsg = st2:read_csv(path, {date_format = "epoch"}, 97)
  check("stream read_csv", rok, rmsg)
  local tab2 = assert(st2:finish())
  local same = #tab2 == #tab
  for _, c in ipairs(names) do
    local a, b = tab2:column(c), tab:column(c)
    for i = 1, #b do same = same and a[i] == b[i] end
  end
  check("stream read_csv = stream add", same)
  -- errors
  local s0, m0, c0 = churn.stream({unit = "week"})
  check("stream without cutoff -> nil, msg, EINVAL", s0 == nil and c0 == churn.status.EINVAL and m0:find("cutoff") ~= nil, m0)
  local s1, m1 = churn.stream({cutoff = "2023-12-31", columns = {"frequency", "gap_median"}})
  check("stream gap_median -> nil, msg", s1 == nil and m1:find("gap_median") ~= nil, m1)
  local s2 = assert(churn.stream({cutoff = "2023-12-31"}))
  assert(s2:add({{customer = "k7", time = "2023-05-01", amount = 1}}))
  local ok2, m2, c2 = s2:add({{customer = "k7", time = "2023-04-01", amount = 1}})
  check("stream out of order -> nil, msg naming the customer", ok2 == nil and c2 == churn.status.EINVAL
    and m2:find("'k7'", 1, true) ~= nil, m2)
  s2:close()
  check("closed stream raises", raises(function() return s2:finish() end, "closed"))
end

local no_sub = os.getenv("CHURN_LUA_NO_SUBPROCESS") == "1"
local exe = os.getenv("CHURN_EXE")
local python = os.getenv("CHURN_PYTHON")
local feats = {"frequency", "recency", "T", "total_spend"}
local horizon = 26

-- Write the purchases as a CSV, run `churn features` and compare with Lua.
local cust_csv = tmpdir .. "/customers.csv"
local have_cmd = false
if no_sub then
  skip("command", "CHURN_LUA_NO_SUBPROCESS=1")
elseif not exe or not file_exists(exe) then
  skip("command", "CHURN_EXE not set or missing")
else
  local tx = io.open(tmpdir .. "/tx.csv", "w")
  tx:write("customer_id,date,amount\n")
  for _, p in ipairs(purchases) do
    tx:write(tostring(p.customer), ",", type(p.time) == "number" and string.format("%d", p.time) or p.time,
      ",", string.format("%.17g", p.amount), "\n")
  end
  tx:close()
  have_cmd = run(string.format("%s features %s --cutoff 2023-12-31 --holdout-end 2024-06-30 --unit week -o %s",
    q(exe), q(tmpdir .. "/tx.csv"), q(cust_csv)))
  check("churn features ran", have_cmd)
  if have_cmd then
    local crecs, header = read_records(cust_csv)
    check("command and Lua find the same customers", #crecs == #rows, #crecs .. " vs " .. #rows)
    local worst, same_ids = 0, true
    for i, r in ipairs(crecs) do
      same_ids = same_ids and tostring(r.customer_id) == rows[i].customer_id
      for _, k in ipairs(header) do
        if k ~= "customer_id" and k ~= "time_unit_days" and k ~= "cutoff" then
          worst = math.max(worst, math.abs(r[k] - rows[i][k]) / math.max(1, math.abs(rows[i][k])))
        end
      end
    end
    check("churn.features = churn features (printed to 10 digits)", same_ids and worst < 1e-9, worst)
    check("churn features declares its unit and cutoff on every row",
      tonumber(crecs[1].time_unit_days) == 7 and tostring(crecs[#crecs].cutoff) == "2023-12-31",
      tostring(crecs[1].time_unit_days) .. " " .. tostring(crecs[#crecs].cutoff))
  end
end

-- ---- 4. models saved by the command and by Python load with identical predictions --------------
section("4. models saved by the command and by Python load with identical predictions")

-- predictions of a loaded model on the customers of customers.csv, keyed by family
local function lua_predictions(m, crows)
  local fam = m:family()
  local out = {}
  for i, c in ipairs(crows) do
    if fam == "bgnbd" or fam == "pnbd" or fam == "mbgnbd" then
      out[i] = {m:score(c, horizon)}
    elseif fam == "gammagamma" then
      out[i] = {m:score(c)}
    elseif fam == "logit" then
      out[i] = {m:score(c)}
    else
      local s, pc, lp = m:score(c, horizon)
      out[i] = {pc, s, lp}
    end
  end
  return out
end

-- compare Lua predictions with a CSV of predictions (columns after customer_id)
local function compare_predictions(name, m, crows, csv_path, rtol)
  if not file_exists(csv_path) then check(name .. ": " .. csv_path .. " exists", false) return end
  local preds = lua_predictions(m, crows)
  local _, prow = read_csv(csv_path)
  check(name .. ": same number of rows", #prow == #crows, #prow .. " vs " .. #crows)
  local worst = 0
  for i, r in ipairs(prow) do
    for j = 2, #r do
      local want = tonumber(r[j])
      local got = preds[i] and preds[i][j - 1]
      if want == nil or got == nil then worst = math.huge
      else worst = math.max(worst, rel(got, want)) end
    end
  end
  check(name, worst <= rtol, string.format("max relative difference %.3g", worst))
  return worst
end

local py_script = [==[
import sys, csv
import numpy as np
import churn
mode, cust, outdir, h = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
feats = sys.argv[5].split(",")
rows = list(csv.DictReader(open(cust)))
ids = [r["customer_id"] for r in rows]
data = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]
        if k not in ("customer_id", "cutoff")}

def write(path, cols):
    with open(path, "w") as f:
        f.write("customer_id,values\n")
        for i, cid in enumerate(ids):
            f.write(cid + "," + ",".join(repr(float(c[i])) for c in cols) + "\n")

def predict(m, path):
    fam = m.family
    if fam in ("bgnbd", "mbgnbd", "pnbd"):
        sc = m.score(h, frequency=data["frequency"], recency=data["recency"], T=data["T"])
        write(path, [sc["p_alive"].to_numpy(), sc["expected_purchases"].to_numpy()])
    elif fam == "gammagamma":
        write(path, [np.asarray(m.expected_spend(frequency=data["frequency"],
                                                  monetary_value=data["monetary_value"]))])
    elif fam == "logit":
        X = np.column_stack([data[f] for f in m.feature_names_])
        write(path, [np.asarray(m.predict_churn(X)), np.asarray(m.decision_function(X))])
    else:
        X = np.column_stack([data[f] for f in m.feature_names_])
        p = m.predict_at(X, h)
        write(path, [p["p_churn"].to_numpy(), p["survival"].to_numpy(),
                     p["linear_predictor"].to_numpy()])

if mode == "fit":
    import pandas as pd
    df = pd.DataFrame(data)
    X = np.column_stack([data[f] for f in feats])
    models = {
        "bgnbd": churn.BGNBD().fit(df),
        "gammagamma": churn.GammaGamma().fit(df),
        "logit": churn.LogisticRegression().fit(X, data["churned"], feature_names=feats),
        "cox": churn.CoxPHFitter().fit(df[feats + ["duration", "event"]], features=feats),
        "weibull": churn.WeibullAFTFitter().fit(df[feats + ["duration", "event"]], features=feats),
    }
    for fam, m in models.items():
        m.save(f"{outdir}/py_{fam}.json")
        predict(m, f"{outdir}/py_{fam}_pred.csv")
else:  # load the command's model files and predict with them
    for fam in sys.argv[6].split(","):
        predict(churn.load_model(f"{outdir}/cmd_{fam}.json"), f"{outdir}/cmd_{fam}_pypred.csv")
]==]

local families = {"bgnbd", "gammagamma", "logit", "cox", "weibull"}
local have_py = false
if have_cmd and python and python ~= "" and file_exists(python) then
  have_py = run(q(python) .. " -c 'import numpy, pandas, churn' 2>/dev/null")
  if not have_py then skip("Python", "cannot import numpy, pandas and churn with " .. python) end
elseif have_cmd then
  skip("Python", "CHURN_PYTHON not set or missing")
end

if have_cmd then
  local crows = read_records(cust_csv) -- the exact doubles the command and Python read
  local fstr = table.concat(feats, ",")
  local fit_args = {
    bgnbd = "",
    gammagamma = "",
    logit = "--label churned --features " .. fstr,
    cox = "--duration duration --event event --features " .. fstr,
    weibull = "--duration duration --event event --features " .. fstr,
  }
  local predict_args = {bgnbd = "--horizon " .. horizon, gammagamma = "", logit = "",
    cox = "--horizon " .. horizon, weibull = "--horizon " .. horizon}
  local fitted = {}
  for _, fam in ipairs(families) do
    local mpath = tmpdir .. "/cmd_" .. fam .. ".json"
    local ok = run(string.format("%s fit %s %s %s -o %s >/dev/null", q(exe), fam, q(cust_csv), fit_args[fam], q(mpath)))
      and run(string.format("%s predict %s %s %s -o %s", q(exe), q(mpath), q(cust_csv), predict_args[fam],
        q(tmpdir .. "/cmd_" .. fam .. "_pred.csv")))
    check("churn fit/predict " .. fam, ok)
    if ok then fitted[#fitted + 1] = fam end
  end
  for _, fam in ipairs(fitted) do
    local m, msg = churn.load(tmpdir .. "/cmd_" .. fam .. ".json")
    check("command's " .. fam .. " model loads in Lua", m and m:family() == fam, msg)
    if m and fam ~= "bgnbd" and fam ~= "gammagamma" then
      check("feature names kept (" .. fam .. ")", table.concat(m:feature_names(), ",") == fstr)
    end
    -- `churn predict` prints 10 significant digits; for BTYD it writes
    -- p_alive, expected_purchases, p_churn: compare the first two
    if m then
      local preds = lua_predictions(m, crows)
      local _, prow = read_csv(tmpdir .. "/cmd_" .. fam .. "_pred.csv")
      local worst = #prow == #crows and 0 or math.huge
      local map = ({bgnbd = {1, 2}, gammagamma = {1}, logit = {1, 2}, cox = {1, 2, 3}, weibull = {1, 2, 3}})[fam]
      for i, r in ipairs(prow) do
        for j, k in ipairs(map) do
          local want, got = tonumber(r[j + 1]), preds[i][k]
          worst = math.max(worst, math.abs(got - want) / math.max(math.abs(want), 1e-300))
        end
      end
      -- 10 printed digits: half an ulp of the 10th digit is 5e-10 relative
      check("Lua = churn predict for the command's " .. fam .. " model (10 digits)", worst < 5.1e-10, worst)
    end
  end
  if have_py then
    local script = tmpdir .. "/py_models.py"
    local f = io.open(script, "w") f:write(py_script) f:close()
    local ok = run(string.format("%s %s fit %s %s %s %s", q(python), q(script), q(cust_csv), q(tmpdir), horizon, fstr))
    check("Python fit + save + predict ran", ok)
    ok = run(string.format("%s %s load %s %s %s %s %s", q(python), q(script), q(cust_csv), q(tmpdir), horizon, fstr,
      table.concat(fitted, ",")))
    check("Python load of the command's models ran", ok)
    for _, fam in ipairs(families) do
      local m, msg = churn.load(tmpdir .. "/py_" .. fam .. ".json")
      check("Python's " .. fam .. " model loads in Lua", m ~= nil, msg)
      if m then
        local w = compare_predictions("Lua = Python for Python's " .. fam .. " model (1e-15)", m, crows,
          tmpdir .. "/py_" .. fam .. "_pred.csv", 1e-15)
        print(string.format("python %-10s max relative difference %.3g", fam, w or -1))
      end
    end
    for _, fam in ipairs(fitted) do
      local m = churn.load(tmpdir .. "/cmd_" .. fam .. ".json")
      if m then
        local w = compare_predictions("Lua = Python for the command's " .. fam .. " model (1e-15)", m, crows,
          tmpdir .. "/cmd_" .. fam .. "_pypred.csv", 1e-15)
        print(string.format("command %-10s max relative difference %.3g", fam, w or -1))
      end
    end
  end
end

-- ---- 5. fitting every family from Lua arrays, against R / published references -----------------
section("5. fitting every family from Lua arrays, against R / published references")

do
  local mt = shared_path("logistic/mtcars.csv")
  if not mt then skip("logit mtcars", "logistic/mtcars.csv not found") else
    local cars = read_records(mt)
    local m, msg = churn.fit("logit", cars, {features = {"hp", "wt"}, label = "am"})
    check("logit fit from rows", m ~= nil, msg)
    if m then
      local p = m:params()
      -- R: glm(am ~ hp + wt, binomial) (logistic/glm_binomial.csv)
      check("logit (Intercept) = R", close(p["(Intercept)"], 18.86629871720411, 1e-6), p["(Intercept)"])
      check("logit hp = R", close(p.hp, 0.03625559608221654, 1e-6), p.hp)
      check("logit wt = R", close(p.wt, -8.08347518244463, 1e-6), p.wt)
      check("logit loglik = R", close(m:loglik(), -5.0295552361334934, 1e-8), m:loglik())
      local pc, lp = m:score(cars[1])
      check("logit score = logistic(lp)", close(pc, 1 / (1 + math.exp(-lp)), 1e-14))
      check("logit lp = b'x", close(lp, p["(Intercept)"] + p.hp * cars[1].hp + p.wt * cars[1].wt, 1e-12))
      local many = m:score_many(cars)
      check("logit score_many = score", many[1] == pc)
      local contrib, baseline = m:explain(cars[1])
      check("explain sums to lp", close(baseline + contrib.hp + contrib.wt, lp, 1e-12))
      -- columns form and label as an array
      local cols = {hp = {}, wt = {}}
      local y = {}
      for i, c in ipairs(cars) do cols.hp[i], cols.wt[i], y[i] = c.hp, c.wt, c.am == 1 end
      local m2 = assert(churn.fit("logit", cols, {features = {"hp", "wt"}, label = y}))
      check("logit from columns + boolean labels = from rows", close(m2:params().wt, p.wt, 1e-12))
      check("logit without features raises", raises(function() return churn.fit("logit", cars, {label = "am"}) end, "features"))
      local bad, bmsg, bcode = churn.fit("logit", cars, {features = {"hp", "hp"}, label = "am"})
      check("collinear logit -> nil, msg, code", bad == nil and bcode == churn.status.ENUMERIC, bmsg)
      check("logit missing feature field raises", raises(function() return m:score{hp = 100} end, "wt"))
    end
  end

  local lung = shared_path("survival/lung_cox_cc.csv")
  if not lung then skip("cox lung", "survival/lung_cox_cc.csv not found") else
    local pts = read_records(lung)
    local cols = {age = {}, sex = {}, ecog = {}, time = {}, status = {}}
    for i, r in ipairs(pts) do
      cols.age[i], cols.sex[i], cols.ecog[i] = r.age, r.sex, r["ph.ecog"]
      cols.time[i], cols.status[i] = r.time, r.status == 2
    end
    local opts = {features = {"age", "sex", "ecog"}, duration = "time", event = "status"}
    local cox, msg = churn.fit("cox", cols, opts)
    check("cox fit from columns", cox ~= nil, msg)
    if cox then
      local p = cox:params()
      -- R: coxph(Surv(time, status) ~ age + sex + ph.ecog), Efron (survival/cox_lung_coef.csv)
      check("cox age = R", close(p.age, 0.011066764560073482, 1e-6), p.age)
      check("cox sex = R", close(p.sex, -0.55261239570363097, 1e-6), p.sex)
      check("cox ecog = R", close(p.ecog, 0.46372847537042766, 1e-6), p.ecog)
      check("cox loglik = R", close(cox:loglik(), -729.23012137486194, 1e-9), cox:loglik())
      -- survfit for age 60, sex 1, ecog 1 (survival/cox_lung_efron_survfit_age60_sex1_ecog1.csv)
      local sf = shared_path("survival/cox_lung_efron_survfit_age60_sex1_ecog1.csv")
      if sf then
        local curve = read_records(sf)
        local who = {age = 60, sex = 1, ecog = 1}
        local worst = 0
        for _, r in ipairs(curve) do
          local s = cox:score(who, r.time)
          worst = math.max(worst, math.abs(s - r.surv))
        end
        check("cox survival at every R time (age 60, sex 1, ecog 1)", worst < 1e-7, worst)
        local s, pc = cox:score(who, 365)
        check("P(churn before horizon) = 1 - S", pc == 1 - s or close(pc, 1 - s, 1e-15))
        local times = {100, 365}
        local sc = cox:survival_curve(who, times)
        check("survival_curve = score", close(sc[2], s, 1e-14))
      end
    end
    local wb, wmsg = churn.fit("weibull", pts, {features = {"age", "sex", "ph.ecog"}, duration = "time",
      event = cols.status})
    check("weibull fit from rows", wb ~= nil, wmsg)
    if wb then
      local p = wb:params()
      -- R: survreg(..., dist = "weibull") (survival/survreg_lung.csv)
      check("weibull (Intercept) = R", close(p["(Intercept)"], 6.2734352519986878, 1e-6), p["(Intercept)"])
      check("weibull sex = R", close(p.sex, 0.40109054117361931, 1e-5), p.sex)
      check("weibull Log(scale) = R", close(p["Log(scale)"], -0.31319273029660705, 1e-5), p["Log(scale)"])
      check("weibull loglik = R", close(wb:loglik(), -1132.4387458823194, 1e-8), wb:loglik())
      local who = {age = 60, sex = 1, ["ph.ecog"] = 1}
      local s = wb:score(who, 300)
      local scale = math.exp(p["Log(scale)"])
      local eta = p["(Intercept)"] + p.age * 60 + p.sex + p["ph.ecog"]
      check("weibull S(300) = closed form", close(s, math.exp(-(300 / math.exp(eta)) ^ (1 / scale)), 1e-12))
      check("weibull median lifetime", close(wb:median_lifetime(who), math.exp(eta) * math.log(2) ^ scale, 1e-12))
    end
    check("cox without horizon raises", cox == nil or raises(function() return cox:score{age = 1, sex = 1, ecog = 1} end))
  end

  -- sBG from a survivor curve (Fader & Hardie 2007: high end alpha 0.668, beta 3.806)
  local survivors = {1000, 869, 743, 653, 593, 551, 517, 491}
  local sbg, smsg = churn.fit("sbg", {survivors = survivors})
  check("sbg fit from survivors", sbg ~= nil, smsg)
  if sbg then
    local p = sbg:params()
    check("sbg alpha 0.668 beta 3.806", near(p.alpha, 0.668, 1e-3) and near(p.beta, 3.806, 1e-3),
      string.format("%g %g", p.alpha, p.beta))
    local ret, surv = sbg:retention(3)
    local renew = sbg:score({periods = 0}, 1)
    check("sbg score = S(1)", close(renew, surv[1], 1e-14))
    check("sbg retention r1 = S1", close(ret[1], surv[1], 1e-14))
    check("sbg derl", sbg:derl(0.1, {0, 1})[1] > 0)
  end

  -- BG/BB on the donations (Fader, Hardie & Shang 2010): alpha 1.2035, beta 0.7497,
  -- gamma 0.6568, delta 2.7838, LL -33225.58; weights = donors per pattern
  local don = shared_path("donations/donations.csv")
  if not don then skip("bgbb donations", "donations/donations.csv not found") else
    local recs = read_records(don)
    local cols = {frequency = {}, recency = {}, T = {}}
    for i, r in ipairs(recs) do cols.frequency[i], cols.recency[i], cols.T[i] = r.frequency, r.recency, r.periods end
    local bb, msg = churn.fit("bgbb", cols, {weights = (function()
      local w = {} for i, r in ipairs(recs) do w[i] = r.weights end return w end)()})
    check("bgbb fit with weights", bb ~= nil, msg)
    if bb then
      local p = bb:params()
      check("bgbb parameters = published",
        near(p.alpha, 1.2035, 1e-3) and near(p.beta, 0.7497, 1e-3) and near(p.gamma, 0.6568, 1e-3)
          and near(p.delta, 2.7838, 1e-3), string.format("%g %g %g %g", p.alpha, p.beta, p.gamma, p.delta))
      check("bgbb LL -33225.58", near(bb:loglik(), -33225.58, 0.01), bb:loglik())
      local pa, e = bb:score({frequency = 3, recency = 6, T = 6}, 5)
      check("bgbb scores a donor", pa > 0.9 and pa <= 1 and e > 0, pa)
    end
  end

  -- every BTYD family from the Lua features; fits that cannot converge return nil, msg, code, model
  for _, fam in ipairs({"bgnbd", "mbgnbd", "pnbd"}) do
    local m, msg, code = churn.fit(fam, rows)
    check(fam .. " fit on the simulated customers", m ~= nil or code == churn.status.ENOCONV, msg)
    if m then
      local pa, e = m:score(rows[1], 10)
      check(fam .. " scores", pa >= 0 and pa <= 1 and e >= 0)
    end
  end
  local bad, bmsg, bcode = churn.fit("bgnbd", {{frequency = -1, recency = 0, T = 1}, {frequency = 1, recency = 1, T = 2}})
  check("bad data -> nil, msg, code", bad == nil and bcode == churn.status.EINVAL and bmsg:find("frequency") ~= nil, bmsg)
  check("bad data row type raises", raises(function() return churn.fit("bgnbd", {{frequency = 1, recency = 0, T = {}}}) end, "data[1].T"))
  local gg = churn.fit("gammagamma", rows)
  check("gammagamma from features", gg ~= nil and gg:mean_spend() > 0)
  if gg then
    local es = gg:expected_spend({rows[1].frequency}, {rows[1].monetary_value})
    check("expected_spend array = score", es[1] == gg:score(rows[1]))
  end
end

-- ---- 6. garbage collection while scoring elsewhere -----------------------------------------------
section("boundary: time units (issue 17)")
do
  -- item 1: rows of a table and a state's features declare their unit; a weekly model
  -- refuses daily data with a message naming both units
  local wrows = assert(churn.features(purchases, {cutoff = "2023-12-31", unit = "week"}))
  local drows = assert(churn.features(purchases, {cutoff = "2023-12-31"}))
  local weeks = assert(assert(churn.txlog(purchases)):customers({cutoff = "2023-12-31", unit = "week"}))
  check("boundary: a table handle's rows declare the unit", weeks:row(1).time_unit == 7)
  check("boundary: table rows declare their unit", wrows[1].time_unit == 7 and drows[1].time_unit == 1)
  local m = assert(churn.fit("bgnbd", wrows))
  check("boundary: fit from weekly rows records weeks", m:time_unit() == 7, m:time_unit())
  local p7, e7 = m:score(wrows[3], 52)
  check("boundary: same unit scores", p7 > 0 and p7 <= 1 and e7 > 0)
  check("boundary: weekly model refuses a daily row",
    raises(function() return m:score(drows[3], 52) end, "weeks (7 days) but the data are in days (1 day)"))
  check("boundary: score_many refuses daily rows",
    raises(function() return m:score_many(drows, 52) end, "days (1 day)"))
  check("boundary: fit with a contradicting unit option raises",
    raises(function() return churn.fit("bgnbd", wrows, {unit = "day"}) end, "differs"))
  -- explicit conversion: 52 weeks = 364 days, the same scores (alpha scales with the unit)
  local md = assert(m:convert_time_unit("day"))
  check("boundary: converted model records days", md:time_unit() == 1 and m:time_unit() == 7)
  local pd, ed = md:score(drows[3], 364)
  check("boundary: converted model scores the daily row as the weekly one", close(pd, p7, 1e-12) and close(ed, e7, 1e-10),
    string.format("%.17g %.17g / %.17g %.17g", pd, p7, ed, e7))
  local bb = assert(churn.model("bgbb", {1.2, 0.75, 0.66, 2.78}, {unit = "year"}))
  local cv, cmsg = bb:convert_time_unit("day")
  check("boundary: BG/BB has no unit conversion", cv == nil and tostring(cmsg):find("discrete") ~= nil, cmsg)
  -- the state: built in days, scored by the weekly model
  local sd, sw = churn.state{unit = "day"}, churn.state{unit = "week"}
  for _, t in ipairs({"2023-01-05", "2023-03-02", "2023-06-20"}) do
    assert(sd:add(t, 10)); assert(sw:add(t, 10))
  end
  local ps, msg, code = sd:score(m, "2023-12-31", 52)
  check("boundary: state in days refuses a weekly model", ps == nil and code == churn.status.EUNIT
    and tostring(msg):find("weeks (7 days)", 1, true) ~= nil, msg)
  check("boundary: a state's features declare the unit",
    raises(function() return m:score(sd:features("2023-12-31"), 52) end, "days (1 day)"))
  local pw, ew = sw:score(m, "2023-12-31", 52)
  local f = sw:features("2023-12-31")
  local pf, ef = m:score(f, 52)
  check("boundary: state score = score of its features", pw == pf and ew == ef)
  -- closed form of BG/NBD P(alive) for x = 2, t_x = 166/7, T = 360/7 weeks
  local pv = m:params()
  local r, alpha, a, b = pv.r, pv.alpha, pv.a, pv.b
  local x, tx, T = 2, 166 / 7, 360 / 7
  local closed = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ^ (r + x))
  check("boundary: state P(alive) = closed form", close(pw, closed, 1e-12), pw .. " vs " .. closed)
  -- item 8: no horizon, no expected purchases (nil, not 0)
  local p0, e0 = m:score(wrows[3])
  check("boundary: score without a horizon gives nil expected purchases", p0 == p7 and e0 == nil)
  local s0, s1 = sw:score(m, "2023-12-31")
  check("boundary: state score without a horizon", s0 == pw and s1 == nil)
  check("boundary: score_many needs a horizon",
    raises(function() return m:score_many(wrows) end, "horizon"))
  weeks:close()
end

section("6. garbage collection while scoring elsewhere")
purchases, rows = nil, nil -- a small heap keeps the aggressive collector below cheap
collectgarbage("collect")

do
  local ref = assert(churn.model("bgnbd", published))
  local json = ref:to_json()
  local cust = {frequency = 26, recency = 30.857, T = 31}
  local want_pa, want_e = ref:score(cust, 52)
  local all_ok, made = true, 0
  local resurrected = {}
  collectgarbage("incremental", 50, 400) -- aggressive incremental collector
  local function worker(k)
    return coroutine.wrap(function()
      for i = 1, 60 do
        local m = assert(churn.from_json(json))
        local m2 = assert(churn.model("bgnbd", published))
        made = made + 2
        -- an object whose finalizer scores with (and resurrects) a model
        setmetatable({}, {__gc = function()
          local ok, pa = pcall(m2.score, m2, cust, 52)
          resurrected[#resurrected + 1] = m2
          if ok and pa ~= want_pa then all_ok = false end
        end})
        local pa, e = m:score(cust, 52)
        all_ok = all_ok and pa == want_pa and e == want_e
        if i % 3 == 0 then m:close() end
        do
          local tbc <close> = assert(churn.from_json(json))
          coroutine.yield(tbc:score(cust, 52) == want_pa) -- suspended with a to-be-closed model
        end
        if i % 3 ~= 0 then
          local p2 = m:score_many({cust, cust}, 52)
          all_ok = all_ok and p2[2] == want_pa
        end
        local rows_here = churn.features({{customer = k, time = base + i * 86400, amount = 1}})
        all_ok = all_ok and #rows_here == 1
      end
    end)
  end
  local workers = {}
  for k = 1, 6 do workers[k] = worker(k) end
  for step = 1, 60 do
    for k = 1, #workers do all_ok = (workers[k]() and all_ok) end
    if step % 7 == 0 then collectgarbage("collect") else collectgarbage("step", 0) end
    all_ok = all_ok and ref:score(cust, 52) == want_pa
  end
  -- a coroutine closed while suspended closes its to-be-closed model
  local closed_model
  local co = coroutine.create(function()
    local m <close> = assert(churn.from_json(json))
    closed_model = m
    coroutine.yield()
  end)
  coroutine.resume(co)
  coroutine.close(co)
  check("coroutine.close closes pending models", tostring(closed_model):find("closed") ~= nil)
  collectgarbage("collect")
  collectgarbage("collect")
  -- resurrected models are either still valid or closed: never a crash
  local res_ok = true
  for _, m in ipairs(resurrected) do
    local ok, pa = pcall(m.score, m, cust, 52)
    res_ok = res_ok and ((ok and pa == want_pa) or (not ok and tostring(pa):find("closed") ~= nil))
  end
  resurrected = nil
  collectgarbage("incremental", 200, 100)
  collectgarbage("collect")
  check("GC while scoring in coroutines", all_ok, made .. " models made")
  check("resurrected models are safe", res_ok)
  -- Lua code run in the middle of a call (a metamethod) closes the handle the call uses:
  -- the call finishes with it, the handle is closed afterwards, its memory goes at __gc
  local m = assert(churn.from_json(json))
  local evil = setmetatable({}, {__index = function(_, k) m:close() return cust[k] end})
  local ok, pa = pcall(m.score, m, evil, 52)
  check("model closed by a metamethod during score: the call completes", ok and pa == want_pa, pa)
  check("... and the model is closed afterwards", tostring(m):find("closed") ~= nil)
  local m2 = assert(churn.from_json(json))
  local evil2 = setmetatable({}, {__index = function(_, k) m2:close() return cust[k] end})
  local ok2, p2 = pcall(m2.score_many, m2, {cust, evil2}, 52)
  check("model closed during score_many", ok2 and p2[2] == want_pa, p2)
  local log = churn.txlog()
  local evil_p = setmetatable({}, {__index = function(_, k)
    log:close()
    return ({customer = 1, time = base, amount = 2})[k]
  end})
  local ok3, r3 = pcall(log.append, log, {evil_p, evil_p})
  check("log closed during append: the call completes", ok3 and r3 == true, r3)
  check("... and the log is closed afterwards", tostring(log):find("closed") ~= nil)
  local m4 = assert(churn.model("bgnbd", published))
  local evil_opts = setmetatable({}, {__index = function() m4:close() end})
  local ok4, e4 = pcall(churn.clv, m4, nil, {frequency = 1, recency = 1, T = 2, monetary_value = 10}, evil_opts)
  check("model closed while clv reads its options: raises 'closed'", not ok4 and tostring(e4):find("closed") ~= nil, e4)
  local log5 = assert(churn.txlog({{customer = 1, time = base, amount = 2}}))
  local tab5 = assert(log5:customers())
  local ok5 = pcall(tab5.find, tab5, setmetatable({}, {__tostring = function() tab5:close() return "1" end}))
  check("bad find argument raises", not ok5)
  m, m2, log, m4, log5, tab5 = nil, nil, nil, nil, nil, nil
  collectgarbage("collect")
  -- weak references: dropped models are collected
  local weak = setmetatable({}, {__mode = "v"})
  for i = 1, 100 do weak[i] = churn.from_json(json) end
  collectgarbage("collect")
  local left = 0
  for _ in pairs(weak) do left = left + 1 end
  check("dropped models are collected", left == 0, left)
end

-- ---- 7. the complete example of docs/lua.md runs ---------------------------------------------------
section("7. the complete example of docs/lua.md runs")
do
  local f = io.open(src .. "/docs/lua.md")
  if not f then skip("docs example", src .. "/docs/lua.md not found") else
    local text = f:read("a")
    f:close()
    local code = text:match("## A complete example.-```lua\n(.-)```")
    check("docs/lua.md has the complete example", code ~= nil)
    if code then
      local chunk, err = load(code, "=docs/lua.md", "t", setmetatable({print = function() end}, {__index = _G}))
      check("docs example compiles", chunk ~= nil, err)
      if chunk then
        local ok, e = pcall(chunk)
        check("docs example runs", ok, e)
      end
    end
  end
end

-- ---- 8. purchases without amounts (issue 17, item 4) ---------------------------------
section("8. purchases without amounts")
do
  local function isnan(v) return v ~= v end
  local spend = {}
  for name in ("monetary_value total_spend mean_order_value spend_recent spend_prior " ..
               "spend_trend returns_amount net_spend m_score value_tier holdout_spend"):gmatch("%S+") do
    spend[name] = true
  end
  local data = {{"a", "2024-01-01", 10}, {"a", "2024-01-01", 5}, {"b", "2024-01-03", 8},
                {"a", "2024-01-08", 20}, {"c", "2024-01-10", 12}, {"b", "2024-01-16", 7},
                {"a", "2024-01-22", 30}, {"c", "2024-01-30", 6}, {"a", "2024-03-02", 11}}
  local with, without = {}, {}
  for i, r in ipairs(data) do
    with[i] = {customer = r[1], time = r[2], amount = r[3]}
    without[i] = {customer = r[1], time = r[2]}            -- no amount: unknown
  end
  local opts = {cutoff = "2024-03-01", holdout_end = "2024-03-20", unit = "day"}
  local ta = assert(assert(churn.txlog(with)):customers(opts))
  local tb = assert(assert(churn.txlog(without)):customers(opts))
  local same, nan_ok, ncols = #ta == #tb and #tb == 3, true, 0
  for _, name in ipairs(ta:columns()) do
    local ca, cb = ta:column(name), tb:column(name)
    ncols = ncols + 1
    for i = 1, #ta do
      if spend[name] then nan_ok = nan_ok and isnan(cb[i]) and not isnan(ca[i])
      else same = same and ca[i] == cb[i] end
    end
  end
  check("no amounts: every purchase column as with amounts", same and ncols == 34, ncols)
  check("no amounts: the spend columns are NaN", nan_ok)
  local ra = tb:find("a")
  check("no amounts: a has frequency 2, recency 21, T 60", ra.frequency == 2 and
        ra.recency == 21 and ra.T == 60 and ra.holdout_purchases == 1, ra.frequency)
  check("no amounts: Pareto share NaN", isnan(tb:metrics().pareto_share))
  local gg, gmsg = churn.fit("gammagamma", tb:rows())
  check("no amounts: Gamma-Gamma refuses, the spend is unknown", gg == nil and gmsg ==
        "churn_gammagamma_fit: row 0, column 'monetary_value' is NaN: the spend is unknown " ..
        "(a log without amounts); the Gamma-Gamma model needs the amounts of the purchases", gmsg)
  local bg = churn.fit("bgnbd", tb:rows(), {l2 = 0.1})
  local bga = churn.fit("bgnbd", ta:rows(), {l2 = 0.1})
  check("no amounts: the same BG/NBD fit", bg and bga and bg:params().r == bga:params().r and
        bg:params().b == bga:params().b)
  -- log:add without an amount; CSV without an amount column (amount = false)
  local log = assert(churn.txlog())
  check("add without an amount", log:add("x", "2024-01-01") == true and log:num_transactions() == 1)
  local ok_nan, nan_msg = log:add("x", "2024-01-02", 0 / 0)
  check("add with a NaN amount -> nil, message (an unknown amount is nil)", ok_nan == nil and
        nan_msg:find("nan is not a finite number", 1, true), nan_msg)
  local path = tmpdir .. "/noamount.csv"
  local f = assert(io.open(path, "w"))
  f:write("customer_id,date\na,2024-01-01\nb,2024-01-03\na,2024-01-20\n")
  f:close()
  local l1, m1 = churn.read_csv(path)
  check("read_csv without an amount column says how", l1 == nil and
        m1:find('a log without amounts: amount_column "" (the command: --amount none)', 1, true), m1)
  local l2 = assert(churn.read_csv(path, {amount = false}))
  local t2 = assert(l2:customers({cutoff = "2024-01-31"}))
  check("read_csv amount = false", l2:num_transactions() == 3 and #t2 == 2 and
        t2:find("a").frequency == 1 and isnan(t2:find("a").total_spend))
  -- the incremental state: a nil amount is an unknown one
  local st = churn.state{unit = "day"}
  st:add("2024-01-01"); st:add("2024-01-08")
  check("state without amounts", st:value("frequency", "2024-03-01") == 1 and
        isnan(st:value("monetary_value", "2024-03-01")))
end

-- ---- 9. calendar periods and BG/BB P(alive) (issue 17, items 5 and 6) ----------------------------
section("9. calendar periods and BG/BB P(alive)")
do
  -- donors giving on January 1 of some of the years 1995-2001
  local yearly = {}
  for c = 1, 12 do
    for y = 1995, 2001 do
      if y == 1995 or (c * 7 + y * 3) % (2 + c % 4) == 0 then
        yearly[#yearly + 1] = {customer = "d" .. c, time = y .. "-01-01", amount = 25}
      end
    end
  end
  local r1 = churn.features(yearly, {cutoff = "2002-01-01", unit = "year"})
  check("unit year: T = 2557 / 365.25, not whole", near(r1[1].T, 2557 / 365.25, 1e-12), r1[1].T)
  local ok, bad, bmsg = pcall(churn.fit, "bgbb", r1)
  check("bgbb refuses the unit-year table",
    ok and bad == nil and tostring(bmsg):find("is not a whole number of transaction", 1, true), bmsg)
  local r2, info2 = churn.features(yearly, {cutoff = "2002-01-01", period = "year"})
  check("period year: whole T and info.period",
    r2[1].T == 7 and info2.period == "year" and info2.time_unit == 365.25, info2.period)
  local bb, msg, code = churn.fit("bgbb", r2, {l2 = 0.01})
  check("bgbb fits the period-year table", bb ~= nil or code == churn.status.ENOCONV, msg)
  check("unknown period raises",
    raises(function() return churn.features(yearly, {period = "decade"}) end, "'decade'"))
  -- Fader, Hardie & Shang (2010): P(alive in 2002) at n = 6 for the donations fit
  local m = churn.model("bgbb", {alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783})
  local pa = m:p_alive({0, 2, 6}, {0, 4, 6}, {6, 6, 6})
  local thr = m:p_alive_through({0, 2, 6}, {0, 4, 6}, {6, 6, 6})
  check("bgbb p_alive = published 0.11, 0.59, 0.93",
    near(pa[1], 0.11, 0.005) and near(pa[2], 0.59, 0.005) and near(pa[3], 0.93, 0.005),
    string.format("%g %g %g", pa[1], pa[2], pa[3]))
  check("bgbb p_alive = through * (delta+n)/(gamma+delta+n)",
    thr[3] == 1 and close(pa[1], thr[1] * (2.783 + 6) / (0.657 + 2.783 + 6), 1e-12))
  check("bgbb score's p_alive is the published one",
    m:score({frequency = 2, recency = 4, T = 6}, 5) == pa[2])
  check("p_alive_through is a bgbb method", raises(function()
    return churn.model("bgnbd", {r = 0.24, alpha = 4.4, a = 0.79, b = 2.4}):p_alive_through({0}, {0}, {1})
  end, "bgbb"))
end

-- ---- 10. the per-order path (issue 18): portable state bytes, alert rules, argument order --------
section("10. per-order path")
do
  -- the history of tests/data/states/v1_day_basic.hex (tests/test_state.c)
  local st = churn.state()
  st:add("2024-01-01T01:00:00Z", 10); st:add("2024-01-01T02:00:00Z", 5)
  st:add("2024-01-11T12:00:00Z", 20); st:add("2024-01-31", 30); st:add("2024-02-01T06:00:00Z", -7)
  local bytes = st:to_bytes()
  check("to_bytes is the portable encoding", #bytes == 108 and bytes:sub(1, 4) == "CHST")
  local gold = io.open(os.getenv("CHURN_SOURCE_ROOT") .. "/tests/data/states/v1_day_basic.hex")
  if gold then
    local hex = gold:read("l"); gold:close()
    local raw = hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
    check("to_bytes equals the golden encoding", raw == bytes)
    local g = churn.state_from_bytes(raw)
    check("golden state decodes", g and g:value("2024-03-01", "overdue_ratio") == 2 and
          g:value("2024-03-01", "net_spend") == 58)
  else
    skip("golden encoding", "CHURN_SOURCE_ROOT not set")
  end
  local corrupt = bytes:sub(1, 40) .. string.char(bytes:byte(41) ~ 1) .. bytes:sub(42)
  local none, msg, code = churn.state_from_bytes(corrupt)
  check("corrupt bytes -> nil, checksum, EFORMAT", none == nil and msg:find("checksum") and
        code == churn.status.EFORMAT)
  local newer = bytes:sub(1, 4) .. "\2" .. bytes:sub(6)
  check("another format version -> error", churn.state_from_bytes(newer) == nil)
  -- both argument orders of st:value
  check("value(cutoff, column), C's order", st:value("2024-03-01", "frequency") == 2)
  check("value(column, cutoff) still works", st:value("frequency", "2024-03-01") == 2)
  local day = churn.parse_date("2024-03-01")
  check("value(number cutoff, column)", st:value(day, "T") == 60 and st:value("T", day) == 60)
  local _, m2, c2 = st:value("2024-03-01", "frequncy")
  check("unknown column named, C's order", c2 == churn.status.ENOTFOUND and m2:find("frequncy"))
  local _, m3, c3 = st:value("frequncy", day)
  check("unknown column named, old order", c3 == churn.status.ENOTFOUND and m3:find("frequncy"))
  local f = st:features("2024-03-01")
  check("features in one call", f.gap_std == 5 and f.overdue_ratio == 2 and f.time_unit == 1)
  -- alert rules
  local a = churn.alerts{defaults = true, "big: clv > 100"}
  check("alerts: defaults then rules", #a == 4 and a:rules()[4].name == "big" and
        a:rules()[3].field == "spend_trend")
  check("needs_history: spend_down", a:needs_history() == 4)
  local fired, skipped, names = a:evaluate_state(st, "2024-03-02", {p_alive = 0.2, clv = 150})
  check("evaluate_state: p_alive_low, overdue, big; spend_down skipped",
        fired == 1 | 2 | 8 and skipped == 4 and names == "p_alive_low;overdue;big", names)
  local _, m4, c4 = a:evaluate_state(st, "2024-03-02", {clv = 1})
  check("evaluate_state: a missing score is named", c4 == churn.status.ENOTFOUND and m4:find("p_alive"))
  local row = f
  row.p_alive, row.clv, row.spend_trend = 0.5, 10, -0.5
  local fired2, names2 = a:evaluate(row)
  check("evaluate on a row table", fired2 == 4 and names2 == "spend_down", names2)
  check("describe", a:describe(3) == "p_alive_low;overdue")
  check("add(name, field, op, threshold)", a:add("late", "time_since_last", ">=", 30) == a and #a == 5)
  local bad, m5 = a:add("nonsense")
  check("bad rule text -> nil, message", bad == nil and m5:find("nonsense"))
  a:close()
  check("closed alert set raises", raises(function() return #a end, "closed"))
end

section("ggomnbd: Gamma-Gompertz/NBD (issue 23)")
do
  -- b -> 0 with beta / b fixed is the Pareto/NBD: the two models score alike
  local b = 1e-7
  local gg = churn.model("ggomnbd", {r = 0.5534, alpha = 10.5802, b = b, s = 0.6061, beta = 11.6562 * b})
  local pn = churn.model("pnbd", {0.5534, 10.5802, 0.6061, 11.6562})
  check("ggomnbd model from parameters", gg ~= nil and gg:family() == "ggomnbd")
  local c = {frequency = 4, recency = 20, T = 30}
  local pa1, e1 = gg:score(c, 26)
  local pa2, e2 = pn:score(c, 26)
  check("ggomnbd -> pnbd as b -> 0: p_alive", close(pa1, pa2, 1e-5), string.format("%.10g %.10g", pa1, pa2))
  check("ggomnbd -> pnbd as b -> 0: expected", close(e1, e2, 1e-5), string.format("%.10g %.10g", e1, e2))
  local gp = churn.model("ggomnbd", {0.55, 10.58, 0.02, 0.6, 0.3})
  local pa3 = gp:score(c)
  check("ggomnbd positional parameters score", pa3 > 0 and pa3 < 1, pa3)
  -- MBG/CNBD-k with k = 1 is the MBG/NBD
  local mk = churn.model("mbgcnbd", {k = 1, r = 0.525, alpha = 6.183, a = 0.891, b = 1.614})
  local mb = churn.model("mbgnbd", {0.525, 6.183, 0.891, 1.614})
  local pk, ek = mk:score(c, 26)
  local pb, eb = mb:score(c, 26)
  check("mbgcnbd k = 1 scores as mbgnbd", close(pk, pb, 1e-12) and close(ek, eb, 1e-10),
        string.format("%.12g %.12g %.12g %.12g", pk, pb, ek, eb))
  local bad = churn.model("mbgcnbd", {k = 2.5, r = 1, alpha = 1, a = 1, b = 1})
  check("mbgcnbd k must be whole", bad == nil)
  -- CLV with Gamma-Gamma takes MBG/CNBD-k too (k = 1: the MBG/NBD's value)
  local sp = churn.from_json('{"format": "libchurn-model", "format_version": 1, ' ..
    '"family": "gammagamma", "param_names": ["p", "q", "gamma"], "params": [6.25, 3.74, ' ..
    '15.44], "std_errors": [null, null, null], "covariance": null, ' ..
    '"fit": {"converged": true}, "features": [], "arrays": {}}')
  local row = {frequency = 2, recency = 30.43, T = 38.86, monetary_value = 40}
  local opts = {horizon = 12, period = 4.345, discount = 0.01}
  local ck, cb = churn.clv(mk, sp, row, opts), churn.clv(mb, sp, row, opts)
  check("mbgcnbd k = 1 CLV = mbgnbd CLV", ck ~= nil and cb ~= nil and close(ck.clv, cb.clv, 1e-10),
        ck and cb and string.format("%.12g %.12g", ck.clv, cb.clv))
end

section("covariates")
do
  -- a Pareto/NBD model with covariates (issue 23; include/churn/covariates.h), the hand-written
  -- golden file: alpha_i = alpha exp(-0.5 promo), beta_i = beta exp(0.7 b2b). Each customer's
  -- scores must equal the plain Pareto/NBD's at the customer's own alpha_i and beta_i (the C
  -- library's plain scores, through churn.model).
  local m = assert(churn.load(src .. "/tests/data/models/golden_v2_pnbd_covariates.json"))
  local custs = {
    {frequency = 4, recency = 20, T = 30, promo = 0, b2b = 0},
    {frequency = 4, recency = 20, T = 30, promo = 1, b2b = 0},
    {frequency = 0, recency = 0, T = 12, promo = 0.3, b2b = 1},
    {frequency = 11, recency = 38.5, T = 39, promo = -1.2, b2b = 2.5},
  }
  local pas, exs = {}, {}
  for i, c in ipairs(custs) do
    local plain = churn.model("pnbd", {0.55, 10.6 * math.exp(-0.5 * c.promo), 0.61,
                                       11.7 * math.exp(0.7 * c.b2b)})
    local pa0, e0 = plain:score(c, 26)
    local pa, e = m:score(c, 26)
    pas[i], exs[i] = pa, e
    check("covariate score = plain at the customer's parameters (" .. i .. ")",
          close(pa, pa0, 1e-12) and close(e, e0, 1e-12),
          string.format("%.15g %.15g / %.15g %.15g", pa, pa0, e, e0))
  end
  check("covariates change the score", pas[1] ~= pas[2] and exs[1] ~= exs[2])
  local pa1, e1 = m:score(custs[1])
  check("covariate score without a horizon: p_alive, nil", pa1 == pas[1] and e1 == nil)
  -- many at once: rows, and a table of columns
  local p, e = m:score_many(custs, 26)
  local same = #p == #custs
  for i = 1, #custs do same = same and p[i] == pas[i] and e[i] == exs[i] end
  check("score_many rows with covariates = score", same)
  local cols = {frequency = {}, recency = {}, T = {}, promo = {}, b2b = {}}
  for _, c in ipairs(custs) do
    for k, v in pairs(c) do table.insert(cols[k], v) end
  end
  p, e = m:score_many(cols, 26)
  same = #p == #custs
  for i = 1, #custs do same = same and p[i] == pas[i] and e[i] == exs[i] end
  check("score_many columns with covariates = score", same)
  -- without its covariates a covariate model refuses, naming the one missing
  check("score without a covariate raises, naming it",
        raises(function() return m:score({frequency = 1, recency = 2, T = 3, promo = 1}, 26) end,
               "has no field 'b2b' (its dropout (life) covariate"))
  check("score_many rows without a covariate raises",
        raises(function() return m:score_many({{frequency = 1, recency = 2, T = 3, b2b = 0}}, 26) end,
               "data[1] has no field 'promo'"))
  check("score_many columns without a covariate raises",
        raises(function() return m:score_many({frequency = {1}, recency = {2}, T = {3}, promo = {1}}, 26) end,
               "data has no field 'b2b'"))
  check("a non-number covariate raises",
        raises(function() return m:score({frequency = 1, recency = 2, T = 3, promo = "x", b2b = 0}, 26) end,
               "promo"))
end

section("end")
run("rm -rf " .. q(tmpdir))

local extra = os.getenv("CHURN_LUA_EXTRA")
if extra then dofile(extra) end

print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true) -- close the state: every finalizer runs
