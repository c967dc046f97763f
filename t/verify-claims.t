# Claim checks of jwt_verify: exp / nbf (with jwt_leeway), jwt_require_exp, jwt_issuer,
# jwt_audience, and authorisation rules on claims with jwt_require. Also: verified tokens are
# cached per policy, never across locations with different settings.
#
# Keys and tokens: t/fixtures (t/fixtures/make-fixtures re-creates them). "Far future" is
# 4102444800 (2100-01-01), "past" is 1000000000 (2001-09-09). Each protected location reports
# $jwt_error in X-Jwt-Error.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: an expired token is refused
token: fixtures/tokens/expired.jwt (exp 1000000000)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
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
X-Jwt-Error: expired
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/jwt: token rejected \(expired\): token expired at 1000000000, now \d+, leeway 0s/



=== TEST 2: a token used before its nbf is refused
token: fixtures/tokens/not-yet-valid.jwt (nbf 4102444800, exp 4102531200)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsIm5iZiI6NDEwMjQ0NDgwMCwiZXhwIjo0MTAyNTMxMjAwfQ.CeUxmSPRHN9a-DvmxxjdSD2klmg3M3MyUbF_gR6rHEY
--- error_code: 401
--- response_headers
X-Jwt-Error: not_yet_valid
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/jwt: token rejected \(not_yet_valid\): token not valid before 4102444800, now \d+, leeway 0s/



=== TEST 3: jwt_leeway 30s does not save a token expired years ago
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_leeway 30s;
        add_header X-Jwt-Error $jwt_error always;
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
X-Jwt-Error: expired
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log eval
qr/token expired at 1000000000, now \d+, leeway 30s/



