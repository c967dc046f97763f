# Per-request state across levels and locations: a claim read at one level (a server-level
# `set`, a location left by `rewrite ... last`, a location left through `error_page`, a
# subrequest) never decides another location's access check, and the claim variables a location
# shows (headers, access log) come from the token that location reads with its own key ring and
# token source.
#
# Two key rings: A = t/fixtures/keys/hmac.key, B = t/fixtures/keys/hmac-other.key (read as
# $TEST_NGINX_FIXTURES/keys/...).
# Tokens (t/fixtures/tokens, made by t/fixtures/make-fixtures; all expire 4102444800):
#   ring-a-admin.jwt    signed with A: {"sub":"alice","admin":true,"exp":4102444800}
#   ring-a-mallory.jwt  signed with A: {"sub":"mallory","exp":4102444800}
#   hs256.jwt           signed with A: {"sub":"alice","exp":4102444800}
#   ring-b-plain.jwt    signed with B: {"sub":"bob","exp":4102444800}
#   ring-b-admin.jwt    signed with B: {"sub":"bob","admin":true,"exp":4102444800}
#   role-admin.jwt      signed with A: {"sub":"alice","role":"admin","exp":4102444800}
#   role-user.jwt       signed with A: {"sub":"bob","role":"user","exp":4102444800}
#   role-superadmin.jwt signed with A: {"sub":"carol","role":"superadmin","exp":4102444800}
#
# What nginx does (nginx 1.28 source, ngx_http_core_module.c / ngx_http_variables.c):
# * Cached variable values live in r->variables, which no internal redirect resets: neither
#   `rewrite ... last` (the location is searched again, r->ctx is even kept), nor
#   ngx_http_internal_redirect (error_page to a URI, try_files), nor ngx_http_named_location
#   (error_page to @name). The latter two clear r->ctx (every module's context) only.
# * ngx_http_named_location restarts the phases at location_rewrite_index, so the named
#   location's rewrite, access and content phases all run: its jwt_verify and jwt_require are
#   checked like anywhere else (ngx_http_core_access_phase skips subrequests only, not internal
#   requests).
# * A subrequest gets a fresh r->ctx but shares its parent's r->variables array; the access
#   phase is skipped for it (r != r->main), so jwt_verify does not run there.
# * Which reads see a cached value: ngx_http_get_indexed_variable returns a cached value as is
#   (even one flagged no_cacheable), and a `map` result is cached for the request (unless the
#   map is `volatile`); so a `set` or `map` of a claim evaluated at server level, or in a
#   location left behind, keeps that value everywhere afterwards (TESTs 23, 24, 27). Complex
#   values (add_header, proxy_set_header, set, return) and the log module
#   (ngx_http_script_flush_no_cacheable_variables over the format's variables) re-evaluate
#   no_cacheable variables, which the module's variables are: their headers and log lines are
#   computed with the configuration of the location the request ends in (TESTs 19-22 pass with
#   or without the module's own protection; they guard against regressions).
# * SSI `echo var=` reads a prefix variable (`jwt_claim_*`) through its handler every time.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: the reported bypass (jwt_cache_size 0): ring A's admin claim read at server level does not satisfy the location's jwt_require
Requests (Authorization / cookie t): 1. ring-a-admin / ring-b-plain: 403, the location's token
(bob) has no admin claim; 2. the same again; 3. ring-a-admin / ring-b-admin: 200; 4. - /
ring-b-admin: 200; 5. - / ring-b-plain: 403.
--- http_config
    jwt_cache_size 0;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $u $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /x", "GET /x", "GET /x", "GET /x", "GET /x"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE",
 "Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE",
 "Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA"]
--- error_code eval
[403, 403, 200, 200, 403]
--- response_headers eval
["X-Sub: bob\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: bob\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: bob\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: bob\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: bob\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\""]



