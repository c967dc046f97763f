# Runner self-test: --- SKIP and --- LAST; repeat_each(2) sends each request twice.
use Test::Nginx::Socket 'no_plan';
repeat_each(2);
run_tests();

__DATA__

=== TEST 1: runs and passes; repeat_each(2) sent the request twice
--- config
--- request
GET /missing.txt
--- error_code: 404
--- grep_error_log: No such file or directory
--- grep_error_log_out
No such file or directory
No such file or directory



=== TEST 2: SKIPPED by --- SKIP (would fail)
--- SKIP
--- config
    location = /t { return 500; }
--- request
GET /t



=== TEST 3: FAIL(body) the LAST block still runs (and fails here on purpose)
--- LAST
--- config
    location = /t { return 200 "last"; }
--- request
GET /t
--- response_body chomp
not last



=== TEST 4: SKIPPED after --- LAST (would fail)
--- config
    location = /t { return 500; }
--- request
GET /t
