# jwt_login hardening: answers that must not become tokens (cut off, compressed, too big),
# and directive details (Max-Age=off, a query string in the jwt_login URI, signer messages).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: an answer cut short (fewer bytes than its Content-Length) gets no token
The application (a raw HTTP answer from a stream server) announces Content-Length: 100, sends the
15-byte {"sub":"alice"} and closes. nginx logs "readv() failed (104: Connection reset by peer)
while reading upstream" (or "upstream prematurely closed connection"), but an upstream error
after the header finalizes the in-memory subrequest with rc 0 (ngx_http_upstream_finalize_request
turns it into a flush + NGX_OK), so subrequest_done sees success and the module signs the partial
body. Now: 200 and a token. README: "jwt_login issues no token from a truncated answer".
Suggested check: headers_out.content_length_n >= 0 and body length != content_length_n -> 502
(chunked answers need the upstream's own state, e.g. sr->upstream->pipe/length).
--- main_config
    stream {
        server {
            listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
            return "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sub\":\"alice\"}";
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
--- error_code: 502
--- response_body_unlike: token
--- error_log
jwt_login:



=== TEST 2: a chunked answer cut before its last chunk gets no token
Now: 200 and a token.
--- main_config
    stream {
        server {
            listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
            return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nf\r\n{\"sub\":\"alice\"}\r\n";
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
--- error_code: 502
--- response_body_unlike: token



=== TEST 3: a compressed 200 answer: 502 with a log line that names the fix
The subrequest carries the client's Accept-Encoding (every browser sends one); the remedy is
`proxy_set_header Accept-Encoding "";` in the authenticator location (TEST 4).
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
--- error_code: 502
--- error_log
authenticator answered 200 with Content-Encoding: gzip; add `proxy_set_header Accept-Encoding "";` to the authenticator location; no token issued



=== TEST 4: proxy_set_header Accept-Encoding "" in the authenticator location: a token
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        proxy_set_header Accept-Encoding "";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
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
--- response_body_like: ^\{"token":"eyJ
--- no_error_log
[error]



=== TEST 5: a compressed refusal keeps its Content-Encoding (the client asked for gzip)
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
        gzip on;
        gzip_http_version 1.0;
        gzip_min_length 1;
        gzip_types application/json;
        default_type application/json;
        return 403 '{"error":"locked"}';
    }
--- request
POST /login
user=alice&password=secret
--- more_headers
Accept-Encoding: gzip
--- error_code: 403
--- response_headers
Content-Encoding: gzip
Content-Type: application/json



=== TEST 6: jwt_login_cookie Max-Age=off: a session cookie (no Max-Age)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok Max-Age=off;
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
Set-Cookie: tok=eyJ[A-Za-z0-9_.-]+; Path=/; HttpOnly; Secure; SameSite=Lax



=== TEST 7: jwt_login with a query string: the arguments reach the authenticator
--- config
    location = /login {
        jwt_login /authenticate?client=web;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","client":"$arg_client"}';
    }
--- request
POST /login
x
--- error_code: 200



=== TEST 8: a refusal bigger than subrequest_output_buffer_size: 502 and a log line
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
        default_type application/json;
        return 401 '{"error":"invalid_credentials","detail":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}';
    }
--- request
POST /login
x
--- error_code: 502
--- error_log
jwt_login:



=== TEST 9: no key at all: the message says so (and names the directive once)
--- config
    location = /login {
        jwt_login /authenticate;
    }
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] (?!.*jwt_login: jwt_login)(?!.*\(none\) are public keys only).*jwt_login.*needs a key that can sign/



=== TEST 10: jwt_login_cookie Max-Age takes seconds or off
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok Max-Age=soon;
    }
--- must_die
--- error_log eval
qr/invalid "Max-Age=soon" in "jwt_login_cookie": Max-Age takes a number of seconds or off in \S+:\d+/
