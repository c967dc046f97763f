# jwt_typ <type>: the token header's typ must be this media type (RFC 9068 access tokens say
# at+jwt), compared as RFC 7515 4.1.9 says: case-insensitively, "application/" optional on either
# side. A mismatch (or no typ) is an invalid token: 401 (jwt_failure_status), `WWW-Authenticate:
# Bearer realm="...", error="invalid_token"`, $jwt_error typ and the info line
# `jwt: token rejected (typ): token header "typ" is <found>, expected "<type>"`. typ is judged after
# the signature (a forged token is `signature`) and before the claims and the time.
#
# Each location shows $jwt_claim_sub (X-Sub: the token's name below), $jwt_error (X-Jwt-Error) and
# $jwt_header_typ (X-Typ), and answers from ok.txt (content phase).
#
# Key: t/fixtures/keys/hmac.key (HS256), read as $TEST_NGINX_FIXTURES/keys/hmac.key; "forged"
# tokens are signed with t/fixtures/keys/hmac-other.key, which no block loads. Tokens are inline,
# made with PyJWT (target/venv/bin/python); headers are {"alg":"HS256","typ":"JWT"} unless shown
# (each block lists the tokens it sends under "Tokens:"):
#   at-jwt                 {"sub":"at-jwt","exp":4102444800} header {"alg":"HS256","typ":"at+jwt"}
#   AT-JWT                 {"sub":"AT-JWT","exp":4102444800} header {"alg":"HS256","typ":"AT+JWT"}
#   app-at-jwt             {"sub":"app-at-jwt","exp":4102444800} header {"alg":"HS256","typ":"application/at+jwt"}
#   App-AT-JWT             {"sub":"App-AT-JWT","exp":4102444800} header {"alg":"HS256","typ":"Application/AT+JWT"}
#   no-typ                 {"sub":"no-typ","exp":4102444800} header {"alg":"HS256"}
#   typ-JWT                {"sub":"typ-JWT","exp":4102444800}
#   typ-jwt                {"sub":"typ-jwt","exp":4102444800} header {"alg":"HS256","typ":"jwt"}
#   app-jwt                {"sub":"app-jwt","exp":4102444800} header {"alg":"HS256","typ":"application/jwt"}
#   at-jwt2                {"sub":"at-jwt2","exp":4102444800} header {"alg":"HS256","typ":"at+jwt2"}
#   text-at-jwt            {"sub":"text-at-jwt","exp":4102444800} header {"alg":"HS256","typ":"text/at+jwt"}
#   at-jwt-space           {"sub":"at-jwt-space","exp":4102444800} header {"alg":"HS256","typ":"at+jwt "}
#   typ-number             {"sub":"typ-number","exp":4102444800} header {"alg":"HS256","typ":1}
#   typ-array              {"sub":"typ-array","exp":4102444800} header {"alg":"HS256","typ":["at+jwt"]}
#   typ-empty              {"sub":"typ-empty","exp":4102444800} header {"alg":"HS256","typ":""} (exact JSON text)
#   forged-at-jwt          {"sub":"forged-at-jwt","exp":4102444800} header {"alg":"HS256","typ":"at+jwt"} [signed with hmac-other.key]
#   forged-JWT             {"sub":"forged-JWT","exp":4102444800} [signed with hmac-other.key]
#   forged-no-typ          {"sub":"forged-no-typ","exp":4102444800} header {"alg":"HS256"} [signed with hmac-other.key]
#   expired-at-jwt         {"sub":"expired-at-jwt","exp":1000000000} header {"alg":"HS256","typ":"at+jwt"}
#   expired-JWT            {"sub":"expired-JWT","exp":1000000000}
#   at-jwt-read            {"sub":"at-jwt-read","scope":"read","exp":4102444800} header {"alg":"HS256","typ":"at+jwt"}
#   at-jwt-write           {"sub":"at-jwt-write","scope":"write","exp":4102444800} header {"alg":"HS256","typ":"at+jwt"}
#   JWT-read               {"sub":"JWT-read","scope":"read","exp":4102444800}
#   dup-last-at-jwt        {"sub":"dup-last-at-jwt","exp":4102444800} header {"alg":"HS256","typ":"JWT","typ":"at+jwt"} (exact JSON text)
#   dup-last-JWT           {"sub":"dup-last-JWT","exp":4102444800} header {"alg":"HS256","typ":"at+jwt","typ":"JWT"} (exact JSON text)
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

