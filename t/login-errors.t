# jwt_login: what the client gets when the application refuses, redirects, fails, is down or
# slow, or answers something that is not a JSON object (and which of the application's headers
# reach the client); how the client's request body is read (size limits, temporary files, chunked
# bodies) and forwarded; keep-alive after each kind of answer.
#
# A few blocks play the application with a stream server that answers every connection with
# fixed bytes ($TEST_NGINX_RAND_PORT_1), for answers nginx's http module would not produce.
# Cut-off, compressed and oversized answers are in t/login-hardening.t.
#
# Key: t/fixtures/login/hmac.key, read as $TEST_NGINX_FIXTURES/login/hmac.key.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: the application answers 401 with JSON: the client gets the same 401, body and type
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        default_type application/json;
        return 401 '{"error":"invalid_credentials"}';
    }
--- request
POST /login
user=alice&password=wrong
--- error_code: 401
--- response_headers
Content-Type: application/json
Content-Length: 31
!Set-Cookie
--- response_body chomp
{"error":"invalid_credentials"}
--- no_error_log
[error]
[alert]
no token issued



=== TEST 2: the same with proxy_intercept_errors on (no error_page for 401: still passed through)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_intercept_errors on;
    }
    location = /backend {
        default_type application/json;
        return 401 '{"error":"invalid_credentials"}';
    }
--- request
POST /login
user=alice&password=wrong
--- error_code: 401
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"invalid_credentials"}
--- no_error_log
[error]
[alert]



=== TEST 3: the application answers 403 with HTML and a charset: passed through
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
        default_type text/html;
        charset utf-8;
        return 403 "<p>account locked</p>\n";
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 403
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body
<p>account locked</p>
--- no_error_log
[error]
[alert]



=== TEST 4: the application answers 500 with a body: passed through
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
        default_type text/plain;
        return 500 "database unavailable\n";
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 500
--- response_headers
Content-Type: text/plain
--- response_body
database unavailable
--- no_error_log
[alert]
no token issued



=== TEST 5: the application answers 500 with an empty body: nginx's own 500 page
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
        return 500 "";
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 500
--- response_body_like: 500 Internal Server Error
--- no_error_log
[alert]



=== TEST 6: the application answers 201 with a JSON object: not 200, passed through, no token
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
        return 201 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 201
--- response_body chomp
{"sub":"alice"}



=== TEST 7: the application is down: 502
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:1/;
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_headers
!Set-Cookie
--- response_body_like: 502 Bad Gateway
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
--- no_error_log
[alert]



=== TEST 8: the application does not answer within proxy_read_timeout: 504
/slow waits for a request body that never comes (/authenticate announces 10 bytes and sends none)
and so never answers.
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/slow;
        proxy_read_timeout 1s;
        proxy_pass_request_body off;
        proxy_set_header Content-Length 10;
    }
    location = /slow {
        proxy_pass http://127.0.0.1:1/;
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 504
--- response_body_like: 504 Gateway Time-out
--- error_log
upstream timed out (110: Connection timed out) while reading response header from upstream
--- no_error_log
[alert]



=== TEST 9: 200 with an empty body: 502, no token
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 "";
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_headers
!Set-Cookie
!Cache-Control
--- response_body_like: 502 Bad Gateway
--- error_log eval
qr/\[error\] .*jwt_login: authenticator answered 200 with an empty body; no token issued/
--- no_error_log
[alert]



=== TEST 10: 200 with white space only: 502 (empty body)
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
        return 200 " \n\t ";
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- error_log
jwt_login: authenticator answered 200 with an empty body; no token issued



=== TEST 11: 200 with a body that is not JSON: 502
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
        return 200 "welcome, alice\n";
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_body_like: 502 Bad Gateway
--- error_log eval
qr/\[error\] .*jwt_login: authenticator answered 200 with a body that is not JSON: .*; no token issued/
--- no_error_log
[alert]



=== TEST 12: 200 with a JSON object followed by garbage: 502
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
        return 200 '{"sub":"alice"} {"sub":"root"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- error_log
jwt_login: authenticator answered 200 with a body that is not JSON



=== TEST 13: 200 with a truncated JSON object: 502
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
        return 200 '{"sub":"alice","roles":["adm';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- error_log
jwt_login: authenticator answered 200 with a body that is not JSON



=== TEST 14: 200 with a JSON array: 502
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
        return 200 '[{"sub":"alice"}]';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_body_like: 502 Bad Gateway
--- error_log eval
qr/\[error\] .*jwt_login: authenticator answered 200 with JSON that is not an object of claims; no token issued/
--- no_error_log
[alert]



=== TEST 15: 200 with a JSON string: 502
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
        return 200 '"alice"';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- error_log
jwt_login: authenticator answered 200 with JSON that is not an object of claims; no token issued



=== TEST 16: 200 with JSON null: 502
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
        return 200 'null';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- error_log
jwt_login: authenticator answered 200 with JSON that is not an object of claims; no token issued



=== TEST 17: 200 with JSON nested 1000 levels deep: 502, no crash
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/deep.json;
    }
