# Variables: $jwt_claim_NAME, $jwt_header_NAME, $jwt_payload, $jwt_error and jwt_claim_set,
# in protected locations and in locations that only have a key ring; in add_header,
# proxy_set_header, map and log_format; and jwt_token reading the token from a cookie or an
# argument.
#
# Keys and tokens: t/fixtures (t/fixtures/make-fixtures re-creates them). Most blocks use
# fixtures/tokens/rich.jwt: header {"alg":"HS256","typ":"JWT","kid":"k1"}, claims
# {"sub":"alice","uid":42,"ratio":1.5,"admin":true,"nothing":null,"userId":"camel-case",
#  "profile":{"name":"Alice","langs":["en","fr"]},"groups":["dev","ops"],
#  "realm_access":{"roles":["reader","writer"]},"exp":4102444800}
# Values are shown in brackets so that an empty value is visible.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: $jwt_claim_NAME: a string claim, as is
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Sub "[$jwt_claim_sub]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Sub: [alice]
--- response_body
ok



=== TEST 2: $jwt_claim_NAME: numbers as their JSON text
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Uid "[$jwt_claim_uid]" always;
        add_header X-Ratio "[$jwt_claim_ratio]" always;
        add_header X-Exp "[$jwt_claim_exp]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Uid: [42]
X-Ratio: [1.5]
X-Exp: [4102444800]



=== TEST 3: $jwt_claim_NAME: true and null as their JSON text
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Admin "[$jwt_claim_admin]" always;
        add_header X-Nothing "[$jwt_claim_nothing]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Admin: [true]
X-Nothing: [null]



=== TEST 4: $jwt_claim_NAME: objects and arrays as compact JSON
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Profile "[$jwt_claim_profile]" always;
        add_header X-Groups "[$jwt_claim_groups]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Profile: [{"langs":["en","fr"],"name":"Alice"}]
X-Groups: [["dev","ops"]]



=== TEST 5: $jwt_claim_NAME: a claim the token does not have is empty
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Role "[$jwt_claim_role]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Role: []



=== TEST 6: $jwt_claim_NAME: nginx lower-cases the name; the lookup falls back to any case
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-User-Id "[$jwt_claim_userId]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-User-Id: [camel-case]



=== TEST 7: $jwt_header_NAME: alg, typ and kid
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Alg "[$jwt_header_alg]" always;
        add_header X-Typ "[$jwt_header_typ]" always;
        add_header X-Kid "[$jwt_header_kid]" always;
        add_header X-Cty "[$jwt_header_cty]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Alg: [HS256]
X-Typ: [JWT]
X-Kid: [k1]
X-Cty: []



=== TEST 8: $jwt_payload: the claims as compact JSON
token: fixtures/tokens/payload.jwt (claims {"sub":"alice","exp":4102444800,"aud":"api"})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Payload "[$jwt_payload]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMCwiYXVkIjoiYXBpIn0.d1SWo06RKVABFOfO28tygdcjJ366iO_uv3bxViSscEE
--- error_code: 200
--- response_headers
X-Payload: [{"aud":"api","exp":4102444800,"sub":"alice"}]



=== TEST 9: $jwt_error is empty for a valid token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Jwt-Error: []



=== TEST 10: $jwt_error is "missing" without a token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 401
--- response_headers
X-Jwt-Error: [missing]



=== TEST 11: claim variables are empty when the token is refused
token: fixtures/tokens/expired.jwt ({"sub":"alice","exp":1000000000})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Sub "[$jwt_claim_sub]" always;
        add_header X-Alg "[$jwt_header_alg]" always;
        add_header X-Payload "[$jwt_payload]" always;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc
--- error_code: 401
--- response_headers
X-Sub: []
X-Alg: []
X-Payload: []
X-Jwt-Error: [expired]



=== TEST 12: without jwt_verify: a valid token fills the variables, and the request is served
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Sub "[$jwt_claim_sub]" always;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Sub: [alice]
X-Jwt-Error: []
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 13: without jwt_verify: an invalid token leaves the claims empty, sets $jwt_error, and is served
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Sub "[$jwt_claim_sub]" always;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 200
--- response_headers
X-Sub: []
X-Jwt-Error: [signature]
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 14: without jwt_verify: no token
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Sub "[$jwt_claim_sub]" always;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- error_code: 200
--- response_headers
X-Sub: []
X-Jwt-Error: [missing]



=== TEST 15: without a key ring the variables are empty, even with a token
--- config
    location = /t {
        add_header X-Sub "[$jwt_claim_sub]";
        add_header X-Jwt-Error "[$jwt_error]";
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_headers
X-Sub: []
X-Jwt-Error: []



=== TEST 16: jwt_claim_set: nested claims
--- http_config
    jwt_claim_set $roles realm_access roles;
    jwt_claim_set $profile_name profile name;
    jwt_claim_set $nowhere realm_access missing;
    jwt_claim_set $top sub;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Roles "[$roles]" always;
        add_header X-Name "[$profile_name]" always;
        add_header X-Top "[$top]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Roles: [["reader","writer"]]
X-Name: [Alice]
X-Top: [alice]



=== TEST 17: jwt_claim_set: a path that does not exist is empty
--- http_config
    jwt_claim_set $roles realm_access roles;
    jwt_claim_set $profile_name profile name;
    jwt_claim_set $nowhere realm_access missing;
    jwt_claim_set $top sub;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Nowhere "[$nowhere]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Nowhere: []



=== TEST 18: jwt_claim_set: empty when the token is refused
--- http_config
    jwt_claim_set $roles realm_access roles;
    jwt_claim_set $profile_name profile name;
    jwt_claim_set $nowhere realm_access missing;
    jwt_claim_set $top sub;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Roles "[$roles]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 401
--- response_headers
X-Roles: []



=== TEST 19: proxy_set_header passes a claim to the backend
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        proxy_set_header X-User $jwt_claim_sub;
        proxy_pass http://127.0.0.1:$server_port/backend;
    }
    location = /backend {
        return 200 "X-User: [$http_x_user]\n";
    }
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
X-User: [alice]



