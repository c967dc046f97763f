# jwt_require_claim <path> <operator> <value>... [error=401|403]: rules on the claims of a verified
# token (crates/jwt-core/src/claim_rule.rs). Every unmet rule answers 403 (or 401 with error=401)
# with `WWW-Authenticate: Bearer realm="...", error="insufficient_scope"`, an empty $jwt_error (the
# token is valid) and an info line `jwt: "jwt_require_claim <rule>" failed: <why>`, where <rule> is
# written back as nginx reads quoted arguments (values quoted, numbers of gt/ge/lt/le bare, the
# default error=403 left out).
#
# Each protected location answers from ok.txt (content phase) and shows the token's sub (X-Sub:
# the token's name below) and $jwt_error (X-Jwt-Error).
#
# Key: t/fixtures/keys/hmac.key (HS256), read as $TEST_NGINX_FIXTURES/keys/hmac.key; ring-b-* are
# signed with t/fixtures/keys/hmac-other.key (a second key ring in one block). Tokens are inline;
# each is HS256 with header {"alg":"HS256","typ":"JWT"} and these claims (generated with PyJWT,
# target/venv/bin/python; each block lists the ones it sends under "Tokens:"):
#   scope-rw               {"sub":"scope-rw","scope":"read write","exp":4102444800}
#   scope-read-all         {"sub":"scope-read-all","scope":"read:all","exp":4102444800}
#   scope-padded           {"sub":"scope-padded","scope":" read  write ","exp":4102444800}
#   scope-upper            {"sub":"scope-upper","scope":"READ WRITE","exp":4102444800}
#   scope-tab              {"sub":"scope-tab","scope":"read\twrite","exp":4102444800}
#   scope-readonly         {"sub":"scope-readonly","scope":"readonly","exp":4102444800}
#   scope-read             {"sub":"scope-read","scope":"read","exp":4102444800}
#   scope-wr               {"sub":"scope-wr","scope":"write read","exp":4102444800}
#   scope-array            {"sub":"scope-array","scope":["read","write"],"exp":4102444800}
#   no-claims              {"sub":"no-claims","exp":4102444800}
#   role-admin             {"sub":"role-admin","role":"admin","exp":4102444800}
#   role-superadmin        {"sub":"role-superadmin","role":"superadmin","exp":4102444800}
#   role-admin-trail       {"sub":"role-admin-trail","role":"admin ","exp":4102444800}
#   role-admin-lead        {"sub":"role-admin-lead","role":" admin","exp":4102444800}
#   role-Admin             {"sub":"role-Admin","role":"Admin","exp":4102444800}
#   role-array             {"sub":"role-array","role":["admin"],"exp":4102444800}
#   role-object            {"sub":"role-object","role":{"name":"admin"},"exp":4102444800}
#   role-null              {"sub":"role-null","role":null,"exp":4102444800}
#   role-words             {"sub":"role-words","role":"user admin","exp":4102444800}
#   role-editor            {"sub":"role-editor","role":"editor","exp":4102444800}
#   role-user              {"sub":"role-user","role":"user","exp":4102444800}
#   role-guest             {"sub":"role-guest","role":"guest","exp":4102444800}
#   role-Guest             {"sub":"role-Guest","role":"Guest","exp":4102444800}
#   role-anonymous         {"sub":"role-anonymous","role":"anonymous","exp":4102444800}
#   role-guest-array       {"sub":"role-guest-array","role":["guest"],"exp":4102444800}
#   role-true              {"sub":"role-true","role":true,"exp":4102444800}
#   roles-user-admin       {"sub":"roles-user-admin","roles":["user","admin"],"exp":4102444800}
#   roles-superadmin       {"sub":"roles-superadmin","roles":["superadmin","user"],"exp":4102444800}
#   roles-Admin            {"sub":"roles-Admin","roles":["Admin"],"exp":4102444800}
#   roles-nested           {"sub":"roles-nested","roles":[["admin"]],"exp":4102444800}
#   roles-admin-trail      {"sub":"roles-admin-trail","roles":["admin "],"exp":4102444800}
#   roles-empty            {"sub":"roles-empty","roles":[],"exp":4102444800}
#   roles-string           {"sub":"roles-string","roles":"admin","exp":4102444800}
#   roles-object           {"sub":"roles-object","roles":{"admin":true},"exp":4102444800}
#   roles-admin            {"sub":"roles-admin","roles":["admin"],"exp":4102444800}
#   groups-numbers         {"sub":"groups-numbers","groups":[1,2],"exp":4102444800}
#   groups-strings         {"sub":"groups-strings","groups":["1","2"],"exp":4102444800}
#   groups-float           {"sub":"groups-float","groups":[1.0],"exp":4102444800}
#   groups-bool            {"sub":"groups-bool","groups":[true],"exp":4102444800}
#   keycloak               {"sub":"keycloak","realm_access":{"roles":["offline_access","admin"]},"resource_access":{"my-app":{"roles":["editor"]},"my.app":{"roles":["viewer"]}},"exp":4102444800}
#   keycloak-user          {"sub":"keycloak-user","realm_access":{"roles":["offline_access","user"]},"resource_access":{"other-app":{"roles":["editor"]}},"exp":4102444800}
#   keycloak-nested-dot    {"sub":"keycloak-nested-dot","resource_access":{"my":{"app":{"roles":["viewer"]}}},"exp":4102444800}
#   realm-string           {"sub":"realm-string","realm_access":"admin","exp":4102444800}
#   flat-dotted            {"sub":"flat-dotted","realm_access.roles":["admin"],"exp":4102444800}
#   level-1                {"sub":"level-1","level":1,"exp":4102444800}
#   level-1-string         {"sub":"level-1-string","level":"1","exp":4102444800}
#   level-1.0              {"sub":"level-1.0","level":1.0,"exp":4102444800}
#   level-1.0-string       {"sub":"level-1.0-string","level":"1.0","exp":4102444800}
#   level-true             {"sub":"level-true","level":true,"exp":4102444800}
#   level-2                {"sub":"level-2","level":2,"exp":4102444800}
#   level-01-string        {"sub":"level-01-string","level":"01","exp":4102444800}
#   level-1.5              {"sub":"level-1.5","level":1.5,"exp":4102444800}
#   level-2.0              {"sub":"level-2.0","level":2.0,"exp":4102444800}
#   level-2.5              {"sub":"level-2.5","level":2.5,"exp":4102444800}
#   level-3                {"sub":"level-3","level":3,"exp":4102444800}
#   level-3-string         {"sub":"level-3-string","level":"3","exp":4102444800}
#   level-1.999            {"sub":"level-1.999","level":1.999,"exp":4102444800}
#   level-2.0000001        {"sub":"level-2.0000001","level":2.0000001,"exp":4102444800}
#   level-0                {"sub":"level-0","level":0,"exp":4102444800}
#   level-minus-1          {"sub":"level-minus-1","level":-1,"exp":4102444800}
#   id-2p53                {"sub":"id-2p53","id":9007199254740992,"exp":4102444800}
#   id-2p53-plus-1         {"sub":"id-2p53-plus-1","id":9007199254740993,"exp":4102444800}
#   verified-true          {"sub":"verified-true","email_verified":true,"exp":4102444800}
#   verified-false         {"sub":"verified-false","email_verified":false,"exp":4102444800}
#   verified-string        {"sub":"verified-string","email_verified":"true","exp":4102444800}
#   verified-True-string   {"sub":"verified-True-string","email_verified":"True","exp":4102444800}
#   verified-1             {"sub":"verified-1","email_verified":1,"exp":4102444800}
#   dept-nfc               {"sub":"dept-nfc","dept":"Müller","exp":4102444800}
#   dept-nfd               {"sub":"dept-nfd","dept":"Mu\u0308ller","exp":4102444800} (not NFC: written with escapes)
#   dept-lower             {"sub":"dept-lower","dept":"müller","exp":4102444800}
#   dept-upper             {"sub":"dept-upper","dept":"MÜLLER","exp":4102444800}
#   groups-cjk             {"sub":"groups-cjk","groups":["管理者","ユーザー"],"exp":4102444800}
#   groups-cjk-prefix      {"sub":"groups-cjk-prefix","groups":["管理"],"exp":4102444800}
#   full                   {"sub":"full","scope":"read write","roles":["admin"],"level":3,"admin":true,"exp":4102444800}
#   full-no-roles          {"sub":"full-no-roles","scope":"read write","level":3,"admin":true,"exp":4102444800}
#   full-no-level          {"sub":"full-no-level","scope":"read write","roles":["admin"],"admin":true,"exp":4102444800}
#   scope-and-admin        {"sub":"scope-and-admin","scope":"read","admin":true,"exp":4102444800}
#   admin-only             {"sub":"admin-only","admin":true,"exp":4102444800}
#   roles-admin-only       {"sub":"roles-admin-only","roles":["admin"],"exp":4102444800}
#   auth-recent            {"sub":"auth-recent","auth_time":1700000001,"exp":4102444800}
#   auth-old               {"sub":"auth-old","auth_time":1699999999,"exp":4102444800}
#   role-ctrl              {"sub":"role-ctrl","role":"ad\nmin\u0001","exp":4102444800}
#   role-long              {"sub":"role-long","role":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","exp":4102444800}
#   dup-role-last-admin    {"sub":"dup-role-last-admin","role":"guest","role":"admin","exp":4102444800} header {"alg":"HS256","typ":"JWT"} (exact JSON text)
#   dup-role-last-guest    {"sub":"dup-role-last-guest","role":"admin","role":"guest","exp":4102444800} header {"alg":"HS256","typ":"JWT"} (exact JSON text)
#   roles-index-object     {"sub":"roles-index-object","roles":{"0":"admin"},"exp":4102444800}
#   ring-a-admin           {"sub":"ring-a-admin","scope":"admin","exp":4102444800}
#   ring-b-read            {"sub":"ring-b-read","scope":"read","exp":4102444800} [signed with hmac-other.key]
#   ring-b-admin           {"sub":"ring-b-admin","scope":"admin","exp":4102444800} [signed with hmac-other.key]
#
# Blocks of several requests check what the module logged with a last request, GET /error-log,
# that reads logs/error.log back (`location = /error-log { alias logs/error.log; }`, with
# `jwt_verify off;` where jwt_verify on applies from above): the last element of its
# response_body_like is one lookahead per line the requests must have logged (and, where a count
# matters, exactly N lines holding a pattern). --- error_log and --- grep_error_log are checked
# per request by upstream Test::Nginx and once on the whole log by this project's runner, so only
# single-request blocks use them.
#
# nginx -t blocks (--- must_die) match the [emerg] line as error.log writes it (`[emerg] PID#TID:
# ...`): upstream Test::Nginx reads error.log only, not nginx's stderr (`nginx: [emerg] ...`).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: scope any read: a scope string is a list of words (RFC 6749 3.3), matched whole and case-sensitively
Only "read write", " read  write " (runs of spaces yield no empty word) and "write read" hold the word
read. "read:all" and "readonly" are other words, "READ WRITE" another case, "read\twrite" a single
word (only U+0020 separates), and an absent claim holds nothing. Each denial is a 403 with the
insufficient_scope challenge and an empty $jwt_error (the token itself is valid).
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  scope-read-all {"sub":"scope-read-all","scope":"read:all","exp":4102444800}
  scope-padded {"sub":"scope-padded","scope":" read  write ","exp":4102444800}
  scope-upper {"sub":"scope-upper","scope":"READ WRITE","exp":4102444800}
  scope-tab {"sub":"scope-tab","scope":"read\twrite","exp":4102444800}
  scope-readonly {"sub":"scope-readonly","scope":"readonly","exp":4102444800}
  scope-wr {"sub":"scope-wr","scope":"write read","exp":4102444800}
  scope-array {"sub":"scope-array","scope":["read","write"],"exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any read;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkLWFsbCIsInNjb3BlIjoicmVhZDphbGwiLCJleHAiOjQxMDI0NDQ4MDB9.8B608Vqm8X1vTtZNXzT8c_1_KIhaE6KLp5LkxzLO8ds",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1wYWRkZWQiLCJzY29wZSI6IiByZWFkICB3cml0ZSAiLCJleHAiOjQxMDI0NDQ4MDB9.QFQOB07xSGVI7Z67ImTqzdKwObZ1UC6LR1yxFeR0myc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS11cHBlciIsInNjb3BlIjoiUkVBRCBXUklURSIsImV4cCI6NDEwMjQ0NDgwMH0.9mouJ205jOmzdf19_h83Jcj7fGsuwWjO09Lwow7C2tQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS10YWIiLCJzY29wZSI6InJlYWRcdHdyaXRlIiwiZXhwIjo0MTAyNDQ0ODAwfQ.IsB4hd55xh8CntJ2165Cmhea8C2YqWi1ULvLbT8JWvE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkb25seSIsInNjb3BlIjoicmVhZG9ubHkiLCJleHAiOjQxMDI0NDQ4MDB9.6s5QUm2MX3-921eREWVgui_FDsu1j17sxiodbEKstIw",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS13ciIsInNjb3BlIjoid3JpdGUgcmVhZCIsImV4cCI6NDEwMjQ0NDgwMH0.nJUD2wWjXUjIHMdJnx0p6XsmkkVz1h5Y7_DNOD47DfY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1hcnJheSIsInNjb3BlIjpbInJlYWQiLCJ3cml0ZSJdLCJleHAiOjQxMDI0NDQ4MDB9.oxPaP9aV9gZvEGc7C-mnlCat07ZNiMntk5oVSDqc5AE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[200, 403, 200, 403, 403, 403, 200, 200, 403, 200]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read-all\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: scope-padded\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-upper\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: scope-tab\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: scope-readonly\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: scope-wr\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-array\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" holds none of "read")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" is absent \(any "read"\))']



