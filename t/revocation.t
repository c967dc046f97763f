# jwt_revocation_file: validly signed, unexpired tokens refused anyway (401 invalid_token,
# $jwt_error "revoked"), by jti or by subject for tokens issued before a time. The file format is
# in crates/jwt-core/src/revocation.rs; a line that is not an entry, a comment or blank stops
# nginx from loading the configuration, naming the file, the line and the directive's line.
#
# Blocks of several requests that check what the module logged do it as t/key-request.t does:
# the http level also logs to a second file at info level (`error_log $TEST_NGINX_HTML_DIR/jwt.log
# info`, next to the usual error.log), which a last request reads through `location = /jwt-log`.
# (--- error_log is checked per request by upstream Test::Nginx, on that request's own log lines,
# and once on the whole log by this project's runner; single-request blocks use it.)
#
# Tokens: HS256 with t/fixtures/keys/hmac.key, printed by t/fixtures/make-session-tokens (the
# block descriptions name them). iat 1700000000 is 2023-11-14T22:13:20Z.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: a jti in the file: 401 invalid_token, $jwt_error revoked, an info line; another token passes
tokens: good (jti tok-good-1) revoked, good2 (jti tok-good-2) not
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> revoked.txt
jti tok-good-1
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt", "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWdvb2QtMiJ9.BWfV29ZpVsI-yPeXnQOmRWWTFcMipO42JI2AH3OwJlQ", ""]
--- error_code eval
[401, 200, 200]
--- response_headers eval
["X-Jwt-Error: revoked\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", "X-Jwt-Error: ", ""]
--- response_body_like eval
[qr/401 Authorization Required/, qr/^ok$/,
qr/\[info\] [^\n]*jwt: token rejected \(revoked\): token revoked: jti "tok-good-1" is in the revocation file, client: 127\.0\.0\.1, server: localhost, request: "GET \/api\/ok\.txt HTTP\/1\.1"/]



=== TEST 2: a revoked token stays revoked when the worker's cache of verified tokens serves it
token: good, three times on one connection (the second and third are cache hits)
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
jti tok-good-1
>>> ok.txt
ok
--- pipelined_requests eval
["GET /api/ok.txt", "GET /api/ok.txt", "GET /api/ok.txt"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[401, 401, 401]
--- response_headers eval
["X-Jwt-Error: revoked", "X-Jwt-Error: revoked", "X-Jwt-Error: revoked"]



=== TEST 3: sub VALUE TIME revokes the subject's tokens issued before TIME
token: carol (sub carol, iat 1700000000); the file revokes carol before 1700000001
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub carol 1700000001
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stY2Fyb2wifQ.H7N60fPywfyye20Prtx1umovu9xuymKAdVhLSnTmK1c
--- error_code: 401
--- response_headers
X-Jwt-Error: revoked
--- error_log eval
qr/\[info\] .*jwt: token rejected \(revoked\): token revoked: sub "carol" is revoked for tokens issued before 1700000001 \(iat 1700000000\)/



=== TEST 4: a token issued at TIME or later is not revoked (a login after the revocation)
tokens: carol (iat 1700000000), the file revokes carol before 1700000000; good (alice) unaffected
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        add_header X-Sub $jwt_claim_sub always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub carol 1700000000
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stY2Fyb2wifQ.H7N60fPywfyye20Prtx1umovu9xuymKAdVhLSnTmK1c", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Jwt-Error: \nX-Sub: carol", "X-Jwt-Error: \nX-Sub: alice"]
--- no_error_log
jwt: token rejected



=== TEST 5: a subject's token without a numeric iat is revoked (its age is unknown: fail closed)
token: carol-no-iat {"sub":"carol","exp":4102444800,"jti":"tok-carol-no-iat"}
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub carol 1000000000
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWNhcm9sLW5vLWlhdCJ9.W6lVbEY0cketVcqgbfTb5qB423yOwAjYU2ZNWigr6JI
--- error_code: 401
--- error_log eval
qr/\[info\] .*jwt: token rejected \(revoked\): token revoked: sub "carol" is revoked for tokens issued before 1000000000 \(the token has no numeric auth_time or iat\)/



=== TEST 6: a fractional iat half a second before TIME is before it
token: carol-frac (iat 1699999999.5)
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub carol 1700000000
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImlhdCI6MTY5OTk5OTk5OS41LCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6InRvay1jYXJvbC1mcmFjIn0.EuGOlS5Qh78SauygTU1_BKIddF69zM3DOf5yf2iL9I0
--- error_code: 401
--- error_log eval
qr/\[info\] .*jwt: token rejected \(revoked\): token revoked: sub "carol" is revoked for tokens issued before 1700000000/



