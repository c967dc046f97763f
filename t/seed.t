# Parity with the OpenResty/Lua recipe this module replaces (check-token.lua): the whole
# Authorization header is the token (no "Bearer " prefix), any failure answers 403, and a valid
# token gets "hello world !" from /check.
#
# Keys and tokens: t/fixtures (t/fixtures/make-fixtures re-creates them).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: a valid HS256 token, bare in Authorization, gets "hello world !"
token: fixtures/tokens/hs256.jwt
--- config
    location = /check {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $http_authorization;
        jwt_failure_status 403;
        alias $TEST_NGINX_HTML_DIR/check.txt;
    }
--- user_files
>>> check.txt
hello world !
--- request
GET /check
--- more_headers
Authorization: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
hello world !
--- no_error_log
jwt: token rejected



=== TEST 2: a token signed with another secret is refused with 403
token: fixtures/tokens/hs256-other-key.jwt
--- config
    location = /check {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $http_authorization;
        jwt_failure_status 403;
        alias $TEST_NGINX_HTML_DIR/check.txt;
    }
--- user_files
>>> check.txt
hello world !
--- request
GET /check
--- more_headers
Authorization: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- response_body_unlike
hello world
--- error_log
jwt: token rejected (signature): HS256 signature does not verify with any of 1 candidate key(s)



=== TEST 3: no Authorization header is refused with 403
--- config
    location = /check {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $http_authorization;
        jwt_failure_status 403;
        alias $TEST_NGINX_HTML_DIR/check.txt;
    }
--- user_files
>>> check.txt
hello world !
--- request
GET /check
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="protected"
--- response_body_unlike
hello world
--- error_log
jwt: token rejected (missing): no token in the request
