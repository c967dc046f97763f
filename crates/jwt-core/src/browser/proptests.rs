//! Property tests of the browser login flow: return paths against a model of
//! how browsers and decoding intermediaries read them, form and query decoding
//! against their encoder, and robustness of every parser on arbitrary input.

use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;

/// Far above the real cost of a call (microseconds), far below a blow-up on
/// the generated sizes.
const LIMIT: Duration = Duration::from_secs(1);

fn robustness() -> ProptestConfig {
    ProptestConfig::with_cases(1024)
}

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < LIMIT, "{what} took {:?}", start.elapsed());
    out
}

/// Pieces of open-redirect payloads, concatenated: slashes, backslashes and
/// their encodings (once and twice), ignorable whitespace, hosts, schemes,
/// dot segments, look-alikes.
fn redirect_attempt() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "/",
        "/",
        "//",
        "\\",
        "%2F",
        "%2f",
        "%5C",
        "%5c",
        "%252F",
        "%255C",
        "%25",
        "%",
        "%0",
        "%zz",
        "%09",
        "%0a",
        "%0d",
        "%00",
        "%2509",
        "%20",
        "\t",
        "\n",
        "\r",
        " ",
        ".",
        "..",
        "./",
        "../",
        "evil.com",
        "a",
        "@",
        ":",
        "?",
        "#",
        "=",
        "&",
        "https:",
        "javascript:",
        "\u{ff0f}",
        "\u{e9}",
        "%C3%A9",
        "<",
        "\"",
    ]);
    prop_oneof![
        vec(piece.clone(), 1..8).prop_map(|p| p.concat()),
        vec(piece, 0..7).prop_map(|p| format!("/{}", p.concat())),
        any::<String>(),
    ]
}

/// Return paths as browsers send them: segments of unreserved characters and
/// escapes, a query, a fragment.
fn legitimate_path() -> impl Strategy<Value = String> {
    "/([A-Za-z0-9._~!$&'()*+,;=:@-]|%20|%C3%A9|%2F){1,12}(/[A-Za-z0-9._~-]{0,8}){0,4}\
     (\\?([A-Za-z0-9=&+/:.-]|%20|%25){0,24})?(#[A-Za-z0-9/?-]{0,10})?"
        .prop_filter("an escaped slash first is refused", |p| {
            !p.starts_with("/%2F")
        })
}

/// An independent model of lenient percent-decoding (a `%` without two hex
/// digits stays).
fn model_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], escape) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// What a browser makes of the start of a `Location` value: tab, CR, LF
/// dropped and `\` read as `/`. A path stays on the site when this starts with
/// `/` and not `//`.
fn stays_on_site(bytes: &[u8]) -> bool {
    let significant: Vec<u8> = bytes
        .iter()
        .filter(|b| !matches!(b, b'\t' | b'\n' | b'\r'))
        .map(|&b| if b == b'\\' { b'/' } else { b })
        .take(2)
        .collect();
    significant.first() == Some(&b'/') && significant.get(1) != Some(&b'/')
}

/// Media ranges as clients send them, some naming HTML.
fn media_ranges() -> impl Strategy<Value = Vec<String>> {
    let range = (
        select(vec![
            "text/html",
            "TEXT/HTML",
            "application/json",
            "application/xhtml+xml",
            "application/xml",
            "image/webp",
            "text/plain",
            "text/*",
            "*/*",
        ]),
        select(vec![
            "", ";q=0", ";q=0.1", ";q=0.5", ";q=0.9", ";q=1", ";level=1", " ; q=0.8",
        ]),
    )
        .prop_map(|(t, p)| format!("{t}{p}"));
    vec(range, 0..6)
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        "(25[0-5]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|1[0-9]{2}|[1-9]?[0-9])){3}",
        "\\[[0-9a-f]{1,4}(:[0-9a-f]{0,4}){1,7}\\]",
    ]
}

/// `s` with its ASCII letters in random case.
fn recase(s: &str, flips: &[bool]) -> String {
    s.chars()
        .zip(flips.iter().cycle())
        .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
        .collect()
}