=== TEST 4: jwt_leeway covers exp: 100 years of leeway accept a token expired in 2001
(Until 2101. The exact boundary is covered by jwt-core's unit tests.)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_leeway 100y;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 5: jwt_leeway covers nbf: 100 years of leeway accept a token valid from 2100
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_leeway 100y;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsIm5iZiI6NDEwMjQ0NDgwMCwiZXhwIjo0MTAyNTMxMjAwfQ.CeUxmSPRHN9a-DvmxxjdSD2klmg3M3MyUbF_gR6rHEY
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 6: a token without exp is refused by default
token: fixtures/tokens/no-exp.jwt ({"sub":"alice"})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.UVThUb388Uac3xrrJYySgodxeGWICZ70JpRWWz0Jwm0
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: token has no "exp" claim and the policy requires one



=== TEST 7: jwt_require_exp off accepts a token without exp
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_exp off;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.UVThUb388Uac3xrrJYySgodxeGWICZ70JpRWWz0Jwm0
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 8: jwt_require_exp off still refuses an expired token
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require_exp off;
        add_header X-Jwt-Error $jwt_error always;
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
X-Jwt-Error: expired
WWW-Authenticate: Bearer realm="protected", error="invalid_token"



=== TEST 9: jwt_issuer: the same iss passes
token: fixtures/tokens/iss.jwt (iss "https://issuer.example")
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_issuer https://issuer.example;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJleHAiOjQxMDI0NDQ4MDB9.IIrd44yjdt4RXLVNVYu2NN7g5feQAgFm3SMBE3uCDTQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 10: jwt_issuer: another iss is refused
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_issuer https://other.example;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJleHAiOjQxMDI0NDQ4MDB9.IIrd44yjdt4RXLVNVYu2NN7g5feQAgFm3SMBE3uCDTQ
--- error_code: 401
--- response_headers
X-Jwt-Error: issuer
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (issuer): token issuer is "https://issuer.example", expected "https://other.example"



=== TEST 11: jwt_issuer: iss is compared exactly (a trailing slash differs)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_issuer https://issuer.example/;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJleHAiOjQxMDI0NDQ4MDB9.IIrd44yjdt4RXLVNVYu2NN7g5feQAgFm3SMBE3uCDTQ
--- error_code: 401
--- response_headers
X-Jwt-Error: issuer
WWW-Authenticate: Bearer realm="protected", error="invalid_token"



=== TEST 12: jwt_issuer: a token without iss is refused
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_issuer https://issuer.example;
        add_header X-Jwt-Error $jwt_error always;
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
X-Jwt-Error: issuer
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (issuer): token issuer is absent, expected "https://issuer.example"



=== TEST 13: jwt_audience: a string aud that is accepted
token: fixtures/tokens/aud-string.jwt (aud "api")
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_audience api;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.H2MoC9kbLA_9mto1nW_sK6osFXoMTIsQbLSCbf2IBdI
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 14: jwt_audience: an array aud with an accepted member
token: fixtures/tokens/aud-array.jwt (aud ["web","api"])
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_audience api;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6WyJ3ZWIiLCJhcGkiXSwiZXhwIjo0MTAyNDQ0ODAwfQ.EhkRX83vcMsTS4SpCU8l7Hi2HfRTd4cBKrC829IQ5YA
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 15: jwt_audience with several values: one match is enough
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_audience mobile api;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.H2MoC9kbLA_9mto1nW_sK6osFXoMTIsQbLSCbf2IBdI
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 16: jwt_audience: a string aud that is not accepted
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_audience mobile;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.H2MoC9kbLA_9mto1nW_sK6osFXoMTIsQbLSCbf2IBdI
--- error_code: 401
--- response_headers
X-Jwt-Error: audience
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (audience): token audience "api" names none of the accepted audiences ["mobile"]



=== TEST 17: jwt_audience: an array aud without an accepted member
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_audience mobile desktop;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6WyJ3ZWIiLCJhcGkiXSwiZXhwIjo0MTAyNDQ0ODAwfQ.EhkRX83vcMsTS4SpCU8l7Hi2HfRTd4cBKrC829IQ5YA
--- error_code: 401
--- response_headers
X-Jwt-Error: audience
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (audience): token audience ["web", "api"] names none of the accepted audiences ["mobile", "desktop"]



=== TEST 18: jwt_audience: a token without aud is refused
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_audience api;
        add_header X-Jwt-Error $jwt_error always;
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
X-Jwt-Error: audience
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (audience): token audience absent names none



=== TEST 19: the time is checked last: an expired token for another audience is refused for its audience
token: fixtures/tokens/expired-wrong-aud.jwt (aud "web", exp 1000000000)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_audience api;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6IndlYiIsImV4cCI6MTAwMDAwMDAwMH0.uF1zme7fHOmfSlQgFKhyx3j4B00FOGQ8X1ev0FqsQjA
--- error_code: 401
--- response_headers
X-Jwt-Error: audience
WWW-Authenticate: Bearer realm="protected", error="invalid_token"



=== TEST 20: jwt_require: a satisfied rule lets the request through
token: fixtures/tokens/role-admin.jwt (role "admin")
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location = /t {
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
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.Sv4SL8FQC74l2w_dCOKE6mjPWOx5dgMEOJHHDKFC98E
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 21: jwt_require: a rule whose variable is "0" answers 403 insufficient_scope
token: fixtures/tokens/role-user.jwt (role "user")
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location = /t {
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
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb2xlIjoidXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.p5nbOT3ekaIzms1pXrIUhCHPfdkra3EIc2VSnbtD4sw
--- error_code: 403
--- response_headers
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log
jwt: "jwt_require" failed: $is_admin



=== TEST 22: jwt_require error=401
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $is_admin error=401;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb2xlIjoidXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.p5nbOT3ekaIzms1pXrIUhCHPfdkra3EIc2VSnbtD4sw
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"



=== TEST 23: jwt_require: an empty variable (a missing claim) fails the rule
token: fixtures/tokens/hs256.jwt (no role claim)
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_role;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log
jwt: "jwt_require" failed: $jwt_claim_role



=== TEST 24: jwt_require with several variables: all must be set
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_sub $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb2xlIjoidXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.p5nbOT3ekaIzms1pXrIUhCHPfdkra3EIc2VSnbtD4sw
--- error_code: 403
--- error_log
jwt: "jwt_require" failed: $is_admin



=== TEST 25: several jwt_require rules: the first one that fails decides the status
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_sub error=401;
        jwt_require $is_admin;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb2xlIjoidXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.p5nbOT3ekaIzms1pXrIUhCHPfdkra3EIc2VSnbtD4sw
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"



=== TEST 26: jwt_require is checked after the token: an invalid token is 401 invalid_token
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    location = /t {
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
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc
--- error_code: 401
--- response_headers
X-Jwt-Error: expired
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- no_error_log
jwt_require



=== TEST 27: jwt_require is inherited
--- http_config
    map $jwt_claim_role $is_admin {
        admin   1;
        default 0;
    }
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_require $is_admin;

    location = /t {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb2xlIjoidXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.p5nbOT3ekaIzms1pXrIUhCHPfdkra3EIc2VSnbtD4sw
--- error_code: 403



=== TEST 28: the cache of verified tokens is per policy: another audience
The token is verified (and cached) at /a first, then presented at /b.
--- config
    jwt_verify on;
    jwt_token $arg_t;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Jwt-Error $jwt_error always;

    location = /a {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /b {
        jwt_audience mobile;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.H2MoC9kbLA_9mto1nW_sK6osFXoMTIsQbLSCbf2IBdI", "GET /b?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.H2MoC9kbLA_9mto1nW_sK6osFXoMTIsQbLSCbf2IBdI"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Jwt-Error: ", "X-Jwt-Error: audience"]



=== TEST 29: the cache of verified tokens is per policy: another issuer
The token is verified (and cached) at /a first, then presented at /b.
--- config
    jwt_verify on;
    jwt_token $arg_t;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Jwt-Error $jwt_error always;

    location = /a {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /b {
        jwt_issuer https://other.example;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJleHAiOjQxMDI0NDQ4MDB9.IIrd44yjdt4RXLVNVYu2NN7g5feQAgFm3SMBE3uCDTQ", "GET /b?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJleHAiOjQxMDI0NDQ4MDB9.IIrd44yjdt4RXLVNVYu2NN7g5feQAgFm3SMBE3uCDTQ"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Jwt-Error: ", "X-Jwt-Error: issuer"]



=== TEST 30: the cache of verified tokens is per policy: another key ring
The token is verified (and cached) at /a first, then presented at /b.
--- config
    jwt_verify on;
    jwt_token $arg_t;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Jwt-Error $jwt_error always;

    location = /a {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /b {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU", "GET /b?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Jwt-Error: ", "X-Jwt-Error: signature"]



=== TEST 31: the cache of verified tokens is per policy: another allow-list
The token is verified (and cached) at /a first, then presented at /b.
--- config
    jwt_verify on;
    jwt_token $arg_t;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Jwt-Error $jwt_error always;

    location = /a {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /b {
        jwt_algorithms HS512;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU", "GET /b?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Jwt-Error: ", "X-Jwt-Error: algorithm"]



=== TEST 32: the cache of verified tokens is per policy: a leeway
The token is verified (and cached) at /a first, then presented at /b.
--- config
    jwt_verify on;
    jwt_token $arg_t;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    add_header X-Jwt-Error $jwt_error always;

    location = /a {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /b {
        jwt_leeway 100y;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /a?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc", "GET /b?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc"]
--- error_code eval
[401, 200]
--- response_headers eval
["X-Jwt-Error: expired", "X-Jwt-Error: "]



=== TEST 33: jwt_cache_size 0: every request verifies the token again
--- config
    location = /t {
        jwt_verify on;
        jwt_token $arg_t;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_cache_size 0;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU", "GET /t?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU", "GET /t?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc"]
--- error_code eval
[200, 200, 401]
--- response_headers eval
["X-Jwt-Error: ", "X-Jwt-Error: ", "X-Jwt-Error: expired"]



=== TEST 34: the same expired token twice: refused both times
--- config
    location = /t {
        jwt_verify on;
        jwt_token $arg_t;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc", "GET /t?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTAwMDAwMDAwMH0.lDLw_9ygyZMMZGdWFRazz2ktIkHH4jWHKHnvAAgEKLc"]
--- error_code eval
[401, 401]
--- response_headers eval
["X-Jwt-Error: expired", "X-Jwt-Error: expired"]