=== TEST 7: RFC 3339 UTC times: 2023-11-14T22:13:21Z is 1700000001; lower-case t and z are accepted
tokens: carol (iat 1700000000) revoked before 2023-11-14T22:13:21Z; good2 (sub bob, iat
1700000000) revoked before 2023-11-14t22:13:20z = its iat, so not revoked
The logged line is read back through /jwt-log (see the top of the file).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> revoked.txt
sub carol 2023-11-14T22:13:21Z
sub bob 2023-11-14t22:13:20z
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt", "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stY2Fyb2wifQ.H7N60fPywfyye20Prtx1umovu9xuymKAdVhLSnTmK1c", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWdvb2QtMiJ9.BWfV29ZpVsI-yPeXnQOmRWWTFcMipO42JI2AH3OwJlQ", ""]
--- error_code eval
[401, 200, 200]
--- response_headers eval
["X-Jwt-Error: revoked", "X-Jwt-Error: ", ""]
--- response_body_like eval
[qr/401 Authorization Required/, qr/^ok$/,
qr/token revoked: sub "carol" is revoked for tokens issued before 1700000001 \(iat 1700000000\)/]



=== TEST 8: comments, blank lines, tabs, CRLF line ends and a byte order mark; a value may contain #
tokens: jti-hash (jti "a#b") and carol revoked; good (tok-good-1, only in comments) passes
The logged lines are read back through /jwt-log (see the top of the file), once per line.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files eval
">>> revoked.txt\n\xef\xbb\xbf# Leaked in ticket 4711: jti tok-good-1 was a false alarm\r\n\r\n   \t \r\njti\ta#b\t# the erin token\r\n  sub   carol\t1700000001   #jti tok-good-1\r\n#jti tok-good-1\n>>> ok.txt\nok\n"
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt", "GET /api/ok.txt", "GET /jwt-log", "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlcmluIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsImp0aSI6ImEjYiJ9.ydTstKHygZStr7pdh2NazkEkbRwdtOwMaoCVC9ftBjU", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stY2Fyb2wifQ.H7N60fPywfyye20Prtx1umovu9xuymKAdVhLSnTmK1c", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "", ""]
--- error_code eval
[401, 401, 200, 200, 200]
--- response_headers eval
["X-Jwt-Error: revoked", "X-Jwt-Error: revoked", "X-Jwt-Error: ", "", ""]
--- response_body_like eval
[qr/401 Authorization Required/, qr/401 Authorization Required/, qr/^ok$/,
qr/token revoked: jti "a#b" is in the revocation file/, qr/token revoked: sub "carol" is revoked for tokens issued before 1700000001/]



=== TEST 9: a sub listed twice keeps the latest TIME, wherever the lines are
token: carol (iat 1700000000); the later line has the earlier time
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub carol 1700000001
jti tok-good-1
jti tok-good-1
sub carol 1600000000
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stY2Fyb2wifQ.H7N60fPywfyye20Prtx1umovu9xuymKAdVhLSnTmK1c
--- error_code: 401
--- error_log eval
qr/sub "carol" is revoked for tokens issued before 1700000001/



=== TEST 10: an empty file revokes nothing
token: good
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body
ok



=== TEST 11: values are compared exactly: case and prefixes do not match
tokens: good (jti tok-good-1, sub alice) against "jti TOK-GOOD-1", "jti tok-good" and "sub Alice"
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
jti TOK-GOOD-1
jti tok-good
sub Alice 4102444800
sub alic 4102444800
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 12: variables where jwt_verify is off: $jwt_error revoked and no claims
token: good
--- config
    location = /whoami {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        return 200 "error=$jwt_error sub=$jwt_claim_sub payload=$jwt_payload\n";
    }
--- user_files
>>> revoked.txt
jti tok-good-1
--- request
GET /whoami
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body
error=revoked sub= payload=



