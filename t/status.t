# jwt_status: the module's counters in the Prometheus text exposition format (0.0.4), summed
# over workers (they live in the shared zone). Each block starts a fresh nginx (counters at 0),
# sends its requests one after the other and reads /status last; the figures must have grown by
# exactly those requests. Two workers, reloads and the real Prometheus parser
# (prometheus_client) are in crates/test-nginx/tests/sessions.rs.
#
# Blocks of several requests that check what the module logged do it as t/key-request.t does:
# the http level also logs to a second file at info level (`error_log $TEST_NGINX_HTML_DIR/jwt.log
# info`, next to the usual error.log), which a last request reads through `location = /jwt-log`.
# (--- error_log is checked per request by upstream Test::Nginx, on that request's own log lines,
# and once on the whole log by this project's runner; single-request blocks use it.)
#
# Tokens: HS256 with t/fixtures/keys/hmac.key, printed by t/fixtures/make-session-tokens (the
# block descriptions name them).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: every series, at 0, with HELP and TYPE; text/plain version 0.0.4, no-store
jwt_status alone makes the module's zone exist.
--- config
    location = /status {
        jwt_status;
    }
--- request
GET /status
--- error_code: 200
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
Cache-Control: no-store
--- response_body
# HELP jwt_verifications_total Access-phase verifications, by result: ok or the $jwt_error code.
# TYPE jwt_verifications_total counter
jwt_verifications_total{result="ok"} 0
jwt_verifications_total{result="missing"} 0
jwt_verifications_total{result="too_large"} 0
jwt_verifications_total{result="malformed"} 0
jwt_verifications_total{result="algorithm"} 0
jwt_verifications_total{result="crit"} 0
jwt_verifications_total{result="key"} 0
jwt_verifications_total{result="signature"} 0
jwt_verifications_total{result="typ"} 0
jwt_verifications_total{result="issuer"} 0
jwt_verifications_total{result="audience"} 0
jwt_verifications_total{result="expired"} 0
jwt_verifications_total{result="not_yet_valid"} 0
jwt_verifications_total{result="revoked"} 0
# HELP jwt_authorization_denied_total Valid tokens denied by an authorization rule, by directive.
# TYPE jwt_authorization_denied_total counter
jwt_authorization_denied_total{rule="jwt_require"} 0
jwt_authorization_denied_total{rule="jwt_require_claim"} 0
# HELP jwt_token_cache_total Lookups in the per-worker cache of verified tokens.
# TYPE jwt_token_cache_total counter
jwt_token_cache_total{result="hit"} 0
jwt_token_cache_total{result="miss"} 0
# HELP jwt_logins_total jwt_login requests: issued, the authenticator's answer passed on by status class, or error (502: an unusable authenticator answer).
# TYPE jwt_logins_total counter
jwt_logins_total{result="issued"} 0
jwt_logins_total{result="1xx"} 0
jwt_logins_total{result="2xx"} 0
jwt_logins_total{result="3xx"} 0
jwt_logins_total{result="4xx"} 0
jwt_logins_total{result="5xx"} 0
jwt_logins_total{result="error"} 0
# HELP jwt_refreshes_total jwt_refresh requests, by result.
# TYPE jwt_refreshes_total counter
jwt_refreshes_total{result="issued"} 0
jwt_refreshes_total{result="refused"} 0
# HELP jwt_logouts_total jwt_logout requests, by result (full: the revocation set had no room).
# TYPE jwt_logouts_total counter
jwt_logouts_total{result="revoked"} 0
jwt_logouts_total{result="refused"} 0
jwt_logouts_total{result="full"} 0
# HELP jwt_revoked_total Valid tokens refused as revoked, by where the revocation came from.
# TYPE jwt_revoked_total counter
jwt_revoked_total{source="file"} 0
jwt_revoked_total{source="logout"} 0
# HELP jwt_key_fetches_total jwt_key_request fetches of a JWKS, by result.
# TYPE jwt_key_fetches_total counter
jwt_key_fetches_total{result="ok"} 0
jwt_key_fetches_total{result="unchanged"} 0
jwt_key_fetches_total{result="failed"} 0
--- no_error_log
[error]



