# jwt_login round trips within one request: the token nginx issues is verified by nginx.
#
# How: the client POSTs to /t, which proxies to /login (jwt_login with jwt_login_cookie tok).
# /login's 200 answer carries `X-Accel-Redirect: /check` (add_header), so /t, instead of relaying
# it, redirects internally to /check, where the login answer's cookie is still readable as
# $upstream_cookie_tok. /check has a key ring and `jwt_token $upstream_cookie_tok`: the
# module's variables verify the issued token on demand and /check prints the result:
# $jwt_error (empty when the token is valid), header parameters and $jwt_payload (the verified
# claims, compact JSON with the keys in sorted order).
#
# Keys: t/fixtures/login (t/fixtures/login/make-keys re-creates them); copies are inline.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_long_string();
run_tests();

__DATA__

=== TEST 1: HS256: the issued token verifies; the claims are the application's plus iat, exp, jti
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg typ=$jwt_header_typ payload=$jwt_payload\n";
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice","roles":["admin","user"]}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
user=alice&password=secret
--- error_code: 200
--- response_body_like: ^error= alg=HS256 typ=JWT payload=\{"exp":\d{10},"iat":\d{10},"jti":"[A-Za-z0-9_-]{22}","roles":\["admin","user"\],"sub":"alice"\}\n$
--- no_error_log
[error]
[alert]



=== TEST 2: jwt_verify on accepts the issued token (the cookie as the browser would send it)
/check is a protected static file; it gets the token from the login answer's cookie.
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        alias $TEST_NGINX_HTML_DIR/secret.txt;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
>>> secret.txt
the protected content
--- request
POST /t
x
--- error_code: 200
--- response_body
the protected content
--- no_error_log
[error]
jwt: token rejected



=== TEST 3: jwt_verify on refuses a token issued with another secret
--- log_level: info
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/other.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        alias $TEST_NGINX_HTML_DIR/secret.txt;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
>>> other.key
login-other-secret-9876543210-zyxwvutsrqponmlkji
>>> secret.txt
the protected content
--- request
POST /t
x
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="protected", error="invalid_token"
--- error_log
jwt: token rejected (signature)



=== TEST 4: another secret: $jwt_error is signature and the claims are not exposed
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/other.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub payload=$jwt_payload\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
>>> other.key
login-other-secret-9876543210-zyxwvutsrqponmlkji
--- request
POST /t
x
--- error_code: 200
--- response_body
error=signature sub= payload=



