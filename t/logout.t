# jwt_logout: the presented token is verified, its jti goes into the shared revocation set until
# its exp (plus jwt_leeway), the login cookie is cleared, and the answer is 204. From the next
# request on the token fails everywhere with $jwt_error "revoked" (cache hits included).
#
# Blocks send their requests one after the other to one nginx (`--- request eval` lists, one
# worker); logout seen by two workers at once, expiry of entries and jwt_logout_capacity in
# real time are in crates/test-nginx/tests/sessions.rs.
#
# Blocks of several requests that check what the module logged do it as t/key-request.t does:
# the http level also logs to a second file at info level (`error_log $TEST_NGINX_HTML_DIR/jwt.log
# info`, next to the usual error.log), which a last request reads through `location = /jwt-log`.
# (--- error_log is checked per request by upstream Test::Nginx, on that request's own log lines,
# and once on the whole log by this project's runner; single-request blocks use it.)
#
# Tokens: HS256 with t/fixtures/keys/hmac.key, printed by t/fixtures/make-session-tokens (the
# block descriptions name them). good: jti tok-good-1, good2: jti tok-good-2; both expire in 2100.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: a valid token is logged out: 204, no body, no-store, no cookie to clear
token: good
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
--- request
POST /logout
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 204
--- response_headers
Cache-Control: no-store
!Set-Cookie
!Content-Type
!WWW-Authenticate
--- response_body
--- no_error_log
[error]
jwt: token rejected
jwt_logout:



=== TEST 2: the logged-out token is refused from the next request on: 401 invalid_token, $jwt_error revoked
token: good
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt", "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[204, 401, 200]
--- response_headers eval
["!X-Jwt-Error", "X-Jwt-Error: revoked\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", ""]
--- response_body_like eval
[qr/^$/, qr/401 Authorization Required/,
qr/\[info\] [^\n]*jwt: token rejected \(revoked\): token revoked: jti "tok-good-1" was logged out, client: 127\.0\.0\.1, server: localhost, request: "GET \/api\/ok\.txt HTTP\/1\.1"/]



=== TEST 3: a token verified (and cached) before the logout is refused after it
token: good; the first GET puts it in the worker's cache of verified tokens
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt", "POST /logout", "GET /api/ok.txt", "GET /api/ok.txt"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[200, 200, 204, 401, 401]
--- response_headers eval
["X-Jwt-Error: ", "X-Jwt-Error: ", "!X-Jwt-Error", "X-Jwt-Error: revoked", "X-Jwt-Error: revoked"]
--- response_body_like eval
[qr/^ok$/, qr/^ok$/, qr/^$/, qr/401 Authorization Required/, qr/401 Authorization Required/]



=== TEST 4: on one keep-alive connection, with a request body: the very next request is refused
token: good; the logout's body is read and dropped. `add_header Content-Length 0` only serves
upstream Test::Nginx, whose response parser reads a 204 without Content-Length up to the end of
the connection (swallowing the next pipelined response); the module's 204 is unchanged.
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header Content-Length 0;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- pipelined_requests eval
["GET /api/ok.txt", "POST /logout\n{\"all_devices\":false}", "GET /api/ok.txt"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[200, 204, 401]
--- response_headers eval
["X-Jwt-Error: ", "Cache-Control: no-store", "X-Jwt-Error: revoked"]



=== TEST 5: the revocation holds in every location, whatever its key ring or token source
token: good, logged out with the Authorization header, then presented in a query argument to a
location with a ring of its own (a JWKS holding the same secret as an oct key)
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /other/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/jwks.json;
        jwt_algorithms HS256;
        jwt_token $arg_t;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /other/ok.txt?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "POST /logout", "GET /other/ok.txt?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss"]