--- user_files eval
">>> deep.json
{\"sub\":" . ("[" x 1000) . ("]" x 1000) . "}
"
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- error_log
jwt_login: authenticator answered 200 with a body that is not JSON
--- no_error_log
[alert]



=== TEST 18: a 20 KB answer does not fit the default subrequest_output_buffer_size: 502
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/big.json;
    }
--- user_files eval
">>> big.json
{\"sub\":\"alice\",\"pad\":\"" . ("a" x 20480) . "\"}
"
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_headers
!Set-Cookie
--- response_body_like: 502 Bad Gateway
--- response_body_unlike: token
--- error_log eval
[
qr/\[error\] .*too big subrequest response: \d+/,
qr/\[error\] .*jwt_login: authenticator answered 200 but its response was not received whole \(bigger than the authenticator location's subrequest_output_buffer_size, or cut off\); no token issued/,
]
--- no_error_log
[alert]



=== TEST 19: a 5 KB answer with subrequest_output_buffer_size 32k: 200, a token of about 7 KB
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        subrequest_output_buffer_size 32k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/big.json;
    }
--- user_files eval
">>> big.json
{\"sub\":\"alice\",\"pad\":\"" . ("a" x 5000) . "\"}
"
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]{6600,}\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]
[alert]



=== TEST 20: an answer of exactly subrequest_output_buffer_size bytes fits
The file is 64 bytes: {"sub":"alice","pad":"<39 x a>"} and a newline.
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        subrequest_output_buffer_size 64;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/claims.json;
    }
--- user_files eval
">>> claims.json
{\"sub\":\"alice\",\"pad\":\"" . ("a" x 39) . "\"}
"
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ
--- no_error_log
[error]



=== TEST 21: one byte more than subrequest_output_buffer_size: 502
The file is 65 bytes.
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        subrequest_output_buffer_size 64;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/claims.json;
    }
--- user_files eval
">>> claims.json
{\"sub\":\"alice\",\"pad\":\"" . ("a" x 40) . "\"}
"
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- error_log
too big subrequest response: 65
jwt_login: authenticator answered 200 but its response was not received whole



=== TEST 22: a client body over client_max_body_size: 413, the application is not asked
--- config
    location = /login {
        client_max_body_size 64k;
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
--- request eval
"POST /login
" . ("a" x 1048576)
--- error_code: 413
--- response_body_like: 413 Request Entity Too Large
--- no_access_log
POST /backend
--- error_log
client intended to send too large body: 1048576 bytes
--- no_error_log
[alert]
no token issued



=== TEST 23: a chunked client body: read whole and forwarded to the application
/echo answers 200 only if /backend got the de-chunked body with its length.
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
        proxy_set_header X-Got "$request_method|$content_type|$content_length|$request_body";
    }
    location = /echo {
        if ($http_x_got = "POST|application/x-www-form-urlencoded|26|user=alice&password=secret") {
            return 200 '{"sub":"alice"}';
        }
        return 403 "got: $http_x_got\n";
    }
--- raw_request eval
"POST /login HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/x-www-form-urlencoded\r
Transfer-Encoding: chunked\r
\r
a\r
user=alice\r
10\r
&password=secret\r
0\r
\r
"
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]
[alert]



