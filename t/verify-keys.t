# jwt_key_file: every key format verifies tokens of its algorithms; kid selects keys; several
# jwt_key_file directives form one key ring.
#
# Keys and tokens: t/fixtures (t/fixtures/make-fixtures re-creates them); tokens are
# {"sub":"alice","exp":4102444800} unless said otherwise. Each protected location reports
# $jwt_error in X-Jwt-Error ("always", so it shows on 401 too; empty on success).
#
# Keys are read as $TEST_NGINX_FIXTURES/keys/NAME, except where the key file itself is the
# subject of the block (its trailing bytes, its size, its encoding, its JWK/JWKS layout, a
# relative path): those blocks carry their key inline.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: HMAC secret file with a trailing newline (stripped)
token: fixtures/tokens/hs256.jwt; key: fixtures/keys/hmac.key (64 bytes and a newline)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwt.key
ngx-jwt-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF
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



=== TEST 2: HMAC secret file without a trailing newline
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        empty_gif;
    }
--- user_files eval
">>> jwt.key
ngx-jwt-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_headers
Content-Type: image/gif
Content-Length: 43



=== TEST 3: HMAC secret file ending in CRLF (stripped)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        empty_gif;
    }
--- user_files eval
">>> jwt.key
ngx-jwt-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF\r\n"
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_headers
Content-Type: image/gif
Content-Length: 43



=== TEST 4: only one trailing newline is stripped: a secret ending in a blank line is another secret
The file holds the secret, "\n" and "\n": the key is the secret plus "\n".
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files eval
">>> jwt.key
ngx-jwt-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF\n\n>>> ok.txt
ok
"
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 401
--- response_headers
X-Jwt-Error: signature



=== TEST 5: HS384 with a 64-byte secret
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
Authorization: Bearer eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.n4xHuRGLHUS3NPoINARYQCejS_MMhrhabdbgUtjO0fICZM2qmmla-UfW_LyNnukB
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 6: HS512 with a 64-byte secret
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



=== TEST 7: a 32-byte secret verifies HS256
key: fixtures/keys/hmac32.key (exactly 32 bytes)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwt.key
exactly-32-bytes-of-hmac-secret!
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.r6paj97qfweu6f42U0mcpgR4RCjKKNx7sT9lohvlfmQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 8: a 32-byte secret is too short for HS384 (RFC 7518 §3.2): the algorithm is not accepted
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwt.key
exactly-32-bytes-of-hmac-secret!
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.n4xHuRGLHUS3NPoINARYQCejS_MMhrhabdbgUtjO0fICZM2qmmla-UfW_LyNnukB
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
--- error_log
jwt: token rejected (algorithm): token alg HS384 is not allowed



=== TEST 9: RS256 with an RSA public key (SPKI, BEGIN PUBLIC KEY)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> rsa.pem
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvwkITt7GbBAPXsAE14XC
FFqfFg3bV3t7Y9JsF/BO118q/vxkNkvmiMQ7SXJW8UWzj//vAQAfFaXOZ4mQrX8i
nqhQjcqRJE/7spNP8y/DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW+YFf+J6JMt
VR+CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr/uTIUdFuW/u2jqfn
9DUR+NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y+sjmOtty0WkZipIEmUu1aHSP8EzE1u
Usl0hc2+4/QWtIFVAwCsXdaHBsYpI/TErxdRPQjOQfDeu35v5xXbd/x32ROfq7HC
OwIDAQAB
-----END PUBLIC KEY-----
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