=== TEST 13: a file at the http level applies to every location; a location's own file replaces it
token: good, revoked by the http-level file only; /own has its own file (revoking good2)
--- http_config
    jwt_revocation_file $TEST_NGINX_HTML_DIR/http.txt;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Jwt-Error $jwt_error always;
    location /api/ {
        jwt_verify on;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location /own/ {
        jwt_verify on;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/own.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> http.txt
jti tok-good-1
>>> own.txt
jti tok-good-2
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /own/ok.txt", "GET /own/ok.txt"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWdvb2QtMiJ9.BWfV29ZpVsI-yPeXnQOmRWWTFcMipO42JI2AH3OwJlQ"]
--- error_code eval
[401, 200, 401]
--- response_headers eval
["X-Jwt-Error: revoked", "X-Jwt-Error: ", "X-Jwt-Error: revoked"]



=== TEST 14: the location's revocation file holds when a $jwt_ variable was read earlier in the request
token: good, revoked by /api/'s file. The server-level `set` reads $jwt_claim_sub before the
location is chosen, with the server's key ring, which /api/ shares (the same jwt_key_file, no
verification directive of its own besides jwt_verify).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $user $jwt_claim_sub;
    location /api/ {
        jwt_verify on;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        add_header X-User $user always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
jti tok-good-1
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 401
--- response_headers
X-Jwt-Error: revoked
--- response_body_like: 401 Authorization Required



=== TEST 15: an unknown entry: nginx does not start; the error names the file, its line and the directive's line
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
# revoked by hand
jti tok-good-1
user alice
--- request
GET /api/
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" "\S+\/revoked\.txt" line 3: unknown entry "user"; expected "jti VALUE" or "sub VALUE TIME" \(TIME: unix seconds or 2026-11-30T12:00:00Z\) in \S+nginx\.conf:\d+/



=== TEST 16: jti without a value
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
jti tok-good-1

jti # a comment is not a value
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" "\S+\/revoked\.txt" line 3: "jti" takes a value, found nothing; expected .* in \S+nginx\.conf:\d+/



=== TEST 17: a value with a space (two words after jti)
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
jti tok good
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" "\S+\/revoked\.txt" line 1: "jti" takes a value, found 2 words \(a value cannot contain spaces; start a comment with #\)/



=== TEST 18: sub without a time
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub alice
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" "\S+\/revoked\.txt" line 1: "sub" takes a value and a time, found 1 word; expected/



=== TEST 19: a time with fractions of a second
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub alice 2026-11-30T12:00:00Z
sub bob 2026-11-30T12:00:00.5Z
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" "\S+\/revoked\.txt" line 2: time "2026-11-30T12:00:00\.5Z": fractions of a second are not accepted/



=== TEST 20: a time with an offset
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub alice 2026-11-30T12:00:00+01:00
--- must_die
--- error_log eval
qr/\[emerg\] .*line 1: time "2026-11-30T12:00:00\+01:00": only UTC times ending in Z are accepted/



=== TEST 21: a day that does not exist (2023 is not a leap year)
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub alice 2024-02-29T00:00:00Z
sub bob 2023-02-29T00:00:00Z
--- must_die
--- error_log eval
qr/\[emerg\] .*line 2: time "2023-02-29T00:00:00Z": day 29 is not in 1..=28/



=== TEST 22: a time that is neither unix seconds nor RFC 3339
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
sub alice yesterday
--- must_die
--- error_log eval
qr/\[emerg\] .*line 1: time "yesterday": not unix seconds nor a UTC time like 2026-11-30T12:00:00Z/



=== TEST 23: a time too large for 64 bits
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/huge.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> huge.txt
sub alice 99999999999999999999999
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" "\S+\/huge\.txt" line 1: time "99999999999999999999999" is too large/



=== TEST 24: a line that is not UTF-8 text names the line and the byte
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files eval
">>> revoked.txt\njti tok-good-1\r\njti caf\xe9\r\n"
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" "\S+\/revoked\.txt" line 2: not UTF-8 text \(byte 8 of the line\)/



=== TEST 25: a file that does not exist
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/nope.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" cannot read "\S+\/nope\.txt": No such file or directory.* in \S+nginx\.conf:\d+/



=== TEST 26: twice at one level
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/a.txt;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/b.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> a.txt
jti x
>>> b.txt
jti y
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_revocation_file" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 27: a relative path is resolved against the directory of nginx.conf
token: good (jti tok-good-1 in the file at ../html/revoked.txt from conf/)
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file ../html/revoked.txt;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/;
    }
--- user_files
>>> revoked.txt
jti tok-good-1
>>> ok.txt
ok
--- request
GET /api/ok.txt
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 401
--- response_headers
X-Jwt-Error: revoked
