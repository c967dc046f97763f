# jwt_login configuration errors: nginx refuses to start, and the [emerg] line names the problem
# and the file:line of the directive to fix.
#
# Keys: t/fixtures/login (copies inline).
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_long_string();
run_tests();

__DATA__

=== TEST 1: jwt_login with a public key only: no signing-capable key
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec256.pub.pem;
    }
--- user_files
>>> ec256.pub.pem
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZWHTin6OG2pNzSUawTSIBo4CuVXW
5Gbg/lN0Ck2v4xktEZ1jEUMVyUD0COZ8p5MeW5kXUR5uN2dIMyXxnT7moQ==
-----END PUBLIC KEY-----
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*jwt_login needs a key that can sign: an HMAC secret, a PEM private key or a JWK with "d"; the configured keys \(EC P-256 public key\) are public keys only in \S+nginx\.conf:\d+/



=== TEST 2: jwt_login with several public keys: all are listed
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pub.pem;
        jwt_key_file $TEST_NGINX_HTML_DIR/ed25519.pub.pem kid=ed;
    }
--- user_files
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
>>> ed25519.pub.pem
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAnQAtAON+JlRVGdqTkcFrFcaq2+ZclkzBeFdbVkSCo2k=
-----END PUBLIC KEY-----
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*jwt_login needs a key that can sign: .*the configured keys \(.*RSA-2048 public key.*Ed25519 public key.*\) are public keys only in \S+nginx\.conf:\d+/



=== TEST 3: jwt_login without any key
--- config
    location = /login {
        jwt_login /authenticate;
    }
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*jwt_login needs a key that can sign.* in \S+nginx\.conf:\d+/



=== TEST 4: no signing key: the error names the file and line of jwt_login
The directives sit in an included file so that their line numbers are known.
--- config
    location = /login {
        include $TEST_NGINX_HTML_DIR/login.conf;
    }
--- user_files
>>> login.conf
# line 1
jwt_key_file ../html/ec256.pub.pem;
jwt_login /authenticate;
jwt_token_ttl 5m;
>>> ec256.pub.pem
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZWHTin6OG2pNzSUawTSIBo4CuVXW
5Gbg/lN0Ck2v4xktEZ1jEUMVyUD0COZ8p5MeW5kXUR5uN2dIMyXxnT7moQ==
-----END PUBLIC KEY-----
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*are public keys only in \S+\/login\.conf:3$/



=== TEST 5: an algorithm the key cannot do: the error names the line of jwt_sign_algorithm
--- config
    location = /login {
        include $TEST_NGINX_HTML_DIR/login.conf;
    }
--- user_files
>>> login.conf
jwt_login /authenticate;
jwt_key_file ../html/jwt.key;
jwt_sign_algorithm ES256;
jwt_token_ttl 5m;
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*cannot sign ES256.* in \S+\/login\.conf:3$/



=== TEST 6: jwt_sign_algorithm RS256 with an HMAC secret
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_sign_algorithm RS256;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*jwt_sign_algorithm: the signing key \(HMAC secret \(48 bytes\)\) cannot sign RS256; it can sign HS256, HS384: choose one of those or use a key that fits RS256 in \S+nginx\.conf:\d+/



=== TEST 7: jwt_sign_algorithm HS512 with a 48-byte secret (HS512 needs 64 bytes)
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_sign_algorithm HS512;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*cannot sign HS512; it can sign HS256, HS384.* in \S+nginx\.conf:\d+/



=== TEST 8: jwt_sign_algorithm ES384 with a P-256 key
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec256.key;
        jwt_sign_algorithm ES384;
    }
--- user_files
>>> ec256.key
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrKPs9AZUPdpvcm2o
NKBsVjOAn2mzdrKpKjbEhbg3lrWhRANCAARlYdOKfo4bak3NJRrBNIgGjgK5Vdbk
ZuD+U3QKTa/jGS0RnWMRQxXJQPQI5nynkx5bmRdRHm43Z0gzJfGdPuah
-----END PRIVATE KEY-----
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*the signing key \(EC P-256 private key\) cannot sign ES384; it can sign ES256: .* in \S+nginx\.conf:\d+/



