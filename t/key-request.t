# jwt_key_request: the key set is fetched by an in-memory subrequest to a local URI (in these
# tests a location that serves a file with `alias`, or proxies to one), kept in the module's
# shared memory zone for every worker, refreshed after jwt_key_cache, refetched (at most once
# per refetch interval) for a token whose kid is unknown, and kept when a later fetch fails.
#
# Every block runs two workers. Fetches are counted with the JWKS location's own access log
# (`log_subrequest on`, format "jwks" = "$uri $status"), which a last request reads back through
# `location = /count`. Protected locations answer in the content phase (`alias`), never with
# `return`, which runs before the access check.
#
# Blocks of several requests that check what the module logged do it the same way: the http
# level logs to a second file at notice level (`error_log $TEST_NGINX_HTML_DIR/jwt.log notice`,
# next to the usual error.log), which the last request reads through `location = /jwt-log`; its
# pattern lists every "jwt: " line in order, so a line logged once more than expected fails it.
# (--- error_log and --- grep_error_log are checked per request by upstream Test::Nginx, and
# once on the whole log by this project's runner; single-request blocks use them.)
#
# Keys and tokens (all tokens expire 4102444800):
# * t/fixtures/keys/jwks.json: oct-1 (a secret: never taken from a remote set), rsa-1 (the key
#   of keys/rsa.key), ec-1 (keys/ec256.key), ed-1 (keys/ed25519.key). Blocks that need a set
#   of their own carry it inline (rsa-only.json: just rsa-1).
# * tokens/rs256-jwks.jwt, es256-jwks.jwt, eddsa-jwks.jwt: kid rsa-1 / ec-1 / ed-1,
#   {"sub":"alice"}; tokens/hs256.jwt: HS256 with keys/hmac.key, no kid.
# * t/fixtures/providers/NAME.json: key sets in the shape each provider publishes, with their
#   private keys NAME.key.pem.
# * The other tokens are printed by t/fixtures/make-key-request-tokens (PyJWT): rsa-1-aud-api
#   (rsa-1, "aud":"api"), rsa-kid-rotated (keys/rsa.key under kid "rotated-2", which no set
#   has unless said), rsa-no-kid, and one token per provider key (sub "NAME-user").
#
# Blocks where time must pass between two requests (a refetch interval) send two requests to
# /sleep, limited by limit_req to 20r/m with burst=1: nginx delays the second by 3 seconds.
# Everything else that depends on time or concurrency (expiry, max-age, many first requests on
# two workers, a slow provider, a provider that comes back, a response cut off, a client that
# leaves during the fetch, reloads) is in crates/test-nginx/tests/key_request.rs.
use Test::Nginx::Socket 'no_plan';

workers(2);

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: the first request fetches the set; the next requests (new connections, either worker) use it: one fetch
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /count",
 "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200,
 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", "X-Sub: ",
 ""]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^/_jwks 200\n\\z",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks": key #1 \(kid "oct-1"\): [^\n]*"oct"[^\n]*: skipped[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks": fetched 3 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 2: pipelined requests on one connection: the first fetches, the other 19 use the set
--- http_config
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
--- pipelined_requests eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /count"]
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
--- response_body eval
["ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "ok\n", "/_jwks 200\n"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 3: one set, every kind of remote key: RSA, EC and Ed25519 tokens verify; the set's secret (oct) verifies nothing
Tokens: rs256-jwks, es256-jwks, eddsa-jwks, rsa-no-kid (rsa-1's key, no kid: every RSA key of
the set is tried), hs256-jwks (HS256 under kid oct-1, signed with that secret).
--- http_config
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.pR6RjmTPzM1IR86DSpfOp-KEpfnSlwtIp730jJ7v8bqQy9OFlFUINxcJHodToFFKCbQ7kgqTIAKzwIiUiQ3zyA",
 "Authorization: Bearer eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImVkLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.OmEZOWt2LDoc1oxIdALQrfTH7KuP5lUqtmjAA_CuGAUittwGOGFxWuPf16zyg_kTV7MHPTZuSss7vYgY_TGXBA",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.GYBf1w8YCvDeLoN55xPVLFvUgJKYeIEiVoyyDQFR4kTYXdWEeeBuBQYEZiLh1n6xX3re1aR4hsHYHKZwXbpXGK4WRTSAcH6en3sS38p0JqZPZC-DaGrGDkCMwX7mvzMtC2pFyIF7pz5ZczUoaJv_rQhOclebfcaudCrkElRvSg--Wp4O39oOOOF_hykbV_SPBEc4SvczDX1i665AJDQPB_z3O-rlhay_oOq8EngRaF_I7bbGyx79Eibh8oltP2RdiBBo8I5Q4XaZchNo9htWk3u6VAXragVMsGO7_IopawJ4CSb61fVe7agwaNawhkExQS4SactPavn7VS-y5APXuQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im9jdC0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.FgX9Lu2YCWJ0ae1kOdlZ3b70RTl4QRMzz5GA0Aan-yg",
 ""]
--- error_code eval
[200, 200, 200, 200, 401, 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ",
 "X-Sub: \nX-Error: algorithm\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", ""]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "401 Authorization Required", "^/_jwks 200\n\\z"]



=== TEST 4: a token whose kid is unknown: no refetch within the refetch interval of the last fetch, then exactly one, however many such tokens
Set: rsa-only.json (rsa-1); jwt_key_cache 10m refetch=2s. Requests: rs256-jwks (fetches),
rsa-kid-rotated (the set was fetched less than 2s ago: no refetch), /sleep twice (limit_req
delays the second by 3s), rsa-kid-rotated x3 (the first refetches, the others do not: the last
fetch is less than 2s old), rs256-jwks, count: two fetches. The refetched document is the same,
so it is not announced again.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
    log_format jwks '$uri $status';
    limit_req_zone $server_name zone=sleep:1m rate=20r/m;
    limit_req_log_level info;
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 10m refetch=2s;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /sleep {
        limit_req zone=sleep burst=1;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /t", "GET /sleep", "GET /sleep", "GET /t", "GET /t", "GET /t", "GET /t", "GET /count",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "", "",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "",
 ""]
--- error_code eval
[200, 401, 200, 200, 401, 401, 401, 200, 200,
 200]
--- response_headers eval
["X-Error: ", "X-Error: key", "", "", "X-Error: key", "X-Error: key", "X-Error: key", "X-Error: ", "",
 ""]
