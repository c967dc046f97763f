# jwt_verify refuses what RFC 8725 (JWT BCP) warns about: "none", algorithm confusion,
# algorithms outside the allow-list, "crit", malformed and oversized tokens. Each refusal is
# 401 with error="invalid_token", its code in $jwt_error (shown here in X-Jwt-Error) and the
# reason in an info line of the error log.
#
# Keys and tokens: t/fixtures (t/fixtures/make-fixtures re-creates them); tokens are
# {"sub":"alice","exp":4102444800} unless said otherwise.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: alg "none" with an empty signature is refused
token: fixtures/tokens/none-empty-sig.jwt
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
Authorization: Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg "none" (an unsecured JWS) is never accepted



=== TEST 2: alg "none" with a signature is refused
token: fixtures/tokens/none-with-sig.jwt
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
Authorization: Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.m1alUxrSobvSXf-O8cHmy9s8s3kUfK6PzfkTDR8Dbwk
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg "none" (an unsecured JWS) is never accepted



=== TEST 3: alg "NONE" with an empty signature is refused
token: fixtures/tokens/none-NONE.jwt
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
Authorization: Bearer eyJhbGciOiJOT05FIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg "NONE" (an unsecured JWS) is never accepted



=== TEST 4: alg "nOnE" with an empty signature is refused
token: fixtures/tokens/none-nOnE.jwt
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
Authorization: Bearer eyJhbGciOiJuT25FIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg "nOnE" (an unsecured JWS) is never accepted



=== TEST 5: RS256/HS256 confusion: an HS256 token MACed with the RSA public key file is refused
The key ring holds only the RSA public key, so HS256 is not even an accepted algorithm.
token: fixtures/tokens/hs256-signed-with-rsa-pub.jwt (HMAC key = the bytes of rsa.pem)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.heQSlCOwEGoLgnLJ7hqYYvssNETg3sNTSZVnqPAbZTw
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg HS256 is not allowed



=== TEST 6: RS256/HS256 confusion: with an HMAC secret in the ring too, the RSA key is never used as a secret
HS256 is accepted (for the secret), and only the secret is tried: 1 candidate key.
token: fixtures/tokens/hs256-signed-with-rsa-pub.jwt (HMAC key = the bytes of rsa.pem)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.heQSlCOwEGoLgnLJ7hqYYvssNETg3sNTSZVnqPAbZTw
--- error_code: 401
--- response_headers
X-Jwt-Error: signature
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (signature): HS256 signature does not verify with any of 1 candidate key(s)



=== TEST 7: HS512 verifies when the allow-list is the default (what the keys support)
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
Authorization: Bearer eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.CD0NT1hFyJ8K2TFIF2tnhe4p9xuFe8_Cw97zhctNmAL0-fv5eT-Q35qOJMNsQPNvJOLAGaSSrP7CX9rtS28Zeg
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 8: HS512 is refused with jwt_algorithms HS256
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms HS256;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.CD0NT1hFyJ8K2TFIF2tnhe4p9xuFe8_Cw97zhctNmAL0-fv5eT-Q35qOJMNsQPNvJOLAGaSSrP7CX9rtS28Zeg
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg HS512 is not allowed



=== TEST 9: HS256 passes jwt_algorithms HS256
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms HS256;
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
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 10: an RS256 token at a location with only an HMAC secret is refused
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
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.GYBf1w8YCvDeLoN55xPVLFvUgJKYeIEiVoyyDQFR4kTYXdWEeeBuBQYEZiLh1n6xX3re1aR4hsHYHKZwXbpXGK4WRTSAcH6en3sS38p0JqZPZC-DaGrGDkCMwX7mvzMtC2pFyIF7pz5ZczUoaJv_rQhOclebfcaudCrkElRvSg--Wp4O39oOOOF_hykbV_SPBEc4SvczDX1i665AJDQPB_z3O-rlhay_oOq8EngRaF_I7bbGyx79Eibh8oltP2RdiBBo8I5Q4XaZchNo9htWk3u6VAXragVMsGO7_IopawJ4CSb61fVe7agwaNawhkExQS4SactPavn7VS-y5APXuQ
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg RS256 is not allowed



=== TEST 11: jwt_algorithms RS256 with both key types: an HS256 token is refused
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms RS256;
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
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg HS256 is not allowed



