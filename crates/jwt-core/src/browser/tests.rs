use super::*;

// ---- safe_return_path ----------------------------------------------------------------

/// Open-redirect payloads (OWASP Unvalidated Redirects and Forwards cheat
/// sheet, PortSwigger's and PayloadsAllTheThings' open-redirect lists) and
/// header-splitting attempts: every one is refused.
const ATTACKS: &[&str] = &[
    // Absolute URLs and schemes.
    "https://evil.com",
    "http://evil.com",
    "HTTPS://evil.com",
    "https:evil.com",
    "https:/evil.com",
    "https://good.example@evil.com",
    "https://good.example.evil.com",
    "https://evil.com#good.example",
    "https://evil.com?good.example",
    "ftp://evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "javascript://%0aalert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "evil.com",
    "evil.com/path",
    "@evil.com",
    ".//evil.com",
    "%2F%2Fevil.com",
    "",
    // Network-path references, plain and with backslashes.
    "//evil.com",
    "///evil.com",
    "////evil.com",
    "//evil.com/%2F..",
    "//evil.com\\@good.example",
    "//good.example@evil.com",
    "///\\;@evil.com",
    "//%65vil.com",
    "//localhost",
    "//127.0.0.1",
    "//[::1]",
    "/\\evil.com",
    "/\\/evil.com",
    "\\/evil.com",
    "\\\\evil.com",
    "\\evil.com",
    "/.\\evil.com",
    "/..\\evil.com",
    "/a\\b",
    // Ignorable whitespace inside the URL.
    "/\t/evil.com",
    "/\n/evil.com",
    "/\r/evil.com",
    "/\r\n/evil.com",
    "\t//evil.com",
    " //evil.com",
    "/ /evil.com",
    "/\x0b/evil.com",
    "/\x0c/evil.com",
    "/a b",
    // Header splitting and NUL, raw and encoded.
    "/\r\nSet-Cookie: a=b",
    "/\nLocation: https://evil.com",
    "/%0d%0aLocation:%20https://evil.com",
    "/%0D%0ASet-Cookie:%20a=b",
    "/%0a",
    "/%0d",
    "/a%00b",
    "/%00",
    "/\0",
    "/%7f",
    "/\x7f",
    "/%1b[31m",
    // Encoded slashes and backslashes at the start, once and twice.
    "/%2F/evil.com",
    "/%2f/evil.com",
    "/%2f%2fevil.com",
    "/%2F%2Fevil.com",
    "/%2F%5Cevil.com",
    "/%5Cevil.com",
    "/%5cevil.com",
    "/%5C%5Cevil.com",
    "/%5C/evil.com",
    "/%2F",
    "/%09/evil.com",
    "/%09%2Fevil.com",
    "/%0a/evil.com",
    "/%252F%252Fevil.com",
    "/%252f/evil.com",
    "/%255Cevil.com",
    "/%2509/evil.com",
    "/%25252F/evil.com",
    "/%252F%zz",
    // A backslash deeper in the path, encoded.
    "/a%5Cb",
    // Invalid percent-encoding.
    "/%zz",
    "/%4",
    "/%",
    "/abc%2",
    "/%g0",
    "/%%30%30",
    // Unicode look-alikes and raw non-ASCII.
    "/\u{ff0f}evil.com",
    "/\u{ff3c}evil.com",
    "/\u{2215}evil.com",
    "/\u{2044}evil.com",
    "/\u{3002}evil.com",
    "\u{ff0f}\u{ff0f}evil.com",
    "/\u{a0}//evil.com",
    "/caf\u{e9}",
    // Markup that would matter if the path were echoed into a page.
    "/<script>alert(1)</script>",
    "/\"onmouseover=\"alert(1)",
    "/`alert(1)`",
    "/a>b",
];

/// Ordinary return paths: every one is accepted as it is.
const LEGITIMATE: &[&str] = &[
    "/",
    "/a",
    "/app",
    "/app/",
    "/a/b?x=1#frag",
    "/dashboard?tab=settings&sort=desc",
    "/search?q=hello%20world",
    "/search?q=a+b",
    "/files/report%202024.pdf",
    "/caf%C3%A9",
    "/api/v1/items/42",
    "/~user/page",
    "/a-b_c.d",
    "/path;matrix=1",
    "/items?ids=1,2,3&sel=[1]",
    "/#/spa/route",
    "/login/callback?code=abc&state=xyz",
    "/100%25",
    "/a//b",
    "/?next=https://example.com/",
    "/?",
    "/#",
    "/it's",
    "/a%2Fb",
];

