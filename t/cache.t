# jwt_cache_size: how many verified tokens a worker remembers. A cached token still has its
# exp/nbf checked on every request (covered end to end by crates/test-nginx/tests/jwt_module.rs:
# a token verified once is refused after its exp).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: the cache off (jwt_cache_size 0): the same token verifies on every request
--- config
    location = /t {
        jwt_verify on;
        jwt_cache_size 0;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- pipelined_requests eval
["GET /t", "GET /t"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code eval
[200, 200]
--- response_body eval
["ok\n", "ok\n"]
--- no_error_log
jwt: token rejected



=== TEST 2: a small cache: a token repeated past the cache's size still verifies
--- config
    location = /t {
        jwt_verify on;
        jwt_cache_size 1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- pipelined_requests eval
["GET /t", "GET /t", "GET /t"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code eval
[200, 200, 200]
--- response_body eval
["ok\n", "ok\n", "ok\n"]



=== TEST 3: jwt_cache_size takes a number of tokens
--- config
    location = /t {
        jwt_verify on;
        jwt_cache_size lots;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/invalid "jwt_cache_size" "lots": a number of tokens such as 1024 in \S+:\d+/
