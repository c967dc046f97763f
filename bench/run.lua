-- wrk script of bench/run: reports each run into $BENCH_RESULT, and, when $BENCH_TOKENS names a
-- file, sends its tokens in turn (one per request, Authorization: Bearer), cycling.
--
-- Without BENCH_TOKENS the script defines no request(), so wrk keeps its static, pre-formatted
-- request (as without a script: headers from -H, method and body from BENCH_METHOD, BENCH_BODY
-- and BENCH_CONTENT_TYPE) and only done() runs Lua. With BENCH_TOKENS every request is made in
-- Lua, which has its own ceiling: bench/run compares such rows with plain nginx driven by this
-- same script and the same token file. No response() either way: wrk then does not parse
-- headers into Lua, and counts statuses >= 400 itself (summary.errors.status).
--
-- done() writes one line: requests duration_us p99_us status_errors socket_errors
-- (latency as wrk records it, in microseconds, after its coordinated-omission correction).

local tokens_file = os.getenv("BENCH_TOKENS")
if os.getenv("BENCH_METHOD") then wrk.method = os.getenv("BENCH_METHOD") end
if os.getenv("BENCH_BODY") then wrk.body = os.getenv("BENCH_BODY") end
if os.getenv("BENCH_CONTENT_TYPE") then wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") end

if tokens_file then
    local tokens, cursor, headers

    function init(args)
        tokens = {}
        for line in io.lines(tokens_file) do
            if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
        end
        assert(#tokens > 0, "no tokens in " .. tokens_file)
        cursor = 0
        headers = {}
        for name, value in pairs(wrk.headers) do headers[name] = value end
    end

    function request()
        cursor = cursor % #tokens + 1
        headers["Authorization"] = tokens[cursor]
        return wrk.format(nil, nil, headers)
    end
end

function done(summary, latency, requests)
    local out = assert(io.open(assert(os.getenv("BENCH_RESULT"), "BENCH_RESULT unset"), "w"))
    local e = summary.errors
    out:write(string.format("%d %d %d %d %d\n", summary.requests, summary.duration,
        latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
    out:close()
end
