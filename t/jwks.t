# jwt_jwks: a location that publishes the public halves of its key ring as a JWKS (RFC 7517).
#
# Expected documents: every published JWK is checked member by member, in any member order:
# one lookahead per member ("kty":"RSA", "kid":..., "alg":..., "use":"sig", n/e or crv/x/y,
# each value exact) plus the number of members, so a JWK with one member more (a private "d",
# "p", "k"...) or one less does not match. Key order inside "keys" is the ring's (directive
# order). The expected values were computed independently of the module, with PyJWT's
# RSAAlgorithm/ECAlgorithm/OKPAlgorithm.to_jwk() on the fixture keys (t/fixtures/keys/, which
# t/fixtures/make-fixtures keeps unless run with --new-keys: then recompute these values).
#
# crates/test-nginx/tests/jwks.rs covers what needs several requests or two nginx: PyJWT's
# PyJWKClient on the published URL, a second nginx verifying through jwt_key_request, and key
# rotation with reloads (and the exact file:line of the configuration errors).
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

=== TEST 1: RSA private key (PKCS#8): kty, kid, alg RS256, use sig, n, e; the JWKS headers
--- config
    location = /.well-known/jwks.json {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks;
    }
--- request
GET /.well-known/jwks.json
--- error_code: 200
--- response_headers
Content-Type: application/jwk-set+json
Cache-Control: public, max-age=300
Content-Length: 424
--- raw_response_headers_unlike: Transfer-Encoding
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x
--- no_error_log
[error]



=== TEST 2: the same RSA key as a public key, a PKCS#1 private key and a certificate: the same JWK
--- config
    location = /pub  { jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pub.pem kid=rsa-1; jwt_jwks; }
    location = /pkcs1 { jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pkcs1.key kid=rsa-1; jwt_jwks; }
    location = /crt  { jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.crt kid=rsa-1; jwt_jwks; }
--- pipelined_requests eval
["GET /pub", "GET /pkcs1", "GET /crt"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x,
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x,
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x]



=== TEST 3: EC P-256 private key (PKCS#8), public key and SEC1 private key: crv, x, y, alg ES256
--- config
    location = /pkcs8 { jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.key kid=ec-256; jwt_jwks; }
    location = /pub   { jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.pub.pem kid=ec-256; jwt_jwks; }
    location = /sec1  { jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.sec1.key kid=ec-256; jwt_jwks; }
--- pipelined_requests eval
["GET /pkcs8", "GET /pub", "GET /sec1"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-256"[,}])
      (?=(?:[^{}]*,)?"alg":"ES256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-256"[,}])
      (?=(?:[^{}]*,)?"x":"pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc"[,}])
      (?=(?:[^{}]*,)?"y":"krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x,
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-256"[,}])
      (?=(?:[^{}]*,)?"alg":"ES256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-256"[,}])
      (?=(?:[^{}]*,)?"x":"pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc"[,}])
      (?=(?:[^{}]*,)?"y":"krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x,
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-256"[,}])
      (?=(?:[^{}]*,)?"alg":"ES256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-256"[,}])
      (?=(?:[^{}]*,)?"x":"pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc"[,}])
      (?=(?:[^{}]*,)?"y":"krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x]



=== TEST 4: EC P-384 private and public key: alg ES384, 48-byte coordinates
--- config
    location = /private { jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.key kid=ec-384; jwt_jwks; }
    location = /public  { jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.pub.pem kid=ec-384; jwt_jwks; }
--- pipelined_requests eval
["GET /private", "GET /public"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-384"[,}])
      (?=(?:[^{}]*,)?"alg":"ES384"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-384"[,}])
      (?=(?:[^{}]*,)?"x":"zjTGTWBVwkJUKkI1i01MPVGMouWepmbNIB987aE__H5w1UgG3M8cg4UuYZVI129V"[,}])
      (?=(?:[^{}]*,)?"y":"MwojUunXGCjA9XtPARQU0gPjG3l-Y5Mjmw2iftTN7rx9N1V4MTMiu9jh_CpbJ5pc"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x,
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-384"[,}])
      (?=(?:[^{}]*,)?"alg":"ES384"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-384"[,}])
      (?=(?:[^{}]*,)?"x":"zjTGTWBVwkJUKkI1i01MPVGMouWepmbNIB987aE__H5w1UgG3M8cg4UuYZVI129V"[,}])
      (?=(?:[^{}]*,)?"y":"MwojUunXGCjA9XtPARQU0gPjG3l-Y5Mjmw2iftTN7rx9N1V4MTMiu9jh_CpbJ5pc"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x]



=== TEST 5: EC P-521: alg ES512, each coordinate the full 66 bytes (x starts with a zero byte, kept: "AN...")
RFC 7518 §6.2.1.2: the coordinate is exactly the curve's size, leading zero octets included.
--- config
    location = /private { jwt_key_file $TEST_NGINX_FIXTURES/keys/ec521.key kid=ec-521; jwt_jwks; }
    location = /public  { jwt_key_file $TEST_NGINX_FIXTURES/keys/ec521.pub.pem kid=ec-521; jwt_jwks; }
--- pipelined_requests eval
["GET /private", "GET /public"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-521"[,}])
      (?=(?:[^{}]*,)?"alg":"ES512"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-521"[,}])
      (?=(?:[^{}]*,)?"x":"ANqIIC3_JvMGxvTldU__Gdk-1G_8zQEV_yLjrL6zTkzlxRx5XQs--V6k-JONkKAX3DcFs0pHFFKzlWRAAfijO8WJ"[,}])
      (?=(?:[^{}]*,)?"y":"AfP0FGN9B21efjxvgnIxklw-L2_Fvmx3d-dzcUL2WpTyT4IkXeUa93DznfcUwiSz2QANttviPkvEETo0JeEXK4w6"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x,
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-521"[,}])
      (?=(?:[^{}]*,)?"alg":"ES512"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-521"[,}])
      (?=(?:[^{}]*,)?"x":"ANqIIC3_JvMGxvTldU__Gdk-1G_8zQEV_yLjrL6zTkzlxRx5XQs--V6k-JONkKAX3DcFs0pHFFKzlWRAAfijO8WJ"[,}])
      (?=(?:[^{}]*,)?"y":"AfP0FGN9B21efjxvgnIxklw-L2_Fvmx3d-dzcUL2WpTyT4IkXeUa93DznfcUwiSz2QANttviPkvEETo0JeEXK4w6"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x]



=== TEST 6: Ed25519 private and public key: kty OKP, crv Ed25519, x, alg EdDSA
--- config
    location = /private { jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1; jwt_jwks; }
    location = /public  { jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.pub.pem kid=ed-1; jwt_jwks; }
--- pipelined_requests eval
["GET /private", "GET /public"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"OKP"[,}])
      (?=(?:[^{}]*,)?"kid":"ed-1"[,}])
      (?=(?:[^{}]*,)?"alg":"EdDSA"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"Ed25519"[,}])
      (?=(?:[^{}]*,)?"x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x,
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"OKP"[,}])
      (?=(?:[^{}]*,)?"kid":"ed-1"[,}])
      (?=(?:[^{}]*,)?"alg":"EdDSA"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"Ed25519"[,}])
      (?=(?:[^{}]*,)?"x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x]



=== TEST 7: a ring of every kind: one JWK per key in directive order; the HMAC secret in the middle is not published
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=hmac-1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec521.key kid=ec-521;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.key kid=ec-256;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.pub.pem kid=ec-384;
        jwt_jwks;
    }
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"OKP"[,}])
      (?=(?:[^{}]*,)?"kid":"ed-1"[,}])
      (?=(?:[^{}]*,)?"alg":"EdDSA"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"Ed25519"[,}])
      (?=(?:[^{}]*,)?"x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
    ,
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
    ,
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-521"[,}])
      (?=(?:[^{}]*,)?"alg":"ES512"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-521"[,}])
      (?=(?:[^{}]*,)?"x":"ANqIIC3_JvMGxvTldU__Gdk-1G_8zQEV_yLjrL6zTkzlxRx5XQs--V6k-JONkKAX3DcFs0pHFFKzlWRAAfijO8WJ"[,}])
      (?=(?:[^{}]*,)?"y":"AfP0FGN9B21efjxvgnIxklw-L2_Fvmx3d-dzcUL2WpTyT4IkXeUa93DznfcUwiSz2QANttviPkvEETo0JeEXK4w6"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
    ,
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-256"[,}])
      (?=(?:[^{}]*,)?"alg":"ES256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-256"[,}])
      (?=(?:[^{}]*,)?"x":"pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc"[,}])
      (?=(?:[^{}]*,)?"y":"krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
    ,
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-384"[,}])
      (?=(?:[^{}]*,)?"alg":"ES384"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-384"[,}])
      (?=(?:[^{}]*,)?"x":"zjTGTWBVwkJUKkI1i01MPVGMouWepmbNIB987aE__H5w1UgG3M8cg4UuYZVI129V"[,}])
      (?=(?:[^{}]*,)?"y":"MwojUunXGCjA9XtPARQU0gPjG3l-Y5Mjmw2iftTN7rx9N1V4MTMiu9jh_CpbJ5pc"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x



=== TEST 8: no private member ever: private keys of every format and kind, a private JWK ("d") and a JWKS with a secret ("k")
Whitelist: every JWK of the document has only the members alg, crv, e, kid, kty, n, use, x,
y; and neither the JWK's private "d" nor the secret's bytes (plain or base64url) appear.
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-pkcs8;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.pkcs1.key kid=rsa-pkcs1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.sec1.key kid=ec-sec1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.key kid=ec-384;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec521.key kid=ec-521;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-pkcs8;
        jwt_key_file $TEST_NGINX_FIXTURES/login/ec256.jwk.json;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/jwks.json;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=hmac-1;
        jwt_jwks;
    }
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[(?:\{"(?:alg|crv|e|kid|kty|n|use|x|y)":"[^"]*"(?:,"(?:alg|crv|e|kid|kty|n|use|x|y)":"[^"]*")*\},){9}\{"(?:alg|crv|e|kid|kty|n|use|x|y)":"[^"]*"(?:,"(?:alg|crv|e|kid|kty|n|use|x|y)":"[^"]*")*\}\]\}$/
--- response_body_unlike eval
qr/rKPs9AZUPdpvcm2oNKBsVjOAn2mzdrKpKjbEhbg3lrU|ngx-jwt-test-secret|bmd4LWp3dC10ZXN0|"kty":"oct"|"(?:d|p|q|dp|dq|qi|k|oth)":/



