-- wrk script of bench/run's memory part: bench/soak.lua's request mix and status checks (see
-- there; BENCH_DIR, SOAK_TOKENS and SOAK_RESULT set), stopped after MEMORY_STOP_AFTER answers.
--
-- wrk itself only knows durations: its main thread sleeps for -d whatever the threads do, and
-- only SIGINT wakes it early (then it reports as usual). So once the count is reached, the
-- thread stops its own loop, sends wrk SIGINT through io.popen (whose shell is wrk's child:
-- $PPID is wrk; not os.execute, since system() ignores SIGINT in the caller while it runs) and
-- creates the file MEMORY_STOPPED. That signal is now and then lost (it can land on this thread
-- rather than on the sleeping main one), so bench/run, seeing the file, sends SIGINT again every
-- 50 ms until wrk exits. Run with -t1: the count is per thread.

dofile(assert(os.getenv("BENCH_DIR"), "BENCH_DIR unset") .. "/soak.lua")

local soak_response = response
local limit = tonumber(os.getenv("MEMORY_STOP_AFTER") or "")
local marker = os.getenv("MEMORY_STOPPED")
local seen, stopped = 0, false

function response(status, headers, body)
    soak_response(status, headers, body)
    seen = seen + 1
    if limit and seen >= limit and not stopped then
        stopped = true
        wrk.thread:stop()
        io.popen("kill -INT $PPID"):close()
        if marker then assert(io.open(marker, "w")):close() end
    end
end
