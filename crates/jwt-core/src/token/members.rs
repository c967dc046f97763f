//! The few members verification reads from a header (`alg`, `kid`, `typ`, `crit`) or from the
//! claims (`exp`, `nbf`, `iat`, `iss`, `aud`), taken from the JSON text in one pass without
//! building a `serde_json::Map`.
//!
//! Why not `serde_json::from_str::<Value>` as before: a map allocates every name and string of
//! the object. For a typical access token's claims that is about 1 µs, three times the HMAC
//! that authenticates it, on every cache miss, while most configurations read no claim beyond
//! these five. The whole map is still built, on first use and from the same text, when a
//! variable, a claim rule or a revocation list asks for another claim
//! ([`crate::VerifiedToken::claims`]).
//!
//! Hand-written on serde's visitor API rather than derived: a derived struct would reject a
//! duplicate `exp` where the map keeps the last one, and would skip unknown members with
//! `IgnoredAny`, which serde_json scans without its number and nesting checks. Here every
//! value goes through serde_json's own `deserialize_any`, as `Value` does, so the acceptance
//! is exactly the map's: numbers beyond `f64`, nesting past serde_json's recursion limit, bad
//! escapes and trailing text fail here as they fail there, and the map built later from text
//! accepted here cannot fail. Duplicate names: the last one wins, as in the map (one of the
//! two behaviours RFC 7519 §4 allows). Property-tested against the map in src/proptests.rs and
//! fuzzed (fuzz target `token_members`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Malformed, Part};

/// A header's members that verification reads. `alg`, `kid` and `typ` keep their JSON value
/// (the verifier reports the wrong types); `crit` only counts as present.
#[derive(Debug, Default)]
pub(crate) struct HeaderMembers {
    pub(crate) alg: Option<Value>,
    pub(crate) kid: Option<Value>,
    pub(crate) typ: Option<Value>,
    pub(crate) crit: bool,
}

/// The registered claims verification reads.
#[derive(Debug, Default)]
pub(crate) struct ClaimMembers {
    pub(crate) exp: Option<DateMember>,
    pub(crate) nbf: Option<DateMember>,
    pub(crate) iat: Option<DateMember>,
    pub(crate) iss: Option<Value>,
    pub(crate) aud: Option<Value>,
}

/// A NumericDate member as found: a JSON number (as `f64`, like `Value::as_f64`), or anything
/// else.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum DateMember {
    Number(f64),
    NotNumber,
}

/// An object whose members of interest are kept as they are read.
pub(crate) trait Members: Default {
    /// The member names of interest; [`Members::take`] gets an index into this list.
    const NAMES: &'static [&'static str];

    /// Reads the value of member `NAMES[index]` from `map`.
    fn take<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error>;
}

impl Members for HeaderMembers {
    const NAMES: &'static [&'static str] = &["alg", "kid", "typ", "crit"];

    fn take<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.alg = Some(map.next_value()?),
            1 => self.kid = Some(map.next_value()?),
            2 => self.typ = Some(map.next_value()?),
            _ => {
                map.next_value::<Skip>()?;
                self.crit = true;
            }
        }
        Ok(())
    }
}

impl Members for ClaimMembers {
    const NAMES: &'static [&'static str] = &["exp", "nbf", "iat", "iss", "aud"];

    fn take<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.exp = Some(map.next_value()?),
            1 => self.nbf = Some(map.next_value()?),
            2 => self.iat = Some(map.next_value()?),
            3 => self.iss = Some(map.next_value()?),
            _ => self.aud = Some(map.next_value()?),
        }
        Ok(())
    }
}

/// Reads `text` as a JSON object and keeps the members `M` names. `Json(part)` for anything
/// `serde_json::from_str::<Value>` refuses, `NotObject(part)` for JSON that is not an object.
pub(crate) fn read<M: Members>(text: &str, part: Part) -> Result<M, Malformed> {
    match serde_json::from_str::<Object<M>>(text) {
        Ok(Object::Read(members)) => Ok(members),
        Ok(Object::Other) => Err(Malformed::NotObject(part)),
        Err(_) => Err(Malformed::Json(part)),
    }
}