=== TEST 20: proxy_set_header replaces an X-User header sent by the client
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        proxy_set_header X-User $jwt_claim_sub;
        proxy_pass http://127.0.0.1:$server_port/backend;
    }
    location = /backend {
        return 200 "X-User: [$http_x_user]\n";
    }
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
X-User: mallory
--- error_code: 200
--- response_body
X-User: [alice]



=== TEST 21: without jwt_verify, an invalid token leaves X-User empty: the client's X-User never passes
--- config
    location = /t {
        jwt_verify off;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        proxy_set_header X-User $jwt_claim_sub;
        proxy_pass http://127.0.0.1:$server_port/backend;
    }
    location = /backend {
        return 200 "X-User: [$http_x_user]\n";
    }
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
X-User: mallory
--- error_code: 200
--- response_body
X-User: []



=== TEST 22: $jwt_claim_NAME in a map
--- http_config
    map $jwt_claim_uid $level {
        42      answer;
        default other;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        add_header X-Level "[$level]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- response_headers
X-Level: [answer]



=== TEST 23: $jwt_claim_NAME and $jwt_error in log_format
--- http_config
    log_format jwt "jwt sub=[$jwt_claim_sub] kid=[$jwt_header_kid] error=[$jwt_error]";
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=k1;
        access_log logs/access.log jwt;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInVpZCI6NDIsInJhdGlvIjoxLjUsImFkbWluIjp0cnVlLCJub3RoaW5nIjpudWxsLCJ1c2VySWQiOiJjYW1lbC1jYXNlIiwicHJvZmlsZSI6eyJuYW1lIjoiQWxpY2UiLCJsYW5ncyI6WyJlbiIsImZyIl19LCJncm91cHMiOlsiZGV2Iiwib3BzIl0sInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJyZWFkZXIiLCJ3cml0ZXIiXX0sImV4cCI6NDEwMjQ0NDgwMH0.UK8O6TaI1wfxBhcHiwgLNXVvknL-QrLpWwg0IShkyfI
--- error_code: 200
--- access_log
jwt sub=[alice] kid=[k1] error=[]



=== TEST 24: $jwt_error in log_format for a refused token (a claim that is not found logs as '-')
--- http_config
    log_format jwt "jwt sub=[$jwt_claim_sub] error=[$jwt_error]";
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        access_log logs/access.log jwt;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc
--- error_code: 401
--- access_log
jwt sub=[-] error=[expired]



=== TEST 25: jwt_token $cookie_token: the token in a cookie
--- config
    location = /t {
        jwt_verify on;
        jwt_token $cookie_token;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Cookie: theme=dark; token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU; lang=en
--- error_code: 200
--- response_headers
X-Jwt-Error: []
--- response_body
ok



=== TEST 26: jwt_token $cookie_token: a bearer header is not looked at
--- config
    location = /t {
        jwt_verify on;
        jwt_token $cookie_token;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers
X-Jwt-Error: [missing]
WWW-Authenticate: Bearer realm="protected"



=== TEST 27: jwt_token $arg_access_token: the token in the query string
--- config
    location = /t {
        jwt_verify on;
        jwt_token $arg_access_token;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t?x=1&access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_headers
X-Jwt-Error: []
--- response_body
ok



=== TEST 28: jwt_token $arg_access_token: an invalid token from the query string
--- config
    location = /t {
        jwt_verify on;
        jwt_token $arg_access_token;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t?access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.ZgFk78AR7XY7YHvfmJE1QqvkUStb2I32LEZHDWuIs7E
--- error_code: 401
--- response_headers
X-Jwt-Error: [signature]
WWW-Authenticate: Bearer realm="protected", error="invalid_token"



=== TEST 29: jwt_token $http_x_token: a custom header
--- config
    location = /t {
        jwt_verify on;
        jwt_token $http_x_token;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error "[$jwt_error]" always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
X-Token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
ok



=== TEST 30: a claim with CR LF does not inject headers into the upstream request or the response
token: fixtures/tokens/crlf-claim.jwt (claims {"sub":"alice","name":"x\r\nX-Injected: yes",...})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        proxy_set_header X-Name $jwt_claim_name;
        add_header X-Name $jwt_claim_name;
        proxy_pass http://127.0.0.1:$server_port/backend;
    }
    location = /backend {
        return 200 "X-Injected=[$http_x_injected]\n";
    }
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsIm5hbWUiOiJ4XHJcblgtSW5qZWN0ZWQ6IHllcyIsImV4cCI6NDEwMjQ0NDgwMH0.SmtkI-vF9ddybks9hcvCzGMq0AwVfpIe7ei2E04pbso
--- error_code: 200
--- response_headers
!X-Injected
X-Name: x\x0D\x0AX-Injected: yes
--- response_body
X-Injected=[]
