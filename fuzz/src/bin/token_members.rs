//! The reader that takes `alg`/`kid`/`typ`/`crit` from a header and `exp`/`nbf`/`iat`/`iss`/
//! `aud` from the claims without building a map (jwt-core token/members.rs), on arbitrary text.
//!
//! Oracles: no panic; it accepts exactly the JSON objects serde_json's map parse accepts (so
//! the map a verified token builds later from accepted text cannot fail); each member read is
//! the map's value (the last duplicate); the lazily built claims map is the parsed map.

use afl::fuzz;

fn main() {
    fuzz!(|data: &[u8]| {
        jwt_core::fuzzing::members_agree_with_map(data);
    });
}