#[test]
fn attacks_are_refused() {
    assert!(ATTACKS.len() >= 40);
    for &attack in ATTACKS {
        assert_eq!(safe_return_path(attack), None, "{attack:?}");
    }
}

#[test]
fn legitimate_paths_are_kept_as_they_are() {
    assert!(LEGITIMATE.len() >= 15);
    for &path in LEGITIMATE {
        assert_eq!(safe_return_path(path), Some(path), "{path:?}");
    }
}

#[test]
fn paths_that_look_odd_but_stay_on_the_site() {
    // A scheme-like first segment, dot segments and `@` are parts of a path:
    // resolved against this site they cannot name another host.
    for path in [
        "/javascript:alert(1)",
        "/https://evil.com",
        "/@evil.com",
        "/evil.com",
        "/../x",
        "/./x",
        "/..//evil.com",
        "/.//evil.com",
        "/%2e%2e/x",
        "/%2e%2e%2fx",
        "/a/../../../etc/passwd",
    ] {
        assert_eq!(safe_return_path(path), Some(path), "{path:?}");
    }
}

#[test]
fn length_limit() {
    let longest = format!("/{}", "a".repeat(MAX_RETURN_PATH_LEN - 1));
    assert_eq!(safe_return_path(&longest), Some(longest.as_str()));
    let too_long = format!("/{}", "a".repeat(MAX_RETURN_PATH_LEN));
    assert_eq!(safe_return_path(&too_long), None);
}

#[test]
fn decoding_rounds_are_bounded() {
    // Encoded four times: found. Five times: a literal `%25...` path of this
    // site, since nothing decodes that often.
    assert_eq!(safe_return_path("/%2525252F/evil.com"), None);
    assert_eq!(
        safe_return_path("/%252525252F/evil.com"),
        Some("/%252525252F/evil.com")
    );
}

// ---- form_field, query_arg -------------------------------------------------------------

#[test]
fn form_fields_are_decoded() {
    let body = b"username=alice&password=p%40ss+word%21&return_to=%2Fa%2Fb%3Fx%3D1";
    assert_eq!(form_field(body, "username").as_deref(), Some("alice"));
    assert_eq!(form_field(body, "password").as_deref(), Some("p@ss word!"));
    assert_eq!(form_field(body, "return_to").as_deref(), Some("/a/b?x=1"));
    assert_eq!(form_field(body, "missing"), None);
    assert_eq!(form_field(body, "user"), None);
    assert_eq!(form_field(b"", "a"), None);
}

#[test]
fn the_first_field_of_a_name_decides() {
    assert_eq!(form_field(b"a=1&a=2", "a").as_deref(), Some("1"));
    // Invalid encoding in the first value is not skipped for a later one.
    assert_eq!(form_field(b"a=%zz&a=2", "a"), None);
    assert_eq!(form_field(b"a=%4&a=2", "a"), None);
    assert_eq!(form_field(b"a=%FF&a=2", "a"), None, "not UTF-8");
    assert_eq!(
        form_field(b"a=caf%C3%A9", "a").as_deref(),
        Some("caf\u{e9}")
    );
}

#[test]
fn names_are_decoded_too() {
    assert_eq!(
        form_field(b"return%5Fto=x", "return_to").as_deref(),
        Some("x")
    );
    assert_eq!(form_field(b"a+b=x", "a b").as_deref(), Some("x"));
    // A name that does not decode is not the name.
    assert_eq!(form_field(b"a%zz=1&a=2", "a").as_deref(), Some("2"));
}

#[test]
fn field_shapes() {
    assert_eq!(form_field(b"a", "a").as_deref(), Some(""));
    assert_eq!(form_field(b"a=", "a").as_deref(), Some(""));
    assert_eq!(form_field(b"a==b", "a").as_deref(), Some("=b"));
    assert_eq!(form_field(b"&&a=1&", "a").as_deref(), Some("1"));
    assert_eq!(form_field(b"=x", "").as_deref(), Some("x"));
    assert_eq!(form_field(b"a=1;b=2", "b"), None, "only & separates");
    assert_eq!(form_field(b"A=1", "a"), None, "names are case-sensitive");
    assert_eq!(form_field(b"a=%2B", "a").as_deref(), Some("+"));
}

