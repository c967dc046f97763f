# jwt_require and JSON truth: a claim that is JSON false or null never satisfies jwt_require,
# and neither do the "empty" values (0, "0", "", [], {}, absent); any other value does.
# X-V shows how $jwt_claim_v renders each kind: JSON text for non-strings (true, false, null,
# 0, [], {}), the raw text for strings. (nginx's add_header sends no header for an empty value.)
#
# Key: t/fixtures/keys/hmac.key. Tokens: t/fixtures/tokens/v-*.jwt (t/fixtures/make-fixtures),
# each {"sub":"alice","v":<value>,"exp":4102444800}; "absent" is hs256.jwt
# ({"sub":"alice","exp":4102444800}).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: "v": true: 200
token: fixtures/tokens/v-true.jwt ({"sub":"alice","v":true,"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.br4sc1-9YsWaYRTHV7QHdltpkpKEW3OffMbyJCTJL40
--- error_code: 200
--- response_headers
X-V: true
X-Jwt-Error:
!WWW-Authenticate
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 2: "v": false: 403
token: fixtures/tokens/v-false.jwt ({"sub":"alice","v":false,"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOmZhbHNlLCJleHAiOjQxMDI0NDQ4MDB9.HyKKP3CGMdDajuhcIZObDUX_UZt3jrcCgb10o2vnrEs
--- error_code: 403
--- response_headers
X-V: false
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 3: "v": null: 403
token: fixtures/tokens/v-null.jwt ({"sub":"alice","v":null,"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOm51bGwsImV4cCI6NDEwMjQ0NDgwMH0.7kDB-_ToAQYychM47GKqCxeWdRQD6bZrtQDHpEJBHus
--- error_code: 403
--- response_headers
X-V: null
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 4: "v": 0: 403
token: fixtures/tokens/v-zero.jwt ({"sub":"alice","v":0,"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOjAsImV4cCI6NDEwMjQ0NDgwMH0.w8SChMO69FdeAfqiZp7bAer6g1k0JtGH8g8nDZQsYlk
--- error_code: 403
--- response_headers
X-V: 0
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 5: "v": "0": 403
token: fixtures/tokens/v-string-zero.jwt ({"sub":"alice","v":"0","exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOiIwIiwiZXhwIjo0MTAyNDQ0ODAwfQ.reeFIEsxBQlWxFNkYu6221mYAoN9OlwILewCI45VHY4
--- error_code: 403
--- response_headers
X-V: 0
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 6: "v": "": 403
token: fixtures/tokens/v-empty-string.jwt ({"sub":"alice","v":"","exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOiIiLCJleHAiOjQxMDI0NDQ4MDB9.xHEl_ZRQa4kCT4Aq4ZTN9DriNnQU_6vUdZ7CpNLWCM0
--- error_code: 403
--- response_headers
!X-V
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 7: "v": []: 403
token: fixtures/tokens/v-empty-array.jwt ({"sub":"alice","v":[],"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOltdLCJleHAiOjQxMDI0NDQ4MDB9.D9lgb_8IW_87lwP5otQ930X1R4y9Jv9w8yJd0T0zZPg
--- error_code: 403
--- response_headers
X-V: []
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 8: "v": {}: 403
token: fixtures/tokens/v-empty-object.jwt ({"sub":"alice","v":{},"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOnt9LCJleHAiOjQxMDI0NDQ4MDB9.7Ip3AbVe9cZYv_Ue9n9EM-RQfWZwhSgefVdqDeiT2cg
--- error_code: 403
--- response_headers
X-V: {}
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 9: no v claim at all: 403
token: fixtures/tokens/hs256.jwt ({"sub":"alice","exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
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
!X-V
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- response_body_like: 403 Forbidden
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 10: "v": "yes": 200
token: fixtures/tokens/v-yes.jwt ({"sub":"alice","v":"yes","exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOiJ5ZXMiLCJleHAiOjQxMDI0NDQ4MDB9.ZdXBfAxHXheKzP1TW-FukBJTf8bh-Trw_i6hzxIAznQ
--- error_code: 200
--- response_headers
X-V: yes
X-Jwt-Error:
!WWW-Authenticate
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 11: "v": 1: 200
token: fixtures/tokens/v-one.jwt ({"sub":"alice","v":1,"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOjEsImV4cCI6NDEwMjQ0NDgwMH0.7lZNt-QakE2vna4bQGMa5HyieGm_aNVw2OjY5QfiW5w
--- error_code: 200
--- response_headers
X-V: 1
X-Jwt-Error:
!WWW-Authenticate
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 12: "v": ["a"]: 200
token: fixtures/tokens/v-array.jwt ({"sub":"alice","v":["a"],"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOlsiYSJdLCJleHAiOjQxMDI0NDQ4MDB9.Y5akfymxIiBq6jp8pJJv2GwPjwkcgCgmwwgsHR5xcZA
--- error_code: 200
--- response_headers
X-V: ["a"]
X-Jwt-Error:
!WWW-Authenticate
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 13: "v": {"a":1}: 200
token: fixtures/tokens/v-object.jwt ({"sub":"alice","v":{"a":1},"exp":4102444800})
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOnsiYSI6MX0sImV4cCI6NDEwMjQ0NDgwMH0.mE5xPzHbJQ0m3_ZdAJfsn4e6yy4ccuG_U9VOxvL8xDk
--- error_code: 200
--- response_headers
X-V: {"a":1}
X-Jwt-Error:
!WWW-Authenticate
--- response_body
ok
--- no_error_log
jwt_require



=== TEST 14: jwt_require $a $b error=401: a false claim answers 401 with error="insufficient_scope" (not invalid_token)
token: fixtures/tokens/v-false.jwt ({"sub":"alice","v":false,"exp":4102444800}): $jwt_claim_sub
holds, $jwt_claim_v does not.
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_sub $jwt_claim_v error=401;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOmZhbHNlLCJleHAiOjQxMDI0NDQ4MDB9.HyKKP3CGMdDajuhcIZObDUX_UZt3jrcCgb10o2vnrEs
--- error_code: 401
--- response_headers
X-V: false
X-Jwt-Error:
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/



=== TEST 15: jwt_require $a $b error=401: both set (true): 200
token: fixtures/tokens/v-true.jwt ({"sub":"alice","v":true,"exp":4102444800}).
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_sub $jwt_claim_v error=401;
        add_header X-V $jwt_claim_v always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.br4sc1-9YsWaYRTHV7QHdltpkpKEW3OffMbyJCTJL40
--- error_code: 200
--- response_headers
X-V: true
!WWW-Authenticate
--- response_body
ok



=== TEST 16: a map over a false claim: map sees the JSON text "false", and jwt_require on the claim itself refuses it
token: fixtures/tokens/v-false.jwt ({"sub":"alice","v":false,"exp":4102444800}). The map turns
"false" into 1, so $v_is_false holds; $jwt_claim_v (false) does not.
--- http_config
    map $jwt_claim_v $v_is_false {
        false   1;
        default 0;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $v_is_false;
        jwt_require $jwt_claim_v;
        add_header X-V $jwt_claim_v always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInYiOmZhbHNlLCJleHAiOjQxMDI0NDQ4MDB9.HyKKP3CGMdDajuhcIZObDUX_UZt3jrcCgb10o2vnrEs
--- error_code: 403
--- response_headers
X-V: false
WWW-Authenticate: Bearer realm="protected", error="insufficient_scope"
--- error_log eval
qr/"jwt_require" failed\b.*\$jwt_claim_v\b/
--- no_error_log eval
qr/"jwt_require" failed\b.*\$v_is_false\b/