=== TEST 5: RS256 token verifies with the RSA public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> rsa.key
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCzNxGvE7irEKkx
KCCaz4LXkEW6PyBhxcXss6lJ+XD0O/AU7QeA/gPDWHUK30FNnin7+bDga2d/A6DM
YjmHkkW3yxr2x6d215QrkwTYYHAtycple2EiYIqJYT6lvjJJ33oYfXC3BGc+dqN/
qHCG0l7Z8vfkvZMS172ajCkZZfp16qnpa3eiPjTuYgkaY0PcnUeTbS/0K3JVZibX
jEJX0+6EVGna3mMYp9elNHd+MhFPTqj/PlAzfWrKXOMYlJoEaRBRdCFog0/rT1s+
yOrInnePYYm0jq+ziPqGMDU3bEd6OkaES6f+/zyfvWEjGCViwTBm5cLaX84MNRH1
UuT7M4gvAgMBAAECggEAR1+cstnLV5GcmF+vUIhpRxmFs42Vg2rlDwZkWvo1UoeW
b3cQ4H4JmKBfiLNuSg++D8Sa/V25C7wxq4RI/iWyj2abuAG+v5VOxOXZ7aTGuG2f
pjfzcOH6+oiYjyDG3WXbteorXDAsQBO2vM4j9oXM0ccyk84uRzhVojnE2oEjNRdR
0bS/CI7BQsL4CQv1ArVDlLdS5eoRxm7k/0OjAe0kQgNCFgnfTGCL4Kqdtr+urGTB
GKHTO27Ns4JAxYGq0+1n/LNnM46etMNkjKzoMw/0MzJw9Zy45wzWQQfN7gpjIxG0
veXEJxiX4gAi5ZJ0CrMarczEsm/Olkw9uYN/WYY9hQKBgQD64elLeYT3OgArpkjz
QD7iGs8biThcRJ20Y1dfcq7ibXU+lBXljk67VnQF7Z+dLAeuFUh5yBhFchI30HbM
KPqpvlRrjAAy+twOGhe7o4WhOLXSvEW+YwQVOiyKI9P1gf4IO8diekL2/o7lmqZp
103pOMoAqnjIno7HXZbKxel4gwKBgQC23uqbuY8fDwDWyeaEWkIs27JGGBwGIIxO
/Fu+b+9NGMtEZHpfzyeIRk/SWA7aM50U9fdje+gsQHGBx848hIhod3X3DB5DGrGK
l17ZoI1F8e8PvSOzWmsOzAGjava1Q4olqJ4lLBnRfAIWKGnKrWZs8BiqAL1NNrwj
lnZhv89p5QKBgQCAlQqR4T1RzItL09Ttv067acweK80UFSLS0lt0kv2pFTqTESjL
14zonR2n8CrvTiK9iTD1IaW26gkGTDSm3JXkK6Vu3Xk4p7PjEmJ5jAywHbWqxU3l
jzAHhSJQxp4a5T4CkEjXYxwxJTSt3v5NnsjSsIVvo+91uzYoXgIr+RV46wKBgBrh
HzjuiHP3P5dSq/huT+XKESUubAgWhqkhfNa8Gz+I0m/mGPq2N0hXlWoEmYJHLeKj
2M4dq129xzFdTholHOvGC2fZtyUD6m7FmyJ/7+QFEK+OjI3TT4MoR2Fe2o6AM/Ef
HMe3+L+K67+YBxzMag6/J9DtNOYBkpvkhNgPWoxlAoGAetBxhVAhB/i/SzmAK0jd
DuSzsDbtjS93r/xgR0cyqGL8E8/UOPMAxyKCApPqbSsz159Q2yMuiQUnYYQWvO1r
FLk+aIYmjwyVd8uthHPCDFwKOVl9eyWIjwijGpLL+GUWPXu6CfTFCTPxKUO48Thz
vcnwBwcz5HHk101g4+Kh4L0=
-----END PRIVATE KEY-----
>>> rsa.pub.pem
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAszcRrxO4qxCpMSggms+C
15BFuj8gYcXF7LOpSflw9DvwFO0HgP4Dw1h1Ct9BTZ4p+/mw4GtnfwOgzGI5h5JF
t8sa9sendteUK5ME2GBwLcnKZXthImCKiWE+pb4ySd96GH1wtwRnPnajf6hwhtJe
2fL35L2TEte9mowpGWX6deqp6Wt3oj407mIJGmND3J1Hk20v9CtyVWYm14xCV9Pu
hFRp2t5jGKfXpTR3fjIRT06o/z5QM31qylzjGJSaBGkQUXQhaINP609bPsjqyJ53
j2GJtI6vs4j6hjA1N2xHejpGhEun/v88n71hIxglYsEwZuXC2l/ODDUR9VLk+zOI
LwIDAQAB
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=RS256 sub=alice



