# jwt_login: the happy path. The client POSTs its credentials to /login, nginx forwards them to
# the application (/authenticate -> /backend here, played by this very server) and turns the
# application's 200 JSON object into a signed token.
#
# A block sees one response only, so the token is checked by shape: the header segment exactly
# (it only depends on the algorithm and kid), the payload segment as base64url, and the signature
# segment by its exact length for the algorithm (HS256 32 bytes -> 43 chars, RS256/PS256 with a
# 2048-bit key 256 -> 342, ES256 64 -> 86, ES384 96 -> 128, ES512 132 -> 176, EdDSA 64 -> 86,
# HS384 48 -> 64). t/login-roundtrip.t verifies issued tokens and reads their claims.
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

=== TEST 1: good credentials: 200, a JSON token answer, no-store
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
        return 200 '{"sub":"alice","roles":["admin"]}';
    }
--- request
POST /login
user=alice&password=secret
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!Set-Cookie
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]
[alert]



=== TEST 2: the answer has an exact Content-Length and is not chunked
The application answers {}: the claims are {"exp":<10 digits>,"iat":<10 digits>,"jti":<22 chars>}
(66 bytes, 88 in base64url), the token 36 + 1 + 88 + 1 + 43 = 169 bytes, the answer 221.
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
        return 200 '{}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_headers
Content-Length: 221
--- raw_response_headers_unlike: Transfer-Encoding
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$



=== TEST 3: RSA private key: RS256 by default
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{342}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 4: RSA private key with jwt_sign_algorithm PS256
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key;
        jwt_sign_algorithm PS256;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{342}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 5: EC P-256 private key: ES256 by default
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 6: EC P-384 private key: ES384 by default
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec384.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{128}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 7: EC P-521 private key: ES512 by default
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec521.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{176}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 8: Ed25519 private key: EdDSA by default
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ed25519.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 9: HMAC secret of 48 bytes with jwt_sign_algorithm HS384
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_sign_algorithm HS384;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{64}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 10: kid= on the key file: the header carries the kid
header: {"alg":"HS256","typ":"JWT","kid":"login-2024"}
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key kid=login-2024;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImxvZ2luLTIwMjQifQ\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 11: kid= on an RSA key
header: {"alg":"RS256","typ":"JWT","kid":"rsa-1"}
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key kid=rsa-1;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{342}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 12: a private JWK: its kid goes into the header
header: {"alg":"ES256","typ":"JWT","kid":"ec-jwk-1"}
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.jwk.json;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLWp3ay0xIn0\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 13: a kid that needs JSON escaping is escaped in the header
header: {"alg":"HS256","typ":"JWT","kid":"a\"b"}
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key 'kid=a"b';
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImFcImIifQ\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 14: the first signing-capable key of the ring signs (a public key before it is skipped)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 15: key, algorithm and ttl inherited from the http and server levels
--- http_config
    jwt_sign_algorithm HS384;
    jwt_token_ttl 15m;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;

    location = /login {
        jwt_login /authenticate;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{64}","token_type":"Bearer","expires_in":900\}$
--- no_error_log
[error]



=== TEST 16: jwt_token_ttl 10m: expires_in 600
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
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":600\}$
--- no_error_log
[error]



=== TEST 17: jwt_token_ttl 1s: expires_in 1
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl 1s;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":1\}$



=== TEST 18: the application's exp, already past: no token (502), the log names the exp
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
        return 200 '{"sub":"alice","exp":1000000000}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_body_unlike: token
--- error_log eval
qr/jwt_login: .*"exp" \(1000000000\).*no token issued/



=== TEST 19: the application's exp later than the ttl allows is cut to the ttl
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
        return 200 '{"sub":"alice","exp":4102444800}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 20: a non-numeric exp from the application is replaced by now + ttl
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
        return 200 '{"sub":"alice","exp":"1000000000"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 21: an empty JSON object is enough (claims: iat, exp, jti only)
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
        return 200 '  {}  ';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 22: GET: 405 with Allow: POST, the application is not asked
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
        return 200 '{"sub":"alice"}';
    }
--- request
GET /login
--- error_code: 405
--- response_headers
Allow: POST
!Set-Cookie
--- response_body_like: 405 Not Allowed
--- no_access_log
POST /backend
--- no_error_log
[error]
[alert]



=== TEST 23: HEAD: 405 with Allow: POST and no body
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
HEAD /login
--- error_code: 405
--- response_headers
Allow: POST
--- response_body
--- no_error_log
[error]
[alert]



=== TEST 24: PUT with a body: 405 with Allow: POST
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
PUT /login
user=alice&password=secret
--- error_code: 405
--- response_headers
Allow: POST
--- response_body_like: 405 Not Allowed
--- no_error_log
[error]
[alert]



