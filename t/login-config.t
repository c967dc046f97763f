# jwt_login configuration errors: nginx refuses to start, and the [emerg] line names the problem
# and the file:line of the directive to fix.
#
# Keys: t/fixtures/login, read as $TEST_NGINX_FIXTURES/login/NAME.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: jwt_login with a public key only: no signing-capable key
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.pub.pem;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ed25519.pub.pem kid=ed;
    }
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
jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.pub.pem;
jwt_login /authenticate;
jwt_token_ttl 5m;
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
jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
jwt_sign_algorithm ES256;
jwt_token_ttl 5m;
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_sign_algorithm RS256;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_sign_algorithm HS512;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.key;
        jwt_sign_algorithm ES384;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/rsa.key;
        jwt_sign_algorithm HS256;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_sign_algorithm none;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_sign_algorithm HS257;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "jwt_login" directive in \S+nginx\.conf:\d+/



=== TEST 17: jwt_login at server level is not allowed
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    jwt_login /authenticate;
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"jwt_login" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 19: jwt_login inside "if" is not allowed
--- config
    location = /login {
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        if ($request_method = POST) {
            jwt_login /authenticate;
        }
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl 0;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl soon;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_token_ttl 1h;
        jwt_token_ttl 2h;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie "my token";
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok=en;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie tok "Path=/; Secure";
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie a;
        jwt_login_cookie b;
    }
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
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
        jwt_login_cookie;
    }
--- request
POST /login
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "jwt_login_cookie" directive in \S+nginx\.conf:\d+/



=== TEST 28: a public key in a jwt_verify-only location is fine: only jwt_login needs to sign
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.pub.pem;
    location = /api {
        jwt_verify on;
        return 204;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- no_error_log
[emerg]
[alert]