=== TEST 9: a JWKS key file: its keys keep their own kids; the oct key of the file is not published
t/fixtures/keys/jwks.json holds oct-1, rsa-1, ec-1, ed-1 (the same key material as rsa.key,
ec256.key, ed25519.key); alg comes from the key kind (the file's JWKs have none).
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/jwks.json;
        jwt_jwks;
    }
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
    ,
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-1"[,}])
      (?=(?:[^{}]*,)?"alg":"ES256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-256"[,}])
      (?=(?:[^{}]*,)?"x":"pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc"[,}])
      (?=(?:[^{}]*,)?"y":"krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
    ,
    \{
      (?=(?:[^{}]*,)?"kty":"OKP"[,}])
      (?=(?:[^{}]*,)?"kid":"ed-1"[,}])
      (?=(?:[^{}]*,)?"alg":"EdDSA"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"Ed25519"[,}])
      (?=(?:[^{}]*,)?"x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x
--- response_body_unlike: oct-1



=== TEST 10: a JWK's own alg is the one published (PS256 here, not the RS256 default)
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_HTML_DIR/ps256.jwk.json;
        jwt_jwks;
    }
--- user_files
>>> ps256.jwk.json
{"kty":"RSA","kid":"ps-1","alg":"PS256","use":"sig","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"}
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"ps-1"[,}])
      (?=(?:[^{}]*,)?"alg":"PS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x



=== TEST 11: an encryption key ("use":"enc") of a JWKS key file is not published, its signature key is
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_HTML_DIR/mixed.json;
        jwt_jwks;
    }