--- response_body_like eval
["^ok\n\\z", "401", "^ok\n\\z", "^ok\n\\z", "401", "401", "401", "^ok\n\\z", "^/_jwks 200\n/_jwks 200\n\\z",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks": fetched 1 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]
--- timeout: 10



=== TEST 5: unknown kids before any set: the first request fetches the set and nothing more, nor do the next ones within the refetch interval
Set: rsa-only.json. Requests: rsa-kid-rotated x4, then rs256-jwks, count: one fetch.
--- http_config
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 ""]
--- error_code eval
[401, 401, 401, 401, 200, 200]
--- response_headers eval
["X-Error: key", "X-Error: key", "X-Error: key", "X-Error: key", "X-Error: ", ""]
--- response_body_like eval
["401", "401", "401", "401", "^ok\n\\z", "^/_jwks 200\n\\z"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 6: a rotated key is picked up by the unknown-kid refetch
The JWKS location proxies to /jwks on this server, rate-limited to one request a minute, with
a backup server (another port) that serves rotated.json (rsa-1, and the same key as
"rotated-2"): the first fetch gets rsa-only.json, the second gets 503 from the first server and
rotated.json from the backup. jwt_key_cache 10m refetch=2s. Requests: rs256-jwks (fetches
rsa-only.json), /sleep x2 (3s), rsa-kid-rotated (refetches: rotated.json, verifies),
rsa-kid-rotated and rs256-jwks (verify without a fetch), count.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
    log_format jwks '$uri $status';
    limit_req_zone $server_name zone=jwks_old:1m rate=1r/m;
    limit_req_zone $server_name zone=sleep:1m rate=20r/m;
    limit_req_log_level info;
    upstream jwks_provider {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT max_fails=0;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1 backup;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location = /jwks {
            alias $TEST_NGINX_HTML_DIR/rotated.json;
        }
    }
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        proxy_pass http://jwks_provider/jwks;
        proxy_next_upstream error http_503;
    }
    location = /jwks {
        limit_req zone=jwks_old;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 10m refetch=2s;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /sleep {
        limit_req zone=sleep burst=1;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
>>> rotated.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"},{"kty":"RSA","kid":"rotated-2","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /sleep", "GET /sleep", "GET /t", "GET /t", "GET /t", "GET /count",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "", "",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "",
 ""]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200,
 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "", "", "X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", "",
 ""]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^/_jwks 200\n/_jwks 200\n\\z",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks": fetched 1 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks": fetched 2 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]
--- timeout: 10



=== TEST 7: an endpoint that answers something else than JSON from the start: 401 "key", one warning, one fetch in the refetch interval
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/index.html;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
>>> index.html
<html><body>Sign in</body></html>
--- request eval
["GET /t", "GET /t", "GET /t", "GET /count",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw", "",
 ""]
--- error_code eval
[401, 401, 401, 200,
 200]
--- response_headers eval
["X-Error: key\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", "X-Error: key", "X-Error: key", "",
 ""]