=== TEST 6: PS256 token verifies with the RSA public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.key;
        jwt_sign_algorithm PS256;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pub.pem;
        jwt_algorithms PS256;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> rsa.key
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCzNxGvE7irEKkx
KCCaz4LXkEW6PyBhxcXss6lJ+XD0O/AU7QeA/gPDWHUK30FNnin7+bDga2d/A6DM
YjmHkkW3yxr2x6d215QrkwTYYHAtycple2EiYIqJYT6lvjJJ33oYfXC3BGc+dqN/
qHCG0l7Z8vfkvZMS172ajCkZZfp16qnpa3eiPjTuYgkaY0PcnUeTbS/0K3JVZibX
jEJX0+6EVGna3mMYp9elNHd+MhFPTqj/PlAzfWrKXOMYlJoEaRBRdCFog0/rT1s+
yOrInnePYYm0jq+ziPqGMDU3bEd6OkaES6f+/zyfvWEjGCViwTBm5cLaX84MNRH1
UuT7M4gvAgMBAAECggEAR1+cstnLV5GcmF+vUIhpRxmFs42Vg2rlDwZkWvo1UoeW
b3cQ4H4JmKBfiLNuSg++D8Sa/V25C7wxq4RI/iWyj2abuAG+v5VOxOXZ7aTGuG2f
pjfzcOH6+oiYjyDG3WXbteorXDAsQBO2vM4j9oXM0ccyk84uRzhVojnE2oEjNRdR
0bS/CI7BQsL4CQv1ArVDlLdS5eoRxm7k/0OjAe0kQgNCFgnfTGCL4Kqdtr+urGTB
GKHTO27Ns4JAxYGq0+1n/LNnM46etMNkjKzoMw/0MzJw9Zy45wzWQQfN7gpjIxG0
veXEJxiX4gAi5ZJ0CrMarczEsm/Olkw9uYN/WYY9hQKBgQD64elLeYT3OgArpkjz
QD7iGs8biThcRJ20Y1dfcq7ibXU+lBXljk67VnQF7Z+dLAeuFUh5yBhFchI30HbM
KPqpvlRrjAAy+twOGhe7o4WhOLXSvEW+YwQVOiyKI9P1gf4IO8diekL2/o7lmqZp
103pOMoAqnjIno7HXZbKxel4gwKBgQC23uqbuY8fDwDWyeaEWkIs27JGGBwGIIxO
/Fu+b+9NGMtEZHpfzyeIRk/SWA7aM50U9fdje+gsQHGBx848hIhod3X3DB5DGrGK
l17ZoI1F8e8PvSOzWmsOzAGjava1Q4olqJ4lLBnRfAIWKGnKrWZs8BiqAL1NNrwj
lnZhv89p5QKBgQCAlQqR4T1RzItL09Ttv067acweK80UFSLS0lt0kv2pFTqTESjL
14zonR2n8CrvTiK9iTD1IaW26gkGTDSm3JXkK6Vu3Xk4p7PjEmJ5jAywHbWqxU3l
jzAHhSJQxp4a5T4CkEjXYxwxJTSt3v5NnsjSsIVvo+91uzYoXgIr+RV46wKBgBrh
HzjuiHP3P5dSq/huT+XKESUubAgWhqkhfNa8Gz+I0m/mGPq2N0hXlWoEmYJHLeKj
2M4dq129xzFdTholHOvGC2fZtyUD6m7FmyJ/7+QFEK+OjI3TT4MoR2Fe2o6AM/Ef
HMe3+L+K67+YBxzMag6/J9DtNOYBkpvkhNgPWoxlAoGAetBxhVAhB/i/SzmAK0jd
DuSzsDbtjS93r/xgR0cyqGL8E8/UOPMAxyKCApPqbSsz159Q2yMuiQUnYYQWvO1r
FLk+aIYmjwyVd8uthHPCDFwKOVl9eyWIjwijGpLL+GUWPXu6CfTFCTPxKUO48Thz
vcnwBwcz5HHk101g4+Kh4L0=
-----END PRIVATE KEY-----
>>> rsa.pub.pem
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAszcRrxO4qxCpMSggms+C
15BFuj8gYcXF7LOpSflw9DvwFO0HgP4Dw1h1Ct9BTZ4p+/mw4GtnfwOgzGI5h5JF
t8sa9sendteUK5ME2GBwLcnKZXthImCKiWE+pb4ySd96GH1wtwRnPnajf6hwhtJe
2fL35L2TEte9mowpGWX6deqp6Wt3oj407mIJGmND3J1Hk20v9CtyVWYm14xCV9Pu
hFRp2t5jGKfXpTR3fjIRT06o/z5QM31qylzjGJSaBGkQUXQhaINP609bPsjqyJ53
j2GJtI6vs4j6hjA1N2xHejpGhEun/v88n71hIxglYsEwZuXC2l/ODDUR9VLk+zOI
LwIDAQAB
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=PS256 sub=alice