--- user_files
>>> mixed.json
{"keys":[
 {"kty":"RSA","kid":"enc-1","use":"enc","n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw","e":"AQAB"},
 {"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"}
]}
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"OKP"[,}])
      (?=(?:[^{}]*,)?"kid":"ed-1"[,}])
      (?=(?:[^{}]*,)?"alg":"EdDSA"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"Ed25519"[,}])
      (?=(?:[^{}]*,)?"x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x
--- response_body_unlike: enc-1



=== TEST 12: kid characters are JSON-escaped (quote, backslash, a control character; UTF-8 as is)
The kid comes from a JWK: "q\"u\\o/té\u0001".
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_HTML_DIR/k.json;
        jwt_jwks;
    }
--- user_files
>>> k.json
{"kty":"OKP","crv":"Ed25519","kid":"q\"u\\o/té\u0001","x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"}
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[\{(?=(?:[^{}]*,)?"kid":"q\\"u\\\\o\/té\\u0001"[,}])(?=(?:[^{}]*,)?"kty":"OKP"[,}])(?=(?:[^{}]*,)?"alg":"EdDSA"[,}])[^{}]*\}\]\}$/



=== TEST 13: HEAD: 200, the same headers and length as GET, no body
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks;
    }
--- request
HEAD /jwks
--- error_code: 200
--- response_headers
Content-Type: application/jwk-set+json
Cache-Control: public, max-age=300
Content-Length: 424
--- response_body:
--- no_error_log
[error]



=== TEST 14: POST with a body: 405 with Allow: GET, HEAD; the body is discarded and the kept-alive connection serves a GET next
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks;
    }
--- raw_request eval
"POST /jwks HTTP/1.1\r
Host: localhost\r
Content-Type: application/json\r
Content-Length: 24\r
\r
{\"keys\":[{\"kty\":\"oct\"}]}GET /jwks HTTP/1.1\r
Host: localhost\r
Connection: close\r
\r
"
--- ignore_response
--- access_log
"POST /jwks HTTP/1.1" 405
"GET /jwks HTTP/1.1" 200 424
--- no_error_log
[error]



=== TEST 15: POST: 405, Allow: GET, HEAD, no Cache-Control, no JWKS in the body
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks;
    }
--- request
POST /jwks
{}
--- error_code: 405
--- response_headers
Allow: GET, HEAD
!Cache-Control
--- response_body_unlike: "keys"



=== TEST 16: PUT, DELETE, OPTIONS, PATCH: 405 with Allow: GET, HEAD
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks;
    }
--- pipelined_requests eval
["PUT /jwks\nx", "DELETE /jwks", "OPTIONS /jwks", "PATCH /jwks\nx"]
--- error_code eval
[405, 405, 405, 405]
--- response_headers eval
["Allow: GET, HEAD", "Allow: GET, HEAD", "Allow: GET, HEAD", "Allow: GET, HEAD"]



=== TEST 17: a query string does not change the answer
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1;
        jwt_jwks;
    }
--- request
GET /jwks?kid=other&format=pem
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"OKP"[,}])
      (?=(?:[^{}]*,)?"kid":"ed-1"[,}])
      (?=(?:[^{}]*,)?"alg":"EdDSA"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"Ed25519"[,}])
      (?=(?:[^{}]*,)?"x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x



=== TEST 18: max_age= sets Cache-Control: 1h, 90 (seconds), 1d12h, 0
--- config
    location = /h     { jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1; jwt_jwks max_age=1h; }
    location = /s     { jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1; jwt_jwks max_age=90; }
    location = /d     { jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1; jwt_jwks max_age=1d12h; }
    location = /zero  { jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1; jwt_jwks max_age=0; }
--- pipelined_requests eval
["GET /h", "GET /s", "GET /d", "GET /zero"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["Cache-Control: public, max-age=3600", "Cache-Control: public, max-age=90",
 "Cache-Control: public, max-age=129600", "Cache-Control: public, max-age=0"]



=== TEST 19: HEAD with max_age=: the same Cache-Control
--- config
    location = /jwks { jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1; jwt_jwks max_age=10m; }
--- request
HEAD /jwks
--- error_code: 200
--- response_headers
Cache-Control: public, max-age=600
Content-Type: application/jwk-set+json



=== TEST 20: the key ring inherited from the server level
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.key kid=ec-256;
    location = /.well-known/jwks.json {
        jwt_jwks;
    }
--- request
GET /.well-known/jwks.json
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
    ,
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-256"[,}])
      (?=(?:[^{}]*,)?"alg":"ES256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-256"[,}])
      (?=(?:[^{}]*,)?"x":"pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc"[,}])
      (?=(?:[^{}]*,)?"y":"krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x



=== TEST 21: the key ring inherited from the http level, through an enclosing location
--- http_config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.pub.pem kid=ec-384;
--- config
    location /.well-known/ {
        location = /.well-known/jwks.json {
            jwt_jwks;
        }
    }
--- request
GET /.well-known/jwks.json
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-384"[,}])
      (?=(?:[^{}]*,)?"alg":"ES384"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-384"[,}])
      (?=(?:[^{}]*,)?"x":"zjTGTWBVwkJUKkI1i01MPVGMouWepmbNIB987aE__H5w1UgG3M8cg4UuYZVI129V"[,}])
      (?=(?:[^{}]*,)?"y":"MwojUunXGCjA9XtPARQU0gPjG3l-Y5Mjmw2iftTN7rx9N1V4MTMiu9jh_CpbJ5pc"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x



=== TEST 22: a location with its own jwt_key_file publishes its own ring only, not the server's
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=server-rsa;
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1;
        jwt_jwks;
    }
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"OKP"[,}])
      (?=(?:[^{}]*,)?"kid":"ed-1"[,}])
      (?=(?:[^{}]*,)?"alg":"EdDSA"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"Ed25519"[,}])
      (?=(?:[^{}]*,)?"x":"5LgHYOzUVcJ2k-6Za7lLaOdMopvgfcNYL-PXsShty1g"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x
--- response_body_unlike: server-rsa



=== TEST 23: a server-level ring of an HMAC secret and a public key: only the public key is published
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=hmac-1;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.pub.pem kid=ec-256;
    location = /jwks {
        jwt_jwks;
    }
--- request
GET /jwks
--- error_code: 200
--- response_body_like eval
qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"EC"[,}])
      (?=(?:[^{}]*,)?"kid":"ec-256"[,}])
      (?=(?:[^{}]*,)?"alg":"ES256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"crv":"P-256"[,}])
      (?=(?:[^{}]*,)?"x":"pirDNOUFJuWz7L8swfVHXtKgyTR4c6gXcP7snJDBGpc"[,}])
      (?=(?:[^{}]*,)?"y":"krJDKQHvUqx8L_4_DaMy7LrKw6OivnAe4WNpCTgAtwY"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){6}
    \}
