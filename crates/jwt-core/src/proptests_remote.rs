//! Property tests of remote key sets, the verifier that uses them, `typ` and
//! key publication; same kinds of property as src/proptests.rs:
//!
//! * **robustness**: [`parse_remote_jwks`] on any bytes or any JWKS-shaped
//!   document returns within [`LIMIT`], accounts for every key (usable or
//!   skipped with a line) and never yields a secret or a signing key;
//! * **leniency**: usable keys survive whatever junk keys surround them;
//! * **models**: the `typ` comparison, the inferred-RSA rule and the cache
//!   against a restatement of the rule or a cacheless verifier;
//! * **round trips**: a published JWK read back verifies its private key's
//!   signatures.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use serde_json::{json, Map, Value};

use crate::key::remote::tests::{provider, provider_key, provider_set};
use crate::test_support::{b64, fixture, generated_key, key, ring, secret, signed};
use crate::*;

const NOW: u64 = 1_700_000_000;

/// See src/proptests.rs: far above the real cost, far below a blow-up.
const LIMIT: Duration = Duration::from_secs(1);

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    assert!(elapsed < LIMIT, "{what} took {elapsed:?}");
    out
}

fn claims() -> String {
    format!(r#"{{"sub":"p","exp":{}}}"#, NOW + 600)
}

// ---- parse_remote_jwks ------------------------------------------------------------

/// A member value: base64url of a plausible or random length, a short string
/// or a value of another type.
fn member() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop_oneof![
            vec(any::<u8>(), 0..80),
            vec(any::<u8>(), 32..33),
            vec(any::<u8>(), 256..257),
        ]
        .prop_map(|b| Value::from(b64(b))),
        1 => "[A-Za-z0-9_=+/-]{0,12}".prop_map(Value::from),
        1 => prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            vec("[a-z]{0,6}", 0..3).prop_map(Value::from),
        ],
    ]
}

/// JWK-shaped objects as providers might publish them: real member names,
/// random combinations, including the ones that must be skipped.
fn remote_jwk() -> impl Strategy<Value = Value> {
    let pick = |names: &'static [&'static str]| proptest::option::of(select(names));
    let kty = pick(&["RSA", "EC", "OKP", "oct", "XYZ", "rsa"]);
    let crv = pick(&[
        "P-256", "P-384", "P-521", "Ed25519", "X25519", "Ed448", "P-256K",
    ]);
    let alg = pick(&[
        "RS256", "PS384", "ES256", "ES512", "EdDSA", "HS256", "RSA-OAEP", "ECDH-ES", "none", "x",
    ]);
    let key_use = pick(&["sig", "enc", "Sig"]);
    let key_ops = proptest::option::of(vec(select(&["verify", "sign", "encrypt"][..]), 0..3));
    let members = btree_map(
        select(
            &[
                "k", "n", "e", "x", "y", "d", "p", "q", "x5c", "x5t", "x5t#S256", "issuer",
            ][..],
        ),
        member(),
        0..6,
    );
    let kid = proptest::option::of(prop_oneof!["[a-z]{0,3}".prop_map(Value::from), member()]);
    (kty, crv, alg, key_use, key_ops, members, kid).prop_map(
        |(kty, crv, alg, key_use, key_ops, members, kid)| {
            let mut object = Map::new();
            for (name, value) in [("kty", kty), ("crv", crv), ("alg", alg), ("use", key_use)] {
                if let Some(value) = value {
                    object.insert(name.into(), value.into());
                }
            }
            if let Some(ops) = key_ops {
                object.insert("key_ops".into(), ops.into());
            }
            if let Some(kid) = kid {
                object.insert("kid".into(), kid);
            }
            object.extend(
                members
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value)),
            );
            Value::Object(object)
        },
    )
}

/// A public JWK fixture, sometimes with one member replaced or removed.
fn fixture_jwk() -> impl Strategy<Value = Value> {
    let files = select(
        &[
            "rsa2048.public.jwk",
            "rsa2048.private.jwk",
            "p256.public.jwk",
            "p384.private.jwk",
            "p521.public.jwk",
            "ed25519.public.jwk",
            "ed25519.private.jwk",
        ][..],
    );
    (
        files,
        any::<proptest::sample::Index>(),
        proptest::option::of(proptest::option::of(member())),
    )
        .prop_map(|(file, which, change)| {
            let mut jwk: Map<String, Value> = serde_json::from_slice(&fixture(file)).unwrap();
            if let Some(change) = change {
                let names: Vec<String> = jwk.keys().cloned().collect();
                let name = names[which.index(names.len())].clone();
                match change {
                    Some(value) => jwk.insert(name, value),
                    None => jwk.remove(&name),
                };
            }
            Value::Object(jwk)
        })
}

