# Runner self-test: every block here must PASS (stock nginx only, no module needed).
# Run: cargo test --release -p test-nginx --test selftest
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
$ENV{TEST_NGINX_SELFTEST_GREETING} ||= "hello from the preamble";
# the runner sets TEST_NGINX_FIXTURES itself (this line is for upstream; it ignores it)
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/../fixtures";

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: return with a body (multi-line response_body keeps the final newline)
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: response_body chomp, error_code one-line form
--- config
    location = /t { return 201 "no newline"; }
--- request
GET /t
--- error_code: 201
--- response_body chomp
no newline



=== TEST 3: static user_files through the default root location, subdirectories
--- config
    # no location of its own: the default "location /" serves html/. The section must be
    # there: without --- config, upstream Test::Nginx keeps the previous block's nginx and
    # writes no user_files (a 404); this runner rejects such a block.
--- user_files
>>> index.html
<html>index</html>
>>> sub/dir/page.txt
page
--- request
GET /sub/dir/page.txt
--- response_body
page
--- response_headers
Content-Type: text/plain
Content-Length: 5



=== TEST 4: alias to $TEST_NGINX_HTML_DIR, default index
--- config
    location = /p { alias $TEST_NGINX_HTML_DIR/p.txt; }
--- user_files
>>> p.txt
alias works
>>> index.html
<html>index</html>
--- request eval
["GET /p", "GET /"]
--- response_body eval
["alias works\n", "<html>index</html>\n"]
--- error_code eval
[200, 200]



=== TEST 5: add_header, absent header, response_headers_like, raw headers
--- config
    location = /h {
        add_header X-Test "a value";
        add_header X-Multi one;
        add_header X-Multi two;
        return 204;
    }
--- request
GET /h
--- error_code: 204
--- response_headers
X-Test: a value
X-Multi: one, two
!Set-Cookie
!WWW-Authenticate
X-Not-There:
--- response_headers_like
Server: nginx(/[\d.]+)?
X-Test: a \w+
--- raw_response_headers_like: ^HTTP/1\.1 204 No Content\r\n
--- response_body



=== TEST 6: empty_gif, binary body compared with eval
--- config
    location = /gif { empty_gif; }
--- request
GET /gif
--- response_headers
Content-Type: image/gif
--- response_body_like: ^GIF89a
--- response_body eval
"GIF89a\x01\x00\x01\x00\x80\x01\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x01\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x4c\x01\x00\x3b"



=== TEST 7: chunked response from a second server (SSI) through proxy_pass
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / {
            ssi on;
            ssi_types *;
            root $TEST_NGINX_HTML_DIR;
        }
    }
--- config
    location /up/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }
    location = /direct {
        ssi on;
        ssi_types *;
        alias $TEST_NGINX_HTML_DIR/ssi.txt;
    }
--- user_files
>>> ssi.txt
before <!--# echo var="uri" --> after
--- request eval
["GET /up/ssi.txt", "GET /direct"]
--- response_headers eval
["Transfer-Encoding: chunked", "Transfer-Encoding: chunked\n!Content-Length"]
--- response_body eval
["before /ssi.txt after\n", "before /direct after\n"]



=== TEST 8: raw_request with eval, HTTP/1.0
--- config
    location = /raw { return 200 "proto=$server_protocol host=$host"; }
--- raw_request eval
"GET /raw HTTP/1.0\r\n"
. "Host: raw.example\r\n"
. "\r\n"
--- response_body chomp
proto=HTTP/1.0 host=raw.example



=== TEST 9: request body is trimmed and gets a Content-Length (upstream rule)
--- config
    location = /len { return 200 "len=$http_content_length"; }
--- request
POST /len
   hello world   
--- response_body chomp
len=11



=== TEST 10: more_headers, comments, and Host/Connection defaults
--- config
    location = /hdr { return 200 "$http_x_foo|$http_authorization|$host|$http_connection"; }
--- request
GET /hdr
--- more_headers
# a comment line
X-Foo: bar baz
Authorization: Bearer abc
--- response_body chomp
bar baz|Bearer abc|localhost|close



=== TEST 11: error_log expectations (one substring per line)
--- request
GET /missing.txt
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
No such file or directory
missing.txt
--- no_error_log
[alert]
[crit]



