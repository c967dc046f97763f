# jwt_refresh: a valid token POSTed to the location comes back re-issued (fresh iat, exp, jti;
# auth_time = the original login time; the other claims kept), answered like jwt_login. Refused
# with 401 when the token is missing, invalid, expired beyond jwt_refresh_grace, revoked, or
# from a session older than jwt_refresh_max_age.
#
# A block sees one response, so the renewed token is read back the way t/login-roundtrip.t does:
# the client POSTs to /t, which proxies to /refresh (with the client's Authorization header);
# /refresh sets the renewed token as cookie `tok` too (jwt_login_cookie) and adds
# `X-Accel-Redirect: /check`, so /t redirects internally to /check, which verifies
# $upstream_cookie_tok and prints $jwt_payload (the claims, keys sorted).
#
# Tokens: HS256 with t/fixtures/keys/hmac.key, printed by t/fixtures/make-session-tokens (the
# block descriptions name them and their claims). iat 1700000000 is 2023-11-14, auth_time
# 1600000000 2020-09-13, exp 4102444800 2100-01-01. Sequences in real time (a refresh chain up to
# jwt_refresh_max_age, expiry within and beyond jwt_refresh_grace in seconds) are in
# crates/test-nginx/tests/sessions.rs.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: a valid token is re-issued: 200, the jwt_login answer, no-store, no cookie
token: good {"sub":"alice","roles":["admin"],"iat":1700000000,"exp":4102444800,"jti":"tok-good-1"}
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!Set-Cookie
!WWW-Authenticate
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]
jwt: token rejected



=== TEST 2: the renewed claims: the same claims, auth_time = the old iat, a fresh iat, exp and jti
token: good; the new iat is not 1700000000, the new jti is 22 base64url characters
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/refresh;
    }
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error payload=$jwt_payload\n";
    }
--- request
POST /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body_like: ^error= payload=\{"auth_time":1700000000,"exp":\d{10},"iat":(?!1700000000)\d{10},"jti":"[A-Za-z0-9_-]{22}","roles":\["admin"\],"sub":"alice"\}\n$
--- no_error_log
[error]



=== TEST 3: a token that has auth_time keeps it (the session's start), not its iat
token: auth-time {"sub":"alice","auth_time":1600000000,"iat":1700000000,"exp":4102444800,"jti":"tok-auth-time"}
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/refresh;
    }
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error payload=$jwt_payload\n";
    }
--- request
POST /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1dGhfdGltZSI6MTYwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6InRvay1hdXRoLXRpbWUifQ.L-3OvafZez1xiyBNrvisrPG38EXRCUYYh6gTkZN_Nqo
--- error_code: 200
--- response_body_like: ^error= payload=\{"auth_time":1600000000,"exp":\d{10},"iat":\d{10},"jti":"(?!tok-auth-time")[A-Za-z0-9_-]{22}","sub":"alice"\}\n$



=== TEST 4: nbf describes the old token: the renewed one has none
token: nbf {"sub":"alice","iat":1700000000,"nbf":1700000000,"exp":4102444800,"jti":"tok-nbf"}
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/refresh;
    }
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error nbf=$jwt_claim_nbf payload=$jwt_payload\n";
    }
--- request
POST /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6InRvay1uYmYifQ.crAynRQROf2qKC3g22b1hFKHEEaK9e5OEzfUckgFnuk
--- error_code: 200
--- response_body_like: ^error= nbf= payload=\{"auth_time":1700000000,"exp":\d{10},"iat":\d{10},"jti":"[A-Za-z0-9_-]{22}","sub":"alice"\}\n$



=== TEST 5: without jwt_issuer / jwt_audience the token's iss and aud are kept
token: iss-aud {"sub":"alice","iss":"https://old.example","aud":"old","iat":1700000000,"exp":4102444800,"jti":"tok-iss-aud"}
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/refresh;
    }
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error iss=$jwt_claim_iss aud=$jwt_claim_aud\n";
    }