=== TEST 7: ES256 token verifies with the EC public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec256.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec256.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ec256.key
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrKPs9AZUPdpvcm2o
NKBsVjOAn2mzdrKpKjbEhbg3lrWhRANCAARlYdOKfo4bak3NJRrBNIgGjgK5Vdbk
ZuD+U3QKTa/jGS0RnWMRQxXJQPQI5nynkx5bmRdRHm43Z0gzJfGdPuah
-----END PRIVATE KEY-----
>>> ec256.pub.pem
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZWHTin6OG2pNzSUawTSIBo4CuVXW
5Gbg/lN0Ck2v4xktEZ1jEUMVyUD0COZ8p5MeW5kXUR5uN2dIMyXxnT7moQ==
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES256 sub=alice



=== TEST 8: ES384 token verifies with the EC public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec384.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec384.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ec384.key
-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDD6I8LjuBXmkfRQ4oXC
bjaAmtDbN0dLKo0wVrMc3B2164KYK19N3QpWJIOQhgp96IKhZANiAASxgHm+sfjP
lv7otKxnlD+9x5908BxhTyiPQSYIa1j5xCLFOqSxJSFfO4BropdPYpiiFsyxYQlq
4S2Trng5X8HJnTTMcW0NT+au8ZsfDp7QNIkbfj7qasyxm2GqeYJLcLE=
-----END PRIVATE KEY-----
>>> ec384.pub.pem
-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEsYB5vrH4z5b+6LSsZ5Q/vcefdPAcYU8o
j0EmCGtY+cQixTqksSUhXzuAa6KXT2KYohbMsWEJauEtk654OV/ByZ00zHFtDU/m
rvGbHw6e0DSJG34+6mrMsZthqnmCS3Cx
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES384 sub=alice



=== TEST 9: ES512 token verifies with the EC public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec521.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec521.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ec521.key
-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIAlBAAobUabAqGQ8Kp
BLGIV/GT4w9KKKKi4iVoYosaGfODeUcg3Ev4RKV4B3bRZW0MI/Pqhg1X6zssgOEN
5Rg3jr+hgYkDgYYABAF+T+NOaOCDRbjhALTinQ2Mufs0KrJMlep4zhQOuHAeANO5
Xnf7eo2pIIDEGxiirZRcnyLWUvilvHlgC5OruJHsUAC9UbS/GLzk7nrytfsOgr/j
QNFwfX9vx6hcpat4lkcG9+5uOINmQGD0hyuzGEJ7tczQc9rGmsa7SYpaD+0mhTLA
Gw==
-----END PRIVATE KEY-----
>>> ec521.pub.pem
-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBfk/jTmjgg0W44QC04p0NjLn7NCqy
TJXqeM4UDrhwHgDTuV53+3qNqSCAxBsYoq2UXJ8i1lL4pbx5YAuTq7iR7FAAvVG0
vxi85O568rX7DoK/40DRcH1/b8eoXKWreJZHBvfubjiDZkBg9IcrsxhCe7XM0HPa
xprGu0mKWg/tJoUywBs=
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES512 sub=alice



=== TEST 10: EdDSA token verifies with the Ed25519 public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ed25519.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/ed25519.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ed25519.key
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIBxN0MLMr9kx51HvwOLRxcQNdS5aTXd66OvMUkIItWbg
-----END PRIVATE KEY-----
>>> ed25519.pub.pem
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAnQAtAON+JlRVGdqTkcFrFcaq2+ZclkzBeFdbVkSCo2k=
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=EdDSA sub=alice



=== TEST 11: HS384 token verifies
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_sign_algorithm HS384;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_algorithms HS384;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=HS384 sub=alice