=== TEST 10: RS256 with an RSA public key (PKCS#1, BEGIN RSA PUBLIC KEY)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> rsa.pem
-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAvwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF/BO118q/vxkNkvm
iMQ7SXJW8UWzj//vAQAfFaXOZ4mQrX8inqhQjcqRJE/7spNP8y/DII4qCOGmcsht
hO6sdTFuR2xnGLIKmUkzsW+YFf+J6JMtVR+CC2rniaoZnreENAbxbhMomTfdF4YY
g098BOahBcYeQhdr/uTIUdFuW/u2jqfn9DUR+NT3ArzU9ED4sXkUUlDVSKNmXzaX
9Y+sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2+4/QWtIFVAwCsXdaHBsYpI/TE
rxdRPQjOQfDeu35v5xXbd/x32ROfq7HCOwIDAQAB
-----END RSA PUBLIC KEY-----
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



=== TEST 11: RS256 with an RSA private key (PKCS#8, BEGIN PRIVATE KEY)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> rsa.pem
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC/CQhO3sZsEA9e
wATXhcIUWp8WDdtXe3tj0mwX8E7XXyr+/GQ2S+aIxDtJclbxRbOP/+8BAB8Vpc5n
iZCtfyKeqFCNypEkT/uyk0/zL8MgjioI4aZyyG2E7qx1MW5HbGcYsgqZSTOxb5gV
/4noky1VH4ILaueJqhmet4Q0BvFuEyiZN90XhhiDT3wE5qEFxh5CF2v+5MhR0W5b
+7aOp+f0NRH41PcCvNT0QPixeRRSUNVIo2ZfNpf1j6yOY623LRaRmKkgSZS7VodI
/wTMTW5SyXSFzb7j9Ba0gVUDAKxd1ocGxikj9MSvF1E9CM5B8N67fm/nFdt3/HfZ
E5+rscI7AgMBAAECggEAAyL6ELWwhDs9KDDRKxCDlIGfOzDw0Y9QAhqUMvP0B3HX
0LVGawLAJMvLF/+v9tJOc8+2QzNLuMaBo0LcU67SxTmnFaZThFg8Fp8ss6Xo0b/2
o+ZWtKfiow0f8YqK/6VWTak00+6p8Bdb3FL1Yk7bn6HEZUSny4VjDuQk2Ku5dGKr
0rQP/dx6a2Oaj1Fsu8kRDNcBG7iGmlzffMgLgYzcJAtHdNIWojUY6OUtw+Yk46xy
lAx77gTEucqdEU+rjJSZ/DO/EGRTPepzvt3ukiMPlNMGihg1iW4H6Nqjf+mieX+O
gIqsnyYuT2KMD7aCVEGPRX7SWeMdYYaOLbas09uEYQKBgQDgrkrlDJBd5DQS0Q9k
DXuNnapPMI+4syv9+rm6I5xFi0cgMCO3ngGEkgrwcCXTMcUF6fwuPsGdCe6ErJ+F
vNNNvB3URsFYMB45FNSz5367oQbTMxTAezl0cMC7If0uUBAM1zQCeAQSbeyNlgvN
wbP43Esd+vyrkUk6XgTsm/gAsQKBgQDZqhpMqEHjy/QkCF0f4adjHNlp6SJ6ZUu6
dvLLC052GS/y9rdlItN0WeCX1V2liduk7rmVxRM/eMtlgNVRjT4J9/vlCVCDjNib
su78yO8l7H2NFiwvhHiKmXa12T4mG/VNc0MOxOlILqFjA9FJkNHa4xxZhUElupOu
4izXNVEMqwKBgQCvCfodIcGi9DNBaY/VAc/8zxUspoeBfEzMjDV/d1i6sTwTLo3U
8gr6rhBJqwU82KxG5DhsCsYpwuAIireoqCfyipiulQTx4GLbU4g2NCZ+pH+9sDD9
l8J2HZV49IzbNNKcPlgtiDSb6vl8gKXngX3lZjI7RBruyrxC9ZZeg1AdsQKBgFR4
+X/qhLe9PWCGhm2LC4UhexbpTWIm0b7pzswR9T9MAxnNudrcKygqgUkrmw5VdBKM
OyXut8uYO4eG+kKOCBeiT/XRKZgEH0Q9qxYbfQRAxXDtu/Qs+wL/D9z/FGmBzC9k
ng+rR8WloyhkIOLl+ytxnFz5pBDaWdozGKfknzHFAoGAeKsnrO7UIfoV/prkzxBQ
/lB/rcQHcRngWWZrq5zWwDa76DNm3hyCY1NTWOHIizprWJ0Lq4+63sb1yO4SYnKK
dRtsPOzmZqonJEbDVVVZl4g1ijCLBYSY+ocOnGPmcXFRd/aNGPqHCzkpnzFodVCY
ncBL0a5CgK1S+AKR5KSZVk8=
-----END PRIVATE KEY-----
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



=== TEST 12: RS256 with an RSA private key (PKCS#1, BEGIN RSA PRIVATE KEY)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> rsa.pem
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAvwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF/BO118q/vxk
NkvmiMQ7SXJW8UWzj//vAQAfFaXOZ4mQrX8inqhQjcqRJE/7spNP8y/DII4qCOGm
cshthO6sdTFuR2xnGLIKmUkzsW+YFf+J6JMtVR+CC2rniaoZnreENAbxbhMomTfd
F4YYg098BOahBcYeQhdr/uTIUdFuW/u2jqfn9DUR+NT3ArzU9ED4sXkUUlDVSKNm
XzaX9Y+sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2+4/QWtIFVAwCsXdaHBsYp
I/TErxdRPQjOQfDeu35v5xXbd/x32ROfq7HCOwIDAQABAoIBAAMi+hC1sIQ7PSgw
0SsQg5SBnzsw8NGPUAIalDLz9Adx19C1RmsCwCTLyxf/r/bSTnPPtkMzS7jGgaNC
3FOu0sU5pxWmU4RYPBafLLOl6NG/9qPmVrSn4qMNH/GKiv+lVk2pNNPuqfAXW9xS
9WJO25+hxGVEp8uFYw7kJNiruXRiq9K0D/3cemtjmo9RbLvJEQzXARu4hppc33zI
C4GM3CQLR3TSFqI1GOjlLcPmJOOscpQMe+4ExLnKnRFPq4yUmfwzvxBkUz3qc77d
7pIjD5TTBooYNYluB+jao3/ponl/joCKrJ8mLk9ijA+2glRBj0V+0lnjHWGGji22
rNPbhGECgYEA4K5K5QyQXeQ0EtEPZA17jZ2qTzCPuLMr/fq5uiOcRYtHIDAjt54B
hJIK8HAl0zHFBen8Lj7BnQnuhKyfhbzTTbwd1EbBWDAeORTUs+d+u6EG0zMUwHs5
dHDAuyH9LlAQDNc0AngEEm3sjZYLzcGz+NxLHfr8q5FJOl4E7Jv4ALECgYEA2aoa
TKhB48v0JAhdH+GnYxzZaekiemVLunbyywtOdhkv8va3ZSLTdFngl9VdpYnbpO65
lcUTP3jLZYDVUY0+Cff75QlQg4zYm7Lu/MjvJex9jRYsL4R4ipl2tdk+Jhv1TXND
DsTpSC6hYwPRSZDR2uMcWYVBJbqTruIs1zVRDKsCgYEArwn6HSHBovQzQWmP1QHP
/M8VLKaHgXxMzIw1f3dYurE8Ey6N1PIK+q4QSasFPNisRuQ4bArGKcLgCIq3qKgn
8oqYrpUE8eBi21OINjQmfqR/vbAw/ZfCdh2VePSM2zTSnD5YLYg0m+r5fICl54F9
5WYyO0Qa7sq8QvWWXoNQHbECgYBUePl/6oS3vT1ghoZtiwuFIXsW6U1iJtG+6c7M
EfU/TAMZzbna3CsoKoFJK5sOVXQSjDsl7rfLmDuHhvpCjggXok/10SmYBB9EPasW
G30EQMVw7bv0LPsC/w/c/xRpgcwvZJ4Pq0fFpaMoZCDi5fsrcZxc+aQQ2lnaMxin
5J8xxQKBgHirJ6zu1CH6Ff6a5M8QUP5Qf63EB3EZ4Flma6uc1sA2u+gzZt4cgmNT
U1jhyIs6a1idC6uPut7G9cjuEmJyinUbbDzs5maqJyRGw1VVWZeINYowiwWEmPqH
Dpxj5nFxUXf2jRj6hws5KZ8xaHVQmJ3AS9GuQoCtUvgCkeSkmVZP
-----END RSA PRIVATE KEY-----
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



=== TEST 13: RS256 with an X.509 certificate
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.crt;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> rsa.crt
-----BEGIN CERTIFICATE-----
MIIDETCCAfmgAwIBAgIUWSFfZXJIUZtNbH9EpW7eQopKcXgwDQYJKoZIhvcNAQEL
BQAwFzEVMBMGA1UEAwwMbmd4LWp3dCB0ZXN0MCAXDTI2MTEyOTA1MjcwM1oYDzIx
MjYxMTA1MDUyNzAzWjAXMRUwEwYDVQQDDAxuZ3gtand0IHRlc3QwggEiMA0GCSqG
SIb3DQEBAQUAA4IBDwAwggEKAoIBAQC/CQhO3sZsEA9ewATXhcIUWp8WDdtXe3tj
0mwX8E7XXyr+/GQ2S+aIxDtJclbxRbOP/+8BAB8Vpc5niZCtfyKeqFCNypEkT/uy
k0/zL8MgjioI4aZyyG2E7qx1MW5HbGcYsgqZSTOxb5gV/4noky1VH4ILaueJqhme
t4Q0BvFuEyiZN90XhhiDT3wE5qEFxh5CF2v+5MhR0W5b+7aOp+f0NRH41PcCvNT0
QPixeRRSUNVIo2ZfNpf1j6yOY623LRaRmKkgSZS7VodI/wTMTW5SyXSFzb7j9Ba0
gVUDAKxd1ocGxikj9MSvF1E9CM5B8N67fm/nFdt3/HfZE5+rscI7AgMBAAGjUzBR
MB0GA1UdDgQWBBSvQYg5HOqtMnrE0o4rN3Xp0r19bzAfBgNVHSMEGDAWgBSvQYg5
HOqtMnrE0o4rN3Xp0r19bzAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUA
A4IBAQCXHlEk131lBlkhxUbC2RoHovoZcn8rCkdUY4YgbMnX/6pUgcawAgi9ykLr
+PrEtLlIpZEbdmdZ197ioO1BK9wugvGooB6wHhVeqe65bbycy1xyYEFChdA7JOYN
kAHJOdIkkh+V1gBSuAVZnvQke6lp58rZUt6rjeVzRb+1MOtaMfjl13HK3ekij1aC
9RqGOFup76a1rwkbRugeUiQq1O7vARyD/La+1Ymriloc+Bz6JVshEfZYYdyzeowf
mSoGymLH5jjqiyXJri6K6IDQ81ygbwacorfTmAII+ukh59I22ibYvSwD3V6riWrx
euXlkMctPmRqMNl9hrZO+fw+4Ec1
-----END CERTIFICATE-----
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



=== TEST 14: RS384 with an RSA public key
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
Authorization: Bearer eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.mDR4AOt6egiBT27ftcbD3ZKgxdaGxBeQ9TjWG4F2Z8v1t1-fszpdAUXTT-IrSIla3nW2-cB3ttgoHY_2a9Ylg8FxOyb9jI0imt7p6nyRx0WhrxmULD5GMTofm47D2KQ1hq6t1qvf7YLAvh450JRs-QxF20Tlo-ZK-_6VEng6Ixk27UHUQdDOxrK0X9yUVsudqA7lZXkbVifToTZ-q4_VDf8l5yQAwpAqc0ifTm6YidrTxmq-iFmn_o-2htGbOhTT5Ikezyp93UDEvLfZRRU5UZCmDI_XGcNGyzx44GHvBmW1a0QYkQeMB-lG_BzCRnwQADwe7y-KMDIeHqx6FZtZ7Q
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 15: RS512 with an RSA public key
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
Authorization: Bearer eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.N0jVcdGC1zrHg4MwiYX9m_d99d1z0Yb58gp1onVNuV7wufTLKquhw1uwG7KxH83cZHj35quzrEL40sFohBMHUO0qBa6987Uw6WtJ-X1m20NolUDx63F0rEGECPf_Rp_IpZyWErPLq8x4zB0nULkJNc5QhClbWTBgITqHiQYAfCHPTobQSL1UMZ8_37pnIWtKBJx6jUWW-tgAx_u9dcdHuK57c4Shuvm4J1F1rmAx0SSijgMktLIuSFJ1j0bxN6ACeyZtkXl5rMMRByz-_2V0FunuO94fHpTsN58imBS2wGRI1bf_iElJTU8a0-1uRZ_iLua1oWYLEbGhvSTpmfkPbQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 16: PS256 with an RSA public key
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
Authorization: Bearer eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.Q3lYQAZd2f2lC8xinZXHZwwFerki0bMBF_CZF3-e6A3SRuM2Zo6wP1_fmMYfmgxwtqu528kxhXYV3o2SaaZCf4bBVCnzdnqpbFY6T_8Ic5Y2vBdCEahBDdxD7kozZuDPi7KFD53kAjBhwKJM_J-pLygtKFc6oWtKB4o-11F6bKCSxlnIrq6Eu1tzVBdFudz_JB7gFey3EZLV4i8fpsQX1vNBqfK4o0rl6FgqVu2HfZGYVAeLWyAZ0ubmZVEdZ6Z8IOPBK9GHQNt8eG5IOEHSE9aoebS2Xh31YZksA2xGpmxy2MbZ9sbYL3theOv-V7PS3j41vz1g3gI478ciS1FBaw
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 17: PS384 with an RSA public key
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
Authorization: Bearer eyJhbGciOiJQUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.HTIGGqGY-yaTC4hNNY3R_S18NsZnnA-_JLQsPbIfv9VKY3E2wXc41bqNFkRbv32OEFyFyvdbaXqhlv2U8jIMFwZaHeTaWgA-CL8m1tN47_nTAvavTxbMu1smStKPK97uLzhTbQh05KtDy2n89kZ8c9cTT1PX3C9qZrQqguAgDyTIEnCzq-P96ho3EMXhcag8qLU-WqMyDMmHXKRXg5b9amIP1b3Hr4tkZbUEsJqBBAeu607UxjXGtzRqTbKsVW6xaqvKA6wlSkQi2zFImvfkxx3Ck8Dqs8zcVEXcAYKPc9mR1QKP9LTpjhzyFls6jrp6S9zrx0-czDyNrQWJzdpqrQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 18: PS512 with an RSA public key
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
Authorization: Bearer eyJhbGciOiJQUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.m8itqPEkQgmfD2h2gAz6DmxLsG7byQHwqDMlSX2C51Jn35ZwBtVxW1WmGHjKxg7QzJ54OPHAK4_tZH3WJJjjtlxZbyp92B61rEJraWlcOHtFZOjZgwZ5vwpEGaIR1EorfMZzVptQqedpzoi27vLeU1w2umhC1ie1u10iirZrvZfcNiKKJ23NiGEQIwqyi-AP6s5nw0gd6CJ9F5bB4vgyWZdtgdxJ722uqPgqezX7UTp0Ok08aeWmP6yyeYt8gHwFYaE968Ezgy7msahoW08NqsZdeNtna10m0BpLu0WMwfXS57cKyd4TP0wY31pILNXBaDV5XLZOMbI_ufHFYOR8cA
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 19: ES256 with an EC P-256 public key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.6EhbTMTyWQXG4ikPqISyjTkbu4Q_S3Xm6C3xd--RcvExZsiO8VFedIMLRvhKymjqN33_y0clLVFDv09IA03PrQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 20: ES256 with an EC P-256 private key (SEC1, BEGIN EC PRIVATE KEY)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ec.pem
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILU/phkJa+Qpo28hHC3gOmM7Boq124caZ1Eyq8OooIqHoAoGCCqGSM49
AwEHoUQDQgAEpirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpeSskMpAe9S
rHwv/j8NozLsusrDo6K+cB7hY2kJOAC3Bg==
-----END EC PRIVATE KEY-----
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.6EhbTMTyWQXG4ikPqISyjTkbu4Q_S3Xm6C3xd--RcvExZsiO8VFedIMLRvhKymjqN33_y0clLVFDv09IA03PrQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 21: ES256 with an EC P-256 private key (PKCS#8)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ec.pem
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtT+mGQlr5CmjbyEc
LeA6YzsGirXbhxpnUTKrw6igioehRANCAASmKsM05QUm5bPsvyzB9Ude0qDJNHhz
qBdw/uyckMEal5KyQykB71KsfC/+Pw2jMuy6ysOjor5wHuFjaQk4ALcG
-----END PRIVATE KEY-----
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.6EhbTMTyWQXG4ikPqISyjTkbu4Q_S3Xm6C3xd--RcvExZsiO8VFedIMLRvhKymjqN33_y0clLVFDv09IA03PrQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 22: ES384 with an EC P-384 public key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.jmCPEt8aYNoSFydLA4_HlcB5VfVQ4DXuzxb-ql70taR_9XHT2D7KDMlAbEPx5YGCZ5xyb4jGEHeusMGPAVIHcOY9BLDPZuV6nggdYrOGrs02B8lHU5Q6NbKOQiN7oROD
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 23: ES512 with an EC P-521 public key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec521.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.Ac0NfYqLOPACfdU8CrIez8y5XxOmiv30TnvMR4vJQ0Ofg9Zx9jk1d43c44oaXO4IlGnwk-2baokQUvnRFLyznxwEAFbgETtbl7jJXVCKh14S_TdwAmK3hdzXz3-WsCDOa0JrGs5NoJW9vOhD3f-hokDQMgr7Eu03nq1Q1hb-FpwR6kZm
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 24: ES256 with a DER-encoded signature (not JWS's r || s) does not verify
token: fixtures/tokens/es256-der-signature.jwt (openssl's DER ECDSA-Sig-Value)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.MEUCIB2Kjm6rBXREOr54V33ndlUNVNJeZoqd5lf4IgBHJN-hAiEAo8NowbtEBB1YbA7MfFOjfbA2Bw_kxhYvI8cIAkXUEwc
--- error_code: 401
--- response_headers
X-Jwt-Error: signature
--- error_log
jwt: token rejected (signature): ES256 signature does not verify with any of 1 candidate key(s)



=== TEST 25: EdDSA with an Ed25519 public key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.r9eRAq1oD1rHTZ98HoDqzRXvTkl8dB-tavVcnbwVPVaJcWRwD500R5QlA-JFGuAyJmFeBWqkB2EcA-YwjJV5AA
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 26: EdDSA with an Ed25519 private key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/ed.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ed.pem
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIAjp+EHDU1fIZiQ/qsL+ehCEqKDJqPclpNi6iVzL6FDg
-----END PRIVATE KEY-----
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.r9eRAq1oD1rHTZ98HoDqzRXvTkl8dB-tavVcnbwVPVaJcWRwD500R5QlA-JFGuAyJmFeBWqkB2EcA-YwjJV5AA
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 27: an ES256 token at an ES384 key: no key can verify ES256
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.6EhbTMTyWQXG4ikPqISyjTkbu4Q_S3Xm6C3xd--RcvExZsiO8VFedIMLRvhKymjqN33_y0clLVFDv09IA03PrQ
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
--- error_log
jwt: token rejected (algorithm): token alg ES256 is not allowed



=== TEST 28: JWKS: an oct key (HS256, kid oct-1)
key: fixtures/keys/jwks.json (oct-1, rsa-1, ec-1, ed-1)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwks.json
{
 "keys": [
  {
   "kty": "oct",
   "kid": "oct-1",
   "k": "bmd4LWp3dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5LWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6LUFCQ0RFRg"
  },
  {
   "kty": "RSA",
   "kid": "rsa-1",
   "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw",
   "e": "AQAB"
  },
  {
   "kty": "EC",
   "kid": "ec-1",
   "crv": "P-256",
   "x": "pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc",
   "y": "krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"
  },
  {
   "kty": "OKP",
   "kid": "ed-1",
   "crv": "Ed25519",
   "x": "5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"
  }
 ]
}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im9jdC0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.FgX9Lu2YCWJ0ae1kOdlZ3b70RTl4QRMzz5GA0Aan-yg
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 29: JWKS: an RSA key (RS256, kid rsa-1)
key: fixtures/keys/jwks.json (oct-1, rsa-1, ec-1, ed-1)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwks.json
{
 "keys": [
  {
   "kty": "oct",
   "kid": "oct-1",
   "k": "bmd4LWp3dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5LWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6LUFCQ0RFRg"
  },
  {
   "kty": "RSA",
   "kid": "rsa-1",
   "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw",
   "e": "AQAB"
  },
  {
   "kty": "EC",
   "kid": "ec-1",
   "crv": "P-256",
   "x": "pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc",
   "y": "krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"
  },
  {
   "kty": "OKP",
   "kid": "ed-1",
   "crv": "Ed25519",
   "x": "5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"
  }
 ]
}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 30: JWKS: an EC key (ES256, kid ec-1)
key: fixtures/keys/jwks.json (oct-1, rsa-1, ec-1, ed-1)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwks.json
{
 "keys": [
  {
   "kty": "oct",
   "kid": "oct-1",
   "k": "bmd4LWp3dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5LWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6LUFCQ0RFRg"
  },
  {
   "kty": "RSA",
   "kid": "rsa-1",
   "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw",
   "e": "AQAB"
  },
  {
   "kty": "EC",
   "kid": "ec-1",
   "crv": "P-256",
   "x": "pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc",
   "y": "krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"
  },
  {
   "kty": "OKP",
   "kid": "ed-1",
   "crv": "Ed25519",
   "x": "5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"
  }
 ]
}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.pR6RjmTPzM1IR86DSpfOp-KEpfnSlwtIp730jJ7v8bqQy9OFlFUINxcJHodToFFKCbQ7kgqTIAKzwIiUiQ3zyA
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 31: JWKS: an OKP key (EdDSA, kid ed-1)
key: fixtures/keys/jwks.json (oct-1, rsa-1, ec-1, ed-1)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwks.json
{
 "keys": [
  {
   "kty": "oct",
   "kid": "oct-1",
   "k": "bmd4LWp3dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5LWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6LUFCQ0RFRg"
  },
  {
   "kty": "RSA",
   "kid": "rsa-1",
   "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw",
   "e": "AQAB"
  },
  {
   "kty": "EC",
   "kid": "ec-1",
   "crv": "P-256",
   "x": "pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc",
   "y": "krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"
  },
  {
   "kty": "OKP",
   "kid": "ed-1",
   "crv": "Ed25519",
   "x": "5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"
  }
 ]
}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImVkLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.OmEZOWt2LDoc1oxIdALQrfTH7KuP5lUqtmjAA_CuGAUittwGOGFxWuPf16zyg_kTV7MHPTZuSss7vYgY_TGXBA
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 32: JWKS: a token without kid is tried against the set's keys of its family
key: fixtures/keys/jwks.json (oct-1, rsa-1, ec-1, ed-1)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwks.json
{
 "keys": [
  {
   "kty": "oct",
   "kid": "oct-1",
   "k": "bmd4LWp3dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5LWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6LUFCQ0RFRg"
  },
  {
   "kty": "RSA",
   "kid": "rsa-1",
   "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw",
   "e": "AQAB"
  },
  {
   "kty": "EC",
   "kid": "ec-1",
   "crv": "P-256",
   "x": "pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc",
   "y": "krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"
  },
  {
   "kty": "OKP",
   "kid": "ed-1",
   "crv": "Ed25519",
   "x": "5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"
  }
 ]
}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.6EhbTMTyWQXG4ikPqISyjTkbu4Q_S3Xm6C3xd--RcvExZsiO8VFedIMLRvhKymjqN33_y0clLVFDv09IA03PrQ
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 33: JWKS: an HS256 token whose kid names the set's RSA key is refused (key confusion via kid)
token: fixtures/tokens/hs256-kid-rsa-1.jwt (HS256, kid rsa-1, MACed with the RSA public key PEM)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwks.json
{
 "keys": [
  {
   "kty": "oct",
   "kid": "oct-1",
   "k": "bmd4LWp3dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5LWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6LUFCQ0RFRg"
  },
  {
   "kty": "RSA",
   "kid": "rsa-1",
   "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw",
   "e": "AQAB"
  },
  {
   "kty": "EC",
   "kid": "ec-1",
   "crv": "P-256",
   "x": "pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc",
   "y": "krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"
  },
  {
   "kty": "OKP",
   "kid": "ed-1",
   "crv": "Ed25519",
   "x": "5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"
  }
 ]
}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.i14Z60JiTCASiSWlg94rHW9AqjkIDdaMtB418uLuMeQ
--- error_code: 401
--- response_headers
X-Jwt-Error: key
--- error_log
jwt: token rejected (key): the key(s) with kid "rsa-1" cannot verify HS256



=== TEST 34: a single JWK (not a set) with "alg":"RS256"
key: fixtures/keys/rsa.jwk.json (kid rsa-1, alg RS256)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwk.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwk.json
{"kty": "RSA", "kid": "rsa-1", "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw", "e": "AQAB", "alg": "RS256"}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected



=== TEST 35: a JWK's "alg" restricts the key to that algorithm
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwk.json;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwk.json
{"kty": "RSA", "kid": "rsa-1", "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw", "e": "AQAB", "alg": "RS256"}
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.mDR4AOt6egiBT27ftcbD3ZKgxdaGxBeQ9TjWG4F2Z8v1t1-fszpdAUXTT-IrSIla3nW2-cB3ttgoHY_2a9Ylg8FxOyb9jI0imt7p6nyRx0WhrxmULD5GMTofm47D2KQ1hq6t1qvf7YLAvh450JRs-QxF20Tlo-ZK-_6VEng6Ixk27UHUQdDOxrK0X9yUVsudqA7lZXkbVifToTZ-q4_VDf8l5yQAwpAqc0ifTm6YidrTxmq-iFmn_o-2htGbOhTT5Ikezyp93UDEvLfZRRU5UZCmDI_XGcNGyzx44GHvBmW1a0QYkQeMB-lG_BzCRnwQADwe7y-KMDIeHqx6FZtZ7Q
--- error_code: 401
--- response_headers
X-Jwt-Error: algorithm
--- error_log
jwt: token rejected (algorithm): token alg RS384 is not allowed



=== TEST 36: kid selects the key: kid b verifies with the key named b
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=a;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key kid=b;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImIifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.zjNpW8KWCskFQeuxhZdmW3wHWqeTQ_uY79ubg9eu4cY
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok



=== TEST 37: kid selects the key: kid a verifies with the key named a
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=a;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key kid=b;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.HlLGquhpDpbha-9m8-lvWCru73l-hd3Pnn1CowKCauA
--- error_code: 200
--- response_headers
X-Jwt-Error:
--- response_body
ok



=== TEST 38: kid selects the key: a token with kid b signed by key a is tried with key b only
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=a;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key kid=b;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImIifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.G_TV4s4fMQkvbPoFTX8cgOTTWTvA1dDSM1pXjQA_uio
--- error_code: 401
--- response_headers
X-Jwt-Error: signature
--- error_log
jwt: token rejected (signature): HS256 signature does not verify with any of 1 candidate key(s)



=== TEST 39: an unknown kid: error key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=a;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key kid=b;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImMifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.8OOcK3xQM3R0x5vW_AavNVT8Oge3hu2mhi3KtZ3JkfU
--- error_code: 401
--- response_headers
X-Jwt-Error: key
--- error_log
jwt: token rejected (key): no configured key has the token's kid "c"



=== TEST 40: a token without kid is tried with every key of its family
token: fixtures/tokens/hs256-other-key.jwt (no kid, signed with the second key)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=a;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key kid=b;
        add_header X-Jwt-Error $jwt_error always;
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
X-Jwt-Error:
--- response_body
ok



=== TEST 41: a token with a kid needs a key with that kid: keys without kid do not match
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
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.HlLGquhpDpbha-9m8-lvWCru73l-hd3Pnn1CowKCauA
--- error_code: 401
--- response_headers
X-Jwt-Error: key
--- error_log
jwt: token rejected (key): no configured key has the token's kid "a"



=== TEST 42: a token without kid is tried only with the keys of its family
The ring holds two HMAC secrets, an RSA, an EC and an Ed25519 key: only the two secrets are tried.
token: fixtures/tokens/hs256-third-key.jwt (signed with a secret in no key file)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac-other.key;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.t4sRnrBmKZYIsjB5cPE4VwnQgcNWPn0h8y3rhc1FAuw
--- error_code: 401
--- response_headers
X-Jwt-Error: signature
--- error_log
jwt: token rejected (signature): HS256 signature does not verify with any of 2 candidate key(s)



=== TEST 43: repeated jwt_key_file directives form one key ring
One request per key: HS256, RS256, ES256, EdDSA; and ES384, which no key of the ring verifies.
--- config
    location = /t {
        jwt_verify on;
        jwt_token $arg_t;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.pub.pem;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
[
"GET /t?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU",
"GET /t?t=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.GYBf1w8YCvDeLoN55xPVLFvUgJKYeIEiVoyyDQFR4kTYXdWEeeBuBQYEZiLh1n6xX3re1aR4hsHYHKZwXbpXGK4WRTSAcH6en3sS38p0JqZPZC-DaGrGDkCMwX7mvzMtC2pFyIF7pz5ZczUoaJv_rQhOclebfcaudCrkElRvSg--Wp4O39oOOOF_hykbV_SPBEc4SvczDX1i665AJDQPB_z3O-rlhay_oOq8EngRaF_I7bbGyx79Eibh8oltP2RdiBBo8I5Q4XaZchNo9htWk3u6VAXragVMsGO7_IopawJ4CSb61fVe7agwaNawhkExQS4SactPavn7VS-y5APXuQ",
"GET /t?t=eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.6EhbTMTyWQXG4ikPqISyjTkbu4Q_S3Xm6C3xd--RcvExZsiO8VFedIMLRvhKymjqN33_y0clLVFDv09IA03PrQ",
"GET /t?t=eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.r9eRAq1oD1rHTZ98HoDqzRXvTkl8dB-tavVcnbwVPVaJcWRwD500R5QlA-JFGuAyJmFeBWqkB2EcA-YwjJV5AA",
"GET /t?t=eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.jmCPEt8aYNoSFydLA4_HlcB5VfVQ4DXuzxb-ql70taR_9XHT2D7KDMlAbEPx5YGCZ5xyb4jGEHeusMGPAVIHcOY9BLDPZuV6nggdYrOGrs02B8lHU5Q6NbKOQiN7oROD",
]
--- error_code eval
[200, 200, 200, 200, 401]
--- response_headers eval
["X-Jwt-Error: ", "X-Jwt-Error: ", "X-Jwt-Error: ", "X-Jwt-Error: ", "X-Jwt-Error: algorithm"]



=== TEST 44: a relative key path resolves against the directory of nginx.conf
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file ../html/jwt.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> jwt.key
ngx-jwt-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EYMIjXb_1cYM5TQfRybqOraJPgTMJDBtduUM_uzG6RU
--- error_code: 200
--- response_body
ok