=== TEST 2: the reported bypass with the default cache: the same requests, the same answers
Requests as in TEST 1; here every token is verified once and then served from the caches of
ring A and ring B.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $u $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /x", "GET /x", "GET /x", "GET /x", "GET /x"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE",
 "Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE",
 "Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA"]
--- error_code eval
[403, 403, 200, 200, 403]
--- response_headers eval
["X-Sub: bob\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: bob\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: bob\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: bob\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: bob\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\""]



=== TEST 3: the reported bypass, one request: ring-a-admin in Authorization, ring-b-plain in the cookie: 403
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-plain.jwt (B: {"sub":"bob","exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $u $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 403
--- response_headers
X-Sub: bob
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_admin\b/



=== TEST 4: the location's own admin token in the cookie passes, whatever Authorization holds
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-admin.jwt (B: {"sub":"bob","admin":true,"exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $u $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE
--- error_code: 200
--- response_headers
X-Sub: bob
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 5: ring A's admin token presented as the cookie: the location checks it with ring B and refuses it
Authorization and cookie t: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $u $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
--- error_code: 401
--- response_headers
!X-Sub
X-Jwt-Error: signature
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (signature)



=== TEST 6: rewrite ... last: the location left behind read ring A's claims; /b decides on the token it verifies (403)
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-plain.jwt (B: {"sub":"bob","exp":4102444800}). /a reads $jwt_claim_sub and
$jwt_claim_admin with ring A (alice, true) before `rewrite ^ /b last;`.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /a {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        rewrite ^ /b last;
    }
    location /b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /a
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 403
--- response_headers
X-Sub: bob
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_admin\b/



=== TEST 7: rewrite ... last: /b's own admin token passes, X-Sub is /b's claim
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-admin.jwt (B: {"sub":"bob","admin":true,"exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /a {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        rewrite ^ /b last;
    }
    location /b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /a
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE
--- error_code: 200
--- response_headers
X-Sub: bob
X-Jwt-Error:
--- response_body
ok



=== TEST 8: rewrite ... last, one token source: a token valid only for ring A is refused at /b (signature)
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800}). /a reads
alice/true with ring A; /b checks the same Authorization token with ring B.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /a {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        rewrite ^ /b last;
    }
    location /b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /a
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
--- error_code: 401
--- response_headers
!X-Sub
X-Jwt-Error: signature
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (signature)



=== TEST 9: rewrite ... last, one token source: /a found no valid token (empty claims), /b verifies it and it passes
Authorization: ring-b-admin.jwt (B: {"sub":"bob","admin":true,"exp":4102444800}). With ring A
/a reads nothing (signature); the empty values it saw must not fail /b's jwt_require.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /a {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        rewrite ^ /b last;
    }
    location /b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /a
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE
--- error_code: 200
--- response_headers
X-Sub: bob
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 10: error_page to a named location: its access phase runs, and decides on its own token (403)
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-plain.jwt (B: {"sub":"bob","exp":4102444800}). /first reads alice/true with
ring A, then serves a missing file; `error_page 404 = @fallback` moves the request to
@fallback (ngx_http_named_location: phases restart at the location rewrite phase, so access runs).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /first {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        error_page 404 = @fallback;
        alias $TEST_NGINX_HTML_DIR/missing.txt;
    }
    location @fallback {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        root $TEST_NGINX_HTML_DIR;
    }
--- user_files
>>> first
ok
--- request
GET /first
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 403
--- response_headers
X-Sub: bob
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_admin\b/



=== TEST 11: error_page to a named location: its own admin token passes, X-Sub is its claim
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-admin.jwt (B: {"sub":"bob","admin":true,"exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /first {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        error_page 404 = @fallback;
        alias $TEST_NGINX_HTML_DIR/missing.txt;
    }
    location @fallback {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        root $TEST_NGINX_HTML_DIR;
    }
--- user_files
>>> first
ok
--- request
GET /first
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE
--- error_code: 200
--- response_headers
X-Sub: bob
X-Jwt-Error:
--- response_body
ok



=== TEST 12: error_page to a named location: jwt_verify there really runs (no cookie: 401 missing)
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800}); no cookie.
Shows that nginx runs the access phase after an internal redirect to a named location.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /first {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        error_page 404 = @fallback;
        alias $TEST_NGINX_HTML_DIR/missing.txt;
    }
    location @fallback {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        root $TEST_NGINX_HTML_DIR;
    }
--- user_files
>>> first
ok
--- request
GET /first
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
--- error_code: 401
--- response_headers
!X-Sub
X-Jwt-Error: missing
WWW-Authenticate: Bearer realm="protected"
--- error_log
jwt: token rejected (missing)



=== TEST 13: error_page to a named location without jwt_verify: the claims it shows are read with its own ring
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-plain.jwt (B: {"sub":"bob","exp":4102444800}). @fallback only reads variables
(verified on demand): X-Sub bob, X-Admin absent (bob has no admin claim).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /first {
        set $s $jwt_claim_sub;
        set $adm $jwt_claim_admin;
        error_page 404 = @fallback;
        alias $TEST_NGINX_HTML_DIR/missing.txt;
    }
    location @fallback {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Admin $jwt_claim_admin always;
        root $TEST_NGINX_HTML_DIR;
    }
--- user_files
>>> first
ok
--- request
GET /first
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 200
--- response_headers
X-Sub: bob
!X-Admin
--- response_body
ok



=== TEST 14: a jwt_login subrequest reads $jwt_claim_sub with its own location's ring and token source (accepted)
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800}).
/login's ring is B (it signs with key B and sees no valid token: X-Login-Sub absent); the
subrequest to /authenticate inherits ring A and Authorization from the server: X-Sub alice,
which the application accepts. (auth_request is not used: the vendored nginx is built without
ngx_http_auth_request_module.)
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        add_header X-Login-Sub $jwt_claim_sub always;
    }
    location = /authenticate {
        internal;
        proxy_set_header X-Sub $jwt_claim_sub;
        proxy_set_header Accept-Encoding "";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        default_type application/json;
        if ($http_x_sub != "alice") {
            return 403 '{"error":"not alice"}';
        }
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=alice
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
--- error_code: 200
--- response_headers
!X-Login-Sub
Content-Type: application/json
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}","token_type":"Bearer","expires_in":3600\}$