=== TEST 24: a chunked client body over client_max_body_size: 413
--- config
    location = /login {
        client_max_body_size 16;
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- raw_request eval
"POST /login HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: chunked\r
\r
a\r
user=alice\r
10\r
&password=secret\r
0\r
\r
"
--- error_code: 413
--- error_log
client intended to send too large chunked body
--- no_error_log
no token issued



=== TEST 25: a body bigger than client_body_buffer_size goes to a temporary file and is forwarded whole
The body is 4096 bytes: user=alice&pad=<4075 x a>&end=1. /echo answers 200 only if /backend got
4096 bytes that begin and end as sent.
--- http_config
    map $request_body $body_ends {
        "~^(?<head>.{10}).*(?<tail>.{6})$"  "$head...$tail";
        default                             "unexpected";
    }
--- config
    location = /login {
        client_body_buffer_size 1k;
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        client_body_buffer_size 16k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
        proxy_set_header X-Got "$content_length|$body_ends";
    }
    location = /echo {
        if ($http_x_got = "4096|user=alice...&end=1") {
            return 200 '{"sub":"alice"}';
        }
        return 403 "got: $http_x_got\n";
    }
--- request eval
"POST /login
user=alice&pad=" . ("a" x 4075) . "&end=1"
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]
[alert]



=== TEST 26: client_body_in_file_only on: the body is read from the file and forwarded
--- http_config
    map $request_body $body_ends {
        "~^(?<head>.{10}).*(?<tail>.{6})$"  "$head...$tail";
        default                             "unexpected";
    }
--- config
    location = /login {
        client_body_in_file_only on;
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
        proxy_set_header X-Got "$content_length|$body_ends";
    }
    location = /echo {
        if ($http_x_got = "26|user=alice...secret") {
            return 200 '{"sub":"alice"}';
        }
        return 403 "got: $http_x_got\n";
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ
--- no_error_log
[error]
[alert]



=== TEST 27: keep-alive: two logins on one connection
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
        return 200 '{"sub":"$arg_u"}';
    }
--- pipelined_requests eval
["POST /login
user=alice&password=secret",
"POST /login
user=bob&password=secret"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$/,
qr/^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$/]
--- no_error_log
[error]
[alert]