\]\}$/x
--- response_body_unlike: hmac-1|oct|ngx-jwt-test-secret|bmd4LWp3dC10ZXN0



=== TEST 24: jwt_verify on at the server level applies to the JWKS location too: "jwt_verify off" there publishes it
A JWKS location is an ordinary content location: an inherited jwt_verify protects it like
any other (401 without a token), so a server that verifies everything exempts it.
--- config
    jwt_verify on;
    jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
    location = /protected-jwks { jwt_jwks; }
    location = /jwks { jwt_verify off; jwt_jwks; }
--- pipelined_requests eval
["GET /protected-jwks", "GET /jwks"]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/401 Authorization Required/, qr/^\{"keys":\[
    \{
      (?=(?:[^{}]*,)?"kty":"RSA"[,}])
      (?=(?:[^{}]*,)?"kid":"rsa-1"[,}])
      (?=(?:[^{}]*,)?"alg":"RS256"[,}])
      (?=(?:[^{}]*,)?"use":"sig"[,}])
      (?=(?:[^{}]*,)?"n":"vwkITt7GbBAPXsAE14XCFFqfFg3bV3t7Y9JsF_BO118q_vxkNkvmiMQ7SXJW8UWzj__vAQAfFaXOZ4mQrX8inqhQjcqRJE_7spNP8y_DII4qCOGmcshthO6sdTFuR2xnGLIKmUkzsW-YFf-J6JMtVR-CC2rniaoZnreENAbxbhMomTfdF4YYg098BOahBcYeQhdr_uTIUdFuW_u2jqfn9DUR-NT3ArzU9ED4sXkUUlDVSKNmXzaX9Y-sjmOtty0WkZipIEmUu1aHSP8EzE1uUsl0hc2-4_QWtIFVAwCsXdaHBsYpI_TErxdRPQjOQfDeu35v5xXbd_x32ROfq7HCOw"[,}])
      (?=(?:[^{}]*,)?"e":"AQAB"[,}])
      "\w+":"[^"]*"(?:,"\w+":"[^"]*"){5}
    \}
\]\}$/x]



