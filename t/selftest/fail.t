# Runner self-test: every block here has a deliberately wrong expectation and must FAIL,
# with exactly the failure kinds named in FAIL(...). Stock nginx only.
# Run: cargo test --release -p test-nginx --test selftest
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
no_long_string();
run_tests();

__DATA__

=== TEST 1: FAIL(status) wrong status
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- error_code: 404
--- response_body chomp
ok



=== TEST 2: FAIL(status) no error_code means 200 is expected
--- config
    location = /t { return 403; }
--- request
GET /t
--- response_body_like: 403 Forbidden



=== TEST 3: FAIL(body) wrong body
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body
goodbye



=== TEST 4: FAIL(body) multi-line response_body expects the final newline
--- config
    location = /t { return 200 "hello"; }
--- request
GET /t
--- response_body
hello



=== TEST 5: FAIL(body) response_body_like does not match
--- config
    location = /t { return 200 "hello"; }
--- request
GET /t
--- response_body_like: ^world



=== TEST 6: FAIL(body) response_body_unlike matches
--- config
    location = /t { return 200 "hello"; }
--- request
GET /t
--- response_body_unlike: ell



=== TEST 7: FAIL(header) wrong header value
--- config
    location = /t { add_header X-Test real; return 200; }
--- request
GET /t
--- response_headers
X-Test: expected
--- response_body



=== TEST 8: FAIL(header) header must be absent but is present
--- config
    location = /t { return 200; }
--- request
GET /t
--- response_headers
!Server
--- response_body



=== TEST 9: FAIL(header) expected header is missing
--- config
    location = /t { return 200; }
--- request
GET /t
--- response_headers
WWW-Authenticate: Bearer
--- response_body



=== TEST 10: FAIL(header) response_headers_like mismatch (anchored)
--- config
    location = /t { add_header X-Test "abc"; return 200; }
--- request
GET /t
--- response_headers_like
X-Test: b
--- response_body



=== TEST 11: FAIL(error_log) missing error_log line
--- config
    location = /t { return 200; }
--- request
GET /t
--- error_log
this line is never logged
--- response_body



=== TEST 12: FAIL(error_log) error_log eval qr// that does not match
--- config
    location = /t { return 200; }
--- request
GET /t
--- error_log eval
[qr/start worker process/, qr/never\s+logged/]
--- response_body



=== TEST 13: FAIL(no_error_log) unexpected [error] line
--- request
GET /missing.txt
--- error_code: 404
--- no_error_log
[error]



=== TEST 14: FAIL(spec) unknown section name (typo)
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- respones_body
ok



=== TEST 15: FAIL(spec) request_body is not an upstream section
--- config
    location = /t { return 200 "ok"; }
--- request
POST /t
--- request_body
data



=== TEST 16: FAIL(spec) unset $TEST_NGINX_ variable
--- config
    location = /t { return 200 "$TEST_NGINX_SURELY_UNSET_VARIABLE"; }
--- request
GET /t



=== TEST 17: FAIL(spec) unsupported Perl in eval
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body eval
join(",", "o", "k")



=== TEST 18: FAIL(spec) unknown filter (typo)
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chmop
ok



=== TEST 19: FAIL(spec) malformed section line
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
---error_code: 500



=== TEST 20: FAIL(spec) duplicate section
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
ok
--- response_body chomp
ok



=== TEST 21: FAIL(must_die) must_die on a good config
--- config
    location = /t { return 200; }
--- must_die



=== TEST 22: FAIL(must_die) must_die with the wrong exit code
--- config
    location = /t { bogus_directive; }
--- must_die: 3



=== TEST 23: FAIL(startup) an [emerg] at start-up without must_die
--- config
    location = /t { bogus_directive; }
--- request
GET /t



=== TEST 24: FAIL(alert) an unexpected [alert] in error.log
--- main_config
    worker_rlimit_nofile 4000000000;
--- config
    location = /t { return 200; }
--- request
GET /t
--- response_body



=== TEST 25: FAIL(request) response does not arrive within --- timeout
--- config
    location = /slow { limit_rate 1; alias $TEST_NGINX_HTML_DIR/big.txt; }
--- user_files
>>> big.txt
0123456789012345678901234567890123456789
--- timeout: 0.3
--- request
GET /slow



=== TEST 26: FAIL(body) second pipelined response differs
--- config
    location /a { return 200 "A"; }
    location /b { return 200 "B"; }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- response_body eval
["A", "A"]



=== TEST 27: FAIL(spec) several requests need list expectations
--- config
    location /a { return 200 "A"; }
--- request eval
["GET /a", "GET /a"]
--- response_body: A



=== TEST 28: FAIL(status) second of several requests has the wrong status
--- config
    location /a { return 200 "A"; }
--- request eval
["GET /a", "GET /nope"]
--- error_code eval
[200, 200]



=== TEST 29: FAIL(access_log) missing access_log line
--- config
    location = /t { return 200; }
--- request
GET /t
--- access_log
"GET /other
--- response_body



=== TEST 30: FAIL(grep_error_log) grep_error_log_out mismatch
--- config
    location = /t { return 200; }
--- request
GET /t
--- grep_error_log: start worker process
--- grep_error_log_out
something else
--- response_body



=== TEST 31: FAIL(status,body,header) several checks fail at once
--- config
    location = /t { return 201 "x"; }
--- request
GET /t
--- error_code: 200
--- response_headers
X-Missing: 1
--- response_body chomp
y



=== TEST 32: FAIL(body) trailing newline of a multi-line response_body_like is part of the regex
--- config
    location = /t { return 200 "abc"; }
--- request
GET /t
--- response_body_like
^abc$



=== TEST 33: FAIL(error_log) must_die error_log looks at nginx's output
--- config
    location = /t { bogus_directive; }
--- must_die
--- error_log
some other error



=== TEST 34: FAIL(spec) no request section
--- config
    location = /t { return 200; }
--- response_body



=== TEST 35: FAIL(body) response_body eval with a qr// that does not match
--- config
    location = /t { return 200 "hello"; }
--- request
GET /t
--- response_body eval
qr/^world$/



=== TEST 36: FAIL(spec) extra lines after a one-line section
--- config
    location = /t { return 200; }
--- request: GET /t
--- error_code: 200
201



=== TEST 37: FAIL(response) connection closed without a response
--- config
    location = /t { return 444; }
--- request
GET /t
--- error_code: 200



=== TEST 38: FAIL(spec) user_files without --- config (upstream would not write them: 404)
--- user_files
>>> page.txt
page
--- request
GET /page.txt
--- response_body
page