=== TEST 1: jwt_typ at+jwt: "at+jwt", "AT+JWT", "application/at+jwt" and "Application/AT+JWT" are one media type (RFC 7515 4.1.9)
X-Typ shows the header as sent ($jwt_header_typ).
Tokens:
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
  AT-JWT {"sub":"AT-JWT","exp":4102444800}, header {"alg":"HS256","typ":"AT+JWT"}
  app-at-jwt {"sub":"app-at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"application/at+jwt"}
  App-AT-JWT {"sub":"App-AT-JWT","exp":4102444800}, header {"alg":"HS256","typ":"Application/AT+JWT"}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ at+jwt;
        add_header X-Typ $jwt_header_typ always;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkFUK0pXVCJ9.eyJzdWIiOiJBVC1KV1QiLCJleHAiOjQxMDI0NDQ4MDB9.LG1_MHBhkEa5qCFn488-vikotLeu_s9t4MbX2hoW1RQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImFwcGxpY2F0aW9uL2F0K2p3dCJ9.eyJzdWIiOiJhcHAtYXQtand0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.m_lHr3yOM93YMy4nOCX9DV4LVwTRT2WHCgZJ3RhTxQw",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkFwcGxpY2F0aW9uL0FUK0pXVCJ9.eyJzdWIiOiJBcHAtQVQtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.UsXXQyP5uEHnupfn1ioDRyatcxtrxE6CF4XX6GQh4dI"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 "X-Sub: AT-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: AT+JWT",
 "X-Sub: app-at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: application/at+jwt",
 "X-Sub: App-AT-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: Application/AT+JWT"]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/]
--- no_error_log
token rejected



=== TEST 2: jwt_typ at+jwt rejects other types: 401 invalid_token, $jwt_error typ, and a log line naming what the header said
Rejected: no typ, "JWT", "jwt", "at+jwt2", "application/jwt", "text/at+jwt" (another top-level type),
"at+jwt " (trailing space), "" , 1 and ["at+jwt"]. The token's claims are not exposed (no X-Sub).
Tokens:
  no-typ {"sub":"no-typ","exp":4102444800}, header {"alg":"HS256"}
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  typ-jwt {"sub":"typ-jwt","exp":4102444800}, header {"alg":"HS256","typ":"jwt"}
  at-jwt2 {"sub":"at-jwt2","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt2"}
  app-jwt {"sub":"app-jwt","exp":4102444800}, header {"alg":"HS256","typ":"application/jwt"}
  text-at-jwt {"sub":"text-at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"text/at+jwt"}
  at-jwt-space {"sub":"at-jwt-space","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt "}
  typ-empty {"sub":"typ-empty","exp":4102444800}, header {"alg":"HS256","typ":""}
  typ-number {"sub":"typ-number","exp":4102444800}, header {"alg":"HS256","typ":1}
  typ-array {"sub":"typ-array","exp":4102444800}, header {"alg":"HS256","typ":["at+jwt"]}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ at+jwt;
        add_header X-Typ $jwt_header_typ always;
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
 "GET /t",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuby10eXAiLCJleHAiOjQxMDI0NDQ4MDB9.6g0rTvvgiOk83yFKTANIsfxzunYhgMTdLrzY2nK0cHc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6Imp3dCJ9.eyJzdWIiOiJ0eXAtand0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.cdjcBUtR_L3POnUmkLDlVUqTXoAeSwrpKJaVh5wx7_s",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dDIifQ.eyJzdWIiOiJhdC1qd3QyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.CafV3MJ9RvLXIYMQoXKWy6m60S6CTrXVM7nopItq_mE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImFwcGxpY2F0aW9uL2p3dCJ9.eyJzdWIiOiJhcHAtand0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.UZk5W0YAqq4RmhWHn2tUVHnYmwr7P9jT69ZjioiXCC0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6InRleHQvYXQrand0In0.eyJzdWIiOiJ0ZXh0LWF0LWp3dCIsImV4cCI6NDEwMjQ0NDgwMH0.mHs-ifcHqHR34gJzFmq5Qh5ZjseHdFPZdSlDNyulFvo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCAifQ.eyJzdWIiOiJhdC1qd3Qtc3BhY2UiLCJleHAiOjQxMDI0NDQ4MDB9.hCH261JmhyHzIYRr-f9uimiWlXAzmd1g4JZuyoPT4y4",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IiJ9.eyJzdWIiOiJ0eXAtZW1wdHkiLCJleHAiOjQxMDI0NDQ4MDB9.M0QTYCYsH0ntnZtTc8I14H1WkRqmv_bW4qTqgmq29ms",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6MX0.eyJzdWIiOiJ0eXAtbnVtYmVyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Yy5TQwwt1o1Itvs5z8vrmbWzdyyNUuj23m4w2qod0ZQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6WyJhdCtqd3QiXX0.eyJzdWIiOiJ0eXAtYXJyYXkiLCJleHAiOjQxMDI0NDQ4MDB9.2HwYsg40LwKnplm-imatS8WgftRu7iqA3Sx7r1V8jM0",
 ""]