=== TEST 12: an RS256 token does not verify with another key pair's public key
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa2.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> rsa.key
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCzNxGvE7irEKkx
KCCaz4LXkEW6PyBhxcXss6lJ+XD0O/AU7QeA/gPDWHUK30FNnin7+bDga2d/A6DM
YjmHkkW3yxr2x6d215QrkwTYYHAtycple2EiYIqJYT6lvjJJ33oYfXC3BGc+dqN/
qHCG0l7Z8vfkvZMS172ajCkZZfp16qnpa3eiPjTuYgkaY0PcnUeTbS/0K3JVZibX
jEJX0+6EVGna3mMYp9elNHd+MhFPTqj/PlAzfWrKXOMYlJoEaRBRdCFog0/rT1s+
yOrInnePYYm0jq+ziPqGMDU3bEd6OkaES6f+/zyfvWEjGCViwTBm5cLaX84MNRH1
UuT7M4gvAgMBAAECggEAR1+cstnLV5GcmF+vUIhpRxmFs42Vg2rlDwZkWvo1UoeW
b3cQ4H4JmKBfiLNuSg++D8Sa/V25C7wxq4RI/iWyj2abuAG+v5VOxOXZ7aTGuG2f
pjfzcOH6+oiYjyDG3WXbteorXDAsQBO2vM4j9oXM0ccyk84uRzhVojnE2oEjNRdR
0bS/CI7BQsL4CQv1ArVDlLdS5eoRxm7k/0OjAe0kQgNCFgnfTGCL4Kqdtr+urGTB
GKHTO27Ns4JAxYGq0+1n/LNnM46etMNkjKzoMw/0MzJw9Zy45wzWQQfN7gpjIxG0
veXEJxiX4gAi5ZJ0CrMarczEsm/Olkw9uYN/WYY9hQKBgQD64elLeYT3OgArpkjz
QD7iGs8biThcRJ20Y1dfcq7ibXU+lBXljk67VnQF7Z+dLAeuFUh5yBhFchI30HbM
KPqpvlRrjAAy+twOGhe7o4WhOLXSvEW+YwQVOiyKI9P1gf4IO8diekL2/o7lmqZp
103pOMoAqnjIno7HXZbKxel4gwKBgQC23uqbuY8fDwDWyeaEWkIs27JGGBwGIIxO
/Fu+b+9NGMtEZHpfzyeIRk/SWA7aM50U9fdje+gsQHGBx848hIhod3X3DB5DGrGK
l17ZoI1F8e8PvSOzWmsOzAGjava1Q4olqJ4lLBnRfAIWKGnKrWZs8BiqAL1NNrwj
lnZhv89p5QKBgQCAlQqR4T1RzItL09Ttv067acweK80UFSLS0lt0kv2pFTqTESjL
14zonR2n8CrvTiK9iTD1IaW26gkGTDSm3JXkK6Vu3Xk4p7PjEmJ5jAywHbWqxU3l
jzAHhSJQxp4a5T4CkEjXYxwxJTSt3v5NnsjSsIVvo+91uzYoXgIr+RV46wKBgBrh
HzjuiHP3P5dSq/huT+XKESUubAgWhqkhfNa8Gz+I0m/mGPq2N0hXlWoEmYJHLeKj
2M4dq129xzFdTholHOvGC2fZtyUD6m7FmyJ/7+QFEK+OjI3TT4MoR2Fe2o6AM/Ef
HMe3+L+K67+YBxzMag6/J9DtNOYBkpvkhNgPWoxlAoGAetBxhVAhB/i/SzmAK0jd
DuSzsDbtjS93r/xgR0cyqGL8E8/UOPMAxyKCApPqbSsz159Q2yMuiQUnYYQWvO1r
FLk+aIYmjwyVd8uthHPCDFwKOVl9eyWIjwijGpLL+GUWPXu6CfTFCTPxKUO48Thz
vcnwBwcz5HHk101g4+Kh4L0=
-----END PRIVATE KEY-----
>>> rsa2.pub.pem
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkHuOfsNWsbB80DArUUHH
5naQKSQn/tzK0MmmQgob9qVjLDUtOll9lknA4yxiNWPsDlifY5ycOVOPzldmYDEX
5FH/nK5Xh5Ahmk9W6URJeE2KThTBpBCIzWM3jXgFTNbCzJhmcK2kKJGStsSmsKI4
WhHAJejxWzcNDdioVl+vLatf8jwUjIjTACl1nKa42UqJtZ9So7Bvka012pJQPY5N
f6t6kOrhiXwQv7JrSUrv9Nj6X2y1tzGhmuEnjvPgZwsFQgldIOg8dhwwQc1eqMYf
u4NUTu1+Mh7qb3t6CKpdH7XHmsmR+Bs55X8QWDWm1frdry/qYgKbnZoJUHkoeOo4
vQIDAQAB
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error=signature sub=