=== TEST 11b: error_log eval (qr// and strings)
--- request
GET /missing.txt
--- error_code: 404
--- error_log eval
[qr/open\(\) "[^"]+missing\.txt" failed \(2: No such file/, "[error]"]
--- no_error_log
[alert]
[crit]



=== TEST 12: must_die with the error in error_log
--- config
    location = /t { bogus_directive 1; }
--- must_die
--- error_log
unknown directive "bogus_directive"
--- no_error_log
[error]



=== TEST 13: must_die with an exit code
--- config
    location = /t { return 200; }
--- main_config
    no_such_main_directive on;
--- must_die: 1
--- error_log eval
qr/\[emerg\] unknown directive "no_such_main_directive"/



=== TEST 14: HEAD request: headers only
--- config
    location = /t { return 200 "twelve bytes"; }
--- request
HEAD /t
--- response_headers
Content-Length: 12
--- response_body



=== TEST 15: pipelined requests
--- config
    location /a { return 200 "A"; }
    location /b { return 404 "B"; }
--- pipelined_requests eval
["GET /a", "GET /b", "GET /a"]
--- error_code eval
[200, 404, 200]
--- response_body eval
["A", "B", "A"]



=== TEST 16: log_level warn hides notices, one-line request
--- log_level: warn
--- config
    location = /t { return 200; }
--- request: GET /t
--- no_error_log
[notice]
--- response_body



=== TEST 17: an expected [alert] (named in error_log) does not fail the block
--- main_config
    worker_rlimit_nofile 4000000000;
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
ok
--- error_log
[alert]
setrlimit(RLIMIT_NOFILE, 4000000000) failed



=== TEST 18: grep_error_log and access_log
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t?x=1
--- response_body chomp
ok
--- grep_error_log eval: qr/start worker process \d+/
--- grep_error_log_out eval
qr/\Astart worker process \d+\n\z/
--- access_log
"GET /t?x=1 HTTP/1.1" 200 2
--- no_access_log
" 404



=== TEST 19: $TEST_NGINX_* in config, body expectations, preamble env, $ServerPort
--- config
    location = /t { return 200 "port=$server_port root=$document_root greet=$TEST_NGINX_SELFTEST_GREETING"; }
--- request
GET /t
--- response_body chomp
port=$TEST_NGINX_SERVER_PORT root=$TEST_NGINX_HTML_DIR greet=hello from the preamble
--- response_body_like chomp
^port=$ServerPort root=/.+/html greet=hello from the preamble$



=== TEST 20: chunked request body from more_headers (sent as is)
--- config
    location = /c {
        client_body_buffer_size 1k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo { return 200 "len=$http_content_length te=$http_transfer_encoding"; }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /c
5\r
hello\r
6\r
 world\r
0\r
\r
"
--- response_body chomp
len=11 te=



=== TEST 21: timeout and wait sections, response_body_unlike, Perl $ at end
--- timeout: 2s
--- wait: 0.05
--- config
    location = /t { return 200 "line one\n"; }
--- request
GET /t
--- response_body_like
^line one$
--- response_body_unlike: two



=== TEST 22: qr// flags in response_body_like eval
--- config
    location = /t { return 200 "Line One\nline two"; }
--- request
GET /t
--- response_body_like eval
qr/^line one$/im



=== TEST 23: `--- error_code:` (empty) expects no response at all (return 444)
--- config
    location = /t { return 444; }
--- request
GET /t
--- error_code:



=== TEST 24: ignore_response skips the response checks
--- config
    location = /t { return 444; }
--- request
GET /t
--- ignore_response



=== TEST 25: $TEST_NGINX_FIXTURES names the repository's t/fixtures directory (absolute)
--- config
    location = /path { return 200 "$TEST_NGINX_FIXTURES"; }
    location /fx/ { alias $TEST_NGINX_FIXTURES/; autoindex on; }
--- request eval
["GET /path", "GET /fx/"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr{^/.+/t/(selftest/\.\./)?fixtures$}, qr{<title>Index of /fx/</title>}]



=== TEST 26: the setup a block without --- config runs on (next block)
--- http_config
    map $uri $from_http_config { default "http_config of TEST 26"; }
--- config
    location = /inherited { return 200 "$from_http_config"; }
--- user_files
>>> inherited.txt
user_files of TEST 26
--- request
GET /inherited
--- response_body chomp
http_config of TEST 26



=== TEST 27: no --- config: runs on the previous block's setup (its nginx, under upstream)
--- request eval
["GET /inherited", "GET /inherited.txt"]
--- response_body eval
["http_config of TEST 26", "user_files of TEST 26\n"]
