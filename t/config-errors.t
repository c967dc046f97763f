# Configuration errors: nginx refuses to start, and the [emerg] message says what is wrong and
# names the file and line of the directive at fault (the line number differs between test
# runners, hence \d+).
#
# Keys: t/fixtures/keys (t/fixtures/make-fixtures re-creates them), read as
# $TEST_NGINX_FIXTURES/keys/NAME; a key that is itself the subject of the error (too short,
# encrypted, another curve, the keys of a JWKS/JWK) is inline.
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
use FindBin;
$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";

no_long_string();
run_tests();

__DATA__

=== TEST 1: a key file that does not exist
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/nope.key;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/nope\.key": cannot read the file: No such file or directory.* in \S+nginx\.conf:\d+/



=== TEST 2: a key file that is a directory
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/keys;
        empty_gif;
    }
--- user_files
>>> keys/README
not a key
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/keys": cannot read the file: Is a directory.* in \S+nginx\.conf:\d+/



=== TEST 3: an empty key file
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        empty_gif;
    }
--- user_files
>>> jwt.key
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/jwt\.key": key file is empty.* in \S+nginx\.conf:\d+/



=== TEST 4: an HMAC secret shorter than 32 bytes
key: fixtures/keys/hmac-short.key (31 bytes and a newline)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        empty_gif;
    }
--- user_files
>>> jwt.key
only-31-bytes-is-too-short-!!!!
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/jwt\.key": HMAC secret is 31 bytes; RFC 7518 \S+ requires at least 32 \(HS256\).* in \S+nginx\.conf:\d+/



=== TEST 5: an RSA key shorter than 2048 bits
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pem;
        empty_gif;
    }
--- user_files
>>> rsa.pem
-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCbfmNCKnENA2GLAsloaRX1mB1Z
dRQ/L/+O4dqNqbQTZm9co0eXKL/R9NLUdNChrt3qC9vu2Y0lNqwic2GczJXjmoOm
bby3nzTR7oZe4I5pbTmxUd/44dza0ZMovlLNoLzze/NE6qNOqG3/bu/f/aNcaa7C
6hgcSEBetRUH+ezaoQIDAQAB
-----END PUBLIC KEY-----
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/rsa\.pem": RSA key is 1024 bits; at least 2048 are required.* in \S+nginx\.conf:\d+/



=== TEST 6: an encrypted private key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/rsa.pem;
        empty_gif;
    }