=== TEST 25: the application gets a POST with the client's Content-Type, headers and body
/echo answers 200 only when /backend received exactly what the client sent, otherwise 403 with
what it got (passed through to the client).
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
        proxy_set_header X-Got "$request_method|$content_type|$content_length|$http_x_client|$request_body";
    }
    location = /echo {
        if ($http_x_got = "POST|application/x-www-form-urlencoded|26|mobile-app|user=alice&password=secret") {
            return 200 '{"sub":"alice"}';
        }
        return 403 "got: $http_x_got\n";
    }
--- request
POST /login
user=alice&password=secret
--- more_headers
Content-Type: application/x-www-form-urlencoded
X-Client: mobile-app
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 26: a JSON request body reaches the application as JSON
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
        proxy_set_header X-Got "$request_method|$content_type|$request_body";
    }
    location = /echo {
        return 401 "got: $http_x_got\n";
    }
--- request
POST /login
{"username":"alice","password":"secret"}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body
got: POST|application/json|{"username":"alice","password":"secret"}



=== TEST 27: POST with an empty body (Content-Length: 0): the application gets an empty POST
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
        proxy_set_header X-Got "$request_method|$content_length|$request_body";
    }
    location = /echo {
        if ($http_x_got = "POST|0|") {
            return 200 '{"sub":"anonymous"}';
        }
        return 403 "got: $http_x_got\n";
    }
--- request
POST /login
--- more_headers
Content-Length: 0
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 28: POST without a body or Content-Length
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
        return 200 '{"sub":"anonymous","method":"$request_method"}';
    }
--- request
POST /login
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 29: the authenticator location reads the client's body as $request_body
(the subrequest shares the client's request body)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        default_type text/plain;
        return 401 "body=$request_body method=$request_method ct=$content_type\n";
    }
--- request
POST /login
user=alice&password=secret
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_body
body=user=alice&password=secret method=POST ct=application/x-www-form-urlencoded



=== TEST 30: an authenticator location that answers by itself (no proxy)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"guest"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 31: a login location in a server protected by jwt_verify on
/login turns verification off; the authenticator subrequest is not verified (it inherits
jwt_verify on); the application, reached by a proxied request, turns it off too.
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;

    location = /login {
        jwt_verify off;
        jwt_login /authenticate;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        jwt_verify off;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 32: a login location behind jwt_verify on needs a token itself
(the configuration mistake the previous block avoids: no jwt_verify off in /login)
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;

    location = /login {
        jwt_login /authenticate;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected"



=== TEST 33: two login locations with their own keys and lifetimes
--- config
    location = /login/user {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl 1h;
    }
    location = /login/admin {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ed25519.key;
        jwt_token_ttl 5m;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login/admin
x
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}","token_type":"Bearer","expires_in":300\}$



=== TEST 34: jwt_login_cookie: the default attributes
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie access_token;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_headers_like
Set-Cookie: access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax
Cache-Control: no-store
Content-Type: application/json
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 35: jwt_login_cookie Secure=off drops Secure
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie access_token Secure=off;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_headers_like
Set-Cookie: access_token=eyJ[A-Za-z0-9_.-]+; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax



=== TEST 36: jwt_login_cookie Max-Age=60 overrides the token lifetime (the token keeps its own)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie access_token Max-Age=60;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_headers_like
Set-Cookie: access_token=eyJ[A-Za-z0-9_.-]+; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax
--- response_body_like: "expires_in":3600\}$



=== TEST 37: jwt_login_cookie Max-Age follows jwt_token_ttl
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl 10m;
        jwt_login_cookie access_token;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_headers_like
Set-Cookie: access_token=eyJ[A-Za-z0-9_.-]+; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax



=== TEST 38: jwt_login_cookie: an application's exp already past sets no cookie (502)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie access_token;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","exp":1000000000}';
    }
--- request
POST /login
x
--- error_code: 502
--- response_headers
Set-Cookie:



=== TEST 39: jwt_login_cookie: replace (SameSite, Path), drop (HttpOnly), append (Domain)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie sid SameSite=Strict Path=/app HttpOnly=off Domain=example.com;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_headers_like
Set-Cookie: sid=eyJ[A-Za-z0-9_.-]+; Max-Age=3600; Path=/app; Secure; SameSite=Strict; Domain=example.com



=== TEST 40: jwt_login_cookie attribute names are matched case-insensitively
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie sid secure=off samesite=None;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_headers_like
Set-Cookie: sid=eyJ[A-Za-z0-9_.-]+; Max-Age=3600; Path=/; HttpOnly; samesite=None



=== TEST 41: jwt_login_cookie set at server level is inherited
--- config
    jwt_login_cookie session Secure=off;

    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_headers_like
Set-Cookie: session=eyJ[A-Za-z0-9_.-]+; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax
