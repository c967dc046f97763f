//! Identity-provider key sets end to end, through the public API only: each
//! fixture of t/fixtures/providers/ is parsed as a fetched JWKS, installed in
//! a `RemoteKeys`, and must verify tokens that an independent signer (the
//! `jsonwebtoken` crate, standing in for the provider) issues with the
//! matching private key and kid.

use std::sync::Arc;

use jsonwebtoken::{encode, EncodingKey, Header};
use jwt_core::{parse_remote_jwks, KeyRing, RemoteKeys, Verifier, VerifyPolicy};

const NOW: u64 = 1_700_000_000;

fn provider(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../t/fixtures/providers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A token as the provider would issue it: signed with `private`, with the
/// kid of the published key and the given `typ`.
fn provider_token(
    private: &str,
    kid: &str,
    alg: jsonwebtoken::Algorithm,
    typ: Option<&str>,
) -> String {
    let pem = provider(&format!("{private}.key.pem"));
    let key = match alg {
        jsonwebtoken::Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        jsonwebtoken::Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header.typ = typ.map(str::to_owned);
    let claims =
        serde_json::json!({"sub": private, "iss": "https://idp.example", "exp": NOW + 300});
    encode(&header, &claims, &key).unwrap()
}

fn verifier(policy: VerifyPolicy, file: &str) -> Verifier {
    let remote = Arc::new(RemoteKeys::new());
    remote.install(parse_remote_jwks(&provider(file)).unwrap(), 1);
    Verifier::with_remote_keys(policy, KeyRing::new(), 64, remote).unwrap()
}

#[test]
fn each_provider_set_verifies_the_providers_tokens() {
    use jsonwebtoken::Algorithm::{EdDSA, ES256, RS256};
    let cases = [
        ("keycloak.json", &[("keycloak", RS256)][..]),
        ("auth0.json", &[("auth0", RS256), ("auth0-2", RS256)]),
        ("entra.json", &[("entra", RS256), ("entra-2", RS256)]),
        ("cognito.json", &[("cognito", RS256), ("cognito-2", RS256)]),
        ("google.json", &[("google", RS256), ("google-2", RS256)]),
        (
            "mixed.json",
            &[
                ("mixed-rsa", RS256),
                ("mixed-ec", ES256),
                ("mixed-ed25519", EdDSA),
            ],
        ),
    ];
    for (file, signers) in cases {
        let set = parse_remote_jwks(&provider(file)).unwrap();
        let v = verifier(VerifyPolicy::default(), file);
        for (key, (private, alg)) in set.keys().iter().zip(signers) {
            let token = provider_token(private, key.kid().unwrap(), *alg, Some("JWT"));
            let verified = v
                .verify(token.as_bytes(), NOW)
                .unwrap_or_else(|e| panic!("{file} {private}: {e}"));
            assert_eq!(verified.claim("sub").unwrap(), *private);
            // A cache hit says the same.
            assert!(v.verify(token.as_bytes(), NOW).is_ok());
        }
    }
}

#[test]
fn access_tokens_are_told_apart_by_typ() {
    let set = parse_remote_jwks(&provider("keycloak.json")).unwrap();
    let kid = set.keys()[0].kid().unwrap();
    let v = verifier(
        VerifyPolicy {
            typ: Some("at+jwt".into()),
            issuer: Some("https://idp.example".into()),
            ..Default::default()
        },
        "keycloak.json",
    );
    let rs = jsonwebtoken::Algorithm::RS256;
    for (typ, expected) in [
        (Some("at+jwt"), "ok"),
        (Some("application/at+jwt"), "ok"),
        (Some("JWT"), "typ"),
        (None, "typ"),
    ] {
        let token = provider_token("keycloak", kid, rs, typ);
        let got = match v.verify(token.as_bytes(), NOW) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got, expected, "{typ:?}");
    }
}

#[test]
fn an_entra_key_signs_pss_only_when_jwt_algorithms_says_so() {
    let set = parse_remote_jwks(&provider("entra.json")).unwrap();
    let kid = set.keys()[0].kid().unwrap();
    let token = provider_token("entra", kid, jsonwebtoken::Algorithm::PS256, None);
    let default = verifier(VerifyPolicy::default(), "entra.json");
    // The header passes (a remote verifier without a list allows every asymmetric algorithm),
    // but the key, published without "alg", serves RS256 only.
    assert_eq!(
        default.verify(token.as_bytes(), NOW).unwrap_err().code(),
        "key"
    );
    let listed = verifier(
        VerifyPolicy {
            algorithms: Some(vec![jwt_core::Algorithm::RS256, jwt_core::Algorithm::PS256]),
            ..Default::default()
        },
        "entra.json",
    );
    assert!(listed.verify(token.as_bytes(), NOW).is_ok());
}
