# jwt_login round trips within one request: the token nginx issues is verified by nginx.
#
# How: the client POSTs to /t, which proxies to /login (jwt_login with jwt_login_cookie tok).
# /login's 200 answer carries `X-Accel-Redirect: /check` (add_header), so /t, instead of relaying
# it, redirects internally to /check, where the login answer's cookie is still readable as
# $upstream_cookie_tok. /check has a key ring and `jwt_token $upstream_cookie_tok`: the
# module's variables verify the issued token on demand and /check prints the result:
# $jwt_error (empty when the token is valid), header parameters and $jwt_payload (the verified
# claims, compact JSON with the keys in sorted order).
#
# Keys: t/fixtures/login (t/fixtures/login/make-keys re-creates them), read as
# $TEST_NGINX_FIXTURES/login/NAME.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: HS256: the issued token verifies; the claims are the application's plus iat, exp, jti
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg typ=$jwt_header_typ payload=$jwt_payload\n";
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice","roles":["admin","user"]}';
    }
--- request
POST /t
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^error= alg=HS256 typ=JWT payload=\{"exp":\d{10},"iat":\d{10},"jti":"[A-Za-z0-9_-]{22}","roles":\["admin","user"\],"sub":"alice"\}\n$
--- no_error_log
[error]
[alert]



=== TEST 2: jwt_verify on accepts the issued token (the cookie as the browser would send it)
/check is a protected static file; it gets the token from the login answer's cookie.
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        alias $TEST_NGINX_HTML_DIR/secret.txt;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> secret.txt
the protected content
--- request
POST /t
x
--- error_code: 200
--- response_body
the protected content
--- no_error_log
[error]
jwt: token rejected



=== TEST 3: jwt_verify on refuses a token issued with another secret
--- log_level: info
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac-other.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        alias $TEST_NGINX_HTML_DIR/secret.txt;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> secret.txt
the protected content
--- request
POST /t
x
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (signature)



=== TEST 4: another secret: $jwt_error is signature and the claims are not exposed
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac-other.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub payload=$jwt_payload\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error=signature sub= payload=



=== TEST 5: RS256 token verifies with the RSA public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=RS256 sub=alice



=== TEST 6: PS256 token verifies with the RSA public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key;
        jwt_sign_algorithm PS256;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.pub.pem;
        jwt_algorithms PS256;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=PS256 sub=alice



=== TEST 7: ES256 token verifies with the EC public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES256 sub=alice



=== TEST 8: ES384 token verifies with the EC public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec384.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec384.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES384 sub=alice



=== TEST 9: ES512 token verifies with the EC public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec521.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec521.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES512 sub=alice



=== TEST 10: EdDSA token verifies with the Ed25519 public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ed25519.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ed25519.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=EdDSA sub=alice



=== TEST 11: HS384 token verifies
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_sign_algorithm HS384;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_algorithms HS384;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=HS384 sub=alice



=== TEST 12: an RS256 token does not verify with another key pair's public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa2.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error=signature sub=



=== TEST 13: an ES256 token is refused by a ring that holds an RSA public key only
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error=algorithm sub=



=== TEST 14: the kid of the signing key is in the header and selects the key when verifying
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key kid=k2;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac-other.key kid=k1;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key kid=k2;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error kid=$jwt_header_kid sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= kid=k2 sub=alice



=== TEST 15: a private JWK signs; its public JWKS verifies, the kid selects it
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.jwk.json;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.pub.pem kid=ec-jwk-1;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.pub.jwks.json;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg kid=$jwt_header_kid sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES256 kid=ec-jwk-1 sub=alice



=== TEST 16: a kid that needs JSON escaping survives the round trip
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key 'kid=a"b\\c';
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac-other.key kid=ab;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key 'kid=a"b\\c';
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error kid=$jwt_header_kid sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= kid=a"b\c sub=alice



=== TEST 17: the application's exp, already past: no token and no cookie reach the client (502)
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","exp":1000000000}';
    }
--- request
POST /t
x
--- error_code: 502
--- response_headers
Set-Cookie:



=== TEST 18: the application's sooner numeric exp is kept, a fractional one floored
jwt_token_ttl 100y puts now + ttl after the application's exp (2100-01-01T00:00:00.9Z).
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl 100y;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error exp=$jwt_claim_exp\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","exp":4102444800.9}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= exp=4102444800



=== TEST 19: the application's iat and jti are replaced
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error payload=$jwt_payload\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","iat":1,"jti":"chosen-by-the-app"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body_like: ^error= payload=\{"exp":\d{10},"iat":\d{10},"jti":"[A-Za-z0-9_-]{22}","sub":"alice"\}\n$



=== TEST 20: jwt_issuer and jwt_audience overwrite the application's iss and aud
The verifying location requires the same issuer and audience.
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_issuer https://auth.example.com;
        jwt_audience api;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_issuer https://auth.example.com;
        jwt_audience api;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error iss=$jwt_claim_iss aud=$jwt_claim_aud\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","iss":"https://evil.example","aud":"anything"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= iss=https://auth.example.com aud=api



=== TEST 21: several jwt_audience values become an aud array
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_audience api web;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_audience web;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error aud=$jwt_claim_aud\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= aud=["api","web"]



=== TEST 22: without jwt_issuer / jwt_audience the application's iss and aud are kept
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error iss=$jwt_claim_iss aud=$jwt_claim_aud\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","iss":"https://app.example","aud":["a","b"]}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= iss=https://app.example aud=["a","b"]



=== TEST 23: nested, non-ASCII, boolean and null claims survive as they are (null reads "null")
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub profile=$jwt_claim_profile admin=$jwt_claim_admin note=$jwt_claim_note\n";
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        # a static file answers GET only
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/claims.json;
    }
--- user_files
>>> claims.json
{
  "sub": "\u00e9lise \"quoted\"",
  "profile": {"age": 30, "tags": ["a", "b"], "zone": "Europe/Paris"},
  "admin": true,
  "note": null
}
--- request
POST /t
x
--- error_code: 200
--- response_body
error= sub=élise "quoted" profile={"age":30,"tags":["a","b"],"zone":"Europe/Paris"} admin=true note=null



=== TEST 24: jwt_claim_set reads a nested claim of the issued token
--- http_config
    jwt_claim_set $jwt_zone profile zone;
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error zone=$jwt_zone\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","profile":{"zone":"Europe/Paris"}}';
    }
--- request
POST /t
x
--- error_code: 200
--- response_body
error= zone=Europe/Paris