=== TEST 12: jwt_algorithms RS256 with both key types: an RS256 token passes
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms RS256;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.GYBf1w8YCvDeLoN55xPVLFvUgJKYeIEiVoyyDQFR4kTYXdWEeeBuBQYEZiLh1n6xX3re1aR4hsHYHKZwXbpXGK4WRTSAcH6en3sS38p0JqZPZC-DaGrGDkCMwX7mvzMtC2pFyIF7pz5ZczUoaJv_rQhOclebfcaudCrkElRvSg--Wp4O39oOOOF_hykbV_SPBEc4SvczDX1i665AJDQPB_z3O-rlhay_oOq8EngRaF_I7bbGyx79Eibh8oltP2RdiBBo8I5Q4XaZchNo9htWk3u6VAXragVMsGO7_IopawJ4CSb61fVe7agwaNawhkExQS4SactPavn7VS-y5APXuQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 13: alg names are case-sensitive: "hs256" is unknown
token: fixtures/tokens/hs256-lowercase-alg.jwt (signed with HS256)
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
Authorization: Bearer eyJhbGciOiJoczI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.hdhmHh47Qx1eau95j-e9T-Eyq1nhDszRrPHh0AHWpDg
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg "hs256" is not a supported JWS algorithm



=== TEST 14: an unknown alg is refused
token: fixtures/tokens/hs257.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.-qvLwRlR34Jhb-421pRYY7oqFuvTioycUMukKA50sz8
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (algorithm): token alg "HS257" is not a supported JWS algorithm



=== TEST 15: a header without alg is malformed
token: fixtures/tokens/no-alg.jwt (header {"typ":"JWT"})
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
Authorization: Bearer eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.xcrU5Xr-QMVDoRpz__PE6HZnwa9eb75K51n39zlJX7A
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: header has no "alg"



=== TEST 16: a "crit" header parameter is refused (no extension is understood)
token: fixtures/tokens/crit.jwt (header {"alg":"HS256","typ":"JWT","crit":["exp"]}, correctly signed)
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImNyaXQiOlsiZXhwIl19.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.65CU50CRnEsTH-E43NvJsx1hoaKFpQxCeCczfo2k8MI
--- error_code: 401
--- response_headers
X-Jwt-Error: crit
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (crit): token header has "crit"; no JWS extension is supported



=== TEST 17: malformed: two segments
token: fixtures/tokens/two-segments.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: expected three segments separated by '.'



=== TEST 18: malformed: four segments
token: fixtures/tokens/four-segments.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: expected three segments separated by '.'



=== TEST 19: malformed: base64 "=" padding
token: fixtures/tokens/padded.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU=
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: signature is not base64url without padding



=== TEST 20: malformed: a "+" (base64, not base64url)
token: fixtures/tokens/plus.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.+YMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: signature is not base64url without padding



=== TEST 21: malformed: a header that is not JSON
token: fixtures/tokens/header-not-json.jwt
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
Authorization: Bearer bm90IGpzb24.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: header is not valid JSON



=== TEST 22: malformed: claims that are a JSON array
token: fixtures/tokens/claims-array.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.W10.X0nDWSv0Y-bLWpWItMinuSnTGOyPF3BeHZITL43lUK4
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: claims is not a JSON object



=== TEST 23: malformed: exp as a string
token: fixtures/tokens/exp-string.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6IjQxMDI0NDQ4MDAifQ.Yb99yv3SMGtAeOXZmQjjASw9DyJd6rFcijyPYMVl31c
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: claim "exp" is not a number



=== TEST 24: malformed: an empty signature
token: fixtures/tokens/empty-signature.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: signature is empty



=== TEST 25: malformed: a signature whose last character has non-zero trailing bits
token: fixtures/tokens/sig-trailing-bits.jwt
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RV
--- error_code: 401
--- response_headers
X-Jwt-Error: malformed
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (malformed): malformed token: signature is not base64url without padding



=== TEST 26: a token of 8192 bytes (the limit) is accepted
token: fixtures/tokens/big-8192.jwt (a long "x" claim)
--- http_config
    large_client_header_buffers 4 32k;
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
--- more_headers eval
"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ4Ijoi" . ("WFhY" x 2015) . "WFhYIiwieSI6IllZWSIsImV4cCI6NDEwMjQ0NDgwMH0.0qrbhXxYGezklp8mnyZpd3TXJGtCG_ZqmkDb6xxqIwU"
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 27: a token of 8193 bytes is refused before it is parsed
token: fixtures/tokens/big-8193.jwt (a long "x" claim, correctly signed)
--- http_config
    large_client_header_buffers 4 32k;
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
--- more_headers eval
"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ4Ijoi" . ("WFhY" x 2015) . "WFhYWCIsInkiOiJZWVkiLCJleHAiOjQxMDI0NDQ4MDB9.uOON5LETCyNLWzIoc2aK4VfOrJh-SxxQmC-UdyDaBP4"
--- error_code: 401
--- response_headers
X-Jwt-Error: too_large
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (too_large): token is 8193 bytes, over the 8192-byte limit