=== TEST 13: an ES256 token is refused by a ring that holds an RSA public key only
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec256.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pub.pem;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ec256.key
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrKPs9AZUPdpvcm2o
NKBsVjOAn2mzdrKpKjbEhbg3lrWhRANCAARlYdOKfo4bak3NJRrBNIgGjgK5Vdbk
ZuD+U3QKTa/jGS0RnWMRQxXJQPQI5nynkx5bmRdRHm43Z0gzJfGdPuah
-----END PRIVATE KEY-----
>>> rsa.pub.pem
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAszcRrxO4qxCpMSggms+C
15BFuj8gYcXF7LOpSflw9DvwFO0HgP4Dw1h1Ct9BTZ4p+/mw4GtnfwOgzGI5h5JF
t8sa9sendteUK5ME2GBwLcnKZXthImCKiWE+pb4ySd96GH1wtwRnPnajf6hwhtJe
2fL35L2TEte9mowpGWX6deqp6Wt3oj407mIJGmND3J1Hk20v9CtyVWYm14xCV9Pu
hFRp2t5jGKfXpTR3fjIRT06o/z5QM31qylzjGJSaBGkQUXQhaINP609bPsjqyJ53
j2GJtI6vs4j6hjA1N2xHejpGhEun/v88n71hIxglYsEwZuXC2l/ODDUR9VLk+zOI
LwIDAQAB
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error=algorithm sub=



=== TEST 14: the kid of the signing key is in the header and selects the key when verifying
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key kid=k2;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/other.key kid=k1;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key kid=k2;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error kid=$jwt_header_kid sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
>>> other.key
login-other-secret-9876543210-zyxwvutsrqponmlkji
--- request
POST /t
x
--- error_code: 200
--- response_body
error= kid=k2 sub=alice



=== TEST 15: a private JWK signs; its public JWKS verifies, the kid selects it
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec256.jwk.json;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pub.pem kid=ec-jwk-1;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec256.pub.jwks.json;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error alg=$jwt_header_alg kid=$jwt_header_kid sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ec256.jwk.json
{"kty": "EC", "crv": "P-256", "kid": "ec-jwk-1", "x": "ZWHTin6OG2pNzSUawTSIBo4CuVXW5Gbg_lN0Ck2v4xk", "y": "LRGdYxFDFclA9AjmfKeTHluZF1EebjdnSDMl8Z0-5qE", "d": "rKPs9AZUPdpvcm2oNKBsVjOAn2mzdrKpKjbEhbg3lrU"}
>>> ec256.pub.jwks.json
{"keys": [{"kty": "EC", "crv": "P-256", "kid": "ec-jwk-1", "x": "ZWHTin6OG2pNzSUawTSIBo4CuVXW5Gbg_lN0Ck2v4xk", "y": "LRGdYxFDFclA9AjmfKeTHluZF1EebjdnSDMl8Z0-5qE"}]}
>>> rsa.pub.pem
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAszcRrxO4qxCpMSggms+C
15BFuj8gYcXF7LOpSflw9DvwFO0HgP4Dw1h1Ct9BTZ4p+/mw4GtnfwOgzGI5h5JF
t8sa9sendteUK5ME2GBwLcnKZXthImCKiWE+pb4ySd96GH1wtwRnPnajf6hwhtJe
2fL35L2TEte9mowpGWX6deqp6Wt3oj407mIJGmND3J1Hk20v9CtyVWYm14xCV9Pu
hFRp2t5jGKfXpTR3fjIRT06o/z5QM31qylzjGJSaBGkQUXQhaINP609bPsjqyJ53
j2GJtI6vs4j6hjA1N2xHejpGhEun/v88n71hIxglYsEwZuXC2l/ODDUR9VLk+zOI
LwIDAQAB
-----END PUBLIC KEY-----
--- request
POST /t
x
--- error_code: 200
--- response_body
error= alg=ES256 kid=ec-jwk-1 sub=alice