#[test]
fn bodies_above_the_limit_are_not_read() {
    let mut body = b"a=1&".to_vec();
    body.resize(MAX_FORM_LEN, b'x');
    assert_eq!(form_field(&body, "a").as_deref(), Some("1"));
    body.push(b'x');
    assert_eq!(form_field(&body, "a"), None);
}

#[test]
fn query_args_read_like_form_fields() {
    let args = "return_to=%2Fapp%3Fx%3D1%26y%3D2&b=a+b";
    assert_eq!(
        query_arg(args, "return_to").as_deref(),
        Some("/app?x=1&y=2")
    );
    assert_eq!(query_arg(args, "b").as_deref(), Some("a b"));
    assert_eq!(query_arg("x=%zz", "x"), None);
    assert_eq!(query_arg("", "x"), None);
}

// ---- percent_encode_component ---------------------------------------------------------

#[test]
fn encoding_keeps_only_unreserved() {
    assert_eq!(percent_encode_component("aZ09-._~"), "aZ09-._~");
    assert_eq!(
        percent_encode_component("/a b?x=1&y=+#"),
        "%2Fa%20b%3Fx%3D1%26y%3D%2B%23"
    );
    assert_eq!(percent_encode_component("caf\u{e9}"), "caf%C3%A9");
    assert_eq!(percent_encode_component("%\r\n"), "%25%0D%0A");
    assert_eq!(percent_encode_component(""), "");
}

#[test]
fn login_url_round_trip() {
    let request_uri = "/reports?year=2024&q=a+b%20c#x";
    let login = format!("return_to={}", percent_encode_component(request_uri));
    assert_eq!(query_arg(&login, "return_to").as_deref(), Some(request_uri));
}

// ---- wants_html -------------------------------------------------------------------------

#[test]
fn browsers_want_html() {
    for accept in [
        // Chrome, Firefox, Safari, Edge (legacy), IE 11 navigations.
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
         image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8",
        "text/html, application/xhtml+xml, image/jxr, */*",
        "text/html",
        "TEXT/HTML",
        " text/html ; q=1 ",
        "text/html;q=0.001",
        "text/html;level=1;q=0.5, */*;q=0.1",
        "application/json;q=0.5, text/html",
        "application/json, text/html",
        "text/html;q=1.000",
        "text/html;Q=0.5",
    ] {
        assert!(wants_html(Some(accept)), "{accept:?}");
    }
}

#[test]
fn api_clients_do_not() {
    for accept in [
        "",
        "*/*",
        "text/*",
        "application/json",
        "application/json, text/plain, */*",
        "application/json, text/html;q=0.9",
        "text/html;q=0",
        "text/html;q=0.000",
        "text/html; q=0",
        "text/htmlx",
        "text/html-fragment",
        "texthtml",
        "text/html;q=2",
        "text/html;q=high",
        "text/html;q=0.0001",
        "text/html;q=-1",
        "text/html;q=1.5",
        "application/xhtml+xml",
        ",,,;;;",
        "/html",
    ] {
        assert!(!wants_html(Some(accept)), "{accept:?}");
    }
    assert!(!wants_html(None));
}

#[test]
fn qvalues() {
    for (text, value) in [
        ("0", Some(0)),
        ("0.", Some(0)),
        ("0.5", Some(500)),
        ("0.05", Some(50)),
        ("0.123", Some(123)),
        ("1", Some(1000)),
        ("1.", Some(1000)),
        ("1.000", Some(1000)),
        ("1.001", None),
        ("0.1234", None),
        ("", None),
        (".5", None),
        ("00.5", None),
        ("0.x", None),
        ("+1", None),
    ] {
        assert_eq!(qvalue(text), value, "{text:?}");
    }
}

// ---- same_origin -----------------------------------------------------------------------

fn no(result: SameOrigin) -> String {
    match result {
        SameOrigin::No(reason) => reason,
        other => panic!("expected No, got {other:?}"),
    }
}

