-- SPDX-License-Identifier: MIT
-- tests/real/lua/script.lua - run by Lua's own interpreter, natively and as
-- a Myriad program (tests/real/lua.t); prints only what both must agree on.
--   lua script.lua CPATH     CPATH: package.cpath finding luaplug

package.cpath = assert(arg[1], "usage: script.lua CPATH")

-- A C plug-in through require (dlopen and dlsym in loadlib.c).
local plug = require("luaplug")
print("plug-in", plug.version, plug.add(2, 40), plug.greet("module"))
print("plug-in error", pcall(plug.fail))
print("plug-in calls back", plug.map_sum(function(x) return x * x end, {1, 2, 3, 4}))
print("loaded once", package.loaded.luaplug == plug, require("luaplug") == plug)
local path = package.searchpath("luaplug", package.cpath)
local open = package.loadlib(path, "luaopen_luaplug")
print("loadlib", type(open), type(open()))
print("loadlib of a missing symbol", select("#", package.loadlib(path, "no_such_function")))
print("require of a missing module", (pcall(require, "no_such_plugin")))

-- io.popen, reading and writing, and os.execute.
local p = assert(io.popen("echo popen works; printf 'a\\nb\\n'; exit 4"))
for line in p:lines() do print("popen line", line) end
print("popen close", p:close())
io.stdout:flush()
local w = assert(io.popen("tr a-z A-Z", "w"))
w:write("written to a pipe\n")
print("popen write close", w:close())
print("os.execute", os.execute("exit 3"))
print("os.execute true", os.execute("true"))

-- os.tmpname (mkstemp), files, os.rename, os.remove.
local name = os.tmpname()
local f = assert(io.open(name, "w"))
f:write("first\n", 42, "\n", 3.5, "\n")
f:close()
for l in io.lines(name) do print("tmp line", l) end
f = assert(io.open(name, "r+"))
print("seek", f:seek("end"), f:seek("set", 6), f:read("n"), f:read("l"), f:read("n"))
f:close()
local moved = name .. ".moved"
print("rename", os.rename(name, moved))
print("remove", os.remove(moved))
print("remove again", select("#", os.remove(moved)))

-- The language and the standard library.
local t = {}
for i = 1, 200 do t[i] = (i * 7919) % 211 end
table.sort(t)
print("sort", t[1], t[100], t[200], #t)
print("concat", table.concat({1, 2, "three", 4.5}, ","))
local co = coroutine.wrap(function(a)
	local b = coroutine.yield(a + 1)
	local c = coroutine.yield(b * 2)
	return a + b + c
end)
print("coroutine", co(1), co(10), co(100))
print("format", string.format("%5.2f|%-5d|%x|%q|%g|%s", math.pi, 42, 255, "a\nb", 1e100, nil))
print("numbers", 7 // 2, 7 % -3, 2^53, math.maxinteger, math.mininteger, 1/0, -1/0, 0/0 ~= 0/0)
print("tostring", 0.1, 1e15, 1e16, -0.0, 123456789012, 2^63, math.tointeger(3.0))
print("math", math.floor(-3.5), math.ceil(-3.5), math.fmod(7, 3), math.sqrt(2), math.exp(1), math.log(8, 2))
print("strings", ("hello world"):upper(), ("abc"):rep(3, "-"), ("x=1, y=2"):gsub("(%w+)=(%w+)", "%2=%1"))
print("patterns", string.match("key = value", "(%w+)%s*=%s*(%w+)"), string.find("a.b.c", ".", 1, true))
local words = {}
for w in string.gmatch("the quick brown fox", "%a+") do words[#words + 1] = w:reverse() end
print("gmatch", table.concat(words, " "))
print("utf8", utf8.char(72, 228, 8364, 128512), utf8.len("häll€"), utf8.codepoint("€"))
print("pack", string.unpack("<i4 s1 d", string.pack("<i4 s1 d", -7, "xy", 2.25)))
print("integers", 0x7fffffffffffffff + 1 == math.mininteger, 5 // 0.0, pcall(function() return 5 // 0 end))
local mt = setmetatable({}, { __index = function(_, k) return k * 2 end,
	__call = function(_, x) return x + 1 end, __tostring = function() return "object" end })
print("metatables", mt[21], mt(41), tostring(mt))
print("errors", pcall(error, { code = 7 }), select(2, pcall(error, "msg", 0)))
print("xpcall", xpcall(function() error("deep") end, function(m) return "handled: " .. m end))
print("load", load("return 1 + ...")(41), load("syntax error here"))
local weak = setmetatable({}, { __mode = "k" })
weak[{}] = 1
collectgarbage()
print("gc", next(weak) == nil, collectgarbage("count") > 0)
print("os", type(os.time()), os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365), os.getenv("LUA_TEST_VAR"))
print("os.time of a date", os.time({ year = 2020, month = 2, day = 29, hour = 12 }) ~= nil)
print("clock", type(os.clock()))
print("string.format %a", string.format("%a", 1.0), string.format("%.3a", 0.1))
print("io.write") io.write("a", 1, 2.5, "\n")
io.stderr:write("to stderr\n")
print("done")
