-- Lua binding tests, run by `meson test --suite lua` with Debian's lua5.4.
local churn = require "churn"

local passed, failed = 0, 0
local function check(name, cond, msg)
  if cond then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("FAIL: ", name, msg and (": " .. tostring(msg)) or "", "\n")
  end
end
local function close(a, b, rtol) return math.abs(a - b) <= rtol * math.abs(b) end

local src = os.getenv("CHURN_SOURCE_ROOT") or "."
local golden = src .. "/tests/data/models/golden_v1_minimal.json"

-- loading a model file; params; tostring; close is idempotent
do
  local m, err = churn.load(golden)
  check("load golden", m ~= nil, err)
  check("family", m:family() == "bgnbd")
  local p = m:params()
  check("param b", p.b == 2.4258881)
  check("tostring", tostring(m):find("bgnbd") ~= nil, tostring(m))
  m:close()
  m:close()
  check("closed tostring", tostring(m):find("closed") ~= nil)
  local ok, e = pcall(function() return m:params() end)
  check("use after close raises", not ok and tostring(e):find("closed") ~= nil, e)
end

-- expected failures return nil, message, code
do
  local m, msg, code = churn.load("/nonexistent/model.json")
  check("missing file -> nil", m == nil)
  check("missing file message names path", msg and msg:find("/nonexistent/model.json") ~= nil, msg)
  check("missing file code", code == -6, code)
  local m2, msg2, code2 = churn.from_json('{"format":"libchurn-model","format_version":42,"family":"bgnbd"}')
  check("newer version -> nil", m2 == nil and code2 == -10, msg2)
end

-- to-be-closed variables
do
  local m <close> = assert(churn.load(golden))
  check("tbc", m:family() == "bgnbd")
end

-- misuse raises
do
  local ok, e = pcall(churn.fit_btyd, "nonsense", {}, {}, {})
  check("unknown family raises", not ok and tostring(e):find("nonsense") ~= nil, e)
end

local extra = os.getenv("CHURN_LUA_EXTRA")
if extra then dofile(extra) end

print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