=== TEST 25: the published JWKS works as the jwt_key_request source of the same server
Tokens (fixtures/tokens/): rs256-jwks (kid rsa-1, signed by keys/rsa.key) and rs256 (the same
key, no kid) pass; an RS256 token of kid rsa-2 (header {"alg":"RS256","typ":"JWT","kid":"rsa-2"},
not published) fails with "key".
--- config
    location = /_jwks {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=oct-1;
        jwt_jwks;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_token $arg_t;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- pipelined_requests eval
["GET /t?t=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg",
"GET /t?t=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.GYBf1w8YCvDeLoN55xPVLFvUgJKYeIEiVoyyDQFR4kTYXdWEeeBuBQYEZiLh1n6xX3re1aR4hsHYHKZwXbpXGK4WRTSAcH6en3sS38p0JqZPZC-DaGrGDkCMwX7mvzMtC2pFyIF7pz5ZczUoaJv_rQhOclebfcaudCrkElRvSg--Wp4O39oOOOF_hykbV_SPBEc4SvczDX1i665AJDQPB_z3O-rlhay_oOq8EngRaF_I7bbGyx79Eibh8oltP2RdiBBo8I5Q4XaZchNo9htWk3u6VAXragVMsGO7_IopawJ4CSb61fVe7agwaNawhkExQS4SactPavn7VS-y5APXuQ",
"GET /t?t=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0yIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.U1koLE8PTIZgtiXskvTlQcizPcMCDfimMU07DsdZzebZHWdl5zO7twrIL6jD4epQy5Sr3FZLxRzto6NU5WO26dCqWXzG-nhaStruUB9ta8HxY0U9WNnCQhTq0yQTOOyRDeVhkkiojnuwnvX_GJ6u0fiGcEc5HlP53cnhP1V62Bh4AG8Q5s19g8akO70hPbJaT8BSDVJYtGotPySHL9ehDNSu0PsNQ8odnPMMOSI2O5ZI8Wz4nKt-uGhtMguOfITAjxkptBGnkrUBrUPbDziQ_tEpkprMCg2c3lByXgtq6q0ym9k7uXpy8UcE2JYY43T3nw42K43UWvEG5h9b0bzckg"]
--- error_code eval
[200, 200, 401]
--- response_headers eval
["!X-Jwt-Error", "!X-Jwt-Error", "X-Jwt-Error: key"]
--- response_body_like eval
[qr/^ok\n$/, qr/^ok\n$/, qr/401 Authorization Required/]



=== TEST 26: tokens of keys the published JWKS does not have fail against it: an EC key, an HMAC secret in the published ring
es256-jwks (kid ec-1) and hs256-jwks (kid oct-1: an HMAC secret of /_jwks's ring, never
published). The reason is "key" or "algorithm": the set has no such kid, and offers RS256 only.
--- config
    location = /_jwks {
        internal;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=oct-1;
        jwt_jwks;
    }
    location = /t {
        jwt_verify on;
        jwt_key_request /_jwks;
        jwt_token $arg_t;
        add_header X-Jwt-Error $jwt_error always;
        alias $TEST_NGINX_HTML_DIR/ok.txt;
    }
--- user_files
>>> ok.txt
ok
--- pipelined_requests eval
["GET /t?t=eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjLTEifQ.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.pR6RjmTPzM1IR86DSpfOp-KEpfnSlwtIp730jJ7v8bqQy9OFlFUINxcJHodToFFKCbQ7kgqTIAKzwIiUiQ3zyA",
"GET /t?t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im9jdC0xIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.FgX9Lu2YCWJ0ae1kOdlZ3b70RTl4QRMzz5GA0Aan-yg"]
--- error_code eval
[401, 401]
--- response_headers_like eval
["X-Jwt-Error: (key|algorithm)", "X-Jwt-Error: (key|algorithm)"]
--- response_body_like eval
[qr/401 Authorization Required/, qr/401 Authorization Required/]



=== TEST 27: jwt_login signs with the kid of its key: the token header is {"alg":"RS256","typ":"JWT","kid":"rsa-1"}
The header segment is base64url('{"alg":"RS256","typ":"JWT","kid":"rsa-1"}').
--- config
    location = /login {
        jwt_login /authenticate;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
    }
    location = /authenticate {
        internal;
        return 200 '{"sub":"alice"}';
    }
--- request
POST /login
{}
--- error_code: 200
--- response_body_like: ^\{"token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{342}","token_type":"Bearer","expires_in":3600\}$



=== TEST 28: config error: a ring of HMAC secrets only has nothing to publish
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key kid=hmac-1;
        jwt_jwks;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_jwks" has no public key to publish: add a "jwt_key_file" with an RSA, EC or Ed25519 key \(HMAC secrets are never published\) in \S+nginx\.conf:\d+/



=== TEST 29: config error: jwt_jwks without any key
--- config
    location = /jwks {
        jwt_jwks;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_jwks" has no public key to publish: add a "jwt_key_file" .* in \S+nginx\.conf:\d+/



=== TEST 30: config error: remote keys (jwt_key_request) are not published
--- config
    location = /jwks {
        jwt_key_request /_jwks;
        jwt_jwks;
    }
    location = /_jwks { internal; return 200 '{"keys":[]}'; }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_jwks" has no public key to publish.* in \S+nginx\.conf:\d+/



=== TEST 31: config error: a public key without a kid, next to one with a kid
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec384.pub.pem;
        jwt_jwks;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_jwks" publishes keys by kid, and the EC P-384 public key has none: give it one with "jwt_key_file FILE kid=NAME" \(or a "kid" in its JWK\) in \S+nginx\.conf:\d+/



=== TEST 32: config error: a private key without a kid, inherited from the server level
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key;
    location = /jwks {
        jwt_jwks;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_jwks" publishes keys by kid, and the RSA-2048 private key has none: give it one with "jwt_key_file FILE kid=NAME".* in \S+nginx\.conf:\d+/



=== TEST 33: config error: a kid-less HMAC secret does not matter (never published), a kid-less Ed25519 key does
--- config
    location = /ok {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.key kid=ed-1;
        jwt_jwks;
    }
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ed25519.pub.pem;
        jwt_jwks;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"jwt_jwks" publishes keys by kid, and the Ed25519 public key has none.* in \S+nginx\.conf:\d+/



=== TEST 34: config error: a parameter typo (maxage=)
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks maxage=1h;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: invalid parameter "maxage=1h" in "jwt_jwks": the only parameter is max_age=TIME \(default 5m\) in \S+nginx\.conf:\d+/



=== TEST 35: config error: max_age= is not a time
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks max_age=soon;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: invalid time "soon" in "jwt_jwks": from 0 to 68y \(RFC 9111's 2147483648 seconds; examples: 5m, 1h\) in \S+nginx\.conf:\d+/



=== TEST 36: config error: max_age= empty
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks max_age=;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: invalid time "" in "jwt_jwks": from 0 to 68y \(RFC 9111's 2147483648 seconds; examples: 5m, 1h\) in \S+nginx\.conf:\d+/



=== TEST 37: config error: max_age=-1
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks max_age=-1;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: invalid time "-1" in "jwt_jwks": from 0 to 68y \(RFC 9111's 2147483648 seconds; examples: 5m, 1h\) in \S+nginx\.conf:\d+/



=== TEST 38: config error: two parameters
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks max_age=1h max_age=2h;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: invalid number of arguments in "jwt_jwks" directive in \S+nginx\.conf:\d+/



=== TEST 39: config error: jwt_jwks at the server level is refused by nginx
--- config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
    jwt_jwks;
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "jwt_jwks" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 40: config error: jwt_jwks at the http level is refused by nginx
--- http_config
    jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
    jwt_jwks;
--- config
    location = /t { return 200; }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "jwt_jwks" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 41: config error: jwt_jwks inside "if" is refused by nginx
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        if ($arg_x) {
            jwt_jwks;
        }
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "jwt_jwks" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 42: config error: a duplicate jwt_jwks
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks;
        jwt_jwks max_age=1h;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "jwt_jwks" directive is duplicate in \S+nginx\.conf:\d+/


=== TEST 43: config error: max_age= above RFC 9111's 2^31 seconds
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=rsa-1;
        jwt_jwks max_age=99999999999d;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: invalid time "99999999999d" in "jwt_jwks": from 0 to 68y .* in \S+nginx\.conf:\d+/



=== TEST 44: config error: two different keys with one kid would be published
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=same;
        jwt_key_file $TEST_NGINX_FIXTURES/keys/ec256.key kid=same;
        jwt_jwks;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "jwt_jwks" would publish two keys with the kid "same": consumers pick a key by kid \(RFC 7517 §4\.5\), give each key its own in \S+nginx\.conf:\d+/



=== TEST 45: config error: jwt_jwks and jwt_login in one location (jwt_login first)
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=r;
        jwt_login /authenticate;
        jwt_jwks;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "jwt_jwks" and "jwt_login" \(at \S+nginx\.conf:\d+\) both answer this location: give each its own location in \S+nginx\.conf:\d+/



=== TEST 46: config error: jwt_jwks and jwt_login in one location (jwt_jwks first)
--- config
    location = /jwks {
        jwt_key_file $TEST_NGINX_FIXTURES/keys/rsa.key kid=r;
        jwt_jwks;
        jwt_login /authenticate;
    }
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "jwt_jwks" and "jwt_login" \(at \S+nginx\.conf:\d+\) both answer this location/