fn any_key_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => remote_jwk(),
        3 => fixture_jwk(),
        1 => member(),
    ]
}

fn remote_document() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any_key_value(), 0..6)
            .prop_map(|keys| json!({ "keys": keys }).to_string().into_bytes()),
        1 => any_key_value().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #![proptest_config(Config::with_cases(1024))]

    #[test]
    fn every_key_is_used_or_skipped_with_a_line(document in remote_document()) {
        let keys_in = serde_json::from_slice::<Value>(&document)
            .ok()
            .and_then(|v| v.get("keys").and_then(Value::as_array).map(Vec::len));
        match bounded("parse_remote_jwks", || parse_remote_jwks(&document)) {
            Ok(set) => {
                prop_assert!(!set.is_empty());
                prop_assert_eq!(Some(set.len() + set.skipped().len()), keys_in);
                for key in set.keys() {
                    prop_assert!(!key.can_sign(), "{:?}", key);
                    prop_assert_ne!(key.family(), Family::Hmac);
                    prop_assert!(!key.algorithms().is_empty());
                    prop_assert!(key.public_jwk().is_some());
                    if key.alg_inferred() {
                        prop_assert_eq!(key.algorithms(), vec![Algorithm::RS256]);
                    }
                }
                for alg in set.supported_algorithms() {
                    prop_assert!(set.keys().iter().any(|k| k.supports(*alg)));
                }
                for line in set.skipped() {
                    prop_assert!(line.starts_with("key #"), "{}", line);
                    prop_assert!(!line.contains('\n'), "{}", line);
                }
            }
            Err(KeyError::NoUsableRemoteKeys { skipped }) => {
                prop_assert_eq!(Some(skipped.len()), keys_in);
            }
            Err(KeyError::NotAJwks { .. }) => prop_assert_eq!(keys_in, None),
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }

    /// A skip line quotes network values cut to 64 characters, escaped: one
    /// short log line whatever the provider publishes.
    #[test]
    fn skip_lines_stay_short_and_on_one_line(
        kty in select(&["RSA", "EC", "OKP", "oct", "XYZ"][..]),
        member in select(&["kty", "crv", "alg", "use", "kid"][..]),
        value in vec(any::<char>(), 200..400).prop_map(String::from_iter),
    ) {
        let mut jwk = json!({"kty": kty, "crv": "P-256", "x": "AQAB", "y": "AQAB", "n": "AQAB", "e": "AQAB"});
        jwk[member] = value.into();
        let text = json!({ "keys": [jwk] }).to_string();
        let Err(KeyError::NoUsableRemoteKeys { skipped }) = parse_remote_jwks(text.as_bytes()) else {
            panic!("{text}");
        };
        prop_assert_eq!(skipped.len(), 1);
        // 64 characters, each escaped to at most 10 ("\\u{10ffff}"), and the text.
        prop_assert!(skipped[0].chars().count() < 10 * 64 + 150, "{}", skipped[0]);
        prop_assert!(!skipped[0].chars().any(char::is_control), "{:?}", skipped[0]);
    }

    /// A provider's usable keys are never lost to the junk around them, and
    /// keep their document order.
    #[test]
    fn usable_keys_survive_any_junk(
        junk in vec(remote_jwk(), 0..5),
        valid in vec(select(&["rsa2048.public.jwk", "p256.public.jwk", "p521.public.jwk", "ed25519.private.jwk"][..]), 1..4),
        order in vec(any::<bool>(), 0..9),
    ) {
        let mut valid_keys = valid.iter().enumerate().map(|(i, file)| {
            let mut jwk: Value = serde_json::from_slice(&fixture(file)).unwrap();
            jwk["kid"] = format!("valid-{i}").into();
            jwk
        });
        let mut junk_keys = junk.into_iter().map(|mut jwk| {
            jwk["kid"] = "junk".into();
            jwk
        });
        // Interleave as `order` says, then append what is left.
        let mut keys = Vec::new();
        for take_valid in order {
            let next = if take_valid { valid_keys.next() } else { junk_keys.next() };
            keys.extend(next);
        }
        keys.extend(valid_keys);
        keys.extend(junk_keys);
        let set = parse_remote_jwks(json!({ "keys": keys }).to_string().as_bytes()).unwrap();
        let kept: Vec<&str> = set.keys().iter().filter_map(Key::kid).filter(|k| k.starts_with("valid-")).collect();
        let expected: Vec<String> = (0..valid.len()).map(|i| format!("valid-{i}")).collect();
        prop_assert_eq!(kept, expected);
    }
}

