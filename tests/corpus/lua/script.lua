-- Deterministic workload for the Lua corpus program (tests/corpus/lua/host.c
-- embeds this file). It must raise no Lua error: the corpus build replaces
-- Lua's setjmp/longjmp error handling with abort() (see include/setjmp.h).
-- No time, randomness without a fixed seed, addresses, GC counts or pairs()
-- over table-keyed tables, no coroutine.yield (it unwinds like an error):
-- the output must match between wasm32 and x86-64.

local checksum = 0
local function mix(v)
  if type(v) == "string" then
    for i = 1, #v do checksum = (checksum * 31 + string.byte(v, i)) % 4294967296 end
  elseif math.type(v) == "float" then
    mix(string.format("%.6f", v))
  else
    checksum = (checksum * 131 + (v % 4294967296)) % 4294967296
  end
end

-- Tables: grow array and hash parts from empty so luaH_resize runs many times.
local function grow_tables(n)
  local total = 0
  for size = 1, n do
    local arr, hash = {}, {}
    for j = 1, size do
      arr[#arr + 1] = j * size
      hash["k" .. j] = j
    end
    for j = size, 1, -2 do
      hash["k" .. j] = nil        -- free slots; later inserts rehash
      table.remove(arr)
    end
    for j = 1, size // 2 do hash[j + 0.5] = j end   -- float keys live in the hash part
    total = total + #arr
    for _, v in ipairs(arr) do total = total + v end
  end
  return total
end

-- Strings.
local function strings()
  local parts = {}
  for i = 1, 40 do
    parts[#parts + 1] = string.rep(string.char(65 + i % 26), i % 5 + 1)
  end
  local s = table.concat(parts, "-")
  local upper, lower = s:upper(), s:lower()
  local first = s:find("CCC", 1, true) or 0
  return #s + first + #lower:sub(5, 20) + upper:byte(3), s:sub(1, 24)
end

-- Closures and upvalues.
local function make_counter(step)
  local n = 0
  return function() n = n + step; return n end
end
local function closures()
  local counters = {}
  for i = 1, 10 do counters[i] = make_counter(i) end
  local sum = 0
  for round = 1, 5 do
    for i = 1, #counters do sum = sum + counters[i]() * round end
  end
  return sum
end

-- Metatables: a small vector class.
local Vec = {}
Vec.__index = Vec
local function vec(x, y) return setmetatable({ x = x, y = y }, Vec) end
Vec.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
Vec.__eq = function(a, b) return a.x == b.x and a.y == b.y end
Vec.__lt = function(a, b) return a:len2() < b:len2() end
Vec.__tostring = function(v) return string.format("(%d,%d)", v.x, v.y) end
Vec.__call = function(v, k) return v.x * k + v.y end
function Vec:len2() return self.x * self.x + self.y * self.y end
local function metatables()
  local acc = vec(0, 0)
  for i = 1, 20 do acc = acc + vec(i, -i // 2) end
  local defaults = setmetatable({}, { __index = function(_, k) return #k end })
  return tostring(acc), acc(3) + defaults.hello, acc == vec(210, -110), vec(1, 1) < acc
end

-- string.format.
local function formats()
  local out = {}
  for i = 1, 6 do
    out[#out + 1] = string.format("%3d|%-5s|%5.2f|%x|%q", i * 7, ("ab"):rep(i % 3),
      i / 3, i * 255, "q" .. i)
  end
  return table.concat(out, ";")
end

-- table.sort with a comparator.
local function sorting()
  math.randomseed(42)
  local items = {}
  for i = 1, 300 do
    items[i] = { key = (i * 7919) % 1009, name = "n" .. (i % 17) }
  end
  table.sort(items, function(a, b)
    if a.name ~= b.name then return a.name < b.name end
    return a.key > b.key
  end)
  local words = { "pear", "apple", "fig", "kiwi", "banana", "cherry", "date" }
  table.sort(words)
  return items[1].key + items[150].key * 3 + items[300].key * 7, table.concat(words, ","),
    math.random(1, 1000)
end

-- Recursion.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local function ackermann(m, n)
  if m == 0 then return n + 1 end
  if n == 0 then return ackermann(m - 1, 1) end
  return ackermann(m - 1, ackermann(m, n - 1))
end
local function tree(depth)
  if depth == 0 then return { value = 1 } end
  return { left = tree(depth - 1), right = tree(depth - 1), value = depth }
end
local function tree_sum(t)
  if not t then return 0 end
  return t.value + tree_sum(t.left) + tree_sum(t.right)
end

-- gsub with string, table and function replacements.
local function substitutions()
  local text = "the quick brown fox jumps over the lazy dog 12 times in 2024"
  local a, na = text:gsub("%w+", function(w) return w:sub(1, 1):upper() .. w:sub(2) end)
  local b, nb = text:gsub("(%d+)", function(d) return tostring(tonumber(d) * 2) end)
  local c, nc = text:gsub("%s", { [" "] = "_" })
  local d = ("hello world"):gsub("(o)", "[%1]")
  return a, b, c, d, na + nb + nc
end

-- Iterators: gmatch and a stateless iterator with varargs (no coroutines:
-- coroutine.yield unwinds with longjmp, which this build does not have).
local function iterators()
  local sum = 0
  for word, num in ("a=1, bb=22, ccc=333, dddd=4444"):gmatch("(%a+)=(%d+)") do
    sum = sum + #word * tonumber(num)
  end
  local function squares(limit, i)
    if i < limit then return i + 1, (i + 1) * (i + 1) end
  end
  for _, sq in squares, 30, 0 do sum = sum + sq end
  local function count(...) return select("#", ...), (select(2, ...)) end
  local n, second = count(5, 6, nil, 8)
  return sum, n + second
end

local results = {}
local function record(name, ...)
  local vals = table.pack(...)
  local shown = {}
  for i = 1, vals.n do
    mix(vals[i] == true and 1 or vals[i] == false and 0 or vals[i])
    shown[i] = tostring(vals[i])
  end
  results[#results + 1] = name .. "=" .. table.concat(shown, " ")
end

record("tables", grow_tables(120))
record("strings", strings())
record("closures", closures())
record("metatables", metatables())
record("formats", #formats(), formats():sub(1, 40))
record("sorting", sorting())
record("recursion", fib(20), ackermann(2, 3), tree_sum(tree(10)))
record("gsub", substitutions())
record("iterators", iterators())
record("utf8", utf8.len("héllo wörld"), utf8.char(72, 228, 8364))

for _, line in ipairs(results) do print(line) end
return checksum