=== TEST 28: keep-alive: a GET with a body (405, body discarded), then a login
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- pipelined_requests eval
["GET /login
user=alice&password=secret",
"POST /login
user=alice&password=secret"]
--- error_code eval
[405, 200]
--- response_body_like eval
[qr/405 Not Allowed/,
qr/^\{"token":"eyJ/]
--- no_error_log
[error]
[alert]



=== TEST 29: keep-alive: a refused login (401 passed through), then a good one
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/check;
        proxy_set_header X-Body $request_body;
    }
    location = /check {
        default_type application/json;
        if ($http_x_body = "user=alice&password=secret") {
            return 200 '{"sub":"alice"}';
        }
        return 401 '{"error":"invalid_credentials"}';
    }
--- pipelined_requests eval
["POST /login
user=alice&password=wrong",
"POST /login
user=alice&password=secret"]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/^\{"error":"invalid_credentials"\}$/,
qr/^\{"token":"eyJ/]
--- no_error_log
[error]
[alert]



=== TEST 30: keep-alive: an answer too big for the buffer (502), then a login on the same connection
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        subrequest_output_buffer_size 64;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"$arg_u","pad":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}';
    }
    location = /login2 {
        jwt_login /authenticate2;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate2 {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- pipelined_requests eval
["POST /login
user=alice&password=secret",
"POST /login2
user=alice&password=secret"]
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/502 Bad Gateway/,
qr/^\{"token":"eyJ/]
--- no_error_log
[alert]



=== TEST 31: keep-alive: an invalid answer (502), then a login on the same connection
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 'not json';
    }
    location = /login2 {
        jwt_login /authenticate2;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate2 {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- pipelined_requests eval
["POST /login
user=alice&password=secret",
"POST /login2
user=alice&password=secret"]
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/502 Bad Gateway/,
qr/^\{"token":"eyJ/]
--- no_error_log
[alert]



=== TEST 32: error_page applies to a 502 from jwt_login
--- config
    error_page 502 /sorry.html;
    location = /sorry.html {
        internal;
        alias $TEST_NGINX_HTML_DIR/sorry.html;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 'not json';
    }
--- user_files
>>> sorry.html
login is unavailable
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_body
login is unavailable



=== TEST 33: the authenticator location does not exist: its 404 is passed through
--- config
    location = /login {
        jwt_login /nowhere;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 404
--- no_error_log
[alert]
no token issued



=== TEST 34: jwt_login pointing at its own location: 500 (nginx refuses nested in-memory subrequests)
--- config
    location = /login {
        jwt_login /login;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 500
--- error_log
nested in-memory subrequest "/login"
--- no_error_log
[alert]
[crit]



=== TEST 35: the client stops sending its body: client_body_timeout, 408 without an answer, no subrequest
nginx closes the connection without a response after client_body_timeout (it logs nothing but
the access log line).
--- config
    location = /login {
        client_body_timeout 1s;
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
--- raw_request eval
"POST /login HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Length: 100\r
\r
user=alice"
--- timeout: 5
--- ignore_response
--- access_log
"POST /login HTTP/1.1" 408
--- no_access_log
POST /backend
--- no_error_log
[error]
[alert]



=== TEST 36: an application that compresses for clients that ask: Accept-Encoding cleared, a token
The subrequest carries the client's headers, Accept-Encoding included; the authenticator
location clears it so that the application answers plain JSON (see
t/login-hardening.t TEST 3 for what happens otherwise: 502 naming this fix).
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_set_header Accept-Encoding "";
    }
    location = /backend {
        gzip on;
        gzip_http_version 1.0;
        gzip_min_length 1;
        gzip_types application/json;
        default_type application/json;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- more_headers
Accept-Encoding: gzip
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[error]



=== TEST 37: the application redirects (302 with a body): status, Location and body reach the client
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 302 https://example.com/second-factor;
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 302
--- response_headers
Location: https://example.com/second-factor
!Set-Cookie
--- response_body_like: 302 Found
--- no_error_log
[error]
[alert]



=== TEST 38: the application redirects with an empty body: 302 with its Location and nginx's page
The application is a raw HTTP answer from a stream server (the stream module answers any
connection with these bytes and closes it).
--- main_config
    stream {
        server {
            listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
            return "HTTP/1.0 302 Found\r\nLocation: https://example.com/second-factor\r\nContent-Length: 0\r\n\r\n";
        }
    }
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 302
--- response_headers
Location: https://example.com/second-factor
--- response_body_like: 302 Found
--- no_error_log
[alert]



=== TEST 39: a refusal passes WWW-Authenticate and Retry-After; cookies and other headers stay behind
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
        add_header WWW-Authenticate 'Basic realm="app"' always;
        add_header Retry-After 30 always;
        add_header Set-Cookie "attempts=3; Path=/login" always;
        add_header X-App-Debug "user unknown" always;
        return 429 '{"error":"too_many_attempts"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 429
--- response_headers
WWW-Authenticate: Basic realm="app"
Retry-After: 30
Content-Type: application/json
!Set-Cookie
!X-App-Debug
--- response_body chomp
{"error":"too_many_attempts"}
--- no_error_log
[alert]



=== TEST 40: the application's headers stay behind with a 200 too (only the token answer's own)
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
        add_header Set-Cookie "app_session=1; Path=/" always;
        add_header Location /elsewhere always;
        add_header X-App-Debug "ok" always;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!Set-Cookie
!Location
!X-App-Debug
--- response_body_like: ^\{"token":"eyJ



=== TEST 41: a chunked answer from an HTTP/1.1 application is read whole: a token
The application is a raw HTTP answer from a stream server: {"sub": and "alice"} in two chunks.
--- main_config
    stream {
        server {
            listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
            return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n7\r\n{\"sub\":\r\n8\r\n\"alice\"}\r\n0\r\n\r\n";
        }
    }
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
--- request
POST /login
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
[alert]



=== TEST 42: a 20 KB answer that fits subrequest_output_buffer_size 32k, but the token would be over the 8192 bytes jwt_verify accepts: 502
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        subrequest_output_buffer_size 32k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/big.json;
    }
--- user_files eval
">>> big.json
{\"sub\":\"alice\",\"pad\":\"" . ("a" x 20480) . "\"}
"
--- request
POST /login
user=alice&password=secret
--- error_code: 502
--- response_body_unlike: token
--- error_log eval
qr/\[error\] .*jwt_login: the token would be \d+ bytes, more than the 8192 that jwt_verify accepts: the authenticator's claims are too big; no token issued/
--- no_error_log
[alert]