// ---- typ ----------------------------------------------------------------------------

/// Media type spellings: the same few types with and without "application/",
/// in any casing, and near misses.
fn typ_text() -> impl Strategy<Value = String> {
    let base = select(&["at+jwt", "jwt", "at+jwt2", "example/at+jwt", "", "a/b/c"][..]);
    let prefix = select(
        &[
            "",
            "application/",
            "APPLICATION/",
            "text/",
            "application/application/",
        ][..],
    );
    (prefix, base, vec(any::<bool>(), 32)).prop_map(|(prefix, base, upper)| {
        format!("{prefix}{base}")
            .chars()
            .zip(upper.into_iter().cycle())
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// RFC 7515 §4.1.9, restated: "application/" is implied before a value
/// without '/', and media types compare case-insensitively.
fn full_media_type(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if lower.contains('/') {
        lower
    } else {
        format!("application/{lower}")
    }
}

proptest! {
    #[test]
    fn typ_matches_per_rfc_7515(expected in typ_text(), found in proptest::option::of(typ_text())) {
        let hs = secret(32, b't', None);
        let policy = VerifyPolicy { typ: Some(expected.clone()), ..Default::default() };
        let v = Verifier::new(policy, ring(std::slice::from_ref(&hs)), 0).unwrap();
        let mut header = json!({"alg": "HS256"});
        if let Some(found) = &found {
            header["typ"] = found.clone().into();
        }
        let token = signed(&hs, Algorithm::HS256, &header.to_string(), &claims());
        let model = found.as_deref().is_some_and(|f| full_media_type(f) == full_media_type(&expected));
        let got = v.verify(token.as_bytes(), NOW).map(|_| ()).map_err(|e| e.code());
        prop_assert_eq!(got, if model { Ok(()) } else { Err("typ") }, "{:?} vs {:?}", expected, found);
    }
}

// ---- the verifier with remote keys -------------------------------------------------

const RSA: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// One token per RSA algorithm from Entra's first key (published without
/// `alg`), signed once: RSA signing is slow.
fn entra_tokens() -> &'static Vec<(Algorithm, String)> {
    static TOKENS: OnceLock<Vec<(Algorithm, String)>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let set = provider_set("entra.json");
        let kid = set.keys()[0].kid().unwrap().to_owned();
        let private = provider_key("entra");
        RSA.into_iter()
            .map(|alg| {
                let header = json!({"alg": alg.name(), "kid": kid}).to_string();
                (alg, signed(&private, alg, &header, &claims()))
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(Config::with_cases(128))]

    /// An RSA key without `alg` verifies RS256 when allowed, and any other
    /// RSA algorithm only when jwt_algorithms names it.
    #[test]
    fn an_inferred_rsa_key_follows_the_policy_list(
        listed in proptest::option::of(proptest::sample::subsequence(RSA.to_vec(), 1..=6)),
        which in 0usize..6,
    ) {
        let remote = Arc::new(RemoteKeys::new());
        let policy = VerifyPolicy { algorithms: listed.clone(), ..Default::default() };
        let v = Verifier::with_remote_keys(policy, KeyRing::new(), 0, Arc::clone(&remote)).unwrap();
        remote.install(parse_remote_jwks(&provider("entra.json")).unwrap(), 1);
        let (alg, token) = &entra_tokens()[which];
        let model = match &listed {
            None => *alg == Algorithm::RS256,
            Some(list) => list.contains(alg),
        };
        let got = v.verify(token.as_bytes(), NOW).map(|_| ()).map_err(|e| e.code());
        // Without a list every asymmetric algorithm reaches the key step (`key`); a list refuses
        // the others at the header (`algorithm`).
        let refused = if listed.is_some() { "algorithm" } else { "key" };
        prop_assert_eq!(got, if model { Ok(()) } else { Err(refused) }, "{} with {:?}", alg, listed);
    }
}

/// Tokens of three providers' keys, and the sets that do or do not hold them.
struct Rotation {
    sets: Vec<RemoteKeySet>,
    tokens: Vec<String>,
}

fn rotation() -> &'static Rotation {
    static ROTATION: OnceLock<Rotation> = OnceLock::new();
    ROTATION.get_or_init(|| {
        let google = provider_set("google.json");
        let auth0 = provider_set("auth0.json");
        let mixed = provider_set("mixed.json");
        let token = |set: &RemoteKeySet, index: usize, private: &str, alg: Algorithm| {
            let kid = set.keys()[index].kid().unwrap();
            let header = json!({"alg": alg.name(), "kid": kid}).to_string();
            signed(&provider_key(private), alg, &header, &claims())
        };
        let tokens = vec![
            token(&google, 0, "google", Algorithm::RS256),
            token(&google, 1, "google-2", Algorithm::RS256),
            token(&auth0, 0, "auth0", Algorithm::RS256),
            token(&mixed, 1, "mixed-ec", Algorithm::ES256),
            token(&mixed, 2, "mixed-ed25519", Algorithm::EdDSA),
        ];
        Rotation {
            sets: vec![google, auth0, mixed],
            tokens,
        }
    })
}

#[derive(Clone, Debug)]
enum Step {
    Install(usize),
    Verify(usize),
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    /// Whatever sets come and go, the caching verifier says exactly what a
    /// verifier without a cache says: a hit is never served under a set that
    /// no longer holds its key.
    #[test]
    fn the_cache_never_outlives_the_key_set(
        steps in vec(prop_oneof![
            (0usize..3).prop_map(Step::Install),
            (0usize..5).prop_map(Step::Verify),
        ], 1..24),
    ) {
        let Rotation { sets, tokens } = rotation();
        let remote = Arc::new(RemoteKeys::new());
        let with_cache = |capacity| {
            Verifier::with_remote_keys(VerifyPolicy::default(), KeyRing::new(), capacity, Arc::clone(&remote)).unwrap()
        };
        let (cached, uncached) = (with_cache(2), with_cache(0));
        for (generation, step) in steps.into_iter().enumerate() {
            match step {
                Step::Install(set) => remote.install(sets[set].clone(), generation as u64),
                Step::Verify(token) => {
                    let code = |v: &Verifier| v.verify(tokens[token].as_bytes(), NOW).map(|_| ()).map_err(|e| e.code());
                    prop_assert_eq!(code(&cached), code(&uncached));
                }
            }
        }
    }
}

// ---- publication ----------------------------------------------------------------------

proptest! {
    #![proptest_config(Config::with_cases(64))]

    /// Fresh EC and Ed25519 keys (so coordinates with leading zero bytes turn
    /// up too): the published JWK has full-length members and, read back as a
    /// key file or as a remote set, verifies what the private key signs.
    #[test]
    fn a_published_jwk_reads_back_as_the_same_key(
        kind in select(&["P-256", "P-384", "P-521", "Ed25519"][..]),
        kid in proptest::option::of("[a-zA-Z0-9._-]{1,12}"),
        message in vec(any::<u8>(), 0..64),
    ) {
        let private = generated_key(kind);
        let mut jwk = private.public_jwk().unwrap();
        prop_assert!(!jwk.contains_key("kid"));
        if let Some(kid) = &kid {
            jwk.insert("kid".into(), kid.clone().into());
        }
        let len: usize = match kind { "P-256" => 32, "P-384" => 48, "P-521" => 66, _ => 32 };
        for name in ["x", "y"] {
            if let Some(Value::String(text)) = jwk.get(name) {
                prop_assert_eq!(text.len(), (len * 4).div_ceil(3), "{} of {}", name, kind);
            }
        }
        let alg = private.default_sign_algorithm().unwrap();
        prop_assert_eq!(&jwk["alg"], alg.name());
        let signature = private.sign(alg, &message).unwrap();
        let text = json!({ "keys": [Value::Object(jwk.clone())] }).to_string();
        let from_file = load_keys(text.as_bytes(), None).unwrap().remove(0);
        let from_remote = parse_remote_jwks(text.as_bytes()).unwrap().keys()[0].clone();
        for back in [from_file, from_remote] {
            prop_assert!(back.verify_signature(alg, &message, &signature));
            prop_assert_eq!(back.kid(), kid.as_deref());
            prop_assert_eq!(back.public_jwk(), Some(jwk.clone()));
        }
    }
}

#[test]
fn rsa_publication_uses_minimal_integers() {
    for file in [
        "rsa2048.pkcs8.pem",
        "rsa2048.cert.pem",
        "rsa2048-other.spki.pem",
    ] {
        let jwk = key(file).public_jwk().unwrap();
        let n = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwk["n"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(n.len(), 256, "{file}");
        assert_ne!(n[0], 0, "{file}");
        assert_eq!(jwk["e"], "AQAB", "{file}");
    }
}
