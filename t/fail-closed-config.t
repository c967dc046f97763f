# Fail closed on configurations that would protect nothing or could never work: nginx refuses
# to start (the [emerg] names the directive at fault, what to change, and its file and line);
# what configuration cannot catch fails the request instead (401/502, never 500 or a loop).
#
# Where a block checks the exact line, the directives sit in an included file (jwt.conf in the
# html directory) so that the line number is the same under every test runner; elsewhere the
# line differs between runners, hence \d+.
#
# Keys: t/fixtures/keys/hmac.key (verification), t/fixtures/login/hmac.key (jwt_login), read as
# $TEST_NGINX_FIXTURES/keys/hmac.key and $TEST_NGINX_FIXTURES/login/hmac.key.
# Tokens (t/fixtures/tokens, signed with hmac.key, all expire 4102444800):
#   ring-a-admin.jwt {"sub":"alice","admin":true,"exp":4102444800}
#   hs256.jwt        {"sub":"alice","exp":4102444800}
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: jwt_require in a location where jwt_verify was never written: nginx refuses, naming the jwt_require line
jwt.conf line 3 is the jwt_require.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require $jwt_claim_admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_require")(?=.*"jwt_verify on").* in \S+\/jwt\.conf:3\b/



=== TEST 2: the same written directly in the test's server block
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_admin;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_require")(?=.*"jwt_verify on").* in \S+nginx\.conf:\d+/



=== TEST 3: jwt_require at server level, no jwt_verify anywhere: nginx refuses
jwt.conf line 2 is the jwt_require.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
jwt_require $jwt_claim_admin;

location = /t {
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_require")(?=.*"jwt_verify on").* in \S+\/jwt\.conf:2\b/



=== TEST 4: jwt_require at server level, jwt_verify on in one location only: another location (here the test's default "location /") refuses
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require $jwt_claim_admin;

    location = /t {
        jwt_verify on;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /other {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_require")(?=.*"jwt_verify on").* in \S+nginx\.conf:\d+/



=== TEST 5: jwt_verify on and jwt_require at server level, jwt_verify off in /public: nginx starts; /public is open, /t requires
Requests: /public without a token: 200; /t with ring-a-admin.jwt ({"sub":"alice","admin":true,
"exp":4102444800}): 200; /t with hs256.jwt ({"sub":"alice","exp":4102444800}): 403; /t
without a token: 401.
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require $jwt_claim_admin;
    add_header X-Jwt-Error $jwt_error always;

    location /public {
        jwt_verify off;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location /t {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /public", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU",
 ""]
--- error_code eval
[200, 200, 403, 401]
--- response_headers eval
["!WWW-Authenticate",
 "!WWW-Authenticate\nX-Jwt-Error: ",
 "WWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"\nX-Jwt-Error: ",
 "WWW-Authenticate: Bearer realm=\"protected\"\nX-Jwt-Error: missing"]
--- no_error_log
[emerg]



=== TEST 6: jwt_verify off at http level and jwt_require in a location: off above the jwt_require is no opt-out, nginx refuses
jwt.conf line 4 is the jwt_require.
--- http_config
    jwt_verify off;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

location = /t {
    jwt_require $jwt_claim_admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_require")(?=.*"jwt_verify on").* in \S+\/jwt\.conf:4\b/



=== TEST 7: jwt_verify off at server level and jwt_require in a location: nginx refuses
--- config
    jwt_verify off;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /t {
        jwt_require $jwt_claim_admin;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_require")(?=.*"jwt_verify on").* in \S+nginx\.conf:\d+/



=== TEST 8: jwt_verify on at http level, jwt_require in a location: nginx starts and the rule applies
Request: /t with hs256.jwt ({"sub":"alice","exp":4102444800}, no admin claim): 403.
--- http_config
    jwt_verify on;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /t {
        jwt_require $jwt_claim_admin;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"



=== TEST 9: jwt_token $jwt_payload: the token would depend on itself, nginx refuses
jwt.conf line 4 is the jwt_token.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_token $jwt_payload;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_token")(?=.*\$jwt_payload\b).* in \S+\/jwt\.conf:4\b/



=== TEST 10: jwt_token $jwt_claim_t: nginx refuses
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $jwt_claim_t;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_token")(?=.*\$jwt_claim_t\b).* in \S+nginx\.conf:\d+/



=== TEST 11: jwt_token "Bearer $jwt_header_kid": a module variable inside a longer value, nginx refuses
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token "Bearer $jwt_header_kid";
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_token")(?=.*\$jwt_header_kid\b).* in \S+nginx\.conf:\d+/



=== TEST 12: jwt_token with a jwt_claim_set variable: nginx refuses
--- http_config
    jwt_claim_set $nested_tok wrapper token;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $nested_tok;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_token")(?=.*\$nested_tok\b).* in \S+nginx\.conf:\d+/



=== TEST 13: jwt_token $jwt_error at server level: nginx refuses
--- config
    jwt_token $jwt_error;

    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
qr/\[emerg\] (?=.*"jwt_token")(?=.*\$jwt_error\b).* in \S+nginx\.conf:\d+/



=== TEST 14: jwt_token through a map of $jwt_payload (not visible to the configuration check): 401, no crash, no variable cycle
The request also carries a valid token in Authorization (hs256.jwt, {"sub":"alice","exp":
4102444800}): it must not be used, the token source is $t.
--- http_config
    map $jwt_payload $t {
        default $jwt_payload;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $t;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="protected".*
--- error_log eval
qr/jwt_token.*(own|itself)/
--- no_error_log
cycle while evaluating variable
[crit]



=== TEST 15: the same map, two requests on one nginx: 401 both times
--- http_config
    map $jwt_payload $t {
        default $jwt_payload;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $t;
        add_header X-Sub $jwt_claim_sub always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU"]
--- error_code eval
[401, 401]
--- response_headers eval
["!X-Sub", "!X-Sub"]
--- error_log eval
qr/jwt_token.*(own|itself)/
--- no_error_log
cycle while evaluating variable



=== TEST 16: jwt_login: the application's exp is in the past: 502, no token
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        default_type application/json;
        return 200 '{"sub":"a","exp":1000000000}';
    }
--- request
POST /login
user=a&password=secret
--- error_code: 502
--- response_body_unlike: token
--- error_log eval
qr/\[(?:error|warn|notice|info)\] .*\bexp\b/



=== TEST 17: jwt_login: a negative exp from the application: 502, no token
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        default_type application/json;
        return 200 '{"sub":"a","exp":-5}';
    }
--- request
POST /login
user=a&password=secret
--- error_code: 502
--- response_body_unlike: token
--- error_log eval
qr/\[(?:error|warn|notice|info)\] .*\bexp\b/



=== TEST 18: jwt_login: an exp far in the future is cut to jwt_token_ttl: 200, expires_in <= 600
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl 10m;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        default_type application/json;
        return 200 '{"sub":"a","exp":4102444800}';
    }
--- request
POST /login
user=a&password=secret
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":(?:[1-9]|[1-9][0-9]|[1-5][0-9][0-9]|600)\}$
--- no_error_log
[error]