--- error_code eval
[401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 200]
--- response_headers eval
["!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is absent, expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "jwt", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "at\+jwt2", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "application/jwt", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "text/at\+jwt", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "at\+jwt ", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is a number, expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is \["at\+jwt"\], expected "at\+jwt")']



=== TEST 3: jwt_typ application/at+jwt: the configured prefix is optional too
Tokens:
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
  AT-JWT {"sub":"AT-JWT","exp":4102444800}, header {"alg":"HS256","typ":"AT+JWT"}
  app-at-jwt {"sub":"app-at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"application/at+jwt"}
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  no-typ {"sub":"no-typ","exp":4102444800}, header {"alg":"HS256"}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ application/at+jwt;
        add_header X-Typ $jwt_header_typ always;
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
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkFUK0pXVCJ9.eyJzdWIiOiJBVC1KV1QiLCJleHAiOjQxMDI0NDQ4MDB9.LG1_MHBhkEa5qCFn488-vikotLeu_s9t4MbX2hoW1RQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImFwcGxpY2F0aW9uL2F0K2p3dCJ9.eyJzdWIiOiJhcHAtYXQtand0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.m_lHr3yOM93YMy4nOCX9DV4LVwTRT2WHCgZJ3RhTxQw",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuby10eXAiLCJleHAiOjQxMDI0NDQ4MDB9.6g0rTvvgiOk83yFKTANIsfxzunYhgMTdLrzY2nK0cHc",
 ""]
--- error_code eval
[200, 200, 200, 401, 401, 200]
--- response_headers eval
["X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 "X-Sub: AT-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: AT+JWT",
 "X-Sub: app-at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: application/at+jwt",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "application/at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is absent, expected "application/at\+jwt")']



=== TEST 4: jwt_typ JWT: "JWT", "jwt" and "application/jwt" pass; "at+jwt" and a missing typ do not
Tokens:
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  typ-jwt {"sub":"typ-jwt","exp":4102444800}, header {"alg":"HS256","typ":"jwt"}
  app-jwt {"sub":"app-jwt","exp":4102444800}, header {"alg":"HS256","typ":"application/jwt"}
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
  no-typ {"sub":"no-typ","exp":4102444800}, header {"alg":"HS256"}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ JWT;
        add_header X-Typ $jwt_header_typ always;
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
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6Imp3dCJ9.eyJzdWIiOiJ0eXAtand0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.cdjcBUtR_L3POnUmkLDlVUqTXoAeSwrpKJaVh5wx7_s",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImFwcGxpY2F0aW9uL2p3dCJ9.eyJzdWIiOiJhcHAtand0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.UZk5W0YAqq4RmhWHn2tUVHnYmwr7P9jT69ZjioiXCC0",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuby10eXAiLCJleHAiOjQxMDI0NDQ4MDB9.6g0rTvvgiOk83yFKTANIsfxzunYhgMTdLrzY2nK0cHc",
 ""]
--- error_code eval
[200, 200, 200, 401, 401, 200]
--- response_headers eval
["X-Sub: typ-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: JWT",
 "X-Sub: typ-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: jwt",
 "X-Sub: app-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: application/jwt",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "at\+jwt", expected "JWT")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is absent, expected "JWT")']