--- user_files
>>> rsa.pem
-----BEGIN ENCRYPTED PRIVATE KEY-----
MIIFLTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI06Bs1LX698QCAggA
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBC7ozOBRkTnz+RGroM2XvPQBIIE
0AvXFNgLzH5QeD0WBc2m7oH34azyZG4qpISSBgNUHsMsznb56hswInvbuiiWpDu2
Ogk0nVwCP5CjZmQeHj86iCjn7POkuTlDGmCf+cq1mpS317i10qKsjp5yOAAo8hJ5
rXQ4uDMBsDcVy30Yeew3/q1tb0yIZY2cGRfleYJuLo/sWSQ1BwgIYfMTkMe2naJP
+HXSt16NsgsIh2Il7s1yIElkScg+RoniAHYjdBPiFqVUfRaIGnROwWZ3stXQrq0l
Q8+ufiKe4k0fiXZWCFFRD0X6mAAzO+F9tamJfCQoFCnpRVJma0CHNnj9H658N2jA
ehF6tbG5HqgU0CDooXu9xp5jU/9a+ffs0xoJn/5Zq2bACyhad8Fwpm0VqpVX9rJS
WfCmUPkxjjBexd95k6jFrFUqw94PTgnMyjCAOHoCfYo4xTaDhm8DdwlmBKaSxuyj
OuG3cXBA3YIdq+gKC5t8TPbl8jrQjp81ID5HT4Eeco1yl2ls5/Vu++gmAFMgJI6H
UPHhf0BEFeXN2eMYcbKmL6scXJN7fGxZuYBfpdY3aFIc9TnDZQpBr0im70t/uIqA
k0v6FZEjnPJvZlihkkelABMkpTS40CV6aChiidnpKfnct6q2y5mWO8RdbC/oT240
t0SdgBxH8LDOrny+L8xLMNaAKWPzXyZvyNAkSNfD0jKy5luhB2MILjBCEhdqVnNc
J6z0v5cRkBOnnwXxwiEj6O+UsN0vAUSWaO9BEpuRZV9mhGE51o7GHs4EpFlP+DjC
4cBJjs2aaHM/2O7pKQtHK/t7oktq6w4oPOJQGOFle13JFc6eLczWFdrUt5izLThP
OJ/FLgdk2Ykr6b+zLWeuAlRcBguElMHg71G2/KpiFDvEyXvZyb2tH9rndDXI/UMW
jP4/7lQO2iZna6Cf2ewSQtrb9Ph9VFztjQTVdIqmSwAoBTJf83L9JMb1BVPzjJ3Y
ES73YL0h9pSuY8vFzh3HNbYCW/fTwjvpKtchbLa8PdHENTrbbVSq0UQJdk9Mjckf
gE777gaJWKYAiKcyOHdwzWmk1J8USfaZxbYxoKHxTQ1gs7E08yV6gW45P4PxpOCL
KPqhiI8g8tj02CSp6yFMSYQ+lLfYiKwL7iibF6jmmWfXasa8Z+Ix93LT+j0vz8Z2
yGaq/Rvl0hkzzn73QLnPkckZedsdUwLCUQByxtwQQp6g5rdqma/PTKZd2rmv6lym
VxoD8mSUv9lYIY71XbQtI5dVsG8ii9RcVHRxs9D+V5RaqPhxw4xYOFXzXcfPWHPQ
tqltYLkNbcm/G1ilYyphkinLUJ/GdJF1NhutPFf+qZ7xgenfWPzG+bW6JcdLWnUh
8xoiPzS7Bq6cacymrZuhOHLxuCto6xIf9Z+2oTY2RRcbKDaA62NNoSRN2ECKOTCp
UQAungP87WKjDT8YTvxxjplY7MN3OrdX8dIfqddbKQm7x9kMtEYhGfYaO8iX4hbl
gOxZlSTFWc1BwubGIiZuLry9+LmqkPv5uARJwK/F9SkMSk+XXxUIgCl8uIecbYYr
R9ZbxcUFk0UfoIudUcewH7d0Pci890sVWiLct8H01ensriuwAuDM6pCRz4xUSZky
jrjT91J2AJXdjDtvO4tu5eFv7GKqVt+0jbjBSR38f2GI
-----END ENCRYPTED PRIVATE KEY-----
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/rsa\.pem": the PEM key is encrypted and nginx cannot ask for a passphrase.* in \S+nginx\.conf:\d+/



=== TEST 7: an EC key on a curve JWS does not define (secp256k1)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/ec.pem;
        empty_gif;
    }
--- user_files
>>> ec.pem
-----BEGIN PUBLIC KEY-----
MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAE57KATUj5IKYDMf+F/IbJJWbe0yFkgzgX
XptCsa6OlbyZXdKnYYajW/su/Gl4ImMVk8m45Ls7FnXiqaJhhR7MCQ==
-----END PUBLIC KEY-----
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/ec\.pem": unsupported elliptic curve secp256k1.* in \S+nginx\.conf:\d+/



=== TEST 8: a PEM block that holds no key
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/dh.pem;
        empty_gif;
    }
--- user_files
>>> dh.pem
-----BEGIN DH PARAMETERS-----
AAAA
-----END DH PARAMETERS-----
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/dh\.pem": unsupported PEM block "-----BEGIN DH PARAMETERS-----".* in \S+nginx\.conf:\d+/



=== TEST 9: a key file that starts like JSON but is not JSON (never taken as a secret)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        empty_gif;
    }
--- user_files
>>> jwks.json
{"keys": [ this is not json and is longer than 32 bytes
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/jwks\.json": the key file starts like JSON but is not valid JSON.* in \S+nginx\.conf:\d+/



=== TEST 10: a JWKS with only encryption keys
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json;
        empty_gif;
    }
--- user_files
>>> jwks.json
{"keys": [{"kty": "oct", "use": "enc", "k": "bmd4LWp3dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5LWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6LUFCQ0RFRg"}]}
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/jwks\.json": the JWKS holds no signature key \(1 skipped as encryption keys\).* in \S+nginx\.conf:\d+/



=== TEST 11: kid= on a file with several keys
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwks.json kid=x;
        empty_gif;
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
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/jwks\.json": kid="x" names a single key but the file holds 4.* in \S+nginx\.conf:\d+/



=== TEST 12: kid= that contradicts the JWK's own kid
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwk.json kid=other;
        empty_gif;
    }