=== TEST 16: a kid that needs JSON escaping survives the round trip
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key 'kid=a"b\\c';
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/other.key kid=ab;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key 'kid=a"b\\c';
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error kid=$jwt_header_kid sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
>>> other.key
login-other-secret-9876543210-zyxwvutsrqponmlkji
--- request
POST /t
x
--- error_code: 200
--- response_body
error= kid=a"b\c sub=alice



=== TEST 17: the application's exp, already past: no token and no cookie reach the client (502)
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","exp":1000000000}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 502
--- response_headers
Set-Cookie:



=== TEST 18: the application's sooner numeric exp is kept, a fractional one floored
jwt_token_ttl 100y puts now + ttl after the application's exp (2100-01-01T00:00:00.9Z).
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token_ttl 100y;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error exp=$jwt_claim_exp\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","exp":4102444800.9}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 200
--- response_body
error= exp=4102444800



=== TEST 19: the application's iat and jti are replaced
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error payload=$jwt_payload\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","iat":1,"jti":"chosen-by-the-app"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 200
--- response_body_like: ^error= payload=\{"exp":\d{10},"iat":\d{10},"jti":"[A-Za-z0-9_-]{22}","sub":"alice"\}\n$



=== TEST 20: jwt_issuer and jwt_audience overwrite the application's iss and aud
The verifying location requires the same issuer and audience.
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_issuer https://auth.example.com;
        jwt_audience api;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_issuer https://auth.example.com;
        jwt_audience api;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error iss=$jwt_claim_iss aud=$jwt_claim_aud\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","iss":"https://evil.example","aud":"anything"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 200
--- response_body
error= iss=https://auth.example.com aud=api



=== TEST 21: several jwt_audience values become an aud array
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_audience api web;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_audience web;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error aud=$jwt_claim_aud\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 200
--- response_body
error= aud=["api","web"]



=== TEST 22: without jwt_issuer / jwt_audience the application's iss and aud are kept
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error iss=$jwt_claim_iss aud=$jwt_claim_aud\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","iss":"https://app.example","aud":["a","b"]}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 200
--- response_body
error= iss=https://app.example aud=["a","b"]



=== TEST 23: nested, non-ASCII, boolean and null claims survive as they are (null reads "null")
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error sub=$jwt_claim_sub profile=$jwt_claim_profile admin=$jwt_claim_admin note=$jwt_claim_note\n";
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        # a static file answers GET only
        proxy_method GET;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
    location = /backend {
        default_type application/json;
        alias $TEST_NGINX_HTML_DIR/claims.json;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
>>> claims.json
{
  "sub": "\u00e9lise \"quoted\"",
  "profile": {"age": 30, "tags": ["a", "b"], "zone": "Europe/Paris"},
  "admin": true,
  "note": null
}
--- request
POST /t
x
--- error_code: 200
--- response_body
error= sub=élise "quoted" profile={"age":30,"tags":["a","b"],"zone":"Europe/Paris"} admin=true note=null



=== TEST 24: jwt_claim_set reads a nested claim of the issued token
--- http_config
    jwt_claim_set $jwt_zone profile zone;
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token $upstream_cookie_tok;
        return 200 "error=$jwt_error zone=$jwt_zone\n";
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice","profile":{"zone":"Europe/Paris"}}';
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /t
x
--- error_code: 200
--- response_body
error= zone=Europe/Paris