--- request
POST /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vb2xkLmV4YW1wbGUiLCJhdWQiOiJvbGQiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWlzcy1hdWQifQ.V8erPPegtCF0I-UJxqNFZh29xFHEVy-R5b0hl4Lq_oo
--- error_code: 200
--- response_body
error= iss=https://old.example aud=old



=== TEST 6: jwt_issuer and jwt_audience are checked on the old token and written into the new one
token: iss-aud. jwt_audience "old api" accepts aud "old" and writes ["old","api"]; the issuer is
required and written.
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/refresh;
    }
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_issuer https://old.example;
        jwt_audience old api;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_issuer https://old.example;
        jwt_audience api;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error iss=$jwt_claim_iss aud=$jwt_claim_aud\n";
    }
--- request
POST /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vb2xkLmV4YW1wbGUiLCJhdWQiOiJvbGQiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWlzcy1hdWQifQ.V8erPPegtCF0I-UJxqNFZh29xFHEVy-R5b0hl4Lq_oo
--- error_code: 200
--- response_body
error= iss=https://old.example aud=["old","api"]



=== TEST 7: a token of another issuer is refused (jwt_issuer applies to the presented token)
token: good (no iss)
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_issuer https://auth.example.com;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
!Set-Cookie
--- response_body_like: 401 Authorization Required
--- error_log eval
qr/\[info\] .*jwt: token rejected \(issuer\)/



=== TEST 8: jwt_login_cookie: the renewed token is also set as the cookie, with jwt_token_ttl
token: good, sent as the cookie jwt_token reads
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_token $cookie_tok;
        jwt_token_ttl 10m;
        jwt_login_cookie tok Path=/app SameSite=Strict;
    }
--- request
POST /refresh
--- more_headers
Cookie: tok=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_headers_like
Set-Cookie: tok=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}; Max-Age=600; Path=/app; HttpOnly; Secure; SameSite=Strict
Cache-Control: no-store
Content-Type: application/json
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_.-]+","token_type":"Bearer","expires_in":600\}$



=== TEST 9: the signing key is the ring's first that can sign: an HS256 token comes back RS256
The ring holds the RSA private key first, then the HMAC secret that verifies the presented token.
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{342}","token_type":"Bearer","expires_in":3600\}$



=== TEST 10: no token: 401 with the challenge without an error code, info log
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
--- request
POST /refresh
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"
!Set-Cookie
!Cache-Control
--- response_body_like: 401 Authorization Required
--- error_log eval
qr/\[info\] .*jwt: token rejected \(missing\)/
--- no_error_log
[error]



=== TEST 11: a forged token (another secret): 401 invalid_token, jwt_realm applies
token: forged
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_realm app;
        jwt_login_cookie tok;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.xFo3YxbALspEJKRFHQNYHQ-6No2A7QzGSOmvkFb-E7A
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="app", error="invalid_token"
!Set-Cookie
--- response_body_unlike: token
--- error_log eval
qr/\[info\] .*jwt: token rejected \(signature\)/



=== TEST 12: an expired token, default jwt_refresh_grace (0): refused
token: expired {"sub":"alice","iat":1600000000,"exp":1700000000,"jti":"tok-expired"}
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTYwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDAwLCJqdGkiOiJ0b2stZXhwaXJlZCJ9.ifEsCMtldt5wBP4FO5MHckOgm5LFqQpyFQx4k3J9AwU
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/\[info\] .*jwt: token rejected \(expired\): token expired at 1700000000/



=== TEST 13: an expired token within jwt_refresh_grace: re-issued, and the new token is valid now
token: expired (exp 2023-11-14, about 3 years ago); grace 5y
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/refresh;
    }
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_refresh_grace 5y;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error auth_time=$jwt_claim_auth_time jti=$jwt_claim_jti\n";
    }
--- request
POST /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTYwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDAwLCJqdGkiOiJ0b2stZXhwaXJlZCJ9.ifEsCMtldt5wBP4FO5MHckOgm5LFqQpyFQx4k3J9AwU
--- error_code: 200
--- response_body_like: ^error= auth_time=1600000000 jti=[A-Za-z0-9_-]{22}\n$
--- no_error_log
jwt: token rejected