#[test]
fn fetch_metadata_decides() {
    for site in ["same-origin", "none", "Same-Origin", " none "] {
        // Origin is not looked at once Sec-Fetch-Site is there.
        assert_eq!(
            same_origin(Some(site), Some("https://evil.com"), Some("app.example")),
            SameOrigin::Yes,
            "{site:?}"
        );
    }
    assert_eq!(
        no(same_origin(
            Some("cross-site"),
            Some("https://app.example"),
            Some("app.example")
        )),
        "Sec-Fetch-Site is \"cross-site\""
    );
    assert_eq!(
        no(same_origin(Some("same-site"), None, Some("app.example"))),
        "Sec-Fetch-Site is \"same-site\""
    );
    for site in ["", "bogus", "same-origin, cross-site"] {
        assert!(matches!(
            same_origin(Some(site), None, None),
            SameOrigin::No(_)
        ));
    }
}

#[test]
fn origin_matches_host() {
    for (origin, host) in [
        ("https://app.example", "app.example"),
        ("https://app.example", "app.example:443"),
        ("https://app.example:443", "app.example"),
        ("http://app.example", "app.example"),
        ("http://app.example", "app.example:80"),
        ("https://app.example:8443", "app.example:8443"),
        ("HTTPS://App.Example", "app.EXAMPLE"),
        ("https://127.0.0.1:8080", "127.0.0.1:8080"),
        ("https://[::1]", "[::1]:443"),
        ("https://[2001:db8::1]:8443", "[2001:DB8::1]:8443"),
        ("https://app.example", " app.example "),
        ("https://xn--caf-dma.example", "xn--caf-dma.example"),
    ] {
        assert_eq!(
            same_origin(None, Some(origin), Some(host)),
            SameOrigin::Yes,
            "{origin} {host}"
        );
    }
}

#[test]
fn origin_differs_from_host() {
    for (origin, host) in [
        ("https://evil.com", "app.example"),
        ("https://app.example.evil.com", "app.example"),
        ("https://evil.app.example", "app.example"),
        ("https://app.example", "app.example:80"),
        ("http://app.example", "app.example:443"),
        ("https://app.example:8443", "app.example"),
        ("https://app.example", "app.example."),
        ("https://[::1]", "[::2]"),
    ] {
        assert_eq!(
            no(same_origin(None, Some(origin), Some(host))),
            format!("Origin \"{origin}\" is not Host \"{host}\""),
        );
    }
}

#[test]
fn origins_that_are_refused() {
    assert_eq!(
        no(same_origin(None, Some("null"), Some("app.example"))),
        "Origin is \"null\""
    );
    for origin in [
        "",
        "app.example",
        "ftp://app.example",
        "file://",
        "chrome-extension://abcdef",
        "https://",
        "https://app.example/",
        "https://app.example/path",
        "https://user@app.example",
        "https://app.example:",
        "https://app.example:99999",
        "https://app.example:443:443",
        "https://app.example:-1",
        "https://[::1",
        "https://[]",
        "https://app.example?x",
        "https://app\\.example",
        "https://caf\u{e9}.example",
    ] {
        let reason = no(same_origin(None, Some(origin), Some("app.example")));
        assert!(
            reason.ends_with(" is not an http(s) origin"),
            "{origin:?}: {reason}"
        );
    }
}

#[test]
fn hosts_that_are_refused() {
    assert_eq!(
        no(same_origin(None, Some("https://app.example"), None)),
        "Origin \"https://app.example\" and no Host"
    );
    for host in [
        "",
        "app.example:",
        "user@app.example",
        "app.example/x",
        "[::1",
    ] {
        assert_eq!(
            no(same_origin(None, Some("https://app.example"), Some(host))),
            format!("Host {host:?} is malformed"),
        );
    }
}

#[test]
fn neither_header_is_unknown() {
    assert_eq!(
        same_origin(None, None, Some("app.example")),
        SameOrigin::Unknown
    );
    assert_eq!(same_origin(None, None, None), SameOrigin::Unknown);
}

#[test]
fn reasons_quote_escape_and_cut() {
    let long = format!("https://{}.example", "a".repeat(100));
    let reason = no(same_origin(None, Some(&long), Some("app.example")));
    assert_eq!(
        reason,
        format!(
            "Origin \"https://{}\"... is not Host \"app.example\"",
            "a".repeat(56)
        )
    );
    let reason = no(same_origin(Some("x\"\r\ny"), None, None));
    assert_eq!(reason, "Sec-Fetch-Site is \"x\\\"\\r\\ny\"");
    // Cut on characters, not bytes.
    let reason = no(same_origin(Some(&"\u{e9}".repeat(70)), None, None));
    assert_eq!(
        reason,
        format!("Sec-Fetch-Site is \"{}\"...", "\u{e9}".repeat(64))
    );
}
