# jwt_verify: where the token is read, what a refusal looks like, how the directive is inherited
# and how it combines with nginx's other access checks.
#
# A protected location must answer from the content phase (static file, empty_gif, proxy_pass):
# `return` runs in the rewrite phase, before the access phase where jwt_verify checks.
#
# Keys and tokens: t/fixtures (t/fixtures/make-fixtures re-creates them). Valid tokens expire in
# 2100 (exp 4102444800).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: no token: 401 with a challenge that has no error code (RFC 6750 §3.1)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"
--- response_body_like: 401 Authorization Required
--- error_log
jwt: token rejected (missing): no token in the request



=== TEST 2: a token that does not verify: 401 with error="invalid_token"
token: fixtures/tokens/hs256-other-key.jwt (signed with another secret)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- response_body_like: 401 Authorization Required
--- error_log
jwt: token rejected (signature): HS256 signature does not verify with any of 1 candidate key(s)



=== TEST 3: a valid token gets the content, without a challenge
token: fixtures/tokens/hs256.jwt
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_headers
!WWW-Authenticate
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 4: the scheme is case-insensitive: "bearer"
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
ok



=== TEST 5: the scheme is case-insensitive: "BEARER"
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: BEARER eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
ok



=== TEST 6: a tab between the scheme and the token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- raw_request eval
"GET /t HTTP/1.0\r
Host: localhost\r
Authorization: Bearer\teyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU\r
\r
"
--- error_code: 200
--- response_body
ok



=== TEST 7: several spaces between the scheme and the token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- raw_request eval
"GET /t HTTP/1.0\r
Host: localhost\r
Authorization: Bearer    eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU\r
\r
"
--- error_code: 200
--- response_body
ok



=== TEST 8: another scheme (Basic) counts as no token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"
--- error_log
jwt: token rejected (missing)



=== TEST 9: "Bearer" without a token counts as no token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"
--- error_log
jwt: token rejected (missing)



=== TEST 10: the scheme must be followed by a space: "Bearer<token>" counts as no token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: BearereyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"
--- error_log
jwt: token rejected (missing)



=== TEST 11: jwt_verify off in a nested location lifts the check
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/;

        location /api/public/ {
            jwt_verify off;
            alias $TEST_NGINX_HTML_DIR/;
        }
    }
--- user_files
>>> ok.txt
ok
--- request
GET /api/public/ok.txt
--- error_code: 200
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 12: the enclosing location of a "jwt_verify off" one is still protected
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/;

        location /api/public/ {
            jwt_verify off;
            alias $TEST_NGINX_HTML_DIR/;
        }
    }
--- user_files
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"