=== TEST 14: an expired token beyond jwt_refresh_grace: refused
token: expired (exp about 3 years ago); grace 1y
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_refresh_grace 1y;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTYwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDAwLCJqdGkiOiJ0b2stZXhwaXJlZCJ9.ifEsCMtldt5wBP4FO5MHckOgm5LFqQpyFQx4k3J9AwU
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/\[info\] .*jwt: token rejected \(expired\)/



=== TEST 15: default jwt_refresh_max_age (1d): a session that began in 2023 is not renewed
token: good (iat 1700000000, no auth_time)
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
!Set-Cookie
--- response_body_unlike: token
--- error_log eval
qr/\[info\] .*jwt_refresh: the session began at 1700000000, more than max_age 86400s ago: the client must log in again; no token issued/
--- no_error_log
[error]



=== TEST 16: jwt_refresh_max_age 10y: the same session is renewed
token: good
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age 10y;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_.-]+","token_type":"Bearer","expires_in":3600\}$



=== TEST 17: jwt_refresh_max_age counts from auth_time, not from iat
token: auth-time (auth_time 1600000000, about 6.2 years ago; iat 1700000000, about 3 years ago);
max_age 4y: the iat would pass, the auth_time does not.
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age 4y;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1dGhfdGltZSI6MTYwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6InRvay1hdXRoLXRpbWUifQ.L-3OvafZez1xiyBNrvisrPG38EXRCUYYh6gTkZN_Nqo
--- error_code: 401
--- error_log eval
qr/\[info\] .*jwt_refresh: the session began at 1600000000, more than max_age 126144000s ago/



=== TEST 18: a token with neither auth_time nor iat: its session cannot be bounded, refused
token: no-iat {"sub":"alice","exp":4102444800,"jti":"tok-no-iat"}; even with max_age off
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLW5vLWlhdCJ9.N8L12_XiEhRH_vD6rBPTExUqo9OLPtkTiZ_jRWa66XY
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/\[info\] .*jwt_refresh: the token has neither "auth_time" nor "iat"/



=== TEST 19: a non-numeric auth_time is refused, not replaced by iat
token: auth-time-text {"sub":"alice","auth_time":"yesterday","iat":1700000000,...}
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1dGhfdGltZSI6Inllc3RlcmRheSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stYXV0aC10aW1lLXRleHQifQ.Mv_ZHUxyXyK5pdYCc6_OujlskeKoJ32d_DXy9GuK3kg
--- error_code: 401
--- error_log eval
qr/\[info\] .*jwt_refresh: the token's "auth_time" is not a number/



=== TEST 20: a token whose jti is in jwt_revocation_file is not renewed
token: good (jti tok-good-1)
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
    }
--- user_files
>>> revoked.txt
jti tok-good-1
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- response_body_unlike: token
--- error_log eval
qr/\[info\] .*jwt: token rejected \(revoked\): token revoked: jti "tok-good-1" is in the revocation file/



=== TEST 21: a subject revoked in jwt_revocation_file is not renewed (the file inherited from http)
token: good (sub alice, iat 1700000000); alice revoked for tokens issued before 2024-01-01
--- http_config
    jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- user_files
>>> revoked.txt
sub alice 2024-01-01T00:00:00Z
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 401
--- error_log eval
qr/\[info\] .*jwt: token rejected \(revoked\): token revoked: sub "alice" is revoked for tokens issued before 1704067200/



=== TEST 22: other methods: 405 with Allow: POST
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- request eval
["GET /refresh", "PUT /refresh\nx", "DELETE /refresh"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[405, 405, 405]
--- response_headers eval
["Allow: POST\n!Set-Cookie", "Allow: POST\n!Set-Cookie", "Allow: POST\n!Set-Cookie"]
--- response_body_like eval
[qr/405 Not Allowed/, qr/405 Not Allowed/, qr/405 Not Allowed/]



=== TEST 23: a request body is read and dropped: the keep-alive connection serves the next request
token: good; two POSTs with bodies pipelined on one connection
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
    }