proptest! {
    #![proptest_config(robustness())]

    /// An accepted return path is the input itself, short, visible ASCII, and
    /// stays on the site however many times (up to four) it is decoded.
    #[test]
    fn accepted_paths_stay_on_the_site(raw in redirect_attempt()) {
        let Some(path) = bounded("safe_return_path", || safe_return_path(&raw)) else {
            return Ok(());
        };
        prop_assert_eq!(path, raw.as_str());
        prop_assert!(path.len() <= MAX_RETURN_PATH_LEN);
        prop_assert!(path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'), "{:?}", path);
        let once = percent_decode(path.as_bytes(), false);
        prop_assert!(once.is_some(), "{:?}", path);
        let once = once.unwrap_or_default();
        prop_assert!(!once.iter().any(|&b| b.is_ascii_control() || b == b'\\'), "{:?}", path);
        let mut current = path.as_bytes().to_vec();
        for round in 0..=4 {
            prop_assert!(stays_on_site(&current), "{:?} after {} rounds", path, round);
            current = model_decode(&current);
        }
    }

    /// Ordinary paths, queries and fragments are accepted.
    #[test]
    fn legitimate_paths_are_accepted(path in legitimate_path()) {
        prop_assert_eq!(safe_return_path(&path), Some(path.as_str()));
    }

    /// Nothing that does not start with `/` is accepted, and nothing with a
    /// control character, space or non-ASCII byte.
    #[test]
    fn refusals_by_shape(raw in any::<String>()) {
        let accepted = safe_return_path(&raw).is_some();
        if !raw.starts_with('/') || raw.bytes().any(|b| !b.is_ascii_graphic()) {
            prop_assert!(!accepted, "{:?}", raw);
        }
    }

    /// Any string survives the trip through the login page's query string,
    /// and through a form body next to other fields.
    #[test]
    fn encoding_round_trips(x in any::<String>(), before in "[a-z]{0,5}", after in any::<String>()) {
        let encoded = percent_encode_component(&x);
        prop_assert_eq!(
            query_arg(&format!("return_to={encoded}"), "return_to"),
            Some(x.clone())
        );
        let body = format!(
            "{before}=1&return_to={encoded}&return_to={}",
            percent_encode_component(&after)
        );
        prop_assume!(before != "return_to");
        prop_assert_eq!(form_field(body.as_bytes(), "return_to"), Some(x));
    }

    /// The encoding is unreserved characters and uppercase `%XX` only, three
    /// bytes per other byte.
    #[test]
    fn encoding_alphabet(x in any::<String>()) {
        let encoded = percent_encode_component(&x);
        let kept = x.bytes().filter(|b| b.is_ascii_alphanumeric() || b"-._~".contains(b)).count();
        prop_assert_eq!(encoded.len(), kept + 3 * (x.len() - kept));
        let mut rest = encoded.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            if b == b'%' {
                prop_assert!(tail.len() >= 2);
                prop_assert!(tail[..2].iter().all(|h| matches!(h, b'0'..=b'9' | b'A'..=b'F')));
                rest = &tail[2..];
            } else {
                prop_assert!(b.is_ascii_alphanumeric() || b"-._~".contains(&b));
                rest = tail;
            }
        }
    }

    /// A body of fields encoded by [`percent_encode_component`] gives the first
    /// value of each name.
    #[test]
    fn first_field_wins(
        fields in vec((select(vec!["a", "b", "a b", "&", "="]), any::<String>()), 0..6),
        name in select(vec!["a", "b", "a b", "&", "=", "c"]),
    ) {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode_component(k), percent_encode_component(v)))
            .collect::<Vec<_>>()
            .join("&");
        let expected = fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        prop_assert_eq!(form_field(body.as_bytes(), name), expected);
    }

    /// Arbitrary bodies and names: no panic, no blow-up; a value found is the
    /// decoding of some field's text.
    #[test]
    fn form_parsing_is_robust(
        body in prop_oneof![
            vec(any::<u8>(), 0..512),
            vec(select(vec![b'%', b'&', b'=', b'+', b'a', b'2', b'F']), 0..512),
        ],
        name in prop_oneof!["[a%&=+ ]{0,3}", any::<String>()],
    ) {
        if let Some(value) = bounded("form_field", || form_field(&body, &name)) {
            prop_assert!(value.len() <= body.len());
        }
        if let Ok(args) = std::str::from_utf8(&body) {
            prop_assert_eq!(query_arg(args, &name), form_field(&body, &name));
        }
    }

    /// The order of media ranges does not matter, and wildcards never do.
    #[test]
    fn accept_order_and_wildcards(
        ranges in media_ranges().prop_shuffle(),
        wildcard in select(vec!["*/*", "*/*;q=1", "text/*", "text/*;q=0.2", "*/*;q=0"]),
    ) {
        let header = ranges.join(",");
        let mut reversed = ranges.clone();
        reversed.reverse();
        prop_assert_eq!(wants_html(Some(&header)), wants_html(Some(&reversed.join(", "))));
        prop_assert_eq!(
            wants_html(Some(&header)),
            wants_html(Some(&format!("{header},{wildcard}")))
        );
        if !header.to_ascii_lowercase().contains("text/html") {
            prop_assert!(!wants_html(Some(&header)));
        }
    }

    /// `text/html` at full weight, first or not, is a browser whatever else is
    /// listed below it.
    #[test]
    fn html_at_full_weight_wins(ranges in media_ranges(), at in 0usize..6) {
        let mut ranges: Vec<String> = ranges
            .into_iter()
            .filter(|r| r.contains("q=") && !r.contains("q=1"))
            .collect();
        ranges.insert(at.min(ranges.len()), "text/html".to_owned());
        prop_assert!(wants_html(Some(&ranges.join(","))), "{:?}", ranges);
    }

    /// Arbitrary `Accept` values: no panic, no blow-up.
    #[test]
    fn accept_parsing_is_robust(accept in prop_oneof![any::<String>(), "[a-z/*;=q0-9., ]{0,64}"]) {
        let _ = bounded("wants_html", || wants_html(Some(&accept)));
    }

    /// `Sec-Fetch-Site`, when present, decides alone.
    #[test]
    fn fetch_metadata_decides_alone(
        site in prop_oneof![
            select(vec!["same-origin", "none", "same-site", "cross-site", "SAME-ORIGIN"])
                .prop_map(str::to_owned),
            any::<String>(),
        ],
        origin in proptest::option::of(any::<String>()),
        host in proptest::option::of(any::<String>()),
    ) {
        let expected = matches!(
            site.trim_ascii().to_ascii_lowercase().as_str(),
            "same-origin" | "none"
        );
        let result = same_origin(Some(&site), origin.as_deref(), host.as_deref());
        prop_assert_eq!(result == SameOrigin::Yes, expected);
        prop_assert!(result != SameOrigin::Unknown);
    }

    /// An origin is its own host, whatever the letter case and however the
    /// default port is written, and is not another host.
    #[test]
    fn origin_against_host(
        host in host(),
        other in host(),
        https in any::<bool>(),
        port in prop_oneof![Just(None), Just(Some(80)), Just(Some(443)), (1u16..).prop_map(Some)],
        explicit_default in any::<bool>(),
        flips in vec(any::<bool>(), 1..8),
    ) {
        let (scheme, default) = if https { ("https", 443) } else { ("http", 80) };
        let with_port = |h: &str, p: Option<u16>| match p {
            Some(p) => format!("{h}:{p}"),
            None => h.to_owned(),
        };
        let origin = format!("{scheme}://{}", with_port(&host, port));
        // The default port written in one header and left out in the other.
        let host_port = match port {
            None if explicit_default => Some(default),
            Some(p) if p == default && !explicit_default => None,
            p => p,
        };
        let host_header = recase(&with_port(&host, host_port), &flips);
        prop_assert_eq!(same_origin(None, Some(&origin), Some(&host_header)), SameOrigin::Yes);
        prop_assume!(!other.eq_ignore_ascii_case(&host));
        let result = same_origin(None, Some(&origin), Some(&with_port(&other, port)));
        prop_assert!(matches!(result, SameOrigin::No(_)), "{:?}", result);
    }

    /// Arbitrary headers: no panic, and a reason is one short log line.
    #[test]
    fn reasons_are_short_single_lines(
        site in proptest::option::of(any::<String>()),
        origin in proptest::option::of(prop_oneof![any::<String>(), "https?://[a-z:\\[\\].@/]{0,300}"]),
        host in proptest::option::of(any::<String>()),
    ) {
        let result = bounded("same_origin", || {
            same_origin(site.as_deref(), origin.as_deref(), host.as_deref())
        });
        if let SameOrigin::No(reason) = result {
            prop_assert!(!reason.chars().any(char::is_control), "{:?}", reason);
            // Two quoted values of 64 characters, each escaped to at most 10.
            prop_assert!(reason.chars().count() < 2 * (64 * 10 + 5) + 40, "{:?}", reason);
        }
    }
}