=== TEST 5: without jwt_typ the header typ is not checked at all
Tokens:
  no-typ {"sub":"no-typ","exp":4102444800}, header {"alg":"HS256"}
  at-jwt2 {"sub":"at-jwt2","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt2"}
  typ-number {"sub":"typ-number","exp":4102444800}, header {"alg":"HS256","typ":1}
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Typ $jwt_header_typ always;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- request eval
["GET /t",
 "GET /t",
 "GET /t",
 "GET /t"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuby10eXAiLCJleHAiOjQxMDI0NDQ4MDB9.6g0rTvvgiOk83yFKTANIsfxzunYhgMTdLrzY2nK0cHc",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dDIifQ.eyJzdWIiOiJhdC1qd3QyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.CafV3MJ9RvLXIYMQoXKWy6m60S6CTrXVM7nopItq_mE",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6MX0.eyJzdWIiOiJ0eXAtbnVtYmVyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Yy5TQwwt1o1Itvs5z8vrmbWzdyyNUuj23m4w2qod0ZQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Sub: no-typ\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: ",
 "X-Sub: at-jwt2\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt2",
 "X-Sub: typ-number\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: 1",
 "X-Sub: typ-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: JWT"]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/]
--- no_error_log
token rejected



=== TEST 6: jwt_typ at server level is inherited; a location may set another type
Server: jwt_typ at+jwt. /inherit: at+jwt only. /override (jwt_typ JWT): JWT only. /override/nested
inherits JWT.
Tokens:
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  AT-JWT {"sub":"AT-JWT","exp":4102444800}, header {"alg":"HS256","typ":"AT+JWT"}
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ at+jwt;
    add_header X-Sub $jwt_claim_sub always;
    add_header X-Jwt-Error $jwt_error always;
    add_header X-Typ $jwt_header_typ always;

    location /inherit {
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location /override {
        jwt_typ JWT;
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
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkFUK0pXVCJ9.eyJzdWIiOiJBVC1KV1QiLCJleHAiOjQxMDI0NDQ4MDB9.LG1_MHBhkEa5qCFn488-vikotLeu_s9t4MbX2hoW1RQ",
 ""]
--- error_code eval
[200, 401, 200, 401, 200, 401, 200]
--- response_headers eval
["X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: typ-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: JWT",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: typ-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: JWT",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "at\+jwt", expected "JWT")'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "AT\+JWT", expected "JWT")']



=== TEST 7: jwt_typ at http level reaches every server and location
Tokens:
  AT-JWT {"sub":"AT-JWT","exp":4102444800}, header {"alg":"HS256","typ":"AT+JWT"}
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
--- http_config
    jwt_typ at+jwt;
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        add_header X-Typ $jwt_header_typ always;
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
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkFUK0pXVCJ9.eyJzdWIiOiJBVC1KV1QiLCJleHAiOjQxMDI0NDQ4MDB9.LG1_MHBhkEa5qCFn488-vikotLeu_s9t4MbX2hoW1RQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 ""]
--- error_code eval
[200, 401, 200]
--- response_headers eval
["X-Sub: AT-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: AT+JWT",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")']



=== TEST 8: a forged token fails as signature, whatever its typ: typ is judged only once the signature holds
Signed with hmac-other.key: typ at+jwt, typ JWT and no typ all give $jwt_error signature, never typ.
Tokens:
  forged-at-jwt {"sub":"forged-at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"} (hmac-other.key)
  forged-JWT {"sub":"forged-JWT","exp":4102444800} (hmac-other.key)
  forged-no-typ {"sub":"forged-no-typ","exp":4102444800}, header {"alg":"HS256"} (hmac-other.key)
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ at+jwt;
        add_header X-Typ $jwt_header_typ always;
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
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJmb3JnZWQtYXQtand0IiwiZXhwIjo0MTAyNDQ0ODAwfQ.A5C8Zej4AcRXI9DO7hK915b11CsDQPk7SFZcRiLT5xY",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmb3JnZWQtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.2qHL8nKK_YBTDawwwbJqAYuM7SaNjvmfKe4mPiQmov4",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmb3JnZWQtbm8tdHlwIiwiZXhwIjo0MTAyNDQ0ODAwfQ.O0FjLDTeokbtrqlNCKhd5KGsB2MYDdOfayq_eM-NLxY",
 ""]
--- error_code eval
[401, 401, 401, 200]
--- response_headers eval
["!X-Sub\nX-Jwt-Error: signature\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: signature\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: signature\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(signature\))']
--- no_error_log
token rejected (typ)



=== TEST 9: typ is checked before the time: an expired at+jwt token is expired, an expired JWT token is typ
Tokens:
  expired-at-jwt {"sub":"expired-at-jwt","exp":1000000000}, header {"alg":"HS256","typ":"at+jwt"}
  expired-JWT {"sub":"expired-JWT","exp":1000000000}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ at+jwt;
        add_header X-Typ $jwt_header_typ always;
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
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJleHBpcmVkLWF0LWp3dCIsImV4cCI6MTAwMDAwMDAwMH0.1u4y-k2nwY8wQ9tCMyf2YYkdNwiJPH-ePU-XXWC4baU",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJleHBpcmVkLUpXVCIsImV4cCI6MTAwMDAwMDAwMH0.8-a1OV8vuoOOvPeCoqacXOlNTritYt8D4Vr1gBpPIQ4",
 ""]
--- error_code eval
[401, 401, 200]
--- response_headers eval
["!X-Sub\nX-Jwt-Error: expired\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(expired\))'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")']



=== TEST 10: jwt_failure_status 403 and jwt_realm apply to typ failures: 403 with error="invalid_token"
Tokens:
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ at+jwt;
        jwt_failure_status 403;
        jwt_realm "api";
        add_header X-Typ $jwt_header_typ always;
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
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 ""]
--- error_code eval
[403, 200, 200]
--- response_headers eval
["!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 ""]
--- response_body_like eval
[qr/403 Forbidden/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")']



=== TEST 11: jwt_typ with jwt_require_claim: a wrong typ is an invalid token (401) before any rule; a right typ then meets the rules
Rule: scope any read. JWT-read (right scope, wrong typ) 401 invalid_token and no rule is logged;
at-jwt-write (right typ, wrong scope) 403 insufficient_scope; at-jwt-read 200.
Tokens:
  JWT-read {"sub":"JWT-read","scope":"read","exp":4102444800}
  at-jwt-write {"sub":"at-jwt-write","scope":"write","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
  at-jwt-read {"sub":"at-jwt-read","scope":"read","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ at+jwt;
        jwt_require_claim scope any read;
        add_header X-Typ $jwt_header_typ always;
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
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJKV1QtcmVhZCIsInNjb3BlIjoicmVhZCIsImV4cCI6NDEwMjQ0NDgwMH0.wPJ2OIpgujg04glynuFIg4XjrQlx7h6-wzJ7CXUfZQQ",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3Qtd3JpdGUiLCJzY29wZSI6IndyaXRlIiwiZXhwIjo0MTAyNDQ0ODAwfQ.IpCqBaquqmTbVV-oEkTJD24_wJVV67oBjZamlcDeY8g",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QtcmVhZCIsInNjb3BlIjoicmVhZCIsImV4cCI6NDEwMjQ0NDgwMH0.HNsPbS4JNt7udtZRQNBLRtBrZGESoXdEkp8uQdLvDQg",
 ""]
--- error_code eval
[401, 403, 200, 200]
--- response_headers eval
["!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: at-jwt-write\nX-Jwt-Error: \nWWW-Authenticate: Bearer realm=\"protected\", error=\"insufficient_scope\"\nX-Typ: at+jwt",
 "X-Sub: at-jwt-read\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/403 Forbidden/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")'
 . '(?=[\s\S]*?jwt: "jwt_require_claim "scope" any "read"" failed: claim "scope" holds none of "read")']



=== TEST 12: verified-token cache: a token accepted where typ is free is still refused where jwt_typ applies, and back
Same key ring (server level); /plain has no jwt_typ, /strict has jwt_typ at+jwt. typ-JWT:
/plain 200, /strict 401, /plain 200, /strict 401; at-jwt passes both.
Tokens:
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    location = /plain {
        jwt_verify on;
        add_header X-Typ $jwt_header_typ always;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /strict {
        jwt_verify on;
        jwt_typ at+jwt;
        add_header X-Typ $jwt_header_typ always;
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
["GET /plain",
 "GET /strict",
 "GET /plain",
 "GET /strict",
 "GET /strict",
 "GET /plain",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 ""]
--- error_code eval
[200, 401, 200, 401, 200, 200, 200]
--- response_headers eval
["X-Sub: typ-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: JWT",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: typ-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: JWT",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 "X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")']



=== TEST 13: a header with typ twice: the last member counts (RFC 7515 4: reject or use the lexically last)
dup-last-at-jwt's header is {"alg":"HS256","typ":"JWT","typ":"at+jwt"}: accepted;
dup-last-JWT's is {"alg":"HS256","typ":"at+jwt","typ":"JWT"}: refused. $jwt_header_typ shows the
same last value the check used.
Tokens:
  dup-last-at-jwt {"sub":"dup-last-at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"JWT","typ":"at+jwt"}
  dup-last-JWT {"sub":"dup-last-JWT","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt","typ":"JWT"}
--- config
    location = /t {
        jwt_verify on;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_typ at+jwt;
        add_header X-Typ $jwt_header_typ always;
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
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJkdXAtbGFzdC1hdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.mcLIWR0agv_5K01t6BSOKjzQsKwZSLKDrcZOVFDRwz4",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkdXAtbGFzdC1KV1QiLCJleHAiOjQxMDI0NDQ4MDB9.a2-Rlnhplu-XAzWm8kcSxqcmYfotHieGm15qgTNL_PE",
 ""]
--- error_code eval
[200, 401, 200]
--- response_headers eval
["X-Sub: dup-last-at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 "!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 ""]
--- response_body_like eval
[qr/\Aok\n\z/,
 qr/401 Authorization Required/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")']



=== TEST 14: a token read earlier in the request where typ is free (a server-level set) is judged again where jwt_typ applies
Server: the key ring and set $u $jwt_claim_sub, which verifies the token without a typ
requirement first. /strict (jwt_typ at+jwt) still refuses typ-JWT.
Tokens:
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    set $u $jwt_claim_sub;
    location = /strict {
        jwt_verify on;
        jwt_typ at+jwt;
        add_header X-U $u always;
        add_header X-Typ $jwt_header_typ always;
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
["GET /strict",
 "GET /strict",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 ""]
--- error_code eval
[401, 200, 200]
--- response_headers eval
["!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")']



=== TEST 15: rewrite ... last between locations with and without jwt_typ: the location that serves the request decides
/plain reads $jwt_claim_sub (no typ requirement) and rewrites to /strict (jwt_typ at+jwt):
typ-JWT is refused there. /strict-first reads $jwt_claim_sub under jwt_typ at+jwt and rewrites to
/open, which has no jwt_typ: typ-JWT passes there.
Tokens:
  typ-JWT {"sub":"typ-JWT","exp":4102444800}
  at-jwt {"sub":"at-jwt","exp":4102444800}, header {"alg":"HS256","typ":"at+jwt"}
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;

    location /plain {
        jwt_verify on;
        set $s $jwt_claim_sub;
        rewrite ^ /strict last;
    }
    location /strict-first {
        jwt_verify on;
        jwt_typ at+jwt;
        set $s $jwt_claim_sub;
        rewrite ^ /open last;
    }
    location = /strict {
        jwt_verify on;
        jwt_typ at+jwt;
        add_header X-Typ $jwt_header_typ always;
        add_header X-Sub $jwt_claim_sub always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /open {
        jwt_verify on;
        add_header X-Typ $jwt_header_typ always;
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
["GET /plain",
 "GET /plain",
 "GET /strict-first",
 "GET /error-log"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhdC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9.JHkyaWK1qfE6olM4xbZot8uz4nWqEE3ZTNk3_G7Ogjo",
 "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXAtSldUIiwiZXhwIjo0MTAyNDQ0ODAwfQ.whL0arhjIa16KbmqtFru8IwL-fItw1pplEP2KD_2wtA",
 ""]
--- error_code eval
[401, 200, 200, 200]
--- response_headers eval
["!X-Sub\nX-Jwt-Error: typ\nWWW-Authenticate: Bearer realm=\"protected\", error=\"invalid_token\"\n!X-Typ",
 "X-Sub: at-jwt\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: at+jwt",
 "X-Sub: typ-JWT\nX-Jwt-Error: \n!WWW-Authenticate\nX-Typ: JWT",
 ""]
--- response_body_like eval
[qr/401 Authorization Required/,
 qr/\Aok\n\z/,
 qr/\Aok\n\z/,
 # /error-log: what the requests logged
 '\A'
 . '(?=[\s\S]*?jwt: token rejected \(typ\): token header "typ" is "JWT", expected "at\+jwt")']



=== TEST 16: nginx -t: jwt_typ "" is refused, naming file and line
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ "";
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Qinvalid "jwt_typ" "": a media type such as at+jwt (RFC 9068)\E in \S+\/jwt\.conf:4\b/]



=== TEST 17: nginx -t: jwt_typ " " (whitespace only) is refused
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ " ";
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Qinvalid "jwt_typ" " ": a media type such as at+jwt (RFC 9068)\E in \S+\/jwt\.conf:4\b/]



=== TEST 18: nginx -t: jwt_typ "at jwt" (inner space) is refused
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ "at jwt";
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Qinvalid "jwt_typ" "at jwt": a media type such as at+jwt (RFC 9068)\E in \S+\/jwt\.conf:4\b/]



=== TEST 19: nginx -t: jwt_typ "at+jwt\t" (a tab) is refused
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ "at+jwt\t";
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Qinvalid "jwt_typ" "at+jwt	": a media type such as at+jwt\E.* in \S+\/jwt\.conf:4\b/]



=== TEST 20: nginx -t: jwt_typ twice at one level is refused
jwt.conf line 5 is the second.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ at+jwt;
    jwt_typ JWT;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Q"jwt_typ" directive is duplicate\E in \S+\/jwt\.conf:5\b/]



=== TEST 21: nginx -t: jwt_typ without a value: nginx's own argument count check
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Qinvalid number of arguments in "jwt_typ" directive\E in \S+\/jwt\.conf:4\b/]



=== TEST 22: nginx -t: jwt_typ with two values is refused
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ at+jwt JWT;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: \Qinvalid number of arguments in "jwt_typ" directive\E in \S+\/jwt\.conf:4\b/]



=== TEST 23: nginx -t: jwt_typ "application/" (no type once the optional prefix is gone) is refused
jwt.conf line 4.
--- config
    include $TEST_NGINX_HTML_DIR/jwt.conf;
--- user_files
>>> jwt.conf
location = /t {
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
    jwt_typ application/;
    alias $TEST_NGINX_HTML_DIR/ok.txt;
}
>>> ok.txt
ok
--- must_die
--- error_log eval
[qr/\[emerg\] \d+#\d+: invalid "jwt_typ" "application\/": a media type such as at\+jwt \(RFC 9068\) in \S+\/jwt\.conf:4\b/]



=== TEST 24: jwt_login under jwt_typ writes that type, so the gateway accepts its own tokens
The login's answer is handed to /check (X-Accel-Redirect), which verifies the cookie under the
same server-level jwt_typ and shows the header typ.
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/login/hmac.key;
    jwt_typ at+jwt;

    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/login;
    }
    location = /login {
        jwt_login /authenticate;
        jwt_login_cookie tok;
        add_header X-Accel-Redirect /check;
    }
    location = /check {
        internal;
        jwt_verify on;
        jwt_token $upstream_cookie_tok;
        add_header X-Typ $jwt_header_typ always;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
    location = /authenticate {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        return 200 '{"sub":"alice"}';
    }
--- user_files
>>> ok.txt
ok
--- request
POST /t
user=alice
--- error_code: 200
--- response_headers
X-Typ: at+jwt
X-Jwt-Error:
--- response_body
ok
--- no_error_log
jwt: token rejected
[alert]