=== TEST 15: a jwt_login subrequest: a token of the main location's ring B is not valid for the subrequest's ring A (refused)
Authorization: ring-b-plain.jwt (B: {"sub":"bob","exp":4102444800}). /login (ring B) reads bob
(X-Login-Sub); /authenticate (ring A) reads nothing, so the application refuses: 403 passed
through.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        add_header X-Login-Sub $jwt_claim_sub always;
    }
    location = /authenticate {
        internal;
        proxy_set_header X-Sub $jwt_claim_sub;
        proxy_set_header Accept-Encoding "";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        default_type application/json;
        if ($http_x_sub = "") {
            return 403 '{"error":"no sub"}';
        }
        return 200 '{"sub":"$http_x_sub"}';
    }
--- request
POST /login
user=bob
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 403
--- response_headers
X-Login-Sub: bob
--- response_body: {"error":"no sub"}



=== TEST 16: a jwt_login subrequest: ring A's token of another user is refused by the application
Authorization: ring-a-mallory.jwt (A: {"sub":"mallory","exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
    }
    location = /authenticate {
        internal;
        proxy_set_header X-Sub $jwt_claim_sub;
        proxy_set_header Accept-Encoding "";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        default_type application/json;
        if ($http_x_sub != "alice") {
            return 403 '{"error":"not alice"}';
        }
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
user=mallory
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5IiwiZXhwIjo0MTAyNDQ0ODAwfQ.bhYPLaeUUiIx4hpCgxqL4J08NqNkVNe4x6HDX6olMZk
--- error_code: 403
--- response_body: {"error":"not alice"}



=== TEST 17: SSI: the page and the included location each show the claim of their own ring and token source
Authorization: hs256.jwt (A: {"sub":"alice","exp":4102444800}); cookie t: ring-b-plain.jwt
(B: {"sub":"bob","exp":4102444800}). The page (ring A, Authorization, verified) echoes alice,
the included /inc/ (ring B, cookie; a subrequest, so not checked, verified on demand) echoes
bob, and the page's echo after the include is alice again.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    ssi_types *;

    location = /page.html {
        jwt_verify on;
        ssi on;
        alias $TEST_NGINX_HTML_DIR/page.html;
    }
    location /inc/ {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        ssi on;
        alias $TEST_NGINX_HTML_DIR/inc/;
    }
--- user_files
>>> page.html
main=<!--# echo var="jwt_claim_sub" -->
<!--# include virtual="/inc/claims.html" -->
after=<!--# echo var="jwt_claim_sub" -->
>>> inc/claims.html
inc=<!--# echo var="jwt_claim_sub" -->
--- request
GET /page.html
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 200
--- response_body_like: ^main=alice\s+inc=bob\s+after=alice\s*$



=== TEST 18: SSI: an included location with a ring that rejects the token shows no claim
Authorization: hs256.jwt (A: {"sub":"alice","exp":4102444800}); no cookie. /inc/ reads the
Authorization token with ring B: signature, so its echo prints SSI's "(none)".
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    ssi_types *;

    location = /page.html {
        jwt_verify on;
        ssi on;
        alias $TEST_NGINX_HTML_DIR/page.html;
    }
    location /inc/ {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        ssi on;
        alias $TEST_NGINX_HTML_DIR/inc/;
    }
--- user_files
>>> page.html
main=<!--# echo var="jwt_claim_sub" -->
<!--# include virtual="/inc/claims.html" -->
after=<!--# echo var="jwt_claim_sub" -->
>>> inc/claims.html
inc=<!--# echo var="jwt_claim_sub" --> error=<!--# echo var="jwt_error" -->
--- request
GET /page.html
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body_like: ^main=alice\s+inc=\(none\) error=signature\s+after=alice\s*$



=== TEST 19: log_format after rewrite ... last: the log line shows the claim of the token the final location verified
Authorization: hs256.jwt (A: {"sub":"alice","exp":4102444800}); cookie t: ring-b-plain.jwt
(B: {"sub":"bob","exp":4102444800}). /a reads alice with ring A, /b verifies bob with ring B.
The access log (logs/access.log, which both test runners read) gets the `claims` format.
--- http_config
    log_format claims 'claims uri=$uri sub=$jwt_claim_sub';
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    access_log $TEST_NGINX_HTML_DIR/../logs/access.log claims;

    location /a {
        set $s $jwt_claim_sub;
        rewrite ^ /b last;
    }
    location /b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /a
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 200
--- response_body
ok
--- access_log
claims uri=/b sub=bob
--- no_access_log
sub=alice



=== TEST 20: log_format after rewrite ... last to a location that only reads claims (no jwt_verify)
Authorization: hs256.jwt (A: {"sub":"alice","exp":4102444800}); cookie t: ring-b-plain.jwt
(B: {"sub":"bob","exp":4102444800}). /b has ring B and the cookie but no jwt_verify: its
variables verify on demand, the log phase included.
--- http_config
    log_format claims 'claims uri=$uri sub=$jwt_claim_sub';
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    access_log $TEST_NGINX_HTML_DIR/../logs/access.log claims;

    location /a {
        set $s $jwt_claim_sub;
        rewrite ^ /b last;
    }
    location /b {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /a
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 200
--- response_body
ok
--- access_log
claims uri=/b sub=bob
--- no_access_log
sub=alice



=== TEST 21: log_format after error_page to a named location: the named location's claim
Authorization: hs256.jwt (A: {"sub":"alice","exp":4102444800}); cookie t: ring-b-plain.jwt
(B: {"sub":"bob","exp":4102444800}).
--- http_config
    log_format claims 'claims uri=$uri sub=$jwt_claim_sub';
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    access_log $TEST_NGINX_HTML_DIR/../logs/access.log claims;

    location /first {
        set $s $jwt_claim_sub;
        error_page 404 = @fallback;
        alias $TEST_NGINX_HTML_DIR/missing.txt;
    }
    location @fallback {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        root $TEST_NGINX_HTML_DIR;
    }
--- user_files
>>> first
ok
--- request
GET /first
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 200
--- response_body
ok
--- access_log
claims uri=/first sub=bob
--- no_access_log
sub=alice



=== TEST 22: log_format after an SSI subrequest read the claim with another ring: the page's own claim
Authorization: hs256.jwt (A: {"sub":"alice","exp":4102444800}); cookie t: ring-b-plain.jwt
(B: {"sub":"bob","exp":4102444800}). The included /inc/proxied (ring B, cookie) passes
$jwt_claim_sub = bob upstream with proxy_set_header: a subrequest shares its parent's cached
variable values (r->variables), so the page's log line must not take bob from there.
--- http_config
    log_format claims 'claims uri=$uri sub=$jwt_claim_sub';
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    ssi_types *;

    location = /page.html {
        jwt_verify on;
        ssi on;
        access_log $TEST_NGINX_HTML_DIR/../logs/access.log claims;
        alias $TEST_NGINX_HTML_DIR/page.html;
    }
    location = /inc/proxied {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        proxy_set_header X-Sub $jwt_claim_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "inc=$http_x_sub\n";
    }
--- user_files
>>> page.html
main=<!--# echo var="jwt_claim_sub" -->
<!--# include virtual="/inc/proxied" -->
--- request
GET /page.html
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 200
--- response_body_like: ^main=alice\s+inc=bob\s*$
--- access_log
claims uri=/page.html sub=alice
--- no_access_log
claims uri=/page.html sub=bob



=== TEST 23: a server-level set of a claim under ring A, jwt_require on it in a location with ring B: refused
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800});
cookie t: ring-b-admin.jwt (B: {"sub":"bob","admin":true,"exp":4102444800}). Both tokens are
admins, but $is_admin was computed from ring A's token: the module refuses to decide on it.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $is_admin $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE
--- error_code: 403
--- response_headers
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/jwt_require.*may hold a claim of a token this location did not verify/



=== TEST 24: the same without an Authorization header: the server-level read under ring A still happened: refused
Cookie t: ring-b-admin.jwt (B: {"sub":"bob","admin":true,"exp":4102444800}). $is_admin is empty
(ring A found no token), and it was still read under another ring and token source.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $is_admin $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE
--- error_code: 403
--- response_headers
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/jwt_require.*may hold a claim of a token this location did not verify/



=== TEST 25: a server-level set of a claim, the location shares the server's ring and token source: an admin passes
Authorization: ring-a-admin.jwt (A: {"sub":"alice","admin":true,"exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $is_admin $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 26: a server-level set of a claim, shared ring and token source: a token without the claim is refused as usual
Authorization: hs256.jwt (A: {"sub":"alice","exp":4102444800}).
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $is_admin $jwt_claim_admin;

    location /x {
        jwt_verify on;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 403
--- response_headers
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/"jwt_require" failed\b.*\$is_admin\b/
--- no_error_log
did not verify



=== TEST 27: a map over a claim, first read at server level under ring A, required in a location with ring B: refused
Authorization: role-admin.jwt (A: {"sub":"alice","role":"admin","exp":4102444800}); cookie t:
ring-b-plain.jwt (B: {"sub":"bob","exp":4102444800}). `set $early $is_admin;` makes the map
evaluate (and cache) with ring A's token.
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $early $is_admin;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.Sv4SL8FQC74l2w_dCOKE6mjPWOx5dgMEOJHHDKFC98E
Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA
--- error_code: 403
--- response_headers
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/jwt_require.*may hold a claim of a token this location did not verify/



=== TEST 28: map over a claim, read only where it is required: role admin passes
Authorization: role-admin.jwt (A: {"sub":"alice","role":"admin","exp":4102444800}).
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.Sv4SL8FQC74l2w_dCOKE6mjPWOx5dgMEOJHHDKFC98E
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 29: map over a claim: role user is refused
Authorization: role-user.jwt (A: {"sub":"bob","role":"user","exp":4102444800}).
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb2xlIjoidXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.p5nbOT3ekaIzms1pXrIUhCHPfdkra3EIc2VSnbtD4sw
--- error_code: 403
--- response_headers
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/"jwt_require" failed\b.*\$is_admin\b/



=== TEST 30: map over a claim: role superadmin is refused (map matches the whole value)
Authorization: role-superadmin.jwt (A: {"sub":"carol","role":"superadmin","exp":4102444800}).
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /x
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsInJvbGUiOiJzdXBlcmFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.3imuWxlc3rxIO97m3nUi6M7pMxWEr-1jhGoR9LqGd5c
--- error_code: 403
--- response_headers
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/"jwt_require" failed\b.*\$is_admin\b/


=== TEST 31: auth_request: its subrequest reads $jwt_claim_sub with its own ring (A, Authorization); the location decides on the cookie token it verifies (B)
Requests (Authorization / cookie t): 1. ring-a-admin (alice) / ring-b-admin (bob, admin): 200,
the authorizer saw alice, X-Sub is the location's bob; 2. ring-a-admin / ring-b-plain: 403 from
jwt_require (bob has no admin claim; alice's admin claim read by the subrequest counts for
nothing); 3. ring-a-mallory / ring-b-admin: 403 from the authorizer, which only lets alice in.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $jwt_claim_admin;
        auth_request /auth;
        add_header X-Sub $jwt_claim_sub always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /auth {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/authorizer;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Sub $jwt_claim_sub;
    }
    location = /authorizer {
        if ($http_x_sub != "alice") {
            return 403;
        }
        return 204;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /x", "GET /x", "GET /x"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5IiwiZXhwIjo0MTAyNDQ0ODAwfQ.bhYPLaeUUiIx4hpCgxqL4J08NqNkVNe4x6HDX6olMZk\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE"]
--- error_code eval
[200, 403, 403]
--- response_headers eval
["X-Sub: bob", "X-Sub: bob", "X-Sub: bob"]



=== TEST 32: auth_request: a map over a claim that the authorizer subrequest reads under ring A never satisfies the location's jwt_require (ring B)
Subrequests share the main request's cache of variable values. The module's access check runs
before auth_request's (a dynamic module's handler is registered after the built-in ones, and
nginx runs a phase's handlers last-registered first), so it computes $is_admin from the
location's own token; were the order reversed, the read under ring A would make it refuse the
cached value instead. Either way: 1. ring-a-admin / ring-b-plain: 403; 2. ring-a-admin /
ring-b-admin: 200.
--- http_config
    map $jwt_claim_admin $is_admin {
        true    1;
        default 0;
    }
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require $is_admin;
        auth_request /auth;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /auth {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/authorizer;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Admin $is_admin;
    }
    location = /authorizer {
        return 204;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /x", "GET /x"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDB9.zvsSTyASTJuE0xojugaguPjEFMd4hz9O7RPokGIiJRA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.yzYcIpfIk72PAnPTjd23b4H_LSFomsPp8efdnnb25D8\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.rWs9hcGzbkLZoIBeQ2bGsMrwjHpRAh9f-EfhHrGDQgE"]
--- error_code eval
[403, 200]