=== TEST 2: HEAD answers the headers only; other methods 405 with Allow: GET, HEAD
--- config
    location = /status {
        jwt_status;
    }
--- request eval
["HEAD /status", "POST /status\nx", "DELETE /status"]
--- error_code eval
[200, 405, 405]
--- response_headers eval
["Content-Type: text/plain; version=0.0.4; charset=utf-8\nCache-Control: no-store", "Allow: GET, HEAD", "Allow: GET, HEAD"]
--- response_body_like eval
[qr/^$/, qr/405 Not Allowed/, qr/405 Not Allowed/]



=== TEST 3: verifications by result, and the cache lookups behind them
tokens: good twice (a miss, then a hit), none (no lookup), forged (a miss), expired (a miss);
the /status request itself counts nothing
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /status {
        jwt_status;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt", "GET /api/ok.txt", "GET /api/ok.txt", "GET /api/ok.txt", "GET /status", "GET /status"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.xFo3YxbALspEJKRFHQNYHQ-6No2A7QzGSOmvkFb-E7A", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTYwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDAwLCJqdGkiOiJ0b2stZXhwaXJlZCJ9.ifEsCMtldt5wBP4FO5MHckOgm5LFqQpyFQx4k3J9AwU", "", ""]
--- error_code eval
[200, 200, 401, 401, 401, 200, 200]
--- response_body_like eval
[qr/^ok$/, qr/^ok$/, qr/401/, qr/401/, qr/401/,
qr/\njwt_verifications_total\{result="ok"\} 2\njwt_verifications_total\{result="missing"\} 1\njwt_verifications_total\{result="too_large"\} 0\njwt_verifications_total\{result="malformed"\} 0\njwt_verifications_total\{result="algorithm"\} 0\njwt_verifications_total\{result="crit"\} 0\njwt_verifications_total\{result="key"\} 0\njwt_verifications_total\{result="signature"\} 1\njwt_verifications_total\{result="typ"\} 0\njwt_verifications_total\{result="issuer"\} 0\njwt_verifications_total\{result="audience"\} 0\njwt_verifications_total\{result="expired"\} 1\njwt_verifications_total\{result="not_yet_valid"\} 0\njwt_verifications_total\{result="revoked"\} 0\n.*\njwt_token_cache_total\{result="hit"\} 1\njwt_token_cache_total\{result="miss"\} 3\n/s,
qr/\njwt_verifications_total\{result="ok"\} 2\njwt_verifications_total\{result="missing"\} 1\n.*\njwt_token_cache_total\{result="hit"\} 1\njwt_token_cache_total\{result="miss"\} 3\n/s]



=== TEST 4: authorization denials by rule; the token itself verified (ok)
token: good (roles ["admin"], no claim "staff"): jwt_require $jwt_claim_staff and
jwt_require_claim roles any root both deny
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location /require/ {
        jwt_verify on;
        jwt_require $jwt_claim_staff;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location /claim/ {
        jwt_verify on;
        jwt_require_claim roles any root;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location /admin/ {
        jwt_verify on;
        jwt_require_claim roles any admin;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /status {
        jwt_status;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /require/ok.txt", "GET /claim/ok.txt", "GET /claim/ok.txt", "GET /admin/ok.txt", "GET /status"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", ""]
--- error_code eval
[403, 403, 403, 200, 200]
--- response_body_like eval
[qr/403/, qr/403/, qr/403/, qr/^ok$/, qr/\njwt_verifications_total\{result="ok"\} 4\n.*\njwt_authorization_denied_total\{rule="jwt_require"\} 1\njwt_authorization_denied_total\{rule="jwt_require_claim"\} 2\n/s]



=== TEST 5: logins by result: issued, the authenticator's status class passed on, error
The authenticator answers by the client's X-Answer header (the subrequest carries the client's
headers): a JSON object (issued), 401, 302, 503, or a 200 that is not JSON (502, error). GET
/login is refused before any exchange and counts nothing. The unusable answer logs an error
(read back through /jwt-log).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location = /authenticate {
        internal;
        if ($http_x_answer = ok) { return 200 '{"sub":"alice"}'; }
        if ($http_x_answer = no) { return 401 '{"error":"invalid_credentials"}'; }
        if ($http_x_answer = mfa) { return 302 /mfa; }
        if ($http_x_answer = down) { return 503 'down'; }
        return 200 'not json';
    }
    location = /status {
        jwt_status;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- request eval
["POST /login\nx", "POST /login\nx", "POST /login\nx", "POST /login\nx", "POST /login\nx", "POST /login\nx", "GET /login", "GET /status", "GET /jwt-log"]
--- more_headers eval
["X-Answer: ok", "X-Answer: ok", "X-Answer: no", "X-Answer: mfa", "X-Answer: down", "X-Answer: junk", "X-Answer: ok", "", ""]
--- error_code eval
[200, 200, 401, 302, 503, 502, 405, 200, 200]
--- response_body_like eval
[qr/"token"/, qr/"token"/, qr/invalid_credentials/, qr/302 Found/, qr/down/, qr/502/, qr/405/, qr/\n# TYPE jwt_logins_total counter\njwt_logins_total\{result="issued"\} 2\njwt_logins_total\{result="1xx"\} 0\njwt_logins_total\{result="2xx"\} 0\njwt_logins_total\{result="3xx"\} 1\njwt_logins_total\{result="4xx"\} 1\njwt_logins_total\{result="5xx"\} 1\njwt_logins_total\{result="error"\} 1\n/,
qr/\[error\] [^\n]*jwt_login: [^\n]*no token issued/]



=== TEST 6: refreshes: issued, and refused for an invalid or missing token
tokens: good (issued), forged (refused), none (refused)
--- config
    location = /refresh {
        jwt_refresh;
        jwt_refresh_max_age off;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    }
    location = /status {
        jwt_status;
    }
--- request eval
["POST /refresh", "POST /refresh", "POST /refresh", "GET /refresh", "GET /status"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.xFo3YxbALspEJKRFHQNYHQ-6No2A7QzGSOmvkFb-E7A", "", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", ""]
--- error_code eval
[200, 401, 401, 405, 200]
--- response_body_like eval
[qr/"token"/, qr/401/, qr/401/, qr/405/, qr/\n# TYPE jwt_refreshes_total counter\njwt_refreshes_total\{result="issued"\} 1\njwt_refreshes_total\{result="refused"\} 2\n/]



=== TEST 7: a refresh refused because the session is older than jwt_refresh_max_age counts as refused
token: good (iat 1700000000), default jwt_refresh_max_age 1d: 401; then the same token with
max_age off: issued. The refusal's reason is logged (read back through /jwt-log).
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location = /refresh {
        jwt_refresh;
    }
    location = /refresh-any-age {
        jwt_refresh;
        jwt_refresh_max_age off;
    }
    location = /status {
        jwt_status;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- request eval
["POST /refresh", "POST /refresh-any-age", "GET /status", "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code eval
[401, 200, 200, 200]
--- response_body_like eval
[qr/401/, qr/"token"/, qr/\n# TYPE jwt_refreshes_total counter\njwt_refreshes_total\{result="issued"\} 1\njwt_refreshes_total\{result="refused"\} 1\n/,
qr/jwt_refresh: the session began at 1700000000, more than max_age 86400s ago/]



=== TEST 8: logouts by result, and the revocations they cause
tokens: good logged out (revoked), then refused at /api/ (revoked by logout) and at /logout again
(refused); forged and no-jti refused; good2 finds the set full (jwt_logout_capacity 1), which
logs an error (read back through /jwt-log)
--- http_config
    jwt_logout_capacity 1;
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log info;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location = /logout {
        jwt_logout;
    }
    location /api/ {
        jwt_verify on;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /status {
        jwt_status;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["POST /logout", "GET /api/ok.txt", "POST /logout", "POST /logout", "POST /logout", "POST /logout", "GET /status", "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.xFo3YxbALspEJKRFHQNYHQ-6No2A7QzGSOmvkFb-E7A", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.NISHEI7xBWlVA5hpV6InODQ0kFuRFZMTvsh-P1bow2Y", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWdvb2QtMiJ9.BWfV29ZpVsI-yPeXnQOmRWWTFcMipO42JI2AH3OwJlQ", "", ""]
--- error_code eval
[204, 401, 401, 401, 400, 503, 200, 200]
--- response_body_like eval
[qr/^$/, qr/401/, qr/401/, qr/401/, qr/400/, qr/503/, qr/\njwt_verifications_total\{result="ok"\} 0\n(?:.*\n)?jwt_verifications_total\{result="revoked"\} 1\n.*\n# TYPE jwt_logouts_total counter\njwt_logouts_total\{result="revoked"\} 1\njwt_logouts_total\{result="refused"\} 3\njwt_logouts_total\{result="full"\} 1\n# HELP jwt_revoked_total [^\n]*\n# TYPE jwt_revoked_total counter\njwt_revoked_total\{source="file"\} 0\njwt_revoked_total\{source="logout"\} 2\n/s,
qr/\[error\] [^\n]*jwt_logout: the revocation set is full/]



=== TEST 9: revocations by file
tokens: good (jti in the file) twice, good2 (not in it) once
--- config
    location /api/ {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /status {
        jwt_status;
    }
--- user_files
>>> revoked.txt
jti tok-good-1
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt", "GET /api/ok.txt", "GET /status"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoidG9rLWdvb2QtMiJ9.BWfV29ZpVsI-yPeXnQOmRWWTFcMipO42JI2AH3OwJlQ", ""]
--- error_code eval
[401, 401, 200, 200]
--- response_body_like eval
[qr/401/, qr/401/, qr/^ok$/, qr/\njwt_verifications_total\{result="ok"\} 1\n(?:.*\n)?jwt_verifications_total\{result="revoked"\} 2\n.*\njwt_revoked_total\{source="file"\} 2\njwt_revoked_total\{source="logout"\} 0\n/s]



=== TEST 10: key fetches: one successful fetch serves later requests; a failing source counts failed
/_jwks answers t/fixtures/keys/jwks.json; /_broken answers 404. Requests without a token still
make the location fetch its keys (then fail with "missing").
--- config
    location = /_jwks {
        internal;
        default_type application/json;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /_broken {
        internal;
        return 404;
    }
    location /api/ {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location /broken/ {
        jwt_verify on;
        jwt_key_request /_broken;
        alias $TEST_NGINX_HTML_DIR/;
    }
    location = /status {
        jwt_status;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /api/ok.txt", "GET /api/ok.txt", "GET /broken/ok.txt", "GET /broken/ok.txt", "GET /status"]
--- error_code eval
[401, 401, 401, 401, 200]
--- response_body_like eval
[qr/401/, qr/401/, qr/401/, qr/401/, qr/\njwt_verifications_total\{result="ok"\} 0\njwt_verifications_total\{result="missing"\} 4\n.*\n# TYPE jwt_key_fetches_total counter\njwt_key_fetches_total\{result="ok"\} 1\njwt_key_fetches_total\{result="unchanged"\} 0\njwt_key_fetches_total\{result="failed"\} 1\n$/s]



=== TEST 11: jwt_status behind jwt_verify: the counters need a valid token, and count that check
token: good for the second request
--- config
    location = /status {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_status;
    }
--- request eval
["GET /status", "GET /status"]
--- more_headers eval
["", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss"]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/401 Authorization Required/, qr/\njwt_verifications_total\{result="ok"\} 1\njwt_verifications_total\{result="missing"\} 1\n/]