--- more_headers eval
["", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", ""]
--- error_code eval
[200, 204, 401]
--- response_headers eval
["X-Jwt-Error: ", "Cache-Control: no-store", "X-Jwt-Error: revoked"]



=== TEST 6: variables in a location without jwt_verify: $jwt_error revoked, no claims
token: good
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location = /whoami {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        return 200 "error=$jwt_error sub=$jwt_claim_sub\n";
    }
--- request eval
["GET /whoami", "POST /logout", "GET /whoami"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[200, 204, 200]
--- response_body eval
["error= sub=alice\n", "", "error=revoked sub=\n"]



=== TEST 7: only that token: another token (another jti) of the same subject keeps working
tokens: good (alice, tok-good-1) logged out; auth-time (alice, tok-auth-time) still valid
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        add_header X-Jti $jwt_claim_jti always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt", "GET /api/ok.txt"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1dGhfdGltZSI6MTYwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6InRvay1hdXRoLXRpbWUifQ.L-3OvafZez1xiyBNrvisrPG38EXRCUYYh6gTkZN_Nqo"]
--- error_code eval
[204, 401, 200]
--- response_headers eval
["!X-Jwt-Error", "X-Jwt-Error: revoked", "X-Jwt-Error: \nX-Jti: tok-auth-time"]



=== TEST 8: logging out twice: the second time the token is already revoked (401)
token: good
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- request eval
["POST /logout", "POST /logout", "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[204, 401, 200]
--- response_headers eval
["Cache-Control: no-store", "WWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", ""]
--- response_body_like eval
[qr/^$/, qr/401 Authorization Required/,
qr/\[info\] [^\n]*jwt: token rejected \(revoked\): token revoked: jti "tok-good-1" was logged out, client: 127\.0\.0\.1, server: localhost, request: "POST \/logout HTTP\/1\.1"/]



=== TEST 9: a logged-out token cannot be refreshed
token: good
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location = /refresh {
        jwt_refresh;
        jwt_refresh_max_age off;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- request eval
["POST /refresh", "POST /logout", "POST /refresh", "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[200, 204, 401, 200]
--- response_body_like eval
[qr/^\{"token":"eyJ[A-Za-z0-9_.-]+","token_type":"Bearer","expires_in":3600\}$/, qr/^$/, qr/401 Authorization Required/,
qr/\[info\] [^\n]*jwt: token rejected \(revoked\): token revoked: jti "tok-good-1" was logged out, [^\n]*request: "POST \/refresh HTTP\/1\.1"/]



=== TEST 10: jwt_login_cookie: the cookie is cleared with the default attributes
token: good, sent as the cookie
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $cookie_tok;
        jwt_login_cookie tok;
    }
--- request
POST /logout
--- more_headers
Cookie: tok=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 204
--- response_headers
Set-Cookie: tok=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax
Cache-Control: no-store
--- response_body



=== TEST 11: the cleared cookie keeps the attributes that identify it (Path, Domain), Max-Age=0 wins
token: good; jwt_login_cookie inherited from the server level
--- config
    jwt_login_cookie session Path=/app Domain=example.com Max-Age=600 SameSite=Strict Secure=off;
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $cookie_session;
    }
--- request
POST /logout
--- more_headers
Cookie: other=1; session=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 204
--- response_headers
Set-Cookie: session=; Max-Age=0; Path=/app; HttpOnly; SameSite=Strict; Domain=example.com



=== TEST 12: a refused logout clears no cookie
token: forged, as the cookie
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $cookie_tok;
        jwt_login_cookie tok;
    }
--- request
POST /logout
--- more_headers
Cookie: tok=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.xFo3YxbALspEJKRFHQNYHQ-6No2A7QzGSOmvkFb-E7A
--- error_code: 401
--- response_headers
!Set-Cookie
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/\[info\] .*jwt: token rejected \(signature\)/



=== TEST 13: no token: 401 with the challenge without an error code
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_realm app;
    }
--- request
POST /logout
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="app"
--- response_body_like: 401 Authorization Required
--- error_log eval
qr/\[info\] .*jwt: token rejected \(missing\)/



=== TEST 14: an expired token cannot log out (there is nothing left to revoke)
token: expired (exp 1700000000)
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
--- request
POST /logout
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTYwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDAwLCJqdGkiOiJ0b2stZXhwaXJlZCJ9.ifEsCMtldt5wBP4FO5MHckOgm5LFqQpyFQx4k3J9AwU
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/\[info\] .*jwt: token rejected \(expired\)/



=== TEST 15: a token without jti: 400, nothing revoked, the token keeps working
token: no-jti {"sub":"alice","iat":1700000000,"exp":4102444800}
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_login_cookie tok;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt", "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.NISHEI7xBWlVA5hpV6InODQ0kFuRFZMTvsh-P1bow2Y
--- error_code eval
[400, 200, 200]
--- response_headers eval
["!Set-Cookie", "", ""]
--- response_body_like eval
[qr/400 Bad Request/, qr/^ok$/,
qr/\[info\] [^\n]*jwt_logout: the token has no string "jti" to revoke it by \(jwt_login always writes one\); nothing revoked/]



=== TEST 16: a jti that is not a string: 400
token: jti-number {"sub":"frank","iat":1700000000,"exp":4102444800,"jti":42}
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
--- request
POST /logout
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmcmFuayIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOjQyfQ.ob_ps9jkweSHn_raWkjq0C2PTP3Jg26m85Iij5WkfH8
--- error_code: 400
--- error_log eval
qr/\[info\] .*jwt_logout: the token has no string "jti"/