--- pipelined_requests eval
["POST /refresh\n{\"ignored\":true}", "POST /refresh\nmore"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"token":"eyJ[A-Za-z0-9_.-]+","token_type":"Bearer","expires_in":3600\}$/, qr/^\{"token":"eyJ[A-Za-z0-9_.-]+","token_type":"Bearer","expires_in":3600\}$/]



=== TEST 24: a token just issued by jwt_login is renewed with the default max_age; auth_time = its iat
/t proxies to /login (cookie tok, then X-Accel-Redirect /step). /step reads the login token's iat
and forwards the token to /refresh as a Bearer POST (cookie tok2, then X-Accel-Redirect /check),
and /check prints the login iat and the renewed token's claims.
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /step;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","roles":["admin"]}';
    }
    location = /step {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $upstream_cookie_tok;
        set $login_token $upstream_cookie_tok;
        set $login_iat $jwt_claim_iat;
        set $login_jti $jwt_claim_jti;
        proxy_method POST;
        proxy_set_header Authorization "Bearer $login_token";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/refresh;
    }
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_login_cookie tok2;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $upstream_cookie_tok2;
        return 200 "login_iat=$login_iat login_jti=$login_jti error=$jwt_error payload=$jwt_payload\n";
    }
--- request
POST /t
x
--- error_code: 200
--- response_body_like: ^login_iat=(\d{10}) login_jti=([A-Za-z0-9_-]{22}) error= payload=\{"auth_time":\1,"exp":\d{10},"iat":\d{10},"jti":"(?!\2")[A-Za-z0-9_-]{22}","roles":\["admin"\],"sub":"alice"\}\n$
--- no_error_log
jwt: token rejected
jwt_refresh:



=== TEST 25: jwt_refresh_grace moves only the exp check: a valid token with nbf is renewed
token: nbf (nbf = iat = 1700000000, valid now). The presented token is checked at now - grace so
that a recently expired one passes; that must not make a valid token "not yet valid".
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age off;
        jwt_refresh_grace 5y;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6InRvay1uYmYifQ.crAynRQROf2qKC3g22b1hFKHEEaK9e5OEzfUckgFnuk
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_.-]+","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
jwt: token rejected



=== TEST 26: keys from an identity provider (jwt_key_request): the refresh fetches them
token: idp (RS256, kid rsa-1, published in t/fixtures/keys/jwks.json), renewed with the
location's own HMAC secret. The refresh is the first request: nothing has fetched the key set.
--- config
    location = /_jwks {
        internal;
        default_type application/json;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /refresh {
        jwt_refresh;
        jwt_refresh_max_age off;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_key_request /_jwks;
    }
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2staWRwLTEifQ.F379bBAaztIc1-ebE0XSk9aXUJWVa6gRxmD6Q-_0URGnvG-LfA1RRRJDluuV-BFrsGWsHqcxwGjdDrEUQ3_jlaCG2vFlveJhNndSvlPRGJ-Ae6al3h8KIm4vUtqMrNfUeSjuwATG9DBF9n-0vW-OocNylbC-TBqvkntlbx5DJzlcR-sYKz7bk-NrgL0kGoCwoemaYv4P496vfc5I0G3JPJuHGHfSPDZIsZlRft6dmvlcf1Uv--VBS21-lqPruF5EHN0C3AWxidh8P_PRoTMil4iSd_cudEMSLjnhNO4CkYyCnK6m0GGElS3xSSA-kME8ecKQ1AG8uKInLCOiNiqJLg
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
jwt: token rejected (key)



=== TEST 27: the location's revocation file holds when a $jwt_ variable was read earlier in the request
token: good, revoked by /refresh's file. The server-level `set` reads $jwt_claim_sub before the
location is chosen, with the server's key ring, which /refresh shares.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $user $jwt_claim_sub;
    location = /refresh {
        jwt_refresh;
        jwt_refresh_max_age off;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
    }
--- user_files
>>> revoked.txt
jti tok-good-1
--- request
POST /refresh
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 401
--- response_body_unlike: token
--- error_log eval
qr/\[info\] .*jwt: token rejected \(revoked\): token revoked: jti "tok-good-1" is in the revocation file/