--- user_files
>>> jwk.json
{"kty": "RSA", "kid": "rsa-1", "n": "vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw", "e": "AQAB", "alg": "RS256"}
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_key_file "\S+\/jwk\.json": kid="other" conflicts with the JWK's own "kid":"rsa-1".* in \S+nginx\.conf:\d+/



=== TEST 13: an empty kid=
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "kid=" in "jwt_key_file"; the only parameter is kid=ID.* in \S+nginx\.conf:\d+/



=== TEST 14: an unknown jwt_key_file parameter
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key alg=HS256;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "alg=HS256" in "jwt_key_file".* in \S+nginx\.conf:\d+/



=== TEST 15: jwt_verify on without any jwt_key_file
--- config
    location = /t {
        jwt_verify on;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_verify on" needs at least one "jwt_key_file" or a "jwt_key_request" in this location or above it.* in \S+nginx\.conf:\d+/



=== TEST 16: jwt_verify on at server level without any jwt_key_file
--- config
    jwt_verify on;

    location = /t {
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_verify on" needs at least one "jwt_key_file" or a "jwt_key_request" in this location or above it.* in \S+nginx\.conf:\d+/



=== TEST 17: jwt_verify with a value other than on/off
--- config
    location = /t {
        jwt_verify yes;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "yes" in "jwt_verify" directive, it must be "on" or "off".* in \S+nginx\.conf:\d+/



=== TEST 18: jwt_algorithms none
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms HS256 none;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_algorithms" refuses "none": unsigned tokens are never accepted.* in \S+nginx\.conf:\d+/



=== TEST 19: jwt_algorithms NONE (any casing)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms NONE;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_algorithms" refuses "none".* in \S+nginx\.conf:\d+/



=== TEST 20: an unknown algorithm
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms HS256 RS999;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown algorithm "RS999" in "jwt_algorithms" directive; use one of: HS256 HS384 HS512 RS256.* in \S+nginx\.conf:\d+/



=== TEST 21: algorithm names are case-sensitive
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms hs256;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown algorithm "hs256" in "jwt_algorithms" directive.* in \S+nginx\.conf:\d+/



=== TEST 22: jwt_algorithms ES256 with only an HMAC secret
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms HS256 ES256;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_algorithms lists ES256 but no jwt_key_file key can verify it; add an EC P-256 key or remove ES256.* in \S+nginx\.conf:\d+/



=== TEST 23: jwt_algorithms HS512 with a 32-byte secret
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/jwt.key;
        jwt_algorithms HS512;
        empty_gif;
    }
--- user_files
>>> jwt.key
exactly-32-bytes-of-hmac-secret!
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_algorithms lists HS512 but no jwt_key_file key can verify it; add an HMAC secret of at least 64 bytes.* in \S+nginx\.conf:\d+/



=== TEST 24: an inherited jwt_algorithms that the location's keys cannot serve
--- config
    jwt_algorithms RS256;

    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*jwt_algorithms lists RS256 but no jwt_key_file key can verify it.* in \S+nginx\.conf:\d+/



=== TEST 25: jwt_require with error=500
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require $jwt_claim_admin error=500;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid "error=500" in "jwt_require": the error code must be 401 or 403.* in \S+nginx\.conf:\d+/



=== TEST 26: jwt_require without a variable
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require error=401;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_require" needs at least one variable.* in \S+nginx\.conf:\d+/



=== TEST 27: jwt_require with a non-variable
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_require admin;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_require" expects a variable such as \$jwt_claim_admin, got "admin".* in \S+nginx\.conf:\d+/



=== TEST 28: jwt_failure_status 500
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_failure_status 500;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid status "500" in "jwt_failure_status": use 401 or 403.* in \S+nginx\.conf:\d+/



=== TEST 29: jwt_token without a variable
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token token;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_token" takes a variable such as \$cookie_token or \$http_authorization, got "token".* in \S+nginx\.conf:\d+/



=== TEST 30: a duplicate jwt_verify
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_verify off;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_verify" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 31: a duplicate jwt_issuer
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_issuer a;
        jwt_issuer b;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_issuer" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 32: a duplicate jwt_algorithms
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_algorithms HS256;
        jwt_algorithms HS384;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_algorithms" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 33: a bad jwt_leeway
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_leeway soon;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid time "soon" in "jwt_leeway" directive \(examples: 30s, 5m, 1h\).* in \S+nginx\.conf:\d+/



=== TEST 34: a negative jwt_leeway
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_leeway -30s;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid time "-30s" in "jwt_leeway" directive.* in \S+nginx\.conf:\d+/



=== TEST 35: a jwt_realm with a quote
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_realm 'say "hi"';
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_realm" "say "hi"" contains a quote, backslash or control character.* in \S+nginx\.conf:\d+/



=== TEST 36: a bad jwt_cache_size
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_cache_size lots;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid "jwt_cache_size" "lots": a number of tokens such as 1024.* in \S+nginx\.conf:\d+/



=== TEST 37: jwt_claim_set redefining a variable
--- http_config
    jwt_claim_set $jwt_payload sub;
--- config
    location = /t {
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*the duplicate "jwt_payload" variable.* in \S+nginx\.conf:\d+/



=== TEST 38: jwt_claim_set without a variable
--- http_config
    jwt_claim_set roles realm_access roles;
--- config
    location = /t {
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_claim_set" expects a variable such as \$jwt_claim_admin, got "roles".* in \S+nginx\.conf:\d+/



=== TEST 39: jwt_claim_set is an http-level directive
--- config
    location = /t {
        jwt_claim_set $roles realm_access roles;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_claim_set" directive is not allowed here.* in \S+nginx\.conf:\d+/



=== TEST 40: jwt_token naming a variable nobody declares: the error names the jwt_token line
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_token $cookie_session$nosuchvar;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_token" reads the unknown variable "\$nosuchvar": check its name \(for a cookie, \$cookie_NAME; for a header, \$http_NAME\) in \S+nginx\.conf:\d+/



=== TEST 41: jwt_token at the http level, braced, naming a map declared after it: nginx starts
The check runs once every variable is declared; ${cookie_a} is a prefix variable, $tok a map.
--- http_config
    jwt_token "${tok}";
    map $http_x_token $tok {
        default $http_x_token;
    }
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Sub $jwt_claim_sub;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request
GET /t
--- more_headers
X-Token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_headers
X-Sub: alice
--- response_body
ok
--- no_error_log
unknown variable



=== TEST 42: jwt_login where jwt_verify on applies: a warning naming the jwt_login line; nginx starts
A client without a token cannot log in there (401), which is what the warning is about.
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location = /login {
        jwt_login /authenticate;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 401
--- error_log eval
qr/\[warn\] .*"jwt_login" where "jwt_verify on" applies: a client needs a valid token to log in; add "jwt_verify off" to the login location in \S+nginx\.conf:\d+/



=== TEST 43: jwt_verify off in the login location: no warning, the login works
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location = /login {
        jwt_verify off;
        jwt_login /authenticate;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
x
--- error_code: 200
--- response_body_like: ^\{"token":"eyJ[A-Za-z0-9_.-]+","token_type":"Bearer","expires_in":3600\}$
--- no_error_log
"jwt_login" where "jwt_verify on" applies



=== TEST 44: a secret key file readable by group or others: a warning naming the file and its mode; nginx starts
The key is written by the runner (mode 0644 under the usual umask 022).
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_HTML_DIR/secret.key;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> secret.key
ngx-jwt-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF
>>> ok.txt
ok
--- request
GET /t
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body
ok
--- error_log eval
qr/\[warn\] .*jwt_key_file "\S+\/secret\.key" holds a secret or private key and is readable by group or others \(mode 0[0-7]*[1-7][0-7]?\): chmod 600 it \(owned by the user nginx starts as\) in \S+nginx\.conf:\d+/



=== TEST 45: a public key file readable by everyone: no warning
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.pub.pem;
        empty_gif;
    }
--- request
GET /t
--- error_code: 401
--- no_error_log
holds a secret or private key



=== TEST 46: two of the module's content handlers in one location: jwt_login and jwt_status
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_status;
        jwt_login /authenticate;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_status" and "jwt_login" \(at \S+nginx\.conf:\d+\) both answer this location: give each its own location in \S+nginx\.conf:\d+/



=== TEST 47: jwt_refresh and jwt_logout in one location
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_logout;
        jwt_refresh;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_logout" and "jwt_refresh" \(at \S+nginx\.conf:\d+\) both answer this location: give each its own location in \S+nginx\.conf:\d+/



=== TEST 48: jwt_jwks and jwt_refresh in one location
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=r1;
        jwt_jwks;
        jwt_refresh;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_refresh" and "jwt_jwks" \(at \S+nginx\.conf:\d+\) both answer this location/



=== TEST 49: jwt_logout and jwt_status in one location
--- config
    location = /t {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_logout;
        jwt_status;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_status" and "jwt_logout" \(at \S+nginx\.conf:\d+\) both answer this location/



=== TEST 50: jwt_refresh without keys
--- config
    location = /refresh {
        jwt_refresh;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_refresh" needs the keys of the tokens it accepts: add a "jwt_key_file" in this location or above it in \S+nginx\.conf:\d+/



=== TEST 51: jwt_logout without keys
--- config
    location = /logout {
        jwt_logout;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_logout" needs the keys of the tokens it accepts: add a "jwt_key_file" in this location or above it in \S+nginx\.conf:\d+/



=== TEST 52: jwt_refresh with public keys only: nothing can sign the renewed token; the error names jwt_refresh
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*\bjwt_refresh"? needs a key that can sign: .*\(RSA-2048 public key\) are public keys only in \S+nginx\.conf:\d+/



=== TEST 53: jwt_refresh and jwt_logout take no arguments and belong in a location
--- config
    location = /refresh {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh /somewhere;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "jwt_refresh" directive in \S+nginx\.conf:\d+/



=== TEST 54: jwt_logout at the server level
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_logout;
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_logout" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 55: jwt_logout_capacity must be a positive number
--- http_config
    jwt_logout_capacity 0;
--- config
    location = /t {
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid "jwt_logout_capacity" "0": a number of tokens such as 10000 in \S+nginx\.conf:\d+/



=== TEST 56: jwt_logout_capacity is an http-level directive
--- config
    location = /t {
        jwt_logout_capacity 100;
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_logout_capacity" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 57: jwt_logout_capacity twice
--- http_config
    jwt_logout_capacity 100;
    jwt_logout_capacity 200;
--- config
    location = /t {
        empty_gif;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_logout_capacity" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 58: jwt_refresh_max_age 0 (off is the way to say "no limit")
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_max_age 0;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_refresh_max_age" must be at least 1s, or off in \S+nginx\.conf:\d+/



=== TEST 59: jwt_refresh_max_age and jwt_refresh_grace take times
--- config
    location = /refresh {
        jwt_refresh;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_refresh_grace soon;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid time "soon" in "jwt_refresh_grace" directive \(examples: 30s, 5m, 1h\) in \S+nginx\.conf:\d+/



=== TEST 60: jwt_shared_memory below the minimum: the message states the real minimum
--- http_config
    jwt_shared_memory 64k;
--- config
    location = /status {
        jwt_status;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_shared_memory" 64k is too small: at least 128k in \S+nginx\.conf:\d+/



=== TEST 61: jwt_token with variables nginx and its modules declare: no false alarm
Prefix variables ($http_, $cookie_, $arg_, $upstream_http_), core and module variables, a map,
a set, regex captures; the request verifies through the $arg_ one.
--- http_config
    map $http_x_token $mapped_token {
        default $http_x_token;
    }
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location = /a { jwt_token $http_authorization; empty_gif; }
    location = /b { jwt_token "$cookie_session$arg_token"; jwt_verify on; alias $TEST_NGINX_HTML_DIR/ok.txt; }
    location = /c { jwt_token $upstream_http_x_token; empty_gif; }
    location = /d { jwt_token $mapped_token; empty_gif; }
    location = /e { set $from_set $http_x; jwt_token $from_set; empty_gif; }
    location ~ ^/f/(.+)$ { jwt_token $1; empty_gif; }
    location = /g { jwt_token $remote_user$realip_remote_addr$request_id; empty_gif; }
    location = /h { jwt_token $HTTP_X_TOKEN; empty_gif; }
--- user_files
>>> ok.txt
ok
--- request
GET /b?token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbImFkbWluIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJqdGkiOiJ0b2stZ29vZC0xIn0.I6S26bD89lE-07i5ANz2lDvQcVY73Ya0J4TGzLp68Ss
--- error_code: 200
--- response_body
ok
--- no_error_log
unknown variable
[emerg]