=== TEST 17: a token without exp (jwt_require_exp off): 400, its revocation could never end
token: no-exp {"sub":"alice","iat":1700000000,"jti":"tok-no-exp"}
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_exp off;
    }
    location /api/ {
        jwt_verify on;
        jwt_require_exp off;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt", "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwianRpIjoidG9rLW5vLWV4cCJ9.EdnCzTja1g6aA5Q6lDxQql7fVN61N-nmuxOptq2ZDTM
--- error_code eval
[400, 200, 200]
--- response_body_like eval
[qr/400 Bad Request/, qr/^ok$/,
qr/\[info\] [^\n]*jwt_logout: the token has no "exp", so its revocation could never end; revoke such tokens with jwt_revocation_file; nothing revoked/]



=== TEST 18: other methods: 405 with Allow: POST, nothing revoked
token: good
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /logout", "DELETE /logout", "GET /api/ok.txt"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[405, 405, 200]
--- response_headers eval
["Allow: POST", "Allow: POST", ""]
--- response_body_like eval
[qr/405 Not Allowed/, qr/405 Not Allowed/, qr/^ok$/]



=== TEST 19: jwt_logout_capacity 1: the second logout finds the set full: 503, an error line, the token stays valid
tokens: good logged out, then good2 refused with 503 and still accepted afterwards
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    jwt_logout_capacity 1;
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "POST /logout", "GET /api/ok.txt", "GET /api/ok.txt", "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWdvb2QtMiJ9.BWfV29ZpVsI-yPeXnQOmRWWTFcMipO42JI2AH3OwJlQ", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWdvb2QtMiJ9.BWfV29ZpVsI-yPeXnQOmRWWTFcMipO42JI2AH3OwJlQ", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", ""]
--- error_code eval
[204, 503, 200, 401, 200]
--- response_headers eval
["", "!Cache-Control", "X-Jwt-Error: ", "X-Jwt-Error: revoked", ""]
--- response_body_like eval
[qr/^$/, qr/503 Service Temporarily Unavailable/, qr/^ok$/, qr/401 Authorization Required/,
qr/\[error\] [^\n]*jwt_logout: the revocation set is full \(1 live entries, or no memory left in the zone\): raise "jwt_logout_capacity" and "jwt_shared_memory"; token not revoked/]



=== TEST 20: the revocation lasts until exp + jwt_leeway: a token expired within the leeway is revoked
token: expired (exp 1700000000) with jwt_leeway 5y: it still verifies, so it can log out; its
entry must outlive the leeway, or the token would be valid again at once
--- http_config
    jwt_leeway 5y;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "POST /logout", "GET /api/ok.txt"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTYwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDAwLCJqdGkiOiJ0b2stZXhwaXJlZCJ9.ifEsCMtldt5wBP4FO5MHckOgm5LFqQpyFQx4k3J9AwU
--- error_code eval
[200, 204, 401]
--- response_headers eval
["X-Jwt-Error: ", "", "X-Jwt-Error: revoked"]



=== TEST 21: jwt_logout where jwt_verify on applies: the token is checked once, then revoked
token: good; jwt_verify on at the server level covers /logout and /api/
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Jwt-Error $jwt_error always;
    location = /logout {
        jwt_logout;
    }
    location /api/ {
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt", "POST /logout"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[204, 401, 401]
--- response_headers eval
["!X-Jwt-Error", "X-Jwt-Error: revoked", "X-Jwt-Error: revoked"]



=== TEST 22: a jti with a "#" is revoked exactly, and no other
tokens: jti-hash (jti "a#b") is logged out; good (jti tok-good-1) is not
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /logout {
        jwt_logout;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt", "GET /api/ok.txt", "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlcmluIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6ImEjYiJ9.ydTstKHygZStr7pdh2NazkEkbRwdtOwMaoCVC9ftBjU", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlcmluIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6ImEjYiJ9.ydTstKHygZStr7pdh2NazkEkbRwdtOwMaoCVC9ftBjU", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", ""]
--- error_code eval
[204, 401, 200, 200]
--- response_body_like eval
[qr/^$/, qr/401 Authorization Required/, qr/^ok$/,
qr/jwt: token rejected \(revoked\): token revoked: jti "a#b" was logged out/]



=== TEST 23: keys from an identity provider (jwt_key_request) only: the logout fetches them
token: idp (RS256, kid rsa-1, published in t/fixtures/keys/jwks.json). The logout is the first
request: nothing has fetched the key set before it.
--- config
    location = /_jwks {
        internal;
        default_type application/json;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /logout {
        jwt_logout;
        jwt_key_request /_jwks;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt"]
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2staWRwLTEifQ.F379bBAaztIc1-ebE0XSk9aXUJWVa6gRxmD6Q-_0URGnvG-LfA1RRRJDluuV-BFrsGWsHqcxwGjdDrEUQ3_jlaCG2vFlveJhNndSvlPRGJ-Ae6al3h8KIm4vUtqMrNfUeSjuwATG9DBF9n-0vW-OocNylbC-TBqvkntlbx5DJzlcR-sYKz7bk-NrgL0kGoCwoemaYv4P496vfc5I0G3JPJuHGHfSPDZIsZlRft6dmvlcf1Uv--VBS21-lqPruF5EHN0C3AWxidh8P_PRoTMil4iSd_cudEMSLjnhNO4CkYyCnK6m0GGElS3xSSA-kME8ecKQ1AG8uKInLCOiNiqJLg
--- error_code eval
[204, 401]
--- response_headers eval
["Cache-Control: no-store", "X-Jwt-Error: revoked"]
--- no_error_log
jwt: token rejected (key)