=== TEST 13: http-level settings are inherited: no token is refused
--- http_config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
--- config
    location = /t {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"



=== TEST 14: http-level settings are inherited: a valid token passes
--- http_config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
--- config
    location = /t {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
ok



=== TEST 15: server-level settings are inherited; the location changes only the realm
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /t {
        jwt_realm "inner";
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="inner"



=== TEST 16: a location-level key ring replaces the inherited one
token: fixtures/tokens/hs256.jwt, signed with hmac.key (the server's key)
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
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
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (signature)



=== TEST 17: jwt_realm names the realm of the challenge
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_realm "my api";
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="my api", error="invalid_token"



=== TEST 18: jwt_failure_status 403
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_failure_status 403;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- response_body_like: 403 Forbidden



=== TEST 19: subrequests are not checked (nginx skips the access phase for them): SSI include
--- config
    location = /page.html {
        ssi on;
        root $TEST_NGINX_HTML_DIR;
    }
    location = /fragment {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
>>> page.html
[<!--# include virtual="/fragment" -->]
--- request
GET /page.html
--- error_code: 200
--- response_body
[ok
]
--- no_error_log
jwt: token rejected



=== TEST 20: the same location requested directly is protected
--- config
    location = /page.html {
        ssi on;
        root $TEST_NGINX_HTML_DIR;
    }
    location = /fragment {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /fragment
--- error_code: 401



=== TEST 21: satisfy any: an allowed address needs no token, and gets no challenge
--- config
    location = /t {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 200
--- response_headers
!WWW-Authenticate
--- response_body
ok



=== TEST 22: satisfy any: a valid token is enough when the address is denied
--- config
    location = /t {
        satisfy any;
        deny all;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
ok



=== TEST 23: satisfy any: neither a token nor an allowed address: 401 with the challenge
--- config
    location = /t {
        satisfy any;
        deny all;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"



=== TEST 24: satisfy all: deny all refuses even a valid token
--- config
    location = /t {
        satisfy all;
        deny all;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
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
--- response_body_like: 403 Forbidden



=== TEST 25: satisfy all: an allowed address still needs a token
--- config
    location = /t {
        satisfy all;
        allow 127.0.0.1;
        deny all;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"



=== TEST 26: satisfy any with auth_basic: Basic credentials are enough, no challenge is left
--- config
    location = /t {
        satisfy any;
        auth_basic "basic realm";
        auth_basic_user_file $TEST_NGINX_HTML_DIR/htpasswd;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> htpasswd
user:{PLAIN}pass
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 200
--- response_headers
!WWW-Authenticate
--- response_body
ok



=== TEST 27: satisfy any with auth_basic: a bearer token is enough
--- config
    location = /t {
        satisfy any;
        auth_basic "basic realm";
        auth_basic_user_file $TEST_NGINX_HTML_DIR/htpasswd;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> htpasswd
user:{PLAIN}pass
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_headers
!WWW-Authenticate
--- response_body
ok



=== TEST 28: satisfy any with auth_basic: no credentials: 401 with both challenges
--- config
    location = /t {
        satisfy any;
        auth_basic "basic realm";
        auth_basic_user_file $TEST_NGINX_HTML_DIR/htpasswd;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> htpasswd
user:{PLAIN}pass
>>> ok.txt
ok
--- request
GET /t
--- error_code: 401
--- raw_response_headers_like eval
qr/\r\nWWW-Authenticate: Bearer realm="protected"\r\n(?:.*\r\n)*WWW-Authenticate: Basic realm="basic realm"\r\n|\r\nWWW-Authenticate: Basic realm="basic realm"\r\n(?:.*\r\n)*WWW-Authenticate: Bearer realm="protected"\r\n/



=== TEST 29: HEAD with a valid token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
HEAD /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_headers
Content-Length: 3
--- response_body



=== TEST 30: HEAD without a token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
HEAD /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"
--- response_body



=== TEST 31: a refusal is logged at info with its reason, never with the token
token: fixtures/tokens/hs256-other-key.jwt; its payload and signature segments must not be logged
--- log_level: info
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 401
--- error_log eval
qr/\[info\] .*jwt: token rejected \(signature\): HS256 signature does not verify with any of 1 candidate key\(s\)/
--- no_error_log
eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0
ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E



=== TEST 32: a variable read at server level does not decide for a location with other keys
token: fixtures/tokens/hs256.jwt (signed with key A)
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $user $jwt_claim_sub;

    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
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
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"



=== TEST 33: a variable read at server level does not decide for a location with a stricter policy
token: fixtures/tokens/hs256.jwt (no aud)
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $user $jwt_claim_sub;

    location = /t {
        jwt_verify on;
        jwt_audience admin;
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
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"



=== TEST 34: a token valid for a location's own keys passes even after a server-level variable read
token: fixtures/tokens/hs256-other-key.jwt (signed with key B)
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $user $jwt_claim_sub;

    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 200
--- response_body
ok



=== TEST 35: after "rewrite ... last", the new location verifies with its own keys
token: fixtures/tokens/hs256.jwt (signed with key A)
--- config
    location = /old {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        set $early $jwt_error;
        rewrite ^ /t last;
    }
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /old
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers
X-Jwt-Error: [signature]



=== TEST 36: a location's jwt_token decides where the token is read, even after a server-level read
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $user $jwt_claim_sub;

    location = /t {
        jwt_verify on;
        jwt_token $cookie_token;
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
--- response_headers
WWW-Authenticate: Bearer realm="protected"