=== TEST 2: scope any admin write: any one of several values is enough
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
  scope-read-all {"sub":"scope-read-all","scope":"read:all","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any admin write;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkLWFsbCIsInNjb3BlIjoicmVhZDphbGwiLCJleHAiOjQxMDI0NDQ4MDB9.8B608Vqm8X1vTtZNXzT8c_1_KIhaE6KLp5LkxzLO8ds",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: scope-read-all\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin" "write"" failed: claim "scope" holds none of "admin" "write")']



=== TEST 3: scope all read write: every value must be held, in any order
"read" alone lacks write; "read:all" holds neither (the first missing value is logged).
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  scope-wr {"sub":"scope-wr","scope":"write read","exp":4102444800}
  scope-padded {"sub":"scope-padded","scope":" read  write ","exp":4102444800}
  scope-array {"sub":"scope-array","scope":["read","write"],"exp":4102444800}
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
  scope-read-all {"sub":"scope-read-all","scope":"read:all","exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope all read write;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS13ciIsInNjb3BlIjoid3JpdGUgcmVhZCIsImV4cCI6NDEwMjQ0NDgwMH0.nJUD2wWjXUjIHMdJnx0p6XsmkkVz1h5Y7_DNOD47DfY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1wYWRkZWQiLCJzY29wZSI6IiByZWFkICB3cml0ZSAiLCJleHAiOjQxMDI0NDQ4MDB9.QFQOB07xSGVI7Z67ImTqzdKwObZ1UC6LR1yxFeR0myc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1hcnJheSIsInNjb3BlIjpbInJlYWQiLCJ3cml0ZSJdLCJleHAiOjQxMDI0NDQ4MDB9.oxPaP9aV9gZvEGc7C-mnlCat07ZNiMntk5oVSDqc5AE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkLWFsbCIsInNjb3BlIjoicmVhZDphbGwiLCJleHAiOjQxMDI0NDQ4MDB9.8B608Vqm8X1vTtZNXzT8c_1_KIhaE6KLp5LkxzLO8ds",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[200, 200, 200, 200, 403, 403, 403, 200]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-wr\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-padded\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-array\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: scope-read-all\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" all "read" "write"" failed: claim "scope" does not hold "write" \(all "read" "write"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" all "read" "write"" failed: claim "scope" does not hold "read" \(all "read" "write"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" all "read" "write"" failed: claim "scope" is absent \(all "read" "write"\))']



=== TEST 4: scope all read write delete: one value missing is enough to deny
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope all read write delete;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk
--- error_code: 403
--- response_headers
X-Sub: scope-rw
X-Jwt-Error: 
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like eval
qr/403 Forbidden/
--- error_log
jwt: "jwt_require_claim "scope" all "read" "write" "delete"" failed: claim "scope" does not hold "delete" (all "read" "write" "delete")



=== TEST 5: role eq admin: exact bytes only ("superadmin", trailing or leading space, other case: 403)
An array ["admin"], an object and null are not strings: eq takes a string, number or boolean,
and the log says which type the claim had.
Tokens:
  role-admin {"sub":"role-admin","role":"admin","exp":4102444800}
  role-superadmin {"sub":"role-superadmin","role":"superadmin","exp":4102444800}
  role-admin-trail {"sub":"role-admin-trail","role":"admin ","exp":4102444800}
  role-admin-lead {"sub":"role-admin-lead","role":" admin","exp":4102444800}
  role-Admin {"sub":"role-Admin","role":"Admin","exp":4102444800}
  role-array {"sub":"role-array","role":["admin"],"exp":4102444800}
  role-object {"sub":"role-object","role":{"name":"admin"},"exp":4102444800}
  role-null {"sub":"role-null","role":null,"exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim role eq admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFkbWluIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.SZ8VNHxjw8SvPHQWm0Z24r6VwzmXU9t05mWZbI4luVo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLXN1cGVyYWRtaW4iLCJyb2xlIjoic3VwZXJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.2Pb0cwV9Eh8w_HFw1UCbsfRVLuA9TSTZJnJuDqaa7XE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFkbWluLXRyYWlsIiwicm9sZSI6ImFkbWluICIsImV4cCI6NDEwMjQ0NDgwMH0.edXwSOqCifK6bM5EGNyXki957HYw6FmBT0ITXAwG1ZA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFkbWluLWxlYWQiLCJyb2xlIjoiIGFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ._u2LjDOOEpfzgJBSyXnk4KF57qX4NGNQ1eKR-PSLtaM",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLUFkbWluIiwicm9sZSI6IkFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.HqIfjWd4SEPT6CCG0h58-hRpclv1qROkRmq9rcxgzQg",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFycmF5Iiwicm9sZSI6WyJhZG1pbiJdLCJleHAiOjQxMDI0NDQ4MDB9.skGWpDQaT5be0TVc-hyP3cmUeBEkrh1zgY2ldSnZEdA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLW9iamVjdCIsInJvbGUiOnsibmFtZSI6ImFkbWluIn0sImV4cCI6NDEwMjQ0NDgwMH0.1SNI3er-HDCaqiRyFgNowjR_7432sS4vle2sqNDu_X8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLW51bGwiLCJyb2xlIjpudWxsLCJleHAiOjQxMDI0NDQ4MDB9.G9YxfkSLsqzxLlXl7XCg13MX_vCZARvZJBCNazXjLVA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[200, 403, 403, 403, 403, 403, 403, 403, 403, 200]
--- response_headers eval
["X-Sub: role-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-superadmin\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-admin-trail\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-admin-lead\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-Admin\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-array\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-object\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-null\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is "superadmin", not eq "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is "admin ", not eq "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is " admin", not eq "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is "Admin", not eq "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is an array, not a string, number or boolean \(eq "admin"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is an object, not a string, number or boolean \(eq "admin"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is null, not a string, number or boolean \(eq "admin"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is absent \(eq "admin"\))']



=== TEST 6: role eq admin editor: equals one of the values
Tokens:
  role-admin {"sub":"role-admin","role":"admin","exp":4102444800}
  role-editor {"sub":"role-editor","role":"editor","exp":4102444800}
  role-user {"sub":"role-user","role":"user","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim role eq admin editor;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFkbWluIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.SZ8VNHxjw8SvPHQWm0Z24r6VwzmXU9t05mWZbI4luVo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWVkaXRvciIsInJvbGUiOiJlZGl0b3IiLCJleHAiOjQxMDI0NDQ4MDB9.cW85o7sKbsh-THJsBavgD1QjhM3IDATTFOlqgfwvchg",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLXVzZXIiLCJyb2xlIjoidXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.wFYjIE7U-hZY2pNlGA-HdZhwAGphGixIn00Wg03rJ_Q",
 ""]
--- error_code eval
[200, 200, 403, 200]
--- response_headers eval
["X-Sub: role-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-editor\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-user\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin" "editor"" failed: claim "role" is "user", not eq "admin" "editor")']



=== TEST 7: role any admin on a string claim: whole words, so "superadmin" is no admin but "user admin" is
This is what a map regex ~admin gets wrong. An object claim is neither an array nor a string.
Tokens:
  role-admin {"sub":"role-admin","role":"admin","exp":4102444800}
  role-words {"sub":"role-words","role":"user admin","exp":4102444800}
  role-superadmin {"sub":"role-superadmin","role":"superadmin","exp":4102444800}
  role-object {"sub":"role-object","role":{"name":"admin"},"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim role any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFkbWluIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.SZ8VNHxjw8SvPHQWm0Z24r6VwzmXU9t05mWZbI4luVo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLXdvcmRzIiwicm9sZSI6InVzZXIgYWRtaW4iLCJleHAiOjQxMDI0NDQ4MDB9.6DsgXPuf7JwcRhuct0Ld8vAMgUOYjXGbu1G1z6vfvd8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLXN1cGVyYWRtaW4iLCJyb2xlIjoic3VwZXJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.2Pb0cwV9Eh8w_HFw1UCbsfRVLuA9TSTZJnJuDqaa7XE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLW9iamVjdCIsInJvbGUiOnsibmFtZSI6ImFkbWluIn0sImV4cCI6NDEwMjQ0NDgwMH0.1SNI3er-HDCaqiRyFgNowjR_7432sS4vle2sqNDu_X8",
 ""]
--- error_code eval
[200, 200, 403, 403, 200]
--- response_headers eval
["X-Sub: role-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-words\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-superadmin\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-object\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" any "admin"" failed: claim "role" holds none of "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" any "admin"" failed: claim "role" is an object, not an array or a string \(any "admin"\))']



=== TEST 8: roles any admin on arrays: an element equal to admin; "superadmin", "Admin", "admin ", nested arrays and [] do not count
A single role given as the string "admin" holds admin (string words); an object {"admin":true}
is neither an array nor a string.
Tokens:
  roles-user-admin {"sub":"roles-user-admin","roles":["user","admin"],"exp":4102444800}
  roles-superadmin {"sub":"roles-superadmin","roles":["superadmin","user"],"exp":4102444800}
  roles-Admin {"sub":"roles-Admin","roles":["Admin"],"exp":4102444800}
  roles-nested {"sub":"roles-nested","roles":[["admin"]],"exp":4102444800}
  roles-admin-trail {"sub":"roles-admin-trail","roles":["admin "],"exp":4102444800}
  roles-empty {"sub":"roles-empty","roles":[],"exp":4102444800}
  roles-string {"sub":"roles-string","roles":"admin","exp":4102444800}
  roles-object {"sub":"roles-object","roles":{"admin":true},"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim roles any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy11c2VyLWFkbWluIiwicm9sZXMiOlsidXNlciIsImFkbWluIl0sImV4cCI6NDEwMjQ0NDgwMH0.UjwC3K4NRteahFqkTGFWFyOGgDpBymb22zfjEBhlpAo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1zdXBlcmFkbWluIiwicm9sZXMiOlsic3VwZXJhZG1pbiIsInVzZXIiXSwiZXhwIjo0MTAyNDQ0ODAwfQ.sZWZsQRKnTnOU76ZqiFDKalKtm2ZHxuVCb7pzIGyeq4",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1BZG1pbiIsInJvbGVzIjpbIkFkbWluIl0sImV4cCI6NDEwMjQ0NDgwMH0.wKQha3g4_fdNVeTz58V2ShlMR3PiBnO_zUaitMouJ-E",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1uZXN0ZWQiLCJyb2xlcyI6W1siYWRtaW4iXV0sImV4cCI6NDEwMjQ0NDgwMH0.ctWMXIQHfIzaEBWW8mYhoCRe4GeAG7MygbMCMD1Qx6k",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1hZG1pbi10cmFpbCIsInJvbGVzIjpbImFkbWluICJdLCJleHAiOjQxMDI0NDQ4MDB9.RQhCQV-ZfC9tGIQxjZsXZe1LI9pwdcPCIRrSdFXbmUQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1lbXB0eSIsInJvbGVzIjpbXSwiZXhwIjo0MTAyNDQ0ODAwfQ.B6VPNa6k2FW0uPN9Vq4clY8wBEuFLJJXf5dIA1hAw18",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1zdHJpbmciLCJyb2xlcyI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.BOacWdfJEHJk8mZxX2rNcuoxBAsLsFQM7tmSAaQLztM",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1vYmplY3QiLCJyb2xlcyI6eyJhZG1pbiI6dHJ1ZX0sImV4cCI6NDEwMjQ0NDgwMH0.iAntSHuFvwemXjiz-3xzTQKVqVxmhOQD9Qoj7l5FjYA",
 ""]
--- error_code eval
[200, 403, 403, 403, 403, 403, 200, 403, 200]
--- response_headers eval
["X-Sub: roles-user-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: roles-superadmin\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: roles-Admin\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: roles-nested\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: roles-admin-trail\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: roles-empty\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: roles-string\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: roles-object\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" holds none of "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" is an object, not an array or a string \(any "admin"\))']



=== TEST 9: roles all admin user: one missing element denies
Tokens:
  roles-user-admin {"sub":"roles-user-admin","roles":["user","admin"],"exp":4102444800}
  roles-admin {"sub":"roles-admin","roles":["admin"],"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim roles all admin user;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy11c2VyLWFkbWluIiwicm9sZXMiOlsidXNlciIsImFkbWluIl0sImV4cCI6NDEwMjQ0NDgwMH0.UjwC3K4NRteahFqkTGFWFyOGgDpBymb22zfjEBhlpAo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1hZG1pbiIsInJvbGVzIjpbImFkbWluIl0sImV4cCI6NDEwMjQ0NDgwMH0.T3UjwHRdgj7KwZfQRkfI_5Ctmzdl7Ia8rnMpOaUAy-0",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: roles-user-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: roles-admin\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" all "admin" "user"" failed: claim "roles" does not hold "user" \(all "admin" "user"\))']



=== TEST 10: array elements compare like eq: groups any 1 holds [1,2], ["1","2"] and [1.0], not [true]
The element "1" is a string with the same bytes as the configured text; 1.0 is the number 1; true
is a boolean, never equal to 1.
Tokens:
  groups-numbers {"sub":"groups-numbers","groups":[1,2],"exp":4102444800}
  groups-strings {"sub":"groups-strings","groups":["1","2"],"exp":4102444800}
  groups-float {"sub":"groups-float","groups":[1.0],"exp":4102444800}
  groups-bool {"sub":"groups-bool","groups":[true],"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim groups any 1;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJncm91cHMtbnVtYmVycyIsImdyb3VwcyI6WzEsMl0sImV4cCI6NDEwMjQ0NDgwMH0.yNiL5cdp5bJbZFw8aegSTnvTYISBr9vGGLMeBZYzQ_M",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJncm91cHMtc3RyaW5ncyIsImdyb3VwcyI6WyIxIiwiMiJdLCJleHAiOjQxMDI0NDQ4MDB9.0YcOzI6NIo4vPkYn_3HY_kfZ7Xuoak77ooTGnn9ZhT4",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJncm91cHMtZmxvYXQiLCJncm91cHMiOlsxLjBdLCJleHAiOjQxMDI0NDQ4MDB9.yccHhH79KQ3Ny8ITV6ZQFbeKOKV1mU03pYkqudDYKmM",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJncm91cHMtYm9vbCIsImdyb3VwcyI6W3RydWVdLCJleHAiOjQxMDI0NDQ4MDB9.Eeh9-1-GZe-RPXr2Mu04iPO5TTkq7pERptcOAot64bM",
 ""]
--- error_code eval
[200, 200, 200, 403, 200]
--- response_headers eval
["X-Sub: groups-numbers\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: groups-strings\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: groups-float\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: groups-bool\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "groups" any "1"" failed: claim "groups" holds none of "1")']



=== TEST 11: Keycloak realm_access.roles: nested member; a string realm_access and a flat claim named "realm_access.roles" are no match
Tokens:
  keycloak {"sub":"keycloak","realm_access":{"roles":["offline_access","admin"]},"resource_access":{"my-app":{"roles":["editor"]},"my.app":{"roles":["viewer"]}},"exp":4102444800}
  keycloak-user {"sub":"keycloak-user","realm_access":{"roles":["offline_access","user"]},"resource_access":{"other-app":{"roles":["editor"]}},"exp":4102444800}
  realm-string {"sub":"realm-string","realm_access":"admin","exp":4102444800}
  flat-dotted {"sub":"flat-dotted","realm_access.roles":["admin"],"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim realm_access.roles any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hayIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJvZmZsaW5lX2FjY2VzcyIsImFkbWluIl19LCJyZXNvdXJjZV9hY2Nlc3MiOnsibXktYXBwIjp7InJvbGVzIjpbImVkaXRvciJdfSwibXkuYXBwIjp7InJvbGVzIjpbInZpZXdlciJdfX0sImV4cCI6NDEwMjQ0NDgwMH0.kJPQAjHyI3GgY-NC5Mk4YWccCXNwYpp2GtoaLifGFFc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hay11c2VyIiwicmVhbG1fYWNjZXNzIjp7InJvbGVzIjpbIm9mZmxpbmVfYWNjZXNzIiwidXNlciJdfSwicmVzb3VyY2VfYWNjZXNzIjp7Im90aGVyLWFwcCI6eyJyb2xlcyI6WyJlZGl0b3IiXX19LCJleHAiOjQxMDI0NDQ4MDB9.f_iaElsEMG6y7B4h-Yyt62FlkSUv-xcXeZHQK9K3838",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyZWFsbS1zdHJpbmciLCJyZWFsbV9hY2Nlc3MiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.6ciIg4bS0yEzzXCqM2hxP2lCNJgu4qUo5jtNR55XyMI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmbGF0LWRvdHRlZCIsInJlYWxtX2FjY2Vzcy5yb2xlcyI6WyJhZG1pbiJdLCJleHAiOjQxMDI0NDQ4MDB9.HDMJDVz-psQ7aosS_clPNoSMksytrXPYqeC8_X3SJVc",
 ""]
--- error_code eval
[200, 403, 403, 403, 200]
--- response_headers eval
["X-Sub: keycloak\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: keycloak-user\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: realm-string\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: flat-dotted\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "realm_access\.roles" any "admin"" failed: claim "realm_access\.roles" holds none of "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "realm_access\.roles" any "admin"" failed: claim "realm_access\.roles" is absent: "realm_access" is a string, not an object \(any "admin"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "realm_access\.roles" any "admin"" failed: claim "realm_access\.roles" is absent \(any "admin"\))']



=== TEST 12: arrays are never indexed by a path: roles.0 is the member "0" of an object roles
Tokens:
  roles-index-object {"sub":"roles-index-object","roles":{"0":"admin"},"exp":4102444800}
  roles-admin {"sub":"roles-admin","roles":["admin"],"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim roles.0 eq admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1pbmRleC1vYmplY3QiLCJyb2xlcyI6eyIwIjoiYWRtaW4ifSwiZXhwIjo0MTAyNDQ0ODAwfQ.2DU9Mce3BdL59jHEozqKLbNxyJzkHPKsIHvoviE2wJE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1hZG1pbiIsInJvbGVzIjpbImFkbWluIl0sImV4cCI6NDEwMjQ0NDgwMH0.T3UjwHRdgj7KwZfQRkfI_5Ctmzdl7Ia8rnMpOaUAy-0",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: roles-index-object\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: roles-admin\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles\.0" eq "admin"" failed: claim "roles\.0" is absent: "roles" is an array, not an object \(eq "admin"\))']



=== TEST 13: a flat claim whose name holds a dot: realm_access\.roles reads {"realm_access.roles":[...]}, not the nested one
The log writes the path as nginx reads a quoted argument (\\ for the backslash).
Tokens:
  flat-dotted {"sub":"flat-dotted","realm_access.roles":["admin"],"exp":4102444800}
  keycloak {"sub":"keycloak","realm_access":{"roles":["offline_access","admin"]},"resource_access":{"my-app":{"roles":["editor"]},"my.app":{"roles":["viewer"]}},"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim realm_access\.roles any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmbGF0LWRvdHRlZCIsInJlYWxtX2FjY2Vzcy5yb2xlcyI6WyJhZG1pbiJdLCJleHAiOjQxMDI0NDQ4MDB9.HDMJDVz-psQ7aosS_clPNoSMksytrXPYqeC8_X3SJVc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hayIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJvZmZsaW5lX2FjY2VzcyIsImFkbWluIl19LCJyZXNvdXJjZV9hY2Nlc3MiOnsibXktYXBwIjp7InJvbGVzIjpbImVkaXRvciJdfSwibXkuYXBwIjp7InJvbGVzIjpbInZpZXdlciJdfX0sImV4cCI6NDEwMjQ0NDgwMH0.kJPQAjHyI3GgY-NC5Mk4YWccCXNwYpp2GtoaLifGFFc",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: flat-dotted\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: keycloak\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "realm_access\x5c\x5c\.roles" any "admin"" failed: claim "realm_access\x5c\x5c\.roles" is absent \(any "admin"\))']



=== TEST 14: Keycloak resource_access.my-app.roles: the client's roles, not another client's
Tokens:
  keycloak {"sub":"keycloak","realm_access":{"roles":["offline_access","admin"]},"resource_access":{"my-app":{"roles":["editor"]},"my.app":{"roles":["viewer"]}},"exp":4102444800}
  keycloak-user {"sub":"keycloak-user","realm_access":{"roles":["offline_access","user"]},"resource_access":{"other-app":{"roles":["editor"]}},"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim resource_access.my-app.roles any editor;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hayIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJvZmZsaW5lX2FjY2VzcyIsImFkbWluIl19LCJyZXNvdXJjZV9hY2Nlc3MiOnsibXktYXBwIjp7InJvbGVzIjpbImVkaXRvciJdfSwibXkuYXBwIjp7InJvbGVzIjpbInZpZXdlciJdfX0sImV4cCI6NDEwMjQ0NDgwMH0.kJPQAjHyI3GgY-NC5Mk4YWccCXNwYpp2GtoaLifGFFc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hay11c2VyIiwicmVhbG1fYWNjZXNzIjp7InJvbGVzIjpbIm9mZmxpbmVfYWNjZXNzIiwidXNlciJdfSwicmVzb3VyY2VfYWNjZXNzIjp7Im90aGVyLWFwcCI6eyJyb2xlcyI6WyJlZGl0b3IiXX19LCJleHAiOjQxMDI0NDQ4MDB9.f_iaElsEMG6y7B4h-Yyt62FlkSUv-xcXeZHQK9K3838",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: keycloak\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: keycloak-user\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "resource_access\.my-app\.roles" any "editor"" failed: claim "resource_access\.my-app\.roles" is absent \(any "editor"\))']



=== TEST 15: a client id with a dot: resource_access.my\.app.roles reads the member "my.app"; unescaped, the path walks my then app
/escaped: keycloak (member "my.app") 200, keycloak-nested-dot (resource_access.my.app) 403;
/unescaped: the other way round.
Tokens:
  keycloak {"sub":"keycloak","realm_access":{"roles":["offline_access","admin"]},"resource_access":{"my-app":{"roles":["editor"]},"my.app":{"roles":["viewer"]}},"exp":4102444800}
  keycloak-nested-dot {"sub":"keycloak-nested-dot","resource_access":{"my":{"app":{"roles":["viewer"]}}},"exp":4102444800}
--- config
    location = /escaped {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim resource_access.my\.app.roles any viewer;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /unescaped {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim resource_access.my.app.roles any viewer;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /escaped",
 "GET /escaped",
 "GET /unescaped",
 "GET /unescaped",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hayIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJvZmZsaW5lX2FjY2VzcyIsImFkbWluIl19LCJyZXNvdXJjZV9hY2Nlc3MiOnsibXktYXBwIjp7InJvbGVzIjpbImVkaXRvciJdfSwibXkuYXBwIjp7InJvbGVzIjpbInZpZXdlciJdfX0sImV4cCI6NDEwMjQ0NDgwMH0.kJPQAjHyI3GgY-NC5Mk4YWccCXNwYpp2GtoaLifGFFc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hay1uZXN0ZWQtZG90IiwicmVzb3VyY2VfYWNjZXNzIjp7Im15Ijp7ImFwcCI6eyJyb2xlcyI6WyJ2aWV3ZXIiXX19fSwiZXhwIjo0MTAyNDQ0ODAwfQ.0frKn9ANaNGr3tlYbAN2yhtQUDvMvQaFk1rOGdY9JfA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hay1uZXN0ZWQtZG90IiwicmVzb3VyY2VfYWNjZXNzIjp7Im15Ijp7ImFwcCI6eyJyb2xlcyI6WyJ2aWV3ZXIiXX19fSwiZXhwIjo0MTAyNDQ0ODAwfQ.0frKn9ANaNGr3tlYbAN2yhtQUDvMvQaFk1rOGdY9JfA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXljbG9hayIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJvZmZsaW5lX2FjY2VzcyIsImFkbWluIl19LCJyZXNvdXJjZV9hY2Nlc3MiOnsibXktYXBwIjp7InJvbGVzIjpbImVkaXRvciJdfSwibXkuYXBwIjp7InJvbGVzIjpbInZpZXdlciJdfX0sImV4cCI6NDEwMjQ0NDgwMH0.kJPQAjHyI3GgY-NC5Mk4YWccCXNwYpp2GtoaLifGFFc",
 ""]
--- error_code eval
[200, 403, 200, 403, 200]
--- response_headers eval
["X-Sub: keycloak\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: keycloak-nested-dot\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: keycloak-nested-dot\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: keycloak\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "resource_access\.my\x5c\x5c\.app\.roles" any "viewer"" failed: claim "resource_access\.my\x5c\x5c\.app\.roles" is absent \(any "viewer"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "resource_access\.my\.app\.roles" any "viewer"" failed: claim "resource_access\.my\.app\.roles" is absent \(any "viewer"\))']



=== TEST 16: level eq 1: the number 1 and 1.0, and the string "1" (same bytes), pass; true, 2, "01", 1.5 do not
Documented in claim_rule.rs: a configured value equals a string claim with the same bytes, so the
string "1" passes eq 1; the boolean true never equals 1.
Tokens:
  level-1 {"sub":"level-1","level":1,"exp":4102444800}
  level-1.0 {"sub":"level-1.0","level":1.0,"exp":4102444800}
  level-1-string {"sub":"level-1-string","level":"1","exp":4102444800}
  level-true {"sub":"level-true","level":true,"exp":4102444800}
  level-2 {"sub":"level-2","level":2,"exp":4102444800}
  level-01-string {"sub":"level-01-string","level":"01","exp":4102444800}
  level-1.5 {"sub":"level-1.5","level":1.5,"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim level eq 1;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xIiwibGV2ZWwiOjEsImV4cCI6NDEwMjQ0NDgwMH0.KDVhMuNhI6XkMExNGZIZ224vLyK0jFQndKJ_g-8e7OY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLjAiLCJsZXZlbCI6MS4wLCJleHAiOjQxMDI0NDQ4MDB9.mrilFGcZTkhHvEgD2byAzytM9MYgI-8pPSsbac13rnc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLXN0cmluZyIsImxldmVsIjoiMSIsImV4cCI6NDEwMjQ0NDgwMH0.RdGj9NS1ob93qvnYEisoQO6SEVgv6txhJkkElGz3Bng",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC10cnVlIiwibGV2ZWwiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.LyI46-laTQQG1JXWB-_Se_kx7vifYHXSywXu5hEqwT0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yIiwibGV2ZWwiOjIsImV4cCI6NDEwMjQ0NDgwMH0.s33nauN7zncbUBsI4k3ll-CKQyoxUXG0Cu4pQmML0fI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0wMS1zdHJpbmciLCJsZXZlbCI6IjAxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.SRPfMKP6NRGVwl83xRxFjE57ANILo5oEZVDmG4j9_jI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLjUiLCJsZXZlbCI6MS41LCJleHAiOjQxMDI0NDQ4MDB9.8jKqXdulFj_XGZnpj-NUgYsAXDrXchC17B0CBjkR4-M",
 ""]
--- error_code eval
[200, 200, 200, 403, 403, 403, 403, 200]
--- response_headers eval
["X-Sub: level-1\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-1.0\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-1-string\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-true\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-2\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-01-string\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-1.5\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" eq "1"" failed: claim "level" is true, not eq "1")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" eq "1"" failed: claim "level" is 2, not eq "1")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" eq "1"" failed: claim "level" is "01", not eq "1")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" eq "1"" failed: claim "level" is 1\.5, not eq "1")']



=== TEST 17: level eq 1.0: numbers compare by value (1 passes), strings by bytes ("1" fails, "1.0" passes)
Tokens:
  level-1 {"sub":"level-1","level":1,"exp":4102444800}
  level-1.0 {"sub":"level-1.0","level":1.0,"exp":4102444800}
  level-1-string {"sub":"level-1-string","level":"1","exp":4102444800}
  level-1.0-string {"sub":"level-1.0-string","level":"1.0","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim level eq 1.0;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xIiwibGV2ZWwiOjEsImV4cCI6NDEwMjQ0NDgwMH0.KDVhMuNhI6XkMExNGZIZ224vLyK0jFQndKJ_g-8e7OY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLjAiLCJsZXZlbCI6MS4wLCJleHAiOjQxMDI0NDQ4MDB9.mrilFGcZTkhHvEgD2byAzytM9MYgI-8pPSsbac13rnc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLXN0cmluZyIsImxldmVsIjoiMSIsImV4cCI6NDEwMjQ0NDgwMH0.RdGj9NS1ob93qvnYEisoQO6SEVgv6txhJkkElGz3Bng",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLjAtc3RyaW5nIiwibGV2ZWwiOiIxLjAiLCJleHAiOjQxMDI0NDQ4MDB9.CSfcF9yGiNVDAaWUiCLdqrhC1Fs2fB_RchP9kU3cCm8",
 ""]
--- error_code eval
[200, 200, 403, 200, 200]
--- response_headers eval
["X-Sub: level-1\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-1.0\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-1-string\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-1.0-string\nX-Jwt-Error: \n!WWW-Authenticate",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" eq "1\.0"" failed: claim "level" is "1", not eq "1\.0")']



=== TEST 18: ge, gt, lt, le compare numbers only: a numeric string, a boolean and an absent claim are unmet
/ge: ge 2; /gt: gt 2; /lt: lt 0; /le: le 1.5.
Tokens:
  level-2 {"sub":"level-2","level":2,"exp":4102444800}
  level-2.0 {"sub":"level-2.0","level":2.0,"exp":4102444800}
  level-3 {"sub":"level-3","level":3,"exp":4102444800}
  level-2.5 {"sub":"level-2.5","level":2.5,"exp":4102444800}
  level-1.999 {"sub":"level-1.999","level":1.999,"exp":4102444800}
  level-3-string {"sub":"level-3-string","level":"3","exp":4102444800}
  level-true {"sub":"level-true","level":true,"exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
  level-2.0000001 {"sub":"level-2.0000001","level":2.0000001,"exp":4102444800}
  level-minus-1 {"sub":"level-minus-1","level":-1,"exp":4102444800}
  level-0 {"sub":"level-0","level":0,"exp":4102444800}
  level-1.5 {"sub":"level-1.5","level":1.5,"exp":4102444800}
  level-1 {"sub":"level-1","level":1,"exp":4102444800}
--- config
    location = /ge {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim level ge 2;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /gt {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim level gt 2;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /lt {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim level lt 0;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /le {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim level le 1.5;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /ge",
 "GET /ge",
 "GET /ge",
 "GET /ge",
 "GET /ge",
 "GET /ge",
 "GET /ge",
 "GET /ge",
 "GET /gt",
 "GET /gt",
 "GET /gt",
 "GET /lt",
 "GET /lt",
 "GET /le",
 "GET /le",
 "GET /le",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yIiwibGV2ZWwiOjIsImV4cCI6NDEwMjQ0NDgwMH0.s33nauN7zncbUBsI4k3ll-CKQyoxUXG0Cu4pQmML0fI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yLjAiLCJsZXZlbCI6Mi4wLCJleHAiOjQxMDI0NDQ4MDB9.E14cwu0FmnGBD5Yr2At-epIEbUoWYBFiGCxlZPyw-m8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0zIiwibGV2ZWwiOjMsImV4cCI6NDEwMjQ0NDgwMH0.kTL9fuFPB3ScCSgkwyTy0dX_wt1uakJb0aObqdg5WRI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yLjUiLCJsZXZlbCI6Mi41LCJleHAiOjQxMDI0NDQ4MDB9.lEdmOAIICuLh4uGPhyrBJ1dibzA3FDvLx42g0ULwAqc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLjk5OSIsImxldmVsIjoxLjk5OSwiZXhwIjo0MTAyNDQ0ODAwfQ.ik6HGyMk53idStzfv3G1HFkTxts_uEzE9yU1o5IhU5Q",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0zLXN0cmluZyIsImxldmVsIjoiMyIsImV4cCI6NDEwMjQ0NDgwMH0.kxLRHCssda0p_S9LkS23Wxo2-m-rXKZGwY6bilZr0xk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC10cnVlIiwibGV2ZWwiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.LyI46-laTQQG1JXWB-_Se_kx7vifYHXSywXu5hEqwT0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yIiwibGV2ZWwiOjIsImV4cCI6NDEwMjQ0NDgwMH0.s33nauN7zncbUBsI4k3ll-CKQyoxUXG0Cu4pQmML0fI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yLjAiLCJsZXZlbCI6Mi4wLCJleHAiOjQxMDI0NDQ4MDB9.E14cwu0FmnGBD5Yr2At-epIEbUoWYBFiGCxlZPyw-m8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yLjAwMDAwMDEiLCJsZXZlbCI6Mi4wMDAwMDAxLCJleHAiOjQxMDI0NDQ4MDB9.QZDll29TXDvQaWq9sRWvdN5q0LpmifkBH178-GLuNVw",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC1taW51cy0xIiwibGV2ZWwiOi0xLCJleHAiOjQxMDI0NDQ4MDB9.4BZ118PTAMFxZa2GubuCANnmXW1A8PTs0op39a5JvJU",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0wIiwibGV2ZWwiOjAsImV4cCI6NDEwMjQ0NDgwMH0.L8g3jpoMdm3BB1R3VmKATgfqcL14EQvwyRrjx3HYjQs",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xLjUiLCJsZXZlbCI6MS41LCJleHAiOjQxMDI0NDQ4MDB9.8jKqXdulFj_XGZnpj-NUgYsAXDrXchC17B0CBjkR4-M",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0xIiwibGV2ZWwiOjEsImV4cCI6NDEwMjQ0NDgwMH0.KDVhMuNhI6XkMExNGZIZ224vLyK0jFQndKJ_g-8e7OY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZXZlbC0yIiwibGV2ZWwiOjIsImV4cCI6NDEwMjQ0NDgwMH0.s33nauN7zncbUBsI4k3ll-CKQyoxUXG0Cu4pQmML0fI",
 ""]
--- error_code eval
[200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 200, 200, 403, 200, 200, 403, 200]
--- response_headers eval
["X-Sub: level-2\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-2.0\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-3\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-2.5\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-1.999\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-3-string\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-true\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-2\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-2.0\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-2.0000001\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-minus-1\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-0\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: level-1.5\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-1\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: level-2\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" ge 2" failed: claim "level" is 1\.999, not ge 2)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" ge 2" failed: claim "level" is a string, not a number \(ge 2\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" ge 2" failed: claim "level" is a boolean, not a number \(ge 2\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" ge 2" failed: claim "level" is absent \(ge 2\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" gt 2" failed: claim "level" is 2, not gt 2)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" gt 2" failed: claim "level" is 2\.0, not gt 2)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" lt 0" failed: claim "level" is 0, not lt 0)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" le 1\.5" failed: claim "level" is 2, not le 1\.5)']



=== TEST 19: integers above 2^53 compare exactly (within 64 bits): 9007199254740993 is eq 9007199254740993 and gt 9007199254740992, 9007199254740992 is neither
Tokens:
  id-2p53-plus-1 {"sub":"id-2p53-plus-1","id":9007199254740993,"exp":4102444800}
  id-2p53 {"sub":"id-2p53","id":9007199254740992,"exp":4102444800}
--- config
    location = /eq {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim id eq 9007199254740993;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /gt {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim id gt 9007199254740992;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /eq",
 "GET /eq",
 "GET /gt",
 "GET /gt",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJpZC0ycDUzLXBsdXMtMSIsImlkIjo5MDA3MTk5MjU0NzQwOTkzLCJleHAiOjQxMDI0NDQ4MDB9.se4t4jwTKctuUlzx3815KqG27G5TBCjcS726qoisr8k",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJpZC0ycDUzIiwiaWQiOjkwMDcxOTkyNTQ3NDA5OTIsImV4cCI6NDEwMjQ0NDgwMH0.XWuC75BJPkmEGJfWMmzCI6czIbEq9PRFonHtQiKPxzI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJpZC0ycDUzLXBsdXMtMSIsImlkIjo5MDA3MTk5MjU0NzQwOTkzLCJleHAiOjQxMDI0NDQ4MDB9.se4t4jwTKctuUlzx3815KqG27G5TBCjcS726qoisr8k",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJpZC0ycDUzIiwiaWQiOjkwMDcxOTkyNTQ3NDA5OTIsImV4cCI6NDEwMjQ0NDgwMH0.XWuC75BJPkmEGJfWMmzCI6czIbEq9PRFonHtQiKPxzI",
 ""]
--- error_code eval
[200, 403, 200, 403, 200]
--- response_headers eval
["X-Sub: id-2p53-plus-1\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: id-2p53\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: id-2p53-plus-1\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: id-2p53\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "id" eq "9007199254740993"" failed: claim "id" is 9007199254740992, not eq "9007199254740993")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "id" gt 9007199254740992" failed: claim "id" is 9007199254740992, not gt 9007199254740992)']



=== TEST 20: auth_time ge 1700000000: a recent authentication passes, an older one does not
Tokens:
  auth-recent {"sub":"auth-recent","auth_time":1700000001,"exp":4102444800}
  auth-old {"sub":"auth-old","auth_time":1699999999,"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim auth_time ge 1700000000;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhdXRoLXJlY2VudCIsImF1dGhfdGltZSI6MTcwMDAwMDAwMSwiZXhwIjo0MTAyNDQ0ODAwfQ.ZAPDzDDskUeyYl2pZxxrjVNT1hXYfz7Dv_8ARjtF_MM",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhdXRoLW9sZCIsImF1dGhfdGltZSI6MTY5OTk5OTk5OSwiZXhwIjo0MTAyNDQ0ODAwfQ.bk81qFRtsMcjkJiDSZNc9o2ftwQULnF9LVMq6M_xj_A",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: auth-recent\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: auth-old\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "auth_time" ge 1700000000" failed: claim "auth_time" is 1699999999, not ge 1700000000)']



=== TEST 21: email_verified eq true: true passes, and so does the string "true" (same bytes); false, "True" and 1 do not
Tokens:
  verified-true {"sub":"verified-true","email_verified":true,"exp":4102444800}
  verified-string {"sub":"verified-string","email_verified":"true","exp":4102444800}
  verified-false {"sub":"verified-false","email_verified":false,"exp":4102444800}
  verified-True-string {"sub":"verified-True-string","email_verified":"True","exp":4102444800}
  verified-1 {"sub":"verified-1","email_verified":1,"exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim email_verified eq true;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC10cnVlIiwiZW1haWxfdmVyaWZpZWQiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.M1kgN35Imh5J2L9TK14aizqniGW30LyMLtNZMrmYBwo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC1zdHJpbmciLCJlbWFpbF92ZXJpZmllZCI6InRydWUiLCJleHAiOjQxMDI0NDQ4MDB9.-Q6bph7RaIWWrOWPMM81Fc9S4v6r_uL57fk5sW6yJwM",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC1mYWxzZSIsImVtYWlsX3ZlcmlmaWVkIjpmYWxzZSwiZXhwIjo0MTAyNDQ0ODAwfQ.cXPPR9el9FU4DUo7FO9t3nXuFsDcsEfVNuZpeyyYINY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC1UcnVlLXN0cmluZyIsImVtYWlsX3ZlcmlmaWVkIjoiVHJ1ZSIsImV4cCI6NDEwMjQ0NDgwMH0.9C_rGBuQ56evAk84EHL4yMB_eTXynkJGTB7VLTs8pG0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC0xIiwiZW1haWxfdmVyaWZpZWQiOjEsImV4cCI6NDEwMjQ0NDgwMH0.12RdzYjlET1Q6-IGBOhB6pGmZO-ufRZh7fi7sEpWfB0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[200, 200, 403, 403, 403, 403, 200]
--- response_headers eval
["X-Sub: verified-true\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: verified-string\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: verified-false\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: verified-True-string\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: verified-1\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "email_verified" eq "true"" failed: claim "email_verified" is false, not eq "true")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "email_verified" eq "true"" failed: claim "email_verified" is "True", not eq "true")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "email_verified" eq "true"" failed: claim "email_verified" is 1, not eq "true")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "email_verified" eq "true"" failed: claim "email_verified" is absent \(eq "true"\))']



=== TEST 22: email_verified eq false: only false; a token without the claim is denied
Tokens:
  verified-false {"sub":"verified-false","email_verified":false,"exp":4102444800}
  verified-true {"sub":"verified-true","email_verified":true,"exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim email_verified eq false;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC1mYWxzZSIsImVtYWlsX3ZlcmlmaWVkIjpmYWxzZSwiZXhwIjo0MTAyNDQ0ODAwfQ.cXPPR9el9FU4DUo7FO9t3nXuFsDcsEfVNuZpeyyYINY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC10cnVlIiwiZW1haWxfdmVyaWZpZWQiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.M1kgN35Imh5J2L9TK14aizqniGW30LyMLtNZMrmYBwo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: verified-false\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: verified-true\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "email_verified" eq "false"" failed: claim "email_verified" is absent \(eq "false"\))']



=== TEST 23: role ne guest fails closed: absent, null, arrays (even ["admin"]) and objects are unmet; "Guest" is another value
Tokens:
  role-admin {"sub":"role-admin","role":"admin","exp":4102444800}
  role-Guest {"sub":"role-Guest","role":"Guest","exp":4102444800}
  role-guest {"sub":"role-guest","role":"guest","exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
  role-guest-array {"sub":"role-guest-array","role":["guest"],"exp":4102444800}
  role-array {"sub":"role-array","role":["admin"],"exp":4102444800}
  role-null {"sub":"role-null","role":null,"exp":4102444800}
  role-object {"sub":"role-object","role":{"name":"admin"},"exp":4102444800}
  role-true {"sub":"role-true","role":true,"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim role ne guest;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFkbWluIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.SZ8VNHxjw8SvPHQWm0Z24r6VwzmXU9t05mWZbI4luVo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLUd1ZXN0Iiwicm9sZSI6Ikd1ZXN0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.8Hj7KQZ7dBwrN5vMgvp_rlNHNEI25jpvb7TU8oNL1JQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWd1ZXN0Iiwicm9sZSI6Imd1ZXN0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.w4Ee7XgOjliHV_migToJ2CzoTHFf7C7oNXiEBc6HPnI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWd1ZXN0LWFycmF5Iiwicm9sZSI6WyJndWVzdCJdLCJleHAiOjQxMDI0NDQ4MDB9.9-wARlBbiemnweeIrpnYUsUEwZxU__YDPXQtkwq8r3k",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFycmF5Iiwicm9sZSI6WyJhZG1pbiJdLCJleHAiOjQxMDI0NDQ4MDB9.skGWpDQaT5be0TVc-hyP3cmUeBEkrh1zgY2ldSnZEdA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLW51bGwiLCJyb2xlIjpudWxsLCJleHAiOjQxMDI0NDQ4MDB9.G9YxfkSLsqzxLlXl7XCg13MX_vCZARvZJBCNazXjLVA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLW9iamVjdCIsInJvbGUiOnsibmFtZSI6ImFkbWluIn0sImV4cCI6NDEwMjQ0NDgwMH0.1SNI3er-HDCaqiRyFgNowjR_7432sS4vle2sqNDu_X8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLXRydWUiLCJyb2xlIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.dxTdf5XiBuyb3f2eUbkY1RiKmG143IcwzEqme0arIe0",
 ""]
--- error_code eval
[200, 200, 403, 403, 403, 403, 403, 403, 200, 200]
--- response_headers eval
["X-Sub: role-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-Guest\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-guest\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-guest-array\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-array\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-null\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-object\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-true\nX-Jwt-Error: \n!WWW-Authenticate",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" ne "guest"" failed: claim "role" is "guest", which ne "guest" excludes)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" ne "guest"" failed: claim "role" is absent \(ne "guest"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" ne "guest"" failed: claim "role" is an array, not a string, number or boolean \(ne "guest"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" ne "guest"" failed: claim "role" is null, not a string, number or boolean \(ne "guest"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" ne "guest"" failed: claim "role" is an object, not a string, number or boolean \(ne "guest"\))']



=== TEST 24: role ne guest anonymous: equals none of the values
Tokens:
  role-admin {"sub":"role-admin","role":"admin","exp":4102444800}
  role-anonymous {"sub":"role-anonymous","role":"anonymous","exp":4102444800}
  role-guest {"sub":"role-guest","role":"guest","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim role ne guest anonymous;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFkbWluIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.SZ8VNHxjw8SvPHQWm0Z24r6VwzmXU9t05mWZbI4luVo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWFub255bW91cyIsInJvbGUiOiJhbm9ueW1vdXMiLCJleHAiOjQxMDI0NDQ4MDB9.b4fY6WXBmhQTtonF4cF72S3e_nyhjQHBEVzDw1ExCEE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWd1ZXN0Iiwicm9sZSI6Imd1ZXN0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.w4Ee7XgOjliHV_migToJ2CzoTHFf7C7oNXiEBc6HPnI",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: role-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: role-anonymous\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-guest\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" ne "guest" "anonymous"" failed: claim "role" is "anonymous", which ne "guest" "anonymous" excludes)']



=== TEST 25: email_verified ne false: true passes, false and absent are denied
Tokens:
  verified-true {"sub":"verified-true","email_verified":true,"exp":4102444800}
  verified-false {"sub":"verified-false","email_verified":false,"exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim email_verified ne false;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC10cnVlIiwiZW1haWxfdmVyaWZpZWQiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.M1kgN35Imh5J2L9TK14aizqniGW30LyMLtNZMrmYBwo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZXJpZmllZC1mYWxzZSIsImVtYWlsX3ZlcmlmaWVkIjpmYWxzZSwiZXhwIjo0MTAyNDQ0ODAwfQ.cXPPR9el9FU4DUo7FO9t3nXuFsDcsEfVNuZpeyyYINY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: verified-true\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: verified-false\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "email_verified" ne "false"" failed: claim "email_verified" is false, which ne "false" excludes)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "email_verified" ne "false"" failed: claim "email_verified" is absent \(ne "false"\))']



=== TEST 26: unicode: dept eq "Müller" compares bytes: no case folding, no Unicode normalisation (NFD "Mu\u0308ller" is denied)
Tokens:
  dept-nfc {"sub":"dept-nfc","dept":"Müller","exp":4102444800}
  dept-nfd {"sub":"dept-nfd","dept":"Mu\u0308ller","exp":4102444800}
  dept-lower {"sub":"dept-lower","dept":"müller","exp":4102444800}
  dept-upper {"sub":"dept-upper","dept":"MÜLLER","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim dept eq "Müller";
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXB0LW5mYyIsImRlcHQiOiJNXHUwMGZjbGxlciIsImV4cCI6NDEwMjQ0NDgwMH0.NmV4vdTxkPCmvQGteJchHb5-2swFUapdWWuedkJ7C_Q",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXB0LW5mZCIsImRlcHQiOiJNdVx1MDMwOGxsZXIiLCJleHAiOjQxMDI0NDQ4MDB9.lzZHEItvTfPGH_LiVN-iDzxJ06C8gumbAgoMo54jFRU",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXB0LWxvd2VyIiwiZGVwdCI6Im1cdTAwZmNsbGVyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.NEwPkjT_y_0dDGNa0MJ-PqBttLWUIeqMlBJwrNg_wCY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXB0LXVwcGVyIiwiZGVwdCI6Ik1cdTAwZGNMTEVSIiwiZXhwIjo0MTAyNDQ0ODAwfQ.lgbqjRzE1Ab0ncpy5VLl9EFxbILec9-0X_XL1ejhF_8",
 ""]
--- error_code eval
[200, 403, 403, 403, 200]
--- response_headers eval
["X-Sub: dept-nfc\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: dept-nfd\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: dept-lower\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: dept-upper\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "dept" eq "Müller"" failed: claim "dept" is "Müller", not eq "Müller")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "dept" eq "Müller"" failed: claim "dept" is "müller", not eq "Müller")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "dept" eq "Müller"" failed: claim "dept" is "MÜLLER", not eq "Müller")']



=== TEST 27: unicode array elements: groups any 管理者 holds ["管理者","ユーザー"], not ["管理"]
Tokens:
  groups-cjk {"sub":"groups-cjk","groups":["管理者","ユーザー"],"exp":4102444800}
  groups-cjk-prefix {"sub":"groups-cjk-prefix","groups":["管理"],"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim groups any 管理者;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJncm91cHMtY2prIiwiZ3JvdXBzIjpbIlx1N2JhMVx1NzQwNlx1ODAwNSIsIlx1MzBlNlx1MzBmY1x1MzBiNlx1MzBmYyJdLCJleHAiOjQxMDI0NDQ4MDB9.xKKXxpdRggpdUJs7EsaBTh_Yjcz7V9NJCA5iZY2cLyY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJncm91cHMtY2prLXByZWZpeCIsImdyb3VwcyI6WyJcdTdiYTFcdTc0MDYiXSwiZXhwIjo0MTAyNDQ0ODAwfQ.WLY73BWc7Pdzibxc9AF72MTZcydAckixYpOpJ_GoBTU",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: groups-cjk\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: groups-cjk-prefix\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "groups" any "管理者"" failed: claim "groups" holds none of "管理者")']



=== TEST 28: error=401: an unmet rule answers 401 with error="insufficient_scope" (not invalid_token); no token is still a plain 401
The logged rule keeps error=401.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any admin error=401;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[401, 401, 401, 200]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Jwt-Error: missing\nWWW-Authenticate: Bearer realm=\"protected\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin" error=401" failed: claim "scope" holds none of "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin" error=401" failed: claim "scope" is absent \(any "admin"\))']



=== TEST 29: error=403 written out and jwt_realm: 403 with the location's realm; the log leaves the default error=403 out
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_realm "my api";
        jwt_require_claim scope any admin error=403;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk
--- error_code: 403
--- response_headers
X-Sub: scope-rw
X-Jwt-Error: 
WWW-Authenticate: Bearer realm="my api", error="insufficient_scope"
--- response_body_like eval
qr/403 Forbidden/
--- error_log
jwt: "jwt_require_claim "scope" any "admin"" failed: claim "scope" holds none of "admin"
--- no_error_log
error=403



=== TEST 30: jwt_failure_status 403 does not change a rule's status: error=401 still answers 401, and a bad token 403
jwt_failure_status is the status of a request without a valid token; a rule's status is its own.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_failure_status 403;
        jwt_require_claim scope any admin error=401;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "",
 ""]
--- error_code eval
[401, 403, 200]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Jwt-Error: missing\nWWW-Authenticate: Bearer realm=\"protected\"",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin" error=401" failed: claim "scope" holds none of "admin")']



=== TEST 31: several rules in one location: all must hold
Rules: scope any read; roles any admin; level ge 2.
Tokens:
  full {"sub":"full","scope":"read write","roles":["admin"],"level":3,"admin":true,"exp":4102444800}
  full-no-roles {"sub":"full-no-roles","scope":"read write","level":3,"admin":true,"exp":4102444800}
  full-no-level {"sub":"full-no-level","scope":"read write","roles":["admin"],"admin":true,"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any read;
        jwt_require_claim roles any admin;
        jwt_require_claim level ge 2;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdWxsIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwicm9sZXMiOlsiYWRtaW4iXSwibGV2ZWwiOjMsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.71jJUgOP4h1CtG_KeUD2RASlnsSipopPawpN-sv1bY8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdWxsLW5vLXJvbGVzIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwibGV2ZWwiOjMsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.ejGPh0cRMy3tQEV3PofVmb8h6PkWujpYQqf483mbgN8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdWxsLW5vLWxldmVsIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwicm9sZXMiOlsiYWRtaW4iXSwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.2Vw-W5okTx4w2ul_OiBpRPv6zPZ3eHPDIv7D6B1mKp4",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: full\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: full-no-roles\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: full-no-level\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" is absent \(any "admin"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "level" ge 2" failed: claim "level" is absent \(ge 2\))']
--- no_error_log
"jwt_require_claim "scope"



=== TEST 32: several rules: the first unmet one decides and is the only one logged
Token no-claims meets none of the three rules; only the first (scope) is reported.
Tokens:
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any read;
        jwt_require_claim roles any admin;
        jwt_require_claim level ge 2;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s
--- error_code: 403
--- response_headers
X-Sub: no-claims
X-Jwt-Error: 
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like eval
qr/403 Forbidden/
--- error_log
jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" is absent (any "read")
--- no_error_log
"jwt_require_claim "roles"
"jwt_require_claim "level"



=== TEST 33: several rules with their own statuses: the first unmet rule's status is the answer
Rules: scope any read error=401; roles any admin (403). no-claims fails the first: 401;
scope-read passes the first and fails the second: 403.
Tokens:
  no-claims {"sub":"no-claims","exp":4102444800}
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
  full {"sub":"full","scope":"read write","roles":["admin"],"level":3,"admin":true,"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any read error=401;
        jwt_require_claim roles any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdWxsIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwicm9sZXMiOlsiYWRtaW4iXSwibGV2ZWwiOjMsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.71jJUgOP4h1CtG_KeUD2RASlnsSipopPawpN-sv1bY8",
 ""]
--- error_code eval
[401, 403, 200, 200]
--- response_headers eval
["X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: full\nX-Jwt-Error: \n!WWW-Authenticate",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read" error=401" failed: claim "scope" is absent \(any "read"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" is absent \(any "admin"\))']



=== TEST 34: server-level rules are inherited; a location that writes its own jwt_require_claim replaces the whole list
Server: jwt_verify on, scope any read. /inherit has no rule of its own: scope any read applies.
/override writes roles any admin: the server's scope rule no longer applies there (setting.rs
inherit: a level that writes a setting keeps only its own), so roles-admin-only (no scope) passes
/override, and scope-read (no roles) fails it. Nested: /override/nested inherits /override's list.
Tokens:
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
  roles-admin-only {"sub":"roles-admin-only","roles":["admin"],"exp":4102444800}
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any read;
    add_header X-Sub $jwt_claim_sub always;
    add_header X-Jwt-Error $jwt_error always;

    location /inherit {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location /override {
        jwt_require_claim roles any admin;
        location /override/nested {
            alias $TEST_NGINX_HTML_DIR/ok.txt;
        }
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        jwt_verify off;
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /inherit",
 "GET /inherit",
 "GET /override",
 "GET /override",
 "GET /override/nested",
 "GET /override/nested",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1hZG1pbi1vbmx5Iiwicm9sZXMiOlsiYWRtaW4iXSwiZXhwIjo0MTAyNDQ0ODAwfQ.K2T0W2-j3T4Oc113_I60_xfJjYUKiUOMU3CO0r0a2L0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1hZG1pbi1vbmx5Iiwicm9sZXMiOlsiYWRtaW4iXSwiZXhwIjo0MTAyNDQ0ODAwfQ.K2T0W2-j3T4Oc113_I60_xfJjYUKiUOMU3CO0r0a2L0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1hZG1pbi1vbmx5Iiwicm9sZXMiOlsiYWRtaW4iXSwiZXhwIjo0MTAyNDQ0ODAwfQ.K2T0W2-j3T4Oc113_I60_xfJjYUKiUOMU3CO0r0a2L0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 ""]
--- error_code eval
[200, 403, 200, 403, 200, 403, 200]
--- response_headers eval
["X-Sub: scope-read\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: roles-admin-only\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: roles-admin-only\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: roles-admin-only\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" is absent \(any "read"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" is absent \(any "admin"\))']



=== TEST 35: http-level rule with jwt_verify on at http level: inherited by the server and its locations
Tokens:
  roles-admin-only {"sub":"roles-admin-only","roles":["admin"],"exp":4102444800}
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
--- http_config
    jwt_verify on;
    jwt_require_claim roles any admin;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Sub $jwt_claim_sub always;
    add_header X-Jwt-Error $jwt_error always;

    location = /t {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        jwt_verify off;
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlcy1hZG1pbi1vbmx5Iiwicm9sZXMiOlsiYWRtaW4iXSwiZXhwIjo0MTAyNDQ0ODAwfQ.K2T0W2-j3T4Oc113_I60_xfJjYUKiUOMU3CO0r0a2L0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: roles-admin-only\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" is absent \(any "admin"\))']



=== TEST 36: jwt_verify off in a location under a server with jwt_require_claim: the location opts out, the others stay protected
/public: no token and a token without the scope both get 200 (no check at all); /t: 403 and 401.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any admin;
    add_header X-Sub $jwt_claim_sub always;
    add_header X-Jwt-Error $jwt_error always;

    location /public {
        jwt_verify off;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location /t {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        jwt_verify off;
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /public",
 "GET /public",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "",
 ""]
--- error_code eval
[200, 200, 403, 401, 200]
--- response_headers eval
["!WWW-Authenticate",
 "!WWW-Authenticate",
 "X-Sub: scope-rw\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Jwt-Error: missing\nWWW-Authenticate: Bearer realm=\"protected\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin"" failed: claim "scope" holds none of "admin")']



=== TEST 37: jwt_require and jwt_require_claim in one location: both must hold; jwt_require is checked first
full (admin + scope read) 200; scope-read (no admin) fails jwt_require; admin-only (no scope)
fails jwt_require_claim.
Tokens:
  full {"sub":"full","scope":"read write","roles":["admin"],"level":3,"admin":true,"exp":4102444800}
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
  admin-only {"sub":"admin-only","admin":true,"exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_admin;
        jwt_require_claim scope any read;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdWxsIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwicm9sZXMiOlsiYWRtaW4iXSwibGV2ZWwiOjMsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.71jJUgOP4h1CtG_KeUD2RASlnsSipopPawpN-sv1bY8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbi1vbmx5IiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.muXWaA9rWk3EdiHmM99waqEmgFDt8j1YDY8UYOpKyBo",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: full\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: admin-only\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require" failed: \$jwt_claim_admin is empty)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" is absent \(any "read"\))']



=== TEST 38: jwt_require at server level and jwt_require_claim in a location: separate settings, both apply
Writing jwt_require_claim in the location does not replace the server's jwt_require.
Tokens:
  scope-and-admin {"sub":"scope-and-admin","scope":"read","admin":true,"exp":4102444800}
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
  admin-only {"sub":"admin-only","admin":true,"exp":4102444800}
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require $jwt_claim_admin;
    add_header X-Sub $jwt_claim_sub always;
    add_header X-Jwt-Error $jwt_error always;

    location = /t {
        jwt_require_claim scope any read;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        jwt_verify off;
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1hbmQtYWRtaW4iLCJzY29wZSI6InJlYWQiLCJhZG1pbiI6dHJ1ZSwiZXhwIjo0MTAyNDQ0ODAwfQ.panyifdXIhd6tHtdUNY7tZrh3StqgUWQqKolQX9H_sc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbi1vbmx5IiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.muXWaA9rWk3EdiHmM99waqEmgFDt8j1YDY8UYOpKyBo",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: scope-and-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: admin-only\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require" failed: \$jwt_claim_admin is empty)'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" is absent \(any "read"\))']



=== TEST 39: satisfy any with allow 127.0.0.1: the address lets the request through although the rule is unmet
jwt_require_claim denies like the other access modules, so satisfy any lets allow decide; the
challenge of the denial is dropped with it.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        satisfy any;
        allow 127.0.0.1;
        deny all;
        jwt_require_claim scope any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk
--- error_code: 200
--- response_headers
X-Sub: scope-rw
X-Jwt-Error: 
!WWW-Authenticate
--- response_body_like eval
qr/\Aok\n\z/
--- no_error_log
[error]



=== TEST 40: rewrite ... last from a location with a rule to one without: the target's (empty) rule list decides
/a (rule scope any admin) rewrites to /b (jwt_verify on, no rule). rewrite runs in the rewrite
phase, before the access phase, so /a's rule is never checked: scope-rw (no admin) gets 200 from
/b. Observed, as for every access module: a rule protects the location that serves the request,
not locations the request passed through.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
--- config
    location /a {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any admin;
        rewrite ^ /b last;
    }
    location /b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a",
 "GET /a"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 ""]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Jwt-Error: missing\nWWW-Authenticate: Bearer realm=\"protected\""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/401 Authorization Required/]
--- no_error_log
jwt_require_claim



=== TEST 41: rewrite ... last from a location without a rule to one with a rule: the target's rule applies
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location /a {
        rewrite ^ /b last;
    }
    location /b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a",
 "GET /a",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[403, 403, 200]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin"" failed: claim "scope" holds none of "admin")']



=== TEST 42: try_files to a named location: the access phase runs again there, with the named location's rules
/a requires scope read and falls back to @b, which requires roles admin: both are checked
(full 200; scope-read passes /a, then fails @b; no-claims fails /a). @b serves ok.txt through
rewrite ... break (alias is not allowed in a named location).
Tokens:
  full {"sub":"full","scope":"read write","roles":["admin"],"level":3,"admin":true,"exp":4102444800}
  scope-read {"sub":"scope-read","scope":"read","exp":4102444800}
  no-claims {"sub":"no-claims","exp":4102444800}
--- config
    location /a {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any read;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        try_files /nonexistent @b;
    }
    location @b {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim roles any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        root $TEST_NGINX_HTML_DIR;
        rewrite ^ /ok.txt break;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a",
 "GET /a",
 "GET /a",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdWxsIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwicm9sZXMiOlsiYWRtaW4iXSwibGV2ZWwiOjMsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.71jJUgOP4h1CtG_KeUD2RASlnsSipopPawpN-sv1bY8",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1yZWFkIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Rhi_tmTwn3l-60Vn8zLQ8NpdcjWZaGtmiZzLMP1TSgI",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuby1jbGFpbXMiLCJleHAiOjQxMDI0NDQ4MDB9.K5D61l07_pNNoTaCme9VBkjuJkc0QPHdnOvNM9geg6s",
 ""]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Sub: full\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: scope-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: no-claims\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" is absent \(any "admin"\))'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" is absent \(any "read"\))']



=== TEST 43: the log line escapes control characters of a claim (one line per denial) and cuts a long claim after 64 characters
role-ctrl's role is "ad<LF>min<U+0001>"; role-long's is 70 times "x".
Tokens:
  role-ctrl {"sub":"role-ctrl","role":"ad\nmin\u0001","exp":4102444800}
  role-long {"sub":"role-long","role":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim role eq admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWN0cmwiLCJyb2xlIjoiYWRcbm1pblx1MDAwMSIsImV4cCI6NDEwMjQ0NDgwMH0.Ws3r2GGx1Z-PoF_ynee4m_SldBU0y20SOK1VusFlOpE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2xlLWxvbmciLCJyb2xlIjoieHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eCIsImV4cCI6NDEwMjQ0NDgwMH0.hGm2sjx1fGFGP98pglQv1ITdvfOcN_nXv_uN_y97Ohk",
 ""]
--- error_code eval
[403, 403, 200]
--- response_headers eval
["X-Sub: role-ctrl\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: role-long\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/403 Forbidden/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is "ad\x5cnmin\x5cx01", not eq "admin")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"…, not eq "admin")']



=== TEST 44: a claim named twice in the payload: the last member counts (RFC 7519 4: reject or use the lexically last)
dup-role-last-admin's payload is {"sub":...,"role":"guest","role":"admin",...}: role eq admin holds;
dup-role-last-guest's is {...,"role":"admin","role":"guest",...}: denied. $jwt_claim_role (X-Role)
shows the same value the rule saw.
Tokens:
  dup-role-last-admin {"sub":"dup-role-last-admin","role":"guest","role":"admin","exp":4102444800}, header {"alg":"HS256","typ":"JWT"}
  dup-role-last-guest {"sub":"dup-role-last-guest","role":"admin","role":"guest","exp":4102444800}, header {"alg":"HS256","typ":"JWT"}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim role eq admin;
        add_header X-Role $jwt_claim_role always;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkdXAtcm9sZS1sYXN0LWFkbWluIiwicm9sZSI6Imd1ZXN0Iiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.g-DXl8usMNpH1nNvkPxg8rTsfF4CalHJ5k1u2F3DYVY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkdXAtcm9sZS1sYXN0LWd1ZXN0Iiwicm9sZSI6ImFkbWluIiwicm9sZSI6Imd1ZXN0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.BXuR298f_qv6pSeETC_WTerFXQv2vdJ1YoW2MlxQC8M",
 ""]
--- error_code eval
[200, 403, 200]
--- response_headers eval
["X-Sub: dup-role-last-admin\nX-Jwt-Error: \n!WWW-Authenticate\nX-Role: admin",
 "X-Sub: dup-role-last-guest\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"\nX-Role: guest",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "role" eq "admin"" failed: claim "role" is "guest", not eq "admin")']



=== TEST 45: the rules are decided on the token this location verifies: a claim read at server level from another token and key ring does not count
Server: ring A (hmac.key) and set $u $jwt_claim_scope, which verifies the Authorization token
(ring-a-admin, scope admin). /x verifies cookie t with ring B (hmac-other.key) and requires scope
admin: with ring-b-read in the cookie the answer is 403 (X-Sub ring-b-read), with ring-b-admin 200.
Tokens:
  ring-b-read {"sub":"ring-b-read","scope":"read","exp":4102444800} (hmac-other.key)
  ring-a-admin {"sub":"ring-a-admin","scope":"admin","exp":4102444800}
  ring-b-admin {"sub":"ring-b-admin","scope":"admin","exp":4102444800} (hmac-other.key)
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $u $jwt_claim_scope;

    location /x {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_token $cookie_t;
        jwt_require_claim scope any admin;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /x",
 "GET /x",
 "GET /x",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyaW5nLWEtYWRtaW4iLCJzY29wZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ._4bgP6wUU5VsclBSq6G0WNk9kdy8LyTrfrMnzhZHwoA\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyaW5nLWItcmVhZCIsInNjb3BlIjoicmVhZCIsImV4cCI6NDEwMjQ0NDgwMH0.nmzYCVfHQpZQHTplr0dTUSgsj26RmcyEekVumR1bzVk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyaW5nLWEtYWRtaW4iLCJzY29wZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ._4bgP6wUU5VsclBSq6G0WNk9kdy8LyTrfrMnzhZHwoA\nCookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyaW5nLWItYWRtaW4iLCJzY29wZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.xowErddU9pLL0W-2Xo_5cgjiNNftIj05m-kb9Q6DFWg",
 "Cookie: t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyaW5nLWItcmVhZCIsInNjb3BlIjoicmVhZCIsImV4cCI6NDEwMjQ0NDgwMH0.nmzYCVfHQpZQHTplr0dTUSgsj26RmcyEekVumR1bzVk",
 ""]
--- error_code eval
[403, 200, 403, 200]
--- response_headers eval
["X-Sub: ring-b-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: ring-b-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 "X-Sub: ring-b-read\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 ""]
--- response_body_like eval
[qr/403 Forbidden/,
 qr/\Aok\n\z/,
 qr/403 Forbidden/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin"" failed: claim "scope" holds none of "admin")']



=== TEST 46: an if block inside a protected location keeps the location's rules
With ?x=1 the request is served by the if block's configuration (its add_header replaces the
location's, so X-Sub is absent there): still 403 for scope-rw, 200 for full.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  full {"sub":"full","scope":"read write","roles":["admin"],"level":3,"admin":true,"exp":4102444800}
--- config
    location /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any write;
        jwt_require_claim roles any admin;
        if ($arg_x) {
            add_header X-If 1 always;
        }
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t?x=1",
 "GET /t?x=1",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdWxsIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwicm9sZXMiOlsiYWRtaW4iXSwibGV2ZWwiOjMsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.71jJUgOP4h1CtG_KeUD2RASlnsSipopPawpN-sv1bY8",
 ""]
--- error_code eval
[403, 200, 200]
--- response_headers eval
["X-If: 1\n!X-Sub\nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-If: 1\n!WWW-Authenticate",
 ""]
--- response_body_like eval
[qr/403 Forbidden/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "roles" any "admin"" failed: claim "roles" is absent \(any "admin"\))']



=== TEST 47: error_page 403 to a page: the page is served with status 403 and the insufficient_scope challenge
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  ring-a-admin {"sub":"ring-a-admin","scope":"admin","exp":4102444800}
--- config
    location /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any admin;
        error_page 403 /denied.txt;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /denied.txt {
        root $TEST_NGINX_HTML_DIR;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
>>> denied.txt
denied
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyaW5nLWEtYWRtaW4iLCJzY29wZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ._4bgP6wUU5VsclBSq6G0WNk9kdy8LyTrfrMnzhZHwoA",
 ""]
--- error_code eval
[403, 200, 200]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "X-Sub: ring-a-admin\nX-Jwt-Error: \n!WWW-Authenticate",
 ""]
--- response_body_like eval
[qr/\Adenied\n\z/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin"" failed: claim "scope" holds none of "admin")']



=== TEST 48: with auth_request, the rules are checked first: an unmet rule answers 403 without calling the authorizer
/auth answers 500, so a request that reaches it fails with 500: ring-a-admin (scope admin) does,
scope-rw (no admin) is denied with 403 before.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
  ring-a-admin {"sub":"ring-a-admin","scope":"admin","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_claim scope any admin;
        auth_request /auth;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /auth {
        internal;
        return 500;
    }
    location = /error-log {
        alias logs/error.log;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyaW5nLWEtYWRtaW4iLCJzY29wZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ._4bgP6wUU5VsclBSq6G0WNk9kdy8LyTrfrMnzhZHwoA",
 ""]
--- error_code eval
[403, 500, 200]
--- response_headers eval
["X-Sub: scope-rw\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"",
 "",
 ""]
--- response_body_like eval
[qr/403 Forbidden/,
 qr/500 Internal Server Error/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "admin"" failed: claim "scope" holds none of "admin")'
 . '(?=[\s\S]*?auth request unexpected status: 500)']



=== TEST 49: a rule at http level and jwt_verify off written at server level: nginx starts (the server opts out) and checks nothing
Consistent with jwt_require: an explicit jwt_verify off below the rule is an opt-out.
Tokens:
  scope-rw {"sub":"scope-rw","scope":"read write","exp":4102444800}
--- http_config
    jwt_require_claim scope any admin;
--- config
    jwt_verify off;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location = /t {
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t"]
--- more_headers eval
["",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzY29wZS1ydyIsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4cCI6NDEwMjQ0NDgwMH0.yJKOKGj2yChk4Qlsac_m9B2TPpWwel8zQtJBwnCVlfk"]
--- error_code eval
[200, 200]
--- response_headers eval
["!WWW-Authenticate",
 "!WWW-Authenticate"]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/]
--- no_error_log
jwt_require_claim
[emerg]



=== TEST 50: nginx -t: jwt_require_claim in a location without jwt_verify: refused, naming the rule's line
jwt.conf line 3 is the rule.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any read;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim" applies where "jwt_verify" is not on, so it would protect nothing: add "jwt_verify on" at the same level as "jwt_require_claim"\E.* in \S+\/jwt\.conf:3\b/]



=== TEST 51: nginx -t: several rules without jwt_verify: the first rule of the level is named
jwt.conf lines 3 and 4 are the rules.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any read;
    jwt_require_claim roles any admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim" applies where "jwt_verify" is not on, so it would protect nothing: add "jwt_verify on" at the same level as "jwt_require_claim"\E.* in \S+\/jwt\.conf:3\b/]



=== TEST 52: nginx -t: a server-level rule with jwt_verify on in one location only: the other location (the default location /) is refused
jwt.conf line 2 is the rule.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
jwt_require_claim scope any read;

location = /t {
    jwt_verify on;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim" applies where "jwt_verify" is not on, so it would protect nothing: add "jwt_verify on" at the same level as "jwt_require_claim"\E.* in \S+\/jwt\.conf:2\b/]



=== TEST 53: nginx -t: jwt_verify off at the level of the rule is no opt-out
jwt_verify on at server level, jwt_verify off and the rule in the location (jwt.conf line 5).
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
jwt_verify on;
jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
location = /t {
    jwt_verify off;
    jwt_require_claim scope any read;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim" applies where "jwt_verify" is not on, so it would protect nothing: add "jwt_verify on" at the same level as "jwt_require_claim"\E.* in \S+\/jwt\.conf:5\b/]



=== TEST 54: nginx -t: a rule at http level and a server where jwt_verify is never on: refused, naming the http-level line
The rule is in http_config; the server has no jwt_verify.
--- http_config
    jwt_require_claim scope any admin;
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location = /t {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim" applies where "jwt_verify" is not on, so it would protect nothing: add "jwt_verify on" at the same level as "jwt_require_claim"\E.* in \S+nginx\.conf:\d+/]



=== TEST 55: nginx -t: unknown operator contains: refused with the hint any/all
jwt.conf line 4: jwt_require_claim scope contains read;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope contains read;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": unknown operator "contains" in "jwt_require_claim": use any (holds at least one of the values) or all (holds every one)\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 56: nginx -t: unknown operator EQ: operators are lowercase
jwt.conf line 4: jwt_require_claim role EQ admin;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim role EQ admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": unknown operator "EQ" in "jwt_require_claim": operators are lowercase: eq, ne, any, all, gt, ge, lt or le\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 57: nginx -t: unknown operator in: use eq
jwt.conf line 4: jwt_require_claim role in admin editor;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim role in admin editor;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": unknown operator "in" in "jwt_require_claim": use eq (equals one of the values)\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 58: nginx -t: unknown operator ==
jwt.conf line 4: jwt_require_claim role == admin;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim role == admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": unknown operator "==" in "jwt_require_claim": use eq, ne, any, all, gt, ge, lt or le\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 59: nginx -t: missing value: scope any
jwt.conf line 4: jwt_require_claim scope any;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": operator any in "jwt_require_claim" needs at least one value\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 60: nginx -t: missing value before error=: role eq error=403
jwt.conf line 4: jwt_require_claim role eq error=403;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim role eq error=403;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": operator eq in "jwt_require_claim" needs at least one value\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 61: nginx -t: missing number: level ge
jwt.conf line 4: jwt_require_claim level ge;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim level ge;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": operator ge in "jwt_require_claim" needs one number\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 62: nginx -t: a path alone: nginx's own argument count check
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Qinvalid number of arguments in "jwt_require_claim" directive\E in \S+\/jwt\.conf:4\b/]



=== TEST 63: nginx -t: error=500
jwt.conf line 4: jwt_require_claim scope any read error=500;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any read error=500;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": invalid "error=500" in "jwt_require_claim": use error=401 or error=403\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 64: nginx -t: error= not last
jwt.conf line 4: jwt_require_claim scope any error=401 read;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any error=401 read;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": "error=401" in "jwt_require_claim" must be its last argument\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 65: nginx -t: empty name inside a path (realm_access..roles)
jwt.conf line 4: jwt_require_claim realm_access..roles any admin;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim realm_access..roles any admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": empty claim name in path "realm_access..roles" in "jwt_require_claim": separate names with single dots, none at either end (a dot inside a name is written \.)\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 66: nginx -t: a path with a leading dot
jwt.conf line 4: jwt_require_claim .roles any admin;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim .roles any admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": empty claim name in path ".roles" in "jwt_require_claim"\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 67: nginx -t: a path with a trailing dot
jwt.conf line 4: jwt_require_claim roles. any admin;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim roles. any admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": empty claim name in path "roles." in "jwt_require_claim"\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 68: nginx -t: an empty path
jwt.conf line 4: jwt_require_claim "" any admin;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim "" any admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": empty claim path in "jwt_require_claim": name a claim, as in scope or realm_access.roles\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 69: nginx -t: an escape other than \. and \\
jwt.conf line 4: jwt_require_claim resource_access.my\-app.roles any admin;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim resource_access.my\-app.roles any admin;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": invalid escape in claim path "resource_access.my\-app.roles" in "jwt_require_claim": only \. (a dot inside a name) and \\ (a backslash) are escapes\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 70: nginx -t: ge with a value that is not a JSON number
jwt.conf line 4: jwt_require_claim level ge 0x10;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim level ge 0x10;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": "0x10" is not a number, in "jwt_require_claim" ... ge: gt, ge, lt and le compare with one JSON number, such as 2, -1 or 1.5\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 71: nginx -t: gt with two numbers
jwt.conf line 4: jwt_require_claim level gt 1 2;
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim level gt 1 2;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": operator gt in "jwt_require_claim" takes exactly one number, not 2 values\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 72: nginx -t: any with an empty value
jwt.conf line 4: jwt_require_claim scope any read "";
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require_claim scope any read "";
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_require_claim": empty value for operator any in "jwt_require_claim": no scope word or role is empty; remove the "" argument\E.* in \S+\/jwt\.conf:4\b/]