/// A top-level JSON value: an object read into `M`, or some other value (checked and dropped).
enum Object<M> {
    Read(M),
    Other,
}

impl<'de, M: Members> Deserialize<'de> for Object<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<M>(PhantomData<M>);

impl<'de, M: Members> Visitor<'de> for ObjectVisitor<M> {
    type Value = Object<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object<M>, A::Error> {
        let mut members = M::default();
        while let Some(Name(index)) = map.next_key_seed(NameOf::<M>(PhantomData))? {
            match index {
                Some(index) => members.take(index, &mut map)?,
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Object::Read(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Object<M>, A::Error> {
        SkipVisitor.visit_seq(seq).map(|Skip| Object::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Object<M>, E> {
        Ok(Object::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Object<M>, E> {
        Ok(Object::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Object<M>, E> {
        Ok(Object::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Object<M>, E> {
        Ok(Object::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Object<M>, E> {
        Ok(Object::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Object<M>, E> {
        Ok(Object::Other)
    }
}

/// A member name: its index in `M::NAMES`, or `None` for a name verification ignores. Compared
/// after unescaping (so `"\u0065xp"` is `exp`, as in the map), without allocating.
struct Name(Option<usize>);

struct NameOf<M>(PhantomData<M>);

impl<'de, M: Members> de::DeserializeSeed<'de> for NameOf<M> {
    type Value = Name;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Name, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, M: Members> Visitor<'de> for NameOf<M> {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Name, E> {
        Ok(Name(M::NAMES.iter().position(|known| *known == name)))
    }
}

impl<'de> Deserialize<'de> for DateMember {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DateVisitor)
    }
}

struct DateVisitor;

impl<'de> Visitor<'de> for DateVisitor {
    type Value = DateMember;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    // The conversions of `Value::as_f64`.
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<DateMember, E> {
        Ok(DateMember::Number(n as f64))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<DateMember, E> {
        Ok(DateMember::Number(n as f64))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<DateMember, E> {
        Ok(DateMember::Number(n))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<DateMember, E> {
        Ok(DateMember::NotNumber)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<DateMember, E> {
        Ok(DateMember::NotNumber)
    }

    fn visit_unit<E: de::Error>(self) -> Result<DateMember, E> {
        Ok(DateMember::NotNumber)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<DateMember, A::Error> {
        SkipVisitor.visit_seq(seq).map(|Skip| DateMember::NotNumber)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DateMember, A::Error> {
        SkipVisitor.visit_map(map).map(|Skip| DateMember::NotNumber)
    }
}

/// Any JSON value, parsed as `Value` would parse it (so with the same checks) and dropped.
/// Strings are borrowed or unescaped into serde_json's scratch buffer: nothing is allocated
/// per value.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// The oracle of the property test and of the fuzz target `token_members`: on arbitrary bytes,
/// this reader agrees with serde_json's map parse. It accepts (as header and as claims) exactly
/// the JSON objects the map parse accepts, tells non-objects (`NotObject`) from non-JSON
/// (`Json`) as the map parse does, reads for each member what the map holds (the last
/// duplicate), and the claims map a verified token builds later from accepted text is the
/// parsed map. `Err` says where they disagree.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn check_against_map(bytes: &[u8]) -> Result<(), String> {
    let parsed = serde_json::from_slice::<Value>(bytes);
    let text = match super::json_text(bytes.to_vec(), Part::Claims) {
        Ok(text) => text,
        Err(_) if parsed.is_err() => return Ok(()),
        Err(_) => {
            return Err(format!(
                "refused as not UTF-8, but the map parse gave {parsed:?}"
            ))
        }
    };
    let (claims, header) = match (
        read::<ClaimMembers>(&text, Part::Claims),
        read::<HeaderMembers>(&text, Part::Header),
    ) {
        (Ok(claims), Ok(header)) => (claims, header),
        (Err(Malformed::NotObject(Part::Claims)), Err(Malformed::NotObject(Part::Header)))
            if parsed.as_ref().is_ok_and(|v| !v.is_object()) =>
        {
            return Ok(())
        }
        (Err(Malformed::Json(Part::Claims)), Err(Malformed::Json(Part::Header)))
            if parsed.is_err() =>
        {
            return Ok(())
        }
        (claims, header) => {
            return Err(format!(
                "claims {:?}, header {:?}, but the map parse gave {parsed:?}",
                claims.err(),
                header.err()
            ))
        }
    };
    let Ok(Value::Object(map)) = parsed else {
        return Err(format!("accepted, but the map parse gave {parsed:?}"));
    };
    let date = |name: &str| {
        map.get(name).map(|v| match v {
            Value::Number(n) => DateMember::Number(n.as_f64().unwrap_or(f64::NAN)),
            _ => DateMember::NotNumber,
        })
    };
    let dates = [
        (claims.exp, "exp"),
        (claims.nbf, "nbf"),
        (claims.iat, "iat"),
    ];
    let values = [
        (claims.iss.as_ref(), "iss"),
        (claims.aud.as_ref(), "aud"),
        (header.alg.as_ref(), "alg"),
        (header.kid.as_ref(), "kid"),
        (header.typ.as_ref(), "typ"),
    ];
    if let Some((member, name)) = dates.iter().find(|(member, name)| *member != date(name)) {
        return Err(format!(
            "{name}: read {member:?}, the map holds {:?}",
            map.get(*name)
        ));
    }
    if let Some((member, name)) = values
        .iter()
        .find(|(member, name)| *member != map.get(*name))
    {
        return Err(format!(
            "{name}: read {member:?}, the map holds {:?}",
            map.get(*name)
        ));
    }
    if header.crit != map.contains_key("crit") {
        return Err(format!("crit read as {}", header.crit));
    }
    let verified = crate::VerifiedToken::from_claims_text(text);
    if verified.claims() != &map {
        return Err(format!("the lazily built map is {:?}", verified.claims()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(text: &str) -> Result<ClaimMembers, Malformed> {
        read(text, Part::Claims)
    }

    #[test]
    fn reads_the_registered_claims() {
        let c = claims(r#"{"sub":"a","exp":1700000000,"nbf":1.5,"iat":-3,"iss":"i","aud":["x","y"],"n":{"exp":"no"}}"#)
            .unwrap();
        assert_eq!(c.exp, Some(DateMember::Number(1_700_000_000.0)));
        assert_eq!(c.nbf, Some(DateMember::Number(1.5)));
        assert_eq!(c.iat, Some(DateMember::Number(-3.0)));
        assert_eq!(c.iss, Some(Value::from("i")));
        assert_eq!(c.aud, Some(serde_json::json!(["x", "y"])));
    }

    #[test]
    fn dates_of_other_types_are_not_numbers() {
        for value in [r#""1""#, "true", "null", "[1]", r#"{"a":1}"#] {
            let c = claims(&format!(r#"{{"exp":{value}}}"#)).unwrap();
            assert_eq!(c.exp, Some(DateMember::NotNumber), "{value}");
        }
    }

    #[test]
    fn the_last_duplicate_wins_and_names_are_unescaped() {
        let c = claims(r#"{"exp":"x","\u0065xp":5,"iss":"a","iss":"b"}"#).unwrap();
        assert_eq!(c.exp, Some(DateMember::Number(5.0)));
        assert_eq!(c.iss, Some(Value::from("b")));
    }

    #[test]
    fn header_members() {
        let h: HeaderMembers = read(
            r#"{"alg":"HS256","kid":7,"crit":["x"],"x":{}}"#,
            Part::Header,
        )
        .unwrap();
        assert_eq!(h.alg, Some(Value::from("HS256")));
        assert_eq!(h.kid, Some(Value::from(7)));
        assert_eq!(h.typ, None);
        assert!(h.crit);
    }

    #[test]
    fn refuses_what_the_map_refuses() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        for text in [
            "",
            "{",
            "{} x",
            r#"{"a":1e400}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":1,}"#,
            deep.as_str(),
        ] {
            assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
            assert_eq!(
                claims(text).unwrap_err(),
                Malformed::Json(Part::Claims),
                "{text}"
            );
        }
        for text in ["[1]", r#""x""#, "1", "null", "true"] {
            assert_eq!(
                claims(text).unwrap_err(),
                Malformed::NotObject(Part::Claims),
                "{text}"
            );
        }
    }
}