--- response_body_like eval
["401 Authorization Required", "401 Authorization Required", "401 Authorization Required", "^/_jwks 200\n\\z",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks" failed: [^\n]*not valid JSON[^\n]*; there is no key set yet[^\n]*; next attempt in 30s[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- no_error_log
[alert]
[crit]



=== TEST 8: answers that are JSON but no usable key set: each refused with its reason, nothing stored
One location (and source) per answer: /t1 an array, /t2 no "keys", /t3 "keys" not an array,
/t4 "keys" empty, /t5 only keys the module must not use (an oct secret, an encryption key, a
future kty), /t6 an empty body.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
--- config
    location ~ ^/_jwks(\d)$ {
        internal;
        alias $TEST_NGINX_HTML_DIR/$1.json;
    }
    location = /t1 { jwt_verify on; jwt_key_request /_jwks1; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /t2 { jwt_verify on; jwt_key_request /_jwks2; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /t3 { jwt_verify on; jwt_key_request /_jwks3; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /t4 { jwt_verify on; jwt_key_request /_jwks4; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /t5 { jwt_verify on; jwt_key_request /_jwks5; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /t6 { jwt_verify on; jwt_key_request /_jwks6; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
>>> 1.json
[{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}]
>>> 2.json
{"kty":"RSA","kid":"rsa-1"}
>>> 3.json
{"keys":{"kty":"RSA"}}
>>> 4.json
{"keys":[]}
>>> 5.json
{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ"},{"kty":"RSA","kid":"e","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"QUANTUM","kid":"q"}]}
>>> 6.json
--- request eval
["GET /t1", "GET /t2", "GET /t3", "GET /t4", "GET /t5", "GET /t6",
 "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code eval
[401, 401, 401, 401, 401, 401,
 200]
--- response_body_like eval
["^", "^", "^", "^", "^", "^",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks1" failed: [^\n]*it is not a JSON object[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks2" failed: [^\n]*no "keys" member[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks3" failed: [^\n]*"keys" is not an array[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks4" failed: [^\n]*"keys" is empty[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks5" failed: [^\n]*no usable signature key[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks6" failed: [^\n]*not valid JSON[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- response_headers eval
["X-Error: key", "X-Error: key", "X-Error: key", "X-Error: key", "X-Error: key", "X-Error: key",
 ""]
--- no_error_log
": fetched
[alert]
[crit]



=== TEST 9: an endpoint that answers 404, 500 or 502 (provider unreachable) from the start: 401 "key", one warning each
One source per location: /t404 (a missing file), /t500 (the JWKS location answers 500), /t502
(proxy_pass to a port where nothing listens). Each is requested twice; the second request
fetches nothing (the refetch interval) and logs nothing more. The worker goes on serving.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
    log_format jwks '$uri $status';
--- config
    location = /_jwks404 {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/missing.json;
    }
    location = /_jwks500 {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        return 500;
    }
    location = /_jwks502 {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/jwks;
    }
    location = /t404 { jwt_verify on; jwt_key_request /_jwks404; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /t500 { jwt_verify on; jwt_key_request /_jwks500; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /t502 { jwt_verify on; jwt_key_request /_jwks502; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t404", "GET /t404", "GET /t500", "GET /t500", "GET /t502", "GET /t502", "GET /count",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "",
 ""]
--- error_code eval
[401, 401, 401, 401, 401, 401, 200,
 200]
--- response_headers eval
["X-Error: key\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", "X-Error: key",
 "X-Error: key\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", "X-Error: key",
 "X-Error: key\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"", "X-Error: key", "",
 ""]
--- response_body_like eval
["401", "401", "401", "401", "401", "401", "^/_jwks404 404\n/_jwks500 500\n/_jwks502 502\n\\z",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks404" failed: [^\n]*404[^\n]*there is no key set yet[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks500" failed: [^\n]*500[^\n]*there is no key set yet[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks502" failed: [^\n]*502[^\n]*there is no key set yet[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- no_error_log
[alert]
[crit]



=== TEST 10: a JWKS bigger than the location's subrequest_output_buffer_size: 401 "key", a warning, the client still gets its answer
/_jwks serves keycloak.json (about 3 KB) with a 1k buffer. nginx logs "too big subrequest
response" at error level.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        subrequest_output_buffer_size 1k;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/providers/keycloak.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- pipelined_requests eval
["GET /t", "GET /t", "GET /count",
 "GET /jwt-log"]
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImdhSHJYai0wNktGM3JqWGVGaUE2em90MTFhQ0otRTFJY2ZkNW1jdU9hMGsiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJrZXljbG9hay11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.EoLivCl0kF8mMtPye-6t1unvm2dixd1edEcgwrzbCS--Pp0J1gBz1E_5zkwxB2dEgltBlxCZH-FcqbO22ovrk0U7jR6PM_E9f3bK5rO3sHNf_N4Ol1ChS9kzPXi0eNftm_aZL55XmUl2wVIB-5Eir5vVa8auRWQbOwpabCm1BD5FhcemzZkzeBbpixYHRsfMi1cST-7MDK1kWshkK_RIRtaZsJqcBPsco0fZbCI1Cxh49lDeXJZSkmY4cX1cAkKJ4i508xFMXZa4bTsdqD-ZiiqjbCnNwvqU8is5czJ3ZZkURQMdjEjq3-9p2EQOGAZb3-6EVdy4KMTpHNPs9BlKLg
--- error_code eval
[401, 401, 200,
 200]
--- response_headers eval
["X-Error: key", "X-Error: key", "",
 ""]
--- response_body_like eval
["401 Authorization Required", "401 Authorization Required", "^/_jwks 200\n\\z",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks" failed: [^\n]*subrequest_output_buffer_size[^\n]*there is no key set yet[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- no_error_log
[alert]
[crit]
": fetched



=== TEST 11: a JWKS over 1 MiB is refused even when the location's buffer takes it
A valid set (rsa-1) padded with an unknown member to 1.1 MB; the buffer is 2m.
--- config
    location = /_jwks {
        internal;
        subrequest_output_buffer_size 2m;
        alias $TEST_NGINX_HTML_DIR/big.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files eval
">>> ok.txt
ok
>>> big.json
{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"n\":\"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw\",\"e\":\"AQAB\"}],\"padding\":\"" . ("x" x 1100000) . "\"}
"
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code: 401
--- response_headers
X-Error: key
--- error_log eval
qr/\[warn\] .*jwt: "jwt_key_request \/_jwks" failed: [^;]*1048576[^;]*; there is no key set yet/
--- no_error_log
[alert]
": fetched



=== TEST 12: a set that does not fit jwt_shared_memory: refused with a warning saying so
A valid set (rsa-1) padded to about 200 KB; the zone is 128k.
--- http_config
    jwt_shared_memory 128k;
--- config
    location = /_jwks {
        internal;
        subrequest_output_buffer_size 512k;
        alias $TEST_NGINX_HTML_DIR/big.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files eval
">>> ok.txt
ok
>>> big.json
{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"n\":\"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw\",\"e\":\"AQAB\"}],\"padding\":\"" . ("x" x 200000) . "\"}
"
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code: 401
--- response_headers
X-Error: key
--- error_log eval
qr/\[warn\] .*jwt: "jwt_key_request \/_jwks" failed: [^;]*"jwt_shared_memory"[^;]*; there is no key set yet/
--- no_error_log
[alert]
": fetched



=== TEST 13: the same padded set fits a bigger jwt_shared_memory
--- http_config
    jwt_shared_memory 1m;
--- config
    location = /_jwks {
        internal;
        subrequest_output_buffer_size 512k;
        alias $TEST_NGINX_HTML_DIR/big.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files eval
">>> ok.txt
ok
>>> big.json
{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"n\":\"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw\",\"e\":\"AQAB\"}],\"padding\":\"" . ("x" x 200000) . "\"}
"
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code: 200
--- response_headers
X-Error: 
--- error_log
jwt: "jwt_key_request /_jwks": fetched 1 key(s)
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 14: the endpoint goes down after the first fetch: the set keeps serving, one warning
The JWKS location proxies to /jwks, rate-limited to one request a minute: the first fetch gets
the set, the second gets 503. jwt_key_cache 10m refetch=2s. Requests: rs256-jwks (fetches),
/sleep x2 (3s), rsa-kid-rotated (refetches: 503, the set stays), rs256-jwks (verifies with the
kept set), rsa-kid-rotated (no fetch: the refetch interval), rs256-jwks, count.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
    log_format jwks '$uri $status';
    limit_req_zone $server_name zone=provider:1m rate=1r/m;
    limit_req_zone $server_name zone=sleep:1m rate=20r/m;
    limit_req_log_level info;
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks;
    }
    location = /jwks {
        limit_req zone=provider;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 10m refetch=2s;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /sleep {
        limit_req zone=sleep burst=1;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /sleep", "GET /sleep", "GET /t", "GET /t", "GET /t", "GET /t", "GET /count",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "", "",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "",
 ""]
--- error_code eval
[200, 200, 200, 401, 200, 401, 200, 200,
 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "", "", "X-Sub: \nX-Error: key", "X-Sub: alice\nX-Error: ", "X-Sub: \nX-Error: key", "X-Sub: alice\nX-Error: ", "",
 ""]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "401", "^ok\n\\z", "401", "^ok\n\\z", "^/_jwks 200\n/_jwks 503\n\\z",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks": fetched 1 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks" failed: [^\n]*503[^\n]*; the previous key set keeps serving; next attempt in 2s[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- no_error_log
[alert]
--- timeout: 10



=== TEST 15: a static key and a remote set in one location: an HMAC token and an RSA token both pass
jwt_key_file keys/hmac.key (HS256, tried first) and jwt_key_request. Tokens: hs256 (HMAC, no
kid), rs256-jwks, hs256-other-key (HMAC with another secret: signature).
--- http_config
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_key_request /_jwks;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Alg $jwt_header_alg always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E",
 ""]
--- error_code eval
[200, 200, 200, 401, 200]
--- response_headers eval
["X-Sub: alice\nX-Alg: HS256\nX-Error: ", "X-Sub: alice\nX-Alg: RS256\nX-Error: ", "X-Sub: alice\nX-Alg: HS256\nX-Error: ", "X-Sub: \nX-Error: signature", ""]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "401", "^/_jwks 200\n\\z"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 16: a static key and a remote set, the endpoint down: HMAC tokens still pass, RSA tokens get "key"
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
--- config
    location = /_jwks {
        internal;
        alias $TEST_NGINX_HTML_DIR/missing.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_key_request /_jwks;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t", "GET /t", "GET /t",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 ""]
--- error_code eval
[401, 200, 401,
 200]
--- response_body_like eval
["^", "^", "^",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[warn\] [^\n]*jwt: "jwt_key_request /_jwks" failed: [^\n]*404[^\n]*there is no key set yet[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- response_headers eval
["X-Sub: \nX-Error: key", "X-Sub: alice\nX-Error: ", "X-Sub: \nX-Error: key",
 ""]
--- no_error_log
[alert]



=== TEST 17: a JWKS location that answers through error_page (a fallback copy of the set) is used
The provider (here a missing file) answers 404; the location's error_page serves a local copy
instead, as nginx does for any client. The set fetched is the copy's.
--- config
    location = /_jwks {
        internal;
        alias $TEST_NGINX_HTML_DIR/missing.json;
        error_page 404 = /jwks-copy;
    }
    location = /jwks-copy {
        internal;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code: 200
--- response_headers
X-Error: 
--- error_log
jwt: "jwt_key_request /_jwks": fetched 1 key(s)
--- no_error_log
jwt: "jwt_key_request /_jwks" failed
[alert]



=== TEST 18: identity providers' key sets as they publish them (Keycloak, Auth0, Entra ID, Cognito, Google): tokens of every signing key verify
One location and source per provider, each serving t/fixtures/providers/NAME.json; tokens signed
with NAME.key.pem and NAME-2.key.pem under the kid the set gives (Keycloak publishes one signing
key and one encryption key, which is skipped with a notice). Entra's keys have no "alg": RS256.
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
--- config
    location = /_jwks/keycloak { internal; alias $TEST_NGINX_FIXTURES/providers/keycloak.json; }
    location = /_jwks/auth0 { internal; alias $TEST_NGINX_FIXTURES/providers/auth0.json; }
    location = /_jwks/entra { internal; alias $TEST_NGINX_FIXTURES/providers/entra.json; }
    location = /_jwks/cognito { internal; alias $TEST_NGINX_FIXTURES/providers/cognito.json; }
    location = /_jwks/google { internal; alias $TEST_NGINX_FIXTURES/providers/google.json; }
    location = /keycloak { jwt_verify on; jwt_key_request /_jwks/keycloak; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /auth0 { jwt_verify on; jwt_key_request /_jwks/auth0; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /entra { jwt_verify on; jwt_key_request /_jwks/entra; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /cognito { jwt_verify on; jwt_key_request /_jwks/cognito; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /google { jwt_verify on; jwt_key_request /_jwks/google; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /keycloak", "GET /auth0", "GET /auth0", "GET /entra", "GET /entra", "GET /cognito", "GET /cognito", "GET /google", "GET /google",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImdhSHJYai0wNktGM3JqWGVGaUE2em90MTFhQ0otRTFJY2ZkNW1jdU9hMGsiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJrZXljbG9hay11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.EoLivCl0kF8mMtPye-6t1unvm2dixd1edEcgwrzbCS--Pp0J1gBz1E_5zkwxB2dEgltBlxCZH-FcqbO22ovrk0U7jR6PM_E9f3bK5rO3sHNf_N4Ol1ChS9kzPXi0eNftm_aZL55XmUl2wVIB-5Eir5vVa8auRWQbOwpabCm1BD5FhcemzZkzeBbpixYHRsfMi1cST-7MDK1kWshkK_RIRtaZsJqcBPsco0fZbCI1Cxh49lDeXJZSkmY4cX1cAkKJ4i508xFMXZa4bTsdqD-ZiiqjbCnNwvqU8is5czJ3ZZkURQMdjEjq3-9p2EQOGAZb3-6EVdy4KMTpHNPs9BlKLg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImtZNXktUDJ2V2EySVdBYlU2WElXWVEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhdXRoMC11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.CZu-Xpi3SS1M66sFdpIcGy5loa-zQZQbQ4SwAqSkdzjy1Njlmx1jsubxzvLxLsCVRCOrHBCleqGavFgSbJvCLK6hhJBfJP71WW2L8vw745deB_ysBGlaD4tNWpDBInGhy4PgUdS8Jfu-n5we16BBXO3HOGDEuodMiZ2tyo8b0CsJpuc1ug3eK5qi-aR3n_nre5D1bPqtpHiJUEkW7F0_hPeu4MhbK5jUjQvSIwmKNmYHULmrmoZU2ZEEVuxoUi_E81p8yhwxgWxRnaKbWAXIDMOSltF08vvWrTlUQ0FhxiuDhIvdH4dCr0H_vMwBquOhXck6PcexCSkrEjT2jlccwQ",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IlFxYXo5aks5dldDOHR6eXB2U2VtWkEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhdXRoMC11c2VyLTIiLCJleHAiOjQxMDI0NDQ4MDB9.nr4d2rTnrbbtnz3SkV4uix-QJqWYQm4s-VjC7-CvywklUDLgrriaRuRLalqwSOiD4wRc3laJQO9cU85lJACJs78I-uGOd-fb0yTZPrtla9PSnpFhP5D0OORiAgdiYuofdg404P1C6_ahZW5bkaeD7NkbegoAo-lc4xcas34rURwQbfPobM_iRtrhRIcoyXVIEcWvKGNVCHnukJHbtns9o_6YxjN73HDlZKZza44Z4kZSE2M4YHM6bLV39dEM5T-Xe8AqtQxrXQaLpnEdgp-EdklEmxFBBvSFx1IKR8qHEdELkovkLt9etoOSf0T4qcoKQhcVQ14d-6BCCHiwC8jkwA",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImhlU1hsdUtEZXV4VWx5V0xOQnVIUmcyX1VnYyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlbnRyYS11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.m6xcdAS0aRrg93OJyQX2FZnaDf3SqYot8o2Z6SwEiDu6AtISbTBbOxF6ZNVh-U09l3z9sN7Hn-NYAp4CjjC2XoiplUpFGqk7y8rh-mkuyk-00XJ4apciKfR7537uhMz_hA82BWW3oWi2S9-oBmXKtO8ufnEBI_r11y6jo9LpUvAfwLyLHGrDrzk39UW8LydXXzp62GCHJvSK3fxm7NkKo2OBHkE1mpBNTmPhHjqRYkBJsLfMmclxT7IBknQVBApOt5b9AJZk6d_kkWqFG_26_Ev8pERGCpmGia63IlKBaYOMzsc0DYCkvc1wzJ3ZZLZmYiQtp5sCKZQr6OH4s8-tjQ",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InVNOWFvUUFjV3YxZVVwTWhzMlZUekNOZnZTdyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlbnRyYS11c2VyLTIiLCJleHAiOjQxMDI0NDQ4MDB9.jFMkPMLPpAg3NTjChRyvWlU6Jn0ghJHSWZ-pCTVVmQ13wo9phQx2yJPeepUAAMT-7HMBdKmKbreLjb9rbkrBsm0UG7S14XI_lZVt_23CN3_7YXJ9ingdHq7r9LCx0tz2OsFMkviPj1hZ4eLm-VUd_p_boef67W-fDyBM-Rl3Gt_l7SogjXMPdcytEHUBIrqfx-hr7edTKvUvrSOdJFXhSyVx8lJDEvDmSM-JO_e_kPWdq2aVcXmfioyS21tlTMlWK_iesmaWxaGtkmEi6FdC7GcXVbMsI1RVPGj5qfQqdsU7Nqpb12bqxdD0pV4T3MhT0f8RuBRmw6pS8W9ltBf_UQ",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjBPYmVrZGFDUTdpa1k2Sk9RM0pMZmlJOXk3aSt4cGtXbWdQTUZDdjh6Q1U9IiwidHlwIjoiSldUIn0.eyJzdWIiOiJjb2duaXRvLXVzZXIiLCJleHAiOjQxMDI0NDQ4MDB9.JScJPt-Ilz4wlPFhMMze2VvBb969GLewvVIH_BcnXkxloIls0wccq7H3ZLcVZ044GNHJbb7e956xa25tcX4gFdL94z4YaBUcDIU--ty5cBC162gQq9YfV36uVYwHqWixl8WBiYSonwrrxjrOo250CAB_Px-ADnSYocru2rZYWJzxJ5LtGBtRVSi4XdNCav791lpjQO7fmEPyeIvIOhVDDU77xSWSJCzTmfHXbVBXtRkwy5we9JnZHGu80hh3h9O8VCqgvdbTK8BS24jxDQg3kNvsaaoGVMkzntHHUGIUHu7dNwGxD0LuGqLfNdbEmeEvQnR1LfN5QJMMvFvoXRPUHQ",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImgwdkdjaCtGeEtsLzhaUUJXZjlQUzdqcnNmYzVUVlA0SmpsdU1LMHZ2N0k9IiwidHlwIjoiSldUIn0.eyJzdWIiOiJjb2duaXRvLXVzZXItMiIsImV4cCI6NDEwMjQ0NDgwMH0.FhlUti0MtLp48_2MpJGkAE3x9bC9iCfumHep19taFhHU_s92qXoqIWan_Qqji_krJnjqEBxVetvAEjoAvvCaEPKBx4JAlDccIc0whjuNDE2I9S3295QU2bJ3Z4LIXJ3o5xEnO7h7OK-iBfKtREYqqj48IysDVCcYP0R2eiQ6J1CaVRWUJFYnGakNksD7CfzGdiZF9r55Nns3D3AYmWdmyu4NVH8NXa2-PAvztv5ewuarzbl5NzIlDmkePsSpxOz8KSx2DHOmrp17XgVapxFN_-Zjiwjn-ck_Mx3rGrqr9cxBJPAa1dANqXR7Z1lYop2wtKPLMxI3KH6YkvN5F75wbA",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImM2MThkZDg4MWUyNDUyMDM2MzE3YTA5MzUxZGQ4MDA3ZTA3NGEwOTEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJnb29nbGUtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.RmkfjKniiUK2zk8Yx9eNaQzdNFkntpKyegNMSQpWWyOlDr0hQ6EyfBk9d4zG_0ucWfRLJkW-iClbtWxed16HqEf4Nc9NwCNO4Hk3Ri8qXdcHTn6kmQ5FFqCb3obfCb9M13Im2CXJmyf6RO82Y4Z1crooefJXARI1uAJ0NlJogT9IHAF6KXRlA-b9EDw-6iMHU_Ze1hWj6hzlRBqSO1YzSVyMITX7olfH-XbepWR3M1e4FmnV6s5Atfatl437hC1o48pEnUdAEnUxQHXg6bWxlZJVzftaevCZtDgCgAHLsw3RM49VGJXYKxa8ycxtHkKcGPVQK6adcwwkTlQmLau1Hw",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjA5ZmMyODI5Nzg2NTdmZDA5ZDUzODQ4MWM0Y2M0MWY5NzEwZWEyZTAiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJnb29nbGUtdXNlci0yIiwiZXhwIjo0MTAyNDQ0ODAwfQ.dBPcBCkmD98IH0yhufy-H4rB5nZjxcYEwmuTPDEU4vXvYdynw3yGW76p7IV5Jnfi4c9TBlEzStBDGVm2AjZ_T7C1PyKAL6DpTnqEZLLGDtjqaQ4yIri0XKYIVzfF5fgfGfCWdN3VQgogjpRZiMMraeEEXjtDUs8nFYRoaI0J2RJ5JB4qOrCyJDQRlxq9uZYhfyYoMOofrupKsiSf2zZQLBVWWONhCap7JZv-VzNxD8xgCBxzrUCRhi_IVHZNBuaFAW8TgSBRZdSmV9JTyAHyF6U9JI7iYRP_yFXnucztPTgcvGTdrcF3sdy4uUPad66N9kqYonyS2bFUO52wcNbpwA",
 ""]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200,
 200]
--- response_body_like eval
["^", "^", "^", "^", "^", "^", "^", "^", "^",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/keycloak": key #1 \(kid "[^"]+"\): "use" is "enc": skipped[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/keycloak": fetched 1 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/auth0": fetched 2 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/entra": fetched 2 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/cognito": fetched 2 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/google": fetched 2 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- response_headers eval
["X-Sub: keycloak-user\nX-Error: ", "X-Sub: auth0-user\nX-Error: ", "X-Sub: auth0-user-2\nX-Error: ",
 "X-Sub: entra-user\nX-Error: ", "X-Sub: entra-user-2\nX-Error: ", "X-Sub: cognito-user\nX-Error: ",
 "X-Sub: cognito-user-2\nX-Error: ", "X-Sub: google-user\nX-Error: ", "X-Sub: google-user-2\nX-Error: ",
 ""]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 19: a mixed set (RSA, EC, Ed25519, an unknown kty, an encryption key, an oct secret): the three signing keys verify, the three others are skipped and verify nothing
Tokens: mixed-rsa (RS256), mixed-ec (ES256), mixed-ed25519 (EdDSA); mixed-enc (RS256 signed
with the encryption key, under its kid): "key"; mixed-oct (HS256 with the oct secret, under its
kid): "algorithm" (no HMAC key at all); keycloak-enc against keycloak.json: "key";
auth0-wrong-kid (auth0's first key under the second key's kid): "signature".
--- http_config
    error_log logs/error.log debug;
    error_log $TEST_NGINX_HTML_DIR/jwt.log notice;
--- config
    location = /_jwks/mixed { internal; alias $TEST_NGINX_FIXTURES/providers/mixed.json; }
    location = /_jwks/keycloak { internal; alias $TEST_NGINX_FIXTURES/providers/keycloak.json; }
    location = /_jwks/auth0 { internal; alias $TEST_NGINX_FIXTURES/providers/auth0.json; }
    location = /mixed { jwt_verify on; jwt_key_request /_jwks/mixed; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /keycloak { jwt_verify on; jwt_key_request /_jwks/keycloak; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /auth0 { jwt_verify on; jwt_key_request /_jwks/auth0; add_header X-Sub $jwt_claim_sub always; add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /jwt-log {
        alias $TEST_NGINX_HTML_DIR/jwt.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /mixed", "GET /mixed", "GET /mixed", "GET /mixed", "GET /mixed", "GET /keycloak", "GET /auth0",
 "GET /jwt-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Im1peGVkLXJzYSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtaXhlZC1yc2EiLCJleHAiOjQxMDI0NDQ4MDB9.ER0HHfeDdVYu9bUi9Ejlp6vNevFaAwld395zlAN4G4zkUeJqJOYuDOCseXUFcHsuJVjwrlH8nbm6pzjWGtdxZG9JF8buWSEt1rD2QFTANb8x6g9h_0yh5-bWRaruAQOuVfe57IUYnYCJnxoH_Iu9XqxXS1ulFkw-IH2A9ZcniU0JVROezFVt1mV1X6od9Dhq9TjDG-q5q8wubfynJ6c31G-b70MlUJaJR6bmFFup3TEbfU3HSp4flAEr7AI6dxsav1OqxdDpLzqCY00ecSx3nIlzHCLigytTAnYxCZI_i4hFMUNDYAcK0N_NlKifW35Ek2nS8n0aVBZqZZILYiDjlA",
 "Authorization: Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6Im1peGVkLWVjIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtaXhlZC1lYyIsImV4cCI6NDEwMjQ0NDgwMH0.eQHQoBRodjaY7eg2asMyyMGDx4o_WQq-krWPpgDwnQZjaB2SJGVL90iO5UXuPaOBQ-huzFEoETX1cL0U5emUqA",
 "Authorization: Bearer eyJhbGciOiJFZERTQSIsImtpZCI6Im1peGVkLWVkMjU1MTkiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJtaXhlZC1lZDI1NTE5IiwiZXhwIjo0MTAyNDQ0ODAwfQ.bSieFZlvCpRT7bqq-HrBOCG0yhMFYPDxGG-KidlzKgdEJgupPvM0H_yye9fdZSt7TGWFC3FUvNrHMFOyVGNrBA",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Im1peGVkLWVuYyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtaXhlZC1lbmMiLCJleHAiOjQxMDI0NDQ4MDB9.pMw7tsFEBPAlacefkwQ3w35V6n2GD0UjJz27aYn39PhVFJGLrY91VEEA52OZ8e_U9HwIKSDDkwQCDIXsc2mNbt_Jwe2L6VFaXs0OUnNFkASVbtpdQd0gp3avVPPCBBPT38TxOJS5f2Fd9ZRdTLiDvXmvpmyjotbxsVkDQxlCd_HzujfZT4kRunuT-6YotaUcb21un_SPtSMvKQ-pmZfV2LylOo2RevD_Plapj3QCi440ikwn5N6uFtElwS1h384Fm47jDtX8ZxmRPEE-Sk-lo_ZmI85W6s0A2Gt-mR7HTpV4yN08Wd5AyGhVLWqtJ6Uu42wembBcHt1a3Ol6qoRfXQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6Im1peGVkLW9jdCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtaXhlZC1vY3QiLCJleHAiOjQxMDI0NDQ4MDB9.i6Vu8n-l68iy6k7keJhkPggsAlQJDMPSGDUdNHs2z0g",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IlJ2RkxPSEhHa2JfYVE1ZGJzaDhhbl9Val8wTW9qcXBnU3BPcjk1cmRKak0iLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJrZXljbG9hay11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.PQPKbDH1qGdq0TGt5K54p_yCiZ7FB5g7q_Btm-JsgXZOaEeR2v72_GSPkiWWu30uHoxeiNC9SgC7iFxeZAWcZ6EYeTFY8mAEyQhg83tgCcYnlokJ_Mhz0AbGigaR7xaNSPANeoFBwiiI9pVbJjtY0GNemyKEKm3ci2LQ1iip9xRYxQyXfuR6dfzeDQojFSVVWLGyWP6qsZJSJyTfjlgZbHQFjd-lubulShSYYYqcJCdVzYO4nzPCFywVqXdfxJf2u1JjZtRUlZDFb429JHjQtT5dwy9wkKmFf0lL-MyNpEQbDgpamyC1-1zvBZYf1hBqYt5VdwlmMoTJFZFk_s1Rpg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IlFxYXo5aks5dldDOHR6eXB2U2VtWkEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhdXRoMC11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.TeuXQwsbOAbjSAU5StHKoZrLVNpinIYvy14zVaRVKe_u1xUFq3R8cFOYh7je26BuiPi3UNaqFmncylK3EWQLHZMgSm-6zBJ4_kIy1I3wjAIAz3szMfrba1M_Ce-92rpMfzFQLrt_qSPR02iSs4NlKqa1_zK5Y9hCgscRNkhO9Nl5cbTez8PNOpTyxSiyx3KadFIT2lAiZ_qtCcFUKGEgtD3FQrmp3OWIZZ0I80xllWhZrzJj6gHla-uRbh2cm79Hs97rqOsONB3TaPebDg07APcHGY_Q3R7diJy7s5or6pcWPn8IXkwGynxN8gNDoQnG2FCzJWvCRQX2KHfqSwU0Ow",
 ""]
--- error_code eval
[200, 200, 200, 401, 401, 401, 401,
 200]
--- response_body_like eval
["^", "^", "^", "^", "^", "^", "^",
 qr{\A(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/mixed": key #4 \(kid "mixed-future"\): [^\n]*"XYZ"[^\n]*: skipped[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/mixed": key #5 \(kid "mixed-enc"\): "use" is "enc": skipped[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/mixed": key #6 \(kid "mixed-oct"\): [^\n]*"oct"[^\n]*: skipped[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/mixed": fetched 3 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/keycloak": key #1 \(kid "[^"]+"\): "use" is "enc": skipped[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/keycloak": fetched 1 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*[^\n]*\[notice\] [^\n]*jwt: "jwt_key_request /_jwks/auth0": fetched 2 key\(s\)[^\n]*\n(?:(?![^\n]*jwt: )[^\n]*\n)*\z}]
--- response_headers eval
["X-Sub: mixed-rsa\nX-Error: ", "X-Sub: mixed-ec\nX-Error: ", "X-Sub: mixed-ed25519\nX-Error: ",
 "X-Sub: \nX-Error: key", "X-Sub: \nX-Error: algorithm", "X-Sub: \nX-Error: key", "X-Sub: \nX-Error: signature",
 ""]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 20: Entra's keys (no "alg") verify PS256 only when jwt_algorithms names it
/default: no jwt_algorithms (RS256 only for such keys: a PS256 token finds no key for it,
"key"); /pss: jwt_algorithms RS256 PS256. Tokens: entra-ps256, entra (RS256).
--- config
    location = /_jwks {
        internal;
        alias $TEST_NGINX_FIXTURES/providers/entra.json;
    }
    location = /default {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /pss {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_algorithms RS256 PS256;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /default", "GET /pss", "GET /default", "GET /pss"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJQUzI1NiIsImtpZCI6ImhlU1hsdUtEZXV4VWx5V0xOQnVIUmcyX1VnYyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlbnRyYS11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.ZY4vBXP4UNieq5oV4nB3PsKQBXRamV0h0oV715UY9HrL8p2dPoIrNIxr70C2DguwiGUtXhVldUXZIyaMZnhVM11sekFfj6pIiqGNtXdFgKDd0biPgp2XX_OnSNmPBxhrPpNL-ZNfK-wulqMPUGYq_Gag697zb6_XlxjeidfNM1fY5oleMfaTPSsqGUY4rz8iiMYq_rdtCH17HqXN1suJF7iAwXXPaBosSeIHCZ1iRv6ial-l54Am4gL4J3FwSpIjN5I-7ah6DJ-skNAThxClKwXQFfqiq7j4W_c6jibT_NdOB0B7C2TlklfzGWRarhkJyw1lr9uHSmAoDJqoO3jp3Q",
 "Authorization: Bearer eyJhbGciOiJQUzI1NiIsImtpZCI6ImhlU1hsdUtEZXV4VWx5V0xOQnVIUmcyX1VnYyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlbnRyYS11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.ZY4vBXP4UNieq5oV4nB3PsKQBXRamV0h0oV715UY9HrL8p2dPoIrNIxr70C2DguwiGUtXhVldUXZIyaMZnhVM11sekFfj6pIiqGNtXdFgKDd0biPgp2XX_OnSNmPBxhrPpNL-ZNfK-wulqMPUGYq_Gag697zb6_XlxjeidfNM1fY5oleMfaTPSsqGUY4rz8iiMYq_rdtCH17HqXN1suJF7iAwXXPaBosSeIHCZ1iRv6ial-l54Am4gL4J3FwSpIjN5I-7ah6DJ-skNAThxClKwXQFfqiq7j4W_c6jibT_NdOB0B7C2TlklfzGWRarhkJyw1lr9uHSmAoDJqoO3jp3Q",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImhlU1hsdUtEZXV4VWx5V0xOQnVIUmcyX1VnYyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlbnRyYS11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.m6xcdAS0aRrg93OJyQX2FZnaDf3SqYot8o2Z6SwEiDu6AtISbTBbOxF6ZNVh-U09l3z9sN7Hn-NYAp4CjjC2XoiplUpFGqk7y8rh-mkuyk-00XJ4apciKfR7537uhMz_hA82BWW3oWi2S9-oBmXKtO8ufnEBI_r11y6jo9LpUvAfwLyLHGrDrzk39UW8LydXXzp62GCHJvSK3fxm7NkKo2OBHkE1mpBNTmPhHjqRYkBJsLfMmclxT7IBknQVBApOt5b9AJZk6d_kkWqFG_26_Ev8pERGCpmGia63IlKBaYOMzsc0DYCkvc1wzJ3ZZLZmYiQtp5sCKZQr6OH4s8-tjQ",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImhlU1hsdUtEZXV4VWx5V0xOQnVIUmcyX1VnYyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlbnRyYS11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.m6xcdAS0aRrg93OJyQX2FZnaDf3SqYot8o2Z6SwEiDu6AtISbTBbOxF6ZNVh-U09l3z9sN7Hn-NYAp4CjjC2XoiplUpFGqk7y8rh-mkuyk-00XJ4apciKfR7537uhMz_hA82BWW3oWi2S9-oBmXKtO8ufnEBI_r11y6jo9LpUvAfwLyLHGrDrzk39UW8LydXXzp62GCHJvSK3fxm7NkKo2OBHkE1mpBNTmPhHjqRYkBJsLfMmclxT7IBknQVBApOt5b9AJZk6d_kkWqFG_26_Ev8pERGCpmGia63IlKBaYOMzsc0DYCkvc1wzJ3ZZLZmYiQtp5sCKZQr6OH4s8-tjQ"]
--- error_code eval
[401, 200, 200, 200]
--- response_headers eval
["X-Error: key", "X-Error: ", "X-Error: ", "X-Error: "]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 21: jwt_key_request at http level, two servers: each server fetches through its own location (one source per server)
Both servers use /_jwks, which the main server answers with rsa-only.json and the server
"other" (another port, reached through /other/ on the main server) with jwks.json. Requests:
rs256-jwks and es256-jwks to each server, rs256-jwks again to each; count: one fetch per server.
es256-jwks only verifies where the set has ec-1 (rsa-only.json has no EC key at all).
--- http_config
    log_format jwks '$server_name $uri $status';
    jwt_key_request /_jwks;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server_name other;
        location = /_jwks {
            internal;
            log_subrequest on;
            access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
            alias $TEST_NGINX_FIXTURES/keys/jwks.json;
        }
        location = /t {
            jwt_verify on;
            add_header X-Sub $jwt_claim_sub always;
            add_header X-Error $jwt_error always;
            alias $TEST_NGINX_HTML_DIR/ok.txt;
        }
    }
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        jwt_verify on;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location /other/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /other/t", "GET /t", "GET /other/t", "GET /t", "GET /other/t", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.pR6RjmTPzM1IR86DSpfOp-KEpfnSlwtIp730jJ7v8bqQy9OFlFUINxcJHodToFFKCbQ7kgqTIAKzwIiUiQ3zyA",
 "Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.pR6RjmTPzM1IR86DSpfOp-KEpfnSlwtIp730jJ7v8bqQy9OFlFUINxcJHodToFFKCbQ7kgqTIAKzwIiUiQ3zyA",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 ""]
--- error_code eval
[200, 200, 401, 200, 200, 200, 200]
--- response_headers eval
["X-Sub: alice", "X-Sub: alice", "X-Sub: ", "X-Sub: alice", "X-Sub: alice", "X-Sub: alice", ""]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "401", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^localhost /_jwks 200\nother /_jwks 200\n\\z"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 22: jwt_key_request at server level, jwt_audience in one location: both locations use one fetch
/a: no audience; /b: jwt_audience api. Tokens: rs256-jwks (no aud), rsa-1-aud-api.
--- http_config
    log_format jwks '$uri $status';
--- config
    jwt_key_request /_jwks;
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /a {
        jwt_verify on;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /b {
        jwt_verify on;
        jwt_audience api;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /b", "GET /a", "GET /b", "GET /a", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.uG4wTgxDotljMrwvdbME63w4Q4Usu2HvBKA3E30WD4ztC9PVxB2Oz7ZHJh6WZPu6y_GZt4SlBCyGjAntbMBoYvl1oVBuFSypHwZ8YH8tExwIzqWtoRlyUEMUJ57mdRlalSc9mq8r7m8CCyED2arQPJDUyU-RIa9RAValUCIhFtxSEqamlWJs6OAKf3viIg4oYqLOzxr2tay2tLCg1fQ1sTN_iExkbSBRCoHl_qgn5ocdm5Mzhh5ojZCfl7IhdPtHMdmPHYOeDZiKDq7EE3gGqqOIMxBY0fc0gHZjaCh99ahg5rhJkVLEbjE5zBAaNgUoYxP8I1svQhiQCQ0IaGh-3A",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.uG4wTgxDotljMrwvdbME63w4Q4Usu2HvBKA3E30WD4ztC9PVxB2Oz7ZHJh6WZPu6y_GZt4SlBCyGjAntbMBoYvl1oVBuFSypHwZ8YH8tExwIzqWtoRlyUEMUJ57mdRlalSc9mq8r7m8CCyED2arQPJDUyU-RIa9RAValUCIhFtxSEqamlWJs6OAKf3viIg4oYqLOzxr2tay2tLCg1fQ1sTN_iExkbSBRCoHl_qgn5ocdm5Mzhh5ojZCfl7IhdPtHMdmPHYOeDZiKDq7EE3gGqqOIMxBY0fc0gHZjaCh99ahg5rhJkVLEbjE5zBAaNgUoYxP8I1svQhiQCQ0IaGh-3A",
 ""]
--- error_code eval
[401, 200, 200, 200, 200]
--- response_headers eval
["X-Sub: \nX-Error: audience", "X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", ""]
--- response_body_like eval
["401", "^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^/_jwks 200\n\\z"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 23: jwt_key_request in several locations: the same URI and cache share one fetch, another jwt_key_cache is a source of its own
/a and /b: jwt_key_request /_jwks; /c: the same with jwt_key_cache 5m.
--- http_config
    log_format jwks '$uri $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /a {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /b {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /c {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 5m;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a", "GET /b", "GET /a", "GET /b", "GET /count", "GET /c", "GET /c", "GET /a", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.pR6RjmTPzM1IR86DSpfOp-KEpfnSlwtIp730jJ7v8bqQy9OFlFUINxcJHodToFFKCbQ7kgqTIAKzwIiUiQ3zyA",
 "Authorization: Bearer eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImVkLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.OmEZOWt2LDoc1oxIdALQrfTH7KuP5lUqtmjAA_CuGAUittwGOGFxWuPf16zyg_kTV7MHPTZuSss7vYgY_TGXBA",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 "Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.pR6RjmTPzM1IR86DSpfOp-KEpfnSlwtIp730jJ7v8bqQy9OFlFUINxcJHodToFFKCbQ7kgqTIAKzwIiUiQ3zyA",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
 ""]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200]
--- response_body eval
["ok\n", "ok\n", "ok\n", "ok\n", "/_jwks 200\n", "ok\n", "ok\n", "ok\n", "/_jwks 200\n/_jwks 200\n"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 24: the fetch carries none of the client's headers or body: no Authorization, Cookie, Range, conditional or custom header reaches the provider
/_jwks proxies to /provider on this server, which logs what it receives and answers 500 if an
Authorization or Cookie header arrives. /t takes the token from Authorization, /c from the
cookie "t" (each its own source, so each fetches). The client also sends Range (its own answer
is partial: 206), If-None-Match, Accept-Encoding, a custom header and a body.
--- http_config
    log_format provider '$request_method $uri auth=$http_authorization cookie=$http_cookie range=$http_range inm=$http_if_none_match ae=$http_accept_encoding x=$http_x_secret cl=$http_content_length';
--- config
    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/provider;
    }
    location = /_jwks_c {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/provider;
    }
    location = /provider {
        access_log $TEST_NGINX_HTML_DIR/provider.log provider;
        if ($http_authorization) {
            return 500;
        }
        if ($http_cookie) {
            return 500;
        }
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /c {
        jwt_verify on;
        jwt_key_request /_jwks_c;
        jwt_token $cookie_t;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /provider-log {
        alias $TEST_NGINX_HTML_DIR/provider.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t\nclient-body", "GET /c\nclient-body", "GET /provider-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg\nCookie: session=secret\nRange: bytes=0-9\nIf-None-Match: \"v1\"\nAccept-Encoding: gzip\nX-Secret: s3cr3t",
 "Authorization: Basic YWxpY2U6c2VjcmV0\nCookie: t=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg\nRange: bytes=0-9\nIf-None-Match: \"v1\"\nAccept-Encoding: gzip\nX-Secret: s3cr3t",
 ""]
--- error_code eval
[206, 206, 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", ""]
--- response_body eval
["ok\n", "ok\n",
 "GET /provider auth=- cookie=- range=- inm=- ae=- x=- cl=-\nGET /provider auth=- cookie=- range=- inm=- ae=- x=- cl=-\n"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 25: the URI's query string is the fetch's arguments
jwt_key_request /_jwks?set=rsa-only: the JWKS location picks the file with $arg_set.
--- http_config
    log_format jwks '$uri $args $status';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/$arg_set.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks?set=rsa-only;
        add_header X-Sub $jwt_claim_sub always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", ""]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Sub: alice", ""]
--- response_body eval
["ok\n", "/_jwks set=rsa-only 200\n"]
=== TEST 26: a HEAD request fetches the whole set (the fetch is a GET)
Requests: HEAD /t first (fetches), then GET /t (uses the set).
--- http_config
    log_format jwks '$uri $status $body_bytes_sent';
--- config
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["HEAD /t", "GET /t", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", ""]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", ""]
--- response_body_like eval
["^\\z", "^ok\n\\z", "^/_jwks 200 \\d+\n\\z"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/]



=== TEST 27: with auth_request in the same location: the token is checked with the fetched keys first, then the authorizer is asked
/t: jwt_verify with jwt_key_request, then auth_request /authz, whose backend allows when the
client sent "X-Allow: yes". Requests: rs256-jwks + yes: 200; rs256-jwks + no: 403;
rsa-kid-rotated + yes: 401, the authorizer is not asked.
--- http_config
    log_format authz '$uri $http_x_allow $status';
--- config
    location = /_jwks {
        internal;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /authz {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/authz.log authz;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/authz-backend;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /authz-backend {
        if ($http_x_allow != yes) {
            return 403;
        }
        return 204;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        auth_request /authz;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /authz-log {
        alias $TEST_NGINX_HTML_DIR/authz.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /t", "GET /t", "GET /authz-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg\nX-Allow: yes",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg\nX-Allow: no",
 "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJvdGF0ZWQtMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.QxGSMbYOSqpwLBG3ez50PE0jn9Sb_LRS6eh5o3tZ1OvZtMWXMwtzmI__pb4mctIcUjK6yTWXFiCollreB4bw3uThbZop_b-9q-cfk-Gbev9GMrgByZtBOi3eV5LSVZGOlFTNotCk2xtvZWRFmTJvmuZwGp1vyZcGwhp6_alTzisnlV7_putA-JCwtzvwHq4J4jFyQPpGcBqlCfJ5NwpyxY7Xv59lnYxHASQA0p4Z_p1MwgmWQYPOG5C9g0b7jI9UqzHRM0XZS13pjp7cceg38OIEQ6zgYCK-_azfTtrKYypenniH1JwlfR8KT3-fc2OnmkoIc44dhs8lD-5WAkclNw\nX-Allow: yes",
 ""]
--- error_code eval
[200, 403, 401, 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", "X-Sub: \nX-Error: key", ""]
--- response_body_like eval
["^ok\n\\z", "403 Forbidden", "401 Authorization Required", "^/authz yes 204\n/authz no 403\n\\z"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 28: jwt_verify on and jwt_key_request at server level: the JWKS location inherits both, its fetch is not verified, and $jwt_ variables read in it do not spoil the request's result
/_jwks logs $jwt_claim_sub and $jwt_error while the set is being fetched: the fetch carries no
token ("missing"); the request that fetched still verifies with the set.
--- http_config
    log_format jwks '$uri $status sub=$jwt_claim_sub error=$jwt_error';
--- config
    jwt_verify on;
    jwt_key_request /_jwks;
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_HTML_DIR/rsa-only.json;
    }
    location = /t {
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        jwt_verify off;
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
>>> rsa-only.json
{"keys":[{"kty":"RSA","kid":"rsa-1","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}]}
--- request eval
["GET /t", "GET /t", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", ""]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Sub: alice\nX-Error: ", "X-Sub: alice\nX-Error: ", ""]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "^/_jwks 200 sub=- error=missing\n\\z"]
--- no_error_log eval
[qr/\[warn\] .*jwt_key_request/, "[alert]"]



=== TEST 29: a location without jwt_verify never fetches; its claim variables use the set once a verifying location fetched it
jwt_key_request at server level. /v: no jwt_verify, shows $jwt_claim_sub and $jwt_error; /t:
jwt_verify on. Requests: /v (no set yet: empty claim, "key"), /t (fetches), /v (alice).
--- http_config
    log_format jwks '$uri $status';
--- config
    jwt_key_request /_jwks;
    location = /_jwks {
        internal;
        log_subrequest on;
        access_log $TEST_NGINX_HTML_DIR/jwks.log jwks;
        alias $TEST_NGINX_FIXTURES/keys/jwks.json;
    }
    location = /t {
        jwt_verify on;
        add_header X-Sub $jwt_claim_sub always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /v {
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /count {
        alias $TEST_NGINX_HTML_DIR/jwks.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /v", "GET /count", "GET /t", "GET /v", "GET /count"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg", ""]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_headers eval
["X-Sub: \nX-Error: key", "", "X-Sub: alice", "X-Sub: alice\nX-Error: ", ""]
--- response_body eval
["ok\n", "", "ok\n", "ok\n", "/_jwks 200\n"]



=== TEST 30: jwt_key_request needs a local URI
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request https://idp.example/jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_key_request" needs the URI of a location such as \/_jwks, got "https:\/\/idp\.example\/jwks" in \S+nginx\.conf:\d+/



=== TEST 31: jwt_key_request cannot name a named location
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request @jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location @jwks {
        return 200 '{"keys":[]}';
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_key_request" needs the URI of a location such as \/_jwks, got "\@jwks" in \S+nginx\.conf:\d+/



=== TEST 32: a duplicate jwt_key_request
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_request /_jwks2;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_key_request" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 33: jwt_key_request takes one URI
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks /_jwks2;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "jwt_key_request" directive in \S+nginx\.conf:\d+/



=== TEST 34: jwt_key_cache 0
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 0;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_key_cache" must be at least 1s in \S+nginx\.conf:\d+/



=== TEST 35: jwt_key_cache with a time nginx cannot read
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache ten-minutes;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid time "ten-minutes" in "jwt_key_cache".* in \S+nginx\.conf:\d+/



=== TEST 36: jwt_key_cache with an unknown parameter
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 10m retry=5s;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "retry=5s" in "jwt_key_cache": the only parameter is refetch=TIME.* in \S+nginx\.conf:\d+/



=== TEST 37: jwt_key_cache refetch=0
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 10m refetch=0;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_key_cache" refetch= must be at least 1s in \S+nginx\.conf:\d+/



=== TEST 38: jwt_key_cache refetch= with a time nginx cannot read
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 10m refetch=soon;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid time "soon" in "jwt_key_cache".* in \S+nginx\.conf:\d+/



=== TEST 39: a duplicate jwt_key_cache
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_key_cache 10m;
        jwt_key_cache 5m;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_key_cache" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 40: jwt_shared_memory under 32k
--- http_config
    jwt_shared_memory 16k;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_shared_memory" 16k is too small: at least \d+k in \S+nginx\.conf:\d+/



=== TEST 41: jwt_shared_memory with a size nginx cannot read
--- http_config
    jwt_shared_memory lots;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid size "lots" in "jwt_shared_memory".* in \S+nginx\.conf:\d+/



=== TEST 42: a duplicate jwt_shared_memory
--- http_config
    jwt_shared_memory 1m;
    jwt_shared_memory 2m;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_shared_memory" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 43: jwt_shared_memory in a server block
--- config
    jwt_shared_memory 1m;
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_shared_memory" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 44: jwt_shared_memory in a location block
--- config
    location = /t {
        jwt_shared_memory 1m;
        jwt_verify on;
        jwt_key_request /_jwks;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_shared_memory" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 45: jwt_verify on with neither jwt_key_file nor jwt_key_request
--- config
    location = /t {
        jwt_verify on;
        jwt_key_cache 10m;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_verify on" needs at least one "jwt_key_file" or a "jwt_key_request" in this location or above it in \S+nginx\.conf:\d+/



=== TEST 46: jwt_shared_memory and jwt_key_cache without any jwt_key_request: valid, nothing to fetch
--- http_config
    jwt_shared_memory 256k;
    jwt_key_cache 1m refetch=5s;
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
--- response_body
ok
--- no_error_log
jwt_key_request
[alert]