=== TEST 9: jwt_sign_algorithm HS256 with an RSA private key
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.key;
        jwt_sign_algorithm HS256;
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
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*the signing key \(RSA-2048 private key\) cannot sign HS256; it can sign RS256, RS384, RS512, PS256, PS384, PS512: .* in \S+nginx\.conf:\d+/



=== TEST 10: jwt_sign_algorithm set at http level that the location's key cannot do
--- http_config
    jwt_sign_algorithm EdDSA;
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*cannot sign EdDSA.* in \S+nginx\.conf:\d+/



=== TEST 11: jwt_sign_algorithm none is refused
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_sign_algorithm none;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_sign_algorithm" refuses "none": unsigned tokens are never accepted in \S+nginx\.conf:\d+/



=== TEST 12: jwt_sign_algorithm with an unknown algorithm
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_sign_algorithm HS257;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*unknown algorithm "HS257" in "jwt_sign_algorithm" directive; use one of: .* in \S+nginx\.conf:\d+/



=== TEST 13: jwt_login without a leading slash
--- config
    location = /login {
        jwt_login authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_login" needs the URI of a location such as \/authenticate, got "authenticate" in \S+nginx\.conf:\d+/



=== TEST 14: jwt_login twice in a location
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_login /other;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_login" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 15: jwt_login without an argument
--- config
    location = /login {
        jwt_login;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "jwt_login" directive in \S+nginx\.conf:\d+/



=== TEST 16: jwt_login with two arguments
--- config
    location = /login {
        jwt_login /authenticate /other;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "jwt_login" directive in \S+nginx\.conf:\d+/



=== TEST 17: jwt_login at server level is not allowed
--- config
    jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    jwt_login /authenticate;
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_login" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 18: jwt_login at http level is not allowed
--- http_config
    jwt_login /authenticate;
--- config
    location = /login {
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_login" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 19: jwt_login inside "if" is not allowed
--- config
    location = /login {
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        if ($request_method = POST) {
            jwt_login /authenticate;
        }
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_login" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 20: jwt_token_ttl 0
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token_ttl 0;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_token_ttl" must be at least 1s in \S+nginx\.conf:\d+/



=== TEST 21: jwt_token_ttl that is not a time
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token_ttl soon;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid time "soon" in "jwt_token_ttl" directive \(examples: 30s, 5m, 1h\) in \S+nginx\.conf:\d+/



=== TEST 22: jwt_token_ttl twice
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_token_ttl 1h;
        jwt_token_ttl 2h;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_token_ttl" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 23: jwt_login_cookie with a name that is not a cookie token
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie "my token";
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid cookie name "my token" in "jwt_login_cookie" in \S+nginx\.conf:\d+/



=== TEST 24: jwt_login_cookie with a separator in the name
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok=en;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid cookie name "tok=en" in "jwt_login_cookie" in \S+nginx\.conf:\d+/



=== TEST 25: jwt_login_cookie with an attribute holding a semicolon
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie tok "Path=/; Secure";
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid cookie attribute "Path=\/; Secure" in "jwt_login_cookie" in \S+nginx\.conf:\d+/



=== TEST 26: jwt_login_cookie twice
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie a;
        jwt_login_cookie b;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_login_cookie" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 27: jwt_login_cookie without a name
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_login_cookie;
    }
--- user_files
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "jwt_login_cookie" directive in \S+nginx\.conf:\d+/



=== TEST 28: a public key in a jwt_verify-only location is fine: only jwt_login needs to sign
--- config
    jwt_key_file $TEST_NGINX_HTML_DIR/ec256.pub.pem;
    location = /api {
        jwt_verify on;
        return 204;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ec256.pub.pem
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZWHTin6OG2pNzSUawTSIBo4CuVXW
5Gbg/lN0Ck2v4xktEZ1jEUMVyUD0COZ8p5MeW5kXUR5uN2dIMyXxnT7moQ==
-----END PUBLIC KEY-----
>>> jwt.key
login-test-secret-0123456789-abcdefghijklmnopqrs
--- request
POST /login
x
--- error_code: 200
--- no_error_log
[emerg]
[alert]
