-- wrk script of bench/soak (run by it: wrk -s bench/soak.lua; SOAK_TOKENS and SOAK_RESULT set).
--
-- Every request carries its kind in an X-Soak-Kind header and nginx echoes it back
-- (add_header ... always), so response() knows what status each answer must have, whichever
-- connection it came on. Kinds, in a fixed 20-slot pattern per thread:
--
--   cached   7/20  valid token from a set of 8 (cache hits)          /ok.txt     200
--   unique   5/20  valid token from 20,000 distinct (cache misses)   /ok.txt     200
--   forged   4/20  bad signature, foreign key, cut short, alg none   /ok.txt     401
--   expired  1/20  correctly signed, exp an hour ago                 /ok.txt     401
--   missing  1/20  no Authorization header                           /ok.txt     401
--   admin    1/20  valid, role admin: jwt_require holds              /admin.txt  200
--   denied   1/20  valid, role user: jwt_require fails               /admin.txt  403
--
-- done() writes one line per (kind, status) into $SOAK_RESULT, marked expected or unexpected,
-- plus wrk's request count and socket error counters.

local dir = os.getenv("SOAK_TOKENS")

local function load(name)
    local list = {}
    for line in io.lines(dir .. "/" .. name .. ".txt") do
        if #line > 0 then list[#list + 1] = line end
    end
    return list
end

local expected = {
    cached = 200, unique = 200, forged = 401, expired = 401, missing = 401,
    admin = 200, denied = 403,
}
local kinds = {
    { "cached", "/ok.txt", "cached" },
    { "unique", "/ok.txt", "unique" },
    { "forged", "/ok.txt", "forged" },
    { "expired", "/ok.txt", "expired" },
    { "missing", "/ok.txt", nil },
    { "admin", "/admin.txt", "admin" },
    { "denied", "/admin.txt", "user" },
}
local by_name = {}
for _, k in ipairs(kinds) do by_name[k[1]] = k end
local pattern = {
    "cached", "unique", "forged", "cached", "unique", "cached", "forged", "admin", "cached",
    "unique", "expired", "cached", "forged", "unique", "denied", "cached", "missing", "cached",
    "unique", "forged",
}

local threads = {}
local next_id = 0

function setup(thread)
    next_id = next_id + 1
    thread:set("id", next_id)
    threads[#threads + 1] = thread
end

local sets, cursor, n
counts = {}

function init(args)
    sets, cursor = {}, {}
    for _, k in ipairs(kinds) do
        local set = k[3]
        if set and not sets[set] then
            sets[set] = load(set)
            -- threads start at different points of each list
            cursor[set] = ((id or 1) - 1) * 7919 % #sets[set]
        end
    end
    n = 0
end

function request()
    n = n + 1
    local k = by_name[pattern[n % #pattern + 1]]
    local headers = { ["X-Soak-Kind"] = k[1] }
    local set = k[3]
    if set then
        local list = sets[set]
        local i = cursor[set] % #list + 1
        cursor[set] = i
        headers["Authorization"] = "Bearer " .. list[i]
    end
    return wrk.format("GET", k[2], headers)
end

-- Flat, "kind status" -> count: wrk's thread:get() copies only flat tables between Lua states
-- (a nested table crashes wrk 4.1).
function response(status, headers, body)
    local key = (headers["X-Soak-Kind"] or "(none)") .. " " .. status
    counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
    local out = assert(io.open(os.getenv("SOAK_RESULT"), "w"))
    local total = {}
    for _, thread in ipairs(threads) do
        for key, count in pairs(thread:get("counts")) do
            total[key] = (total[key] or 0) + count
        end
    end
    for key, count in pairs(total) do
        local kind, status = key:match("^(%S+) (%d+)$")
        status = tonumber(status)
        local verdict = expected[kind] == status and "expected" or "unexpected"
        out:write(string.format("status %s %d %d %s\n", kind, status, count, verdict))
    end
    local e = summary.errors
    out:write(string.format("requests %d\n", summary.requests))
    out:write(string.format("duration_us %d\n", summary.duration))
    out:write(string.format("socket connect %d\nsocket read %d\nsocket write %d\nsocket timeout %d\n",
        e.connect, e.read, e.write, e.timeout))
    out:close()
end
