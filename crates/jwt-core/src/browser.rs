//! The browser login flow: an HTML form posts to `jwt_login`, which answers
//! `303 See Other` to where the user was going; protected pages send browsers
//! (not API clients) to the login page; `jwt_logout` and `jwt_refresh`, when
//! they trust a cookie, refuse cross-site requests.
//!
//! Hand-written rather than built on a URL or form crate: every rule below is a
//! security decision of its own (what counts as local, what is refused rather
//! than repaired), a generic parser would make those decisions implicitly, and
//! each input is one header or a bounded body. Nothing here allocates more than
//! its input, and nothing repairs input: anything doubtful is refused and the
//! caller falls back to its configured default.
//!
//! # Return path ([`safe_return_path`])
//!
//! Where a login may send the browser back to. Accepting any URL would make the
//! gateway an *open redirect*: a link to the real login page that, after a real
//! login, lands the user on a look-alike site. So only a local path on this
//! site is accepted, and only in a form that no browser or intermediary can
//! read as another site:
//!
//! * it starts with exactly one `/`, followed by a character that is neither
//!   `/` nor `\`, or it is `/` alone. `//evil.com` is a *network-path
//!   reference* (another host, same scheme) and browsers read `\` as `/` in
//!   http(s) URLs, so `/\evil.com` is one too. Anything not starting with `/`
//!   (`https://evil.com`, `javascript:alert(1)`, `evil.com`) is refused;
//!   `/javascript:alert(1)` is a path on this site and harmless;
//! * only visible ASCII: no space, no control character (browsers drop a tab
//!   or newline inside a URL, so `/<TAB>/evil.com` would become `//evil.com`;
//!   CR LF would split the `Location` header), no byte above 127 (Unicode
//!   look-alikes such as `／` or `＼` are mapped to `/` and `\` by some URL
//!   parsers, and a request URI from a browser is always percent-encoded
//!   ASCII). No `\` anywhere, and none of `"`, `<`, `>` and `` ` ``: browsers
//!   percent-encode those in every URL they send, so a real return path never
//!   holds them, while a login page that echoes the path into HTML would be
//!   exposed by them;
//! * at most 2048 bytes ([`MAX_RETURN_PATH_LEN`]);
//! * valid percent-encoding: every `%` starts `%XX` with two hex digits
//!   (`%zz`, a cut `%4` are refused);
//! * once percent-decoded, still no control character (`%0d%0a`, `%00`,
//!   `%09`) and no `\` (`%5C`): a server or application behind the gateway
//!   that decodes the path must not find header-splitting or slash-like bytes;
//! * however many times it is percent-decoded (four rounds are checked), with
//!   tab, CR and LF dropped as browsers drop them, it never starts with two
//!   characters out of `/` and `\` (`/%2F/evil.com`, `/%2f%2fevil.com`,
//!   `/%5Cevil.com`, `/%252F%252Fevil.com`): double-decoding intermediaries
//!   exist, and no real path starts with an encoded slash.
//!
//! Dot segments (`/../x`, `/./x`, `/%2e%2e/x`) are accepted: resolving them
//! (RFC 3986 §5.2.4, and the URL Standard the same way) only ever rewrites the
//! path, never climbs above `/` and never touches the scheme or host, so such
//! a path stays on this site. A redirect only makes the browser `GET` a URL of
//! this site that the user could open anyway; refusing `..` would protect
//! nothing and refuse legitimate paths. The query and fragment are kept as
//! they are (`/a/b?x=1#frag`): they cannot change the host either.
//!
//! # Form fields and query arguments ([`form_field`], [`query_arg`])
//!
//! `application/x-www-form-urlencoded` as the URL Standard defines it: fields
//! separated by `&` (empty ones skipped), the name up to the first `=` (a
//! field without `=` has the empty value), `+` is a space, `%XX` a byte, both
//! in names and values. The first field of the name decides; if its value has
//! invalid percent-encoding or is not UTF-8, the answer is `None`, not a
//! repaired value nor a later field's value. Bodies above 64 KiB
//! ([`MAX_FORM_LEN`]) are not looked into at all: a login form is a few
//! hundred bytes. A query string (nginx's `$args`, without `?`) is read the
//! same way, since `/login?return_to=...` is built by [`percent_encode_component`]
//! and nginx's `$arg_` variables do not decode.
//!
//! # Encoding ([`percent_encode_component`])
//!
//! RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) are kept and every
//! other UTF-8 byte becomes `%XX` (uppercase hex), so the value can sit in a
//! query string or form body and comes back unchanged through [`query_arg`]
//! and [`form_field`] (`+` is encoded, so it is never read back as a space).
//!
//! # Browser or API client ([`wants_html`])
//!
//! A protected page sends a request without a valid token to the login page
//! only if it is a browser navigation; an API client gets `401` with a
//! `WWW-Authenticate` challenge, which it understands and a redirect would
//! hide. A navigation is recognised by its `Accept` header: `text/html` is
//! listed with a weight above zero and no other concrete type is weighted
//! higher (every browser sends `text/html` first, at weight 1). Wildcards
//! (`*/*`, `text/*`) say nothing about a preference: `*/*` alone, what curl and
//! `fetch()` send, is an API client, as is an absent header. `text/html;q=0`
//! refuses HTML. A malformed weight (`q=2`, `q=high`) drops its media range.
//!
//! # Same origin ([`same_origin`])
//!
//! A request that changes state (logout, refresh) and is trusted because of a
//! cookie must come from a page of this site, or any other site could trigger
//! it with the user's cookie (cross-site request forgery). Browsers say where a
//! request comes from in headers a page cannot forge:
//!
//! * `Sec-Fetch-Site` (Fetch Metadata, in every current browser) decides when
//!   present: `same-origin`, and `none` (the user typed the URL or used a
//!   bookmark), are this site; `same-site` (a sibling subdomain, possibly run by
//!   someone else) and `cross-site` are not, and neither is any other value;
//! * otherwise `Origin`: `null` (sandboxed frames, `file:` pages, some
//!   redirects) is refused; an `http` or `https` origin is this site when its
//!   host and port equal the `Host` header's, host compared ASCII
//!   case-insensitively and a missing port read as the origin scheme's default
//!   (`https://h` matches `h` and `h:443`; `http://h` matches `h` and `h:80`;
//!   `https://h` does not match `h:80`). The request's own scheme is not
//!   compared: it is not always known where TLS ends at a proxy in front of
//!   nginx, and `Host` is what the browser addressed. Any other origin, a
//!   malformed one, or no `Host` header to compare with is refused;
//! * neither header: [`SameOrigin::Unknown`]. Browsers send `Origin` on every
//!   `POST` and Fetch Metadata on every request, so such a request comes from
//!   a non-browser client (which holds the cookie itself and is no CSRF
//!   vector) or an old browser. The caller decides; allowing it relies on the
//!   cookie's `SameSite` attribute (`Lax` by default in `jwt_login_cookie`),
//!   which keeps the cookie off cross-site `POST`s and subresources, though
//!   not off a cross-site top-level `GET`: endpoints that allow `Unknown`
//!   should take `POST` only.
//!
//! Refusals carry a short reason for the log, values quoted (escaped as Rust
//! string literals, so a header cannot forge log lines) and cut to 64
//! characters.

/// The longest return path accepted, in bytes. Far above real paths, and it
/// keeps a `Location` header and the login page's query string small.
pub const MAX_RETURN_PATH_LEN: usize = 2048;

/// The largest form body (or query string) [`form_field`] and [`query_arg`]
/// look into, in bytes.
pub const MAX_FORM_LEN: usize = 64 * 1024;

/// Rounds of percent-decoding after which a return path must still not start
/// like a network-path reference. Each round that changes the text removes at
/// least two bytes per `%`, so more rounds rarely find anything new.
const DECODE_ROUNDS: usize = 4;

/// How many characters of a header value a refusal reason quotes.
const REASON_VALUE_CHARS: usize = 64;

/// `raw` if a login may redirect to it (see the module documentation), else
/// `None`: the caller then uses its configured default.
pub fn safe_return_path(raw: &str) -> Option<&str> {
    let bytes = raw.as_bytes();
    if bytes.len() > MAX_RETURN_PATH_LEN
        || !bytes.iter().copied().all(is_return_path_byte)
        || !starts_locally(bytes)
    {
        return None;
    }
    let decoded = percent_decode(bytes, false)?;
    if decoded.iter().any(|&b| b.is_ascii_control() || b == b'\\') || leaves_site(decoded) {
        return None;
    }
    Some(raw)
}

/// Visible ASCII except `\` (a `/` to browsers) and `"`, `<`, `>`, `` ` ``,
/// which browsers always percent-encode and which matter in HTML.
fn is_return_path_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'\\' | b'"' | b'<' | b'>' | b'`')
}

/// `/` alone, or `/` and then neither `/` nor `\`: a path-absolute reference,
/// never a network-path (`//host`) one.
fn starts_locally(path: &[u8]) -> bool {
    match path {
        [b'/'] => true,
        [b'/', second, ..] => !matches!(second, b'/' | b'\\'),
        _ => false,
    }
}

/// Whether some round of decoding (the first one already done, strictly; the
/// later ones leniently, as a careless intermediary would) makes the path
/// start like `//host`.
fn leaves_site(decoded_once: Vec<u8>) -> bool {
    let mut current = decoded_once;
    for _ in 1..DECODE_ROUNDS {
        if network_path_start(&current) {
            return true;
        }
        let next = percent_decode_lenient(&current);
        if next == current {
            return false;
        }
        current = next;
    }
    network_path_start(&current)
}

/// Two leading characters out of `/` and `\`, once tab, CR and LF are dropped
/// as the URL Standard drops them.
fn network_path_start(path: &[u8]) -> bool {
    let mut significant = path
        .iter()
        .filter(|&&b| !matches!(b, b'\t' | b'\n' | b'\r'));
    matches!(
        (significant.next(), significant.next()),
        (Some(b'/' | b'\\'), Some(b'/' | b'\\'))
    )
}

/// The value of a hex digit.
fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Strict percent-decoding: `None` if a `%` does not start `%XX`. With
/// `plus_is_space` (form encoding), `+` is a space.
fn percent_decode(src: &[u8], plus_is_space: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(src.len());
    let mut rest = src;
    loop {
        rest = match rest {
            [] => return Some(out),
            [b'%', hi, lo, tail @ ..] => {
                out.push((hex_value(*hi)? << 4) | hex_value(*lo)?);
                tail
            }
            [b'%', ..] => return None,
            [b'+', tail @ ..] if plus_is_space => {
                out.push(b' ');
                tail
            }
            [b, tail @ ..] => {
                out.push(*b);
                tail
            }
        };
    }
}

/// Percent-decoding that keeps a `%` not followed by two hex digits as it is,
/// the way many decoders do.
fn percent_decode_lenient(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut rest = src;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b == b'%' {
            if let [hi, lo, tail @ ..] = rest {
                if let (Some(hi), Some(lo)) = (hex_value(*hi), hex_value(*lo)) {
                    out.push((hi << 4) | lo);
                    rest = tail;
                    continue;
                }
            }
        }
        out.push(b);
    }
    out
}

/// The first value of the field `name` in an `application/x-www-form-urlencoded`
/// body, decoded; `None` if there is no such field, its value is not validly
/// encoded UTF-8, or the body exceeds [`MAX_FORM_LEN`].
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    urlencoded_value(body, name)
}

/// The first value of the argument `name` in a query string (without `?`),
/// decoded like a form field (see [`form_field`]).
pub fn query_arg(args: &str, name: &str) -> Option<String> {
    urlencoded_value(args.as_bytes(), name)
}

/// The first field named `name`: its decoded value, if valid.
fn urlencoded_value(input: &[u8], name: &str) -> Option<String> {
    if input.len() > MAX_FORM_LEN {
        return None;
    }
    let value = input
        .split(|&b| b == b'&')
        .filter(|field| !field.is_empty())
        .map(split_field)
        .find(|(key, _)| percent_decode(key, true).as_deref() == Some(name.as_bytes()))?
        .1;
    String::from_utf8(percent_decode(value, true)?).ok()
}

/// A field's name and value, split at the first `=`; no `=` is an empty value.
fn split_field(field: &[u8]) -> (&[u8], &[u8]) {
    let mut parts = field.splitn(2, |&b| b == b'=');
    let key = parts.next().unwrap_or_default();
    (key, parts.next().unwrap_or_default())
}

/// `s` for a query-string or form value: RFC 3986 unreserved characters kept,
/// every other byte of its UTF-8 as `%XX` in uppercase hex.
pub fn percent_encode_component(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Whether an `Accept` header prefers an HTML page: `text/html` with a weight
/// above zero and no other concrete media type weighted higher.
pub fn wants_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let mut html: Option<u16> = None;
    let mut other = 0;
    for (media_type, weight) in accept.split(',').filter_map(media_range) {
        if media_type.eq_ignore_ascii_case("text/html") {
            html = Some(html.map_or(weight, |w| w.max(weight)));
        } else if !media_type.ends_with("/*") {
            other = other.max(weight);
        }
    }
    matches!(html, Some(w) if w > 0 && w >= other)
}

/// A media range's `type/subtype` and its weight in thousandths (1000 without
/// `q`); `None` for a malformed range or weight.
fn media_range(range: &str) -> Option<(&str, u16)> {
    let mut parts = range.split(';');
    let media_type = parts.next()?.trim_ascii();
    let (main, sub) = media_type.split_once('/')?;
    if main.is_empty() || sub.is_empty() {
        return None;
    }
    let mut weight = 1000;
    for param in parts {
        if let Some((key, value)) = param.split_once('=') {
            if key.trim_ascii().eq_ignore_ascii_case("q") {
                weight = qvalue(value.trim_ascii())?;
            }
        }
    }
    Some((media_type, weight))
}

/// An RFC 9110 §12.4.2 qvalue (`0`, `0.5`, `1`, `1.000`, at most three
/// decimals, never above 1) in thousandths.
fn qvalue(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |acc, d| acc * 10 + u16::from(d - b'0'));
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether a request comes from a page of this site (see the module
/// documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SameOrigin {
    /// This site, or the user (typed URL, bookmark).
    Yes,
    /// Another site, or a source that cannot be trusted; why, for the log.
    No(String),
    /// Neither `Sec-Fetch-Site` nor `Origin`: not a current browser's request
    /// across sites, but nothing proves it. The caller decides.
    Unknown,
}

/// The cross-site request check of a state-changing request trusted through a
/// cookie, from its `Sec-Fetch-Site`, `Origin` and `Host` headers.
pub fn same_origin(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
) -> SameOrigin {
    match (sec_fetch_site, origin) {
        (Some(site), _) => by_fetch_site(site),
        (None, Some(origin)) => by_origin(origin, host),
        (None, None) => SameOrigin::Unknown,
    }
}

/// `Sec-Fetch-Site`: only `same-origin` and `none` are this site. The value is
/// set by the browser, so an unknown one is refused rather than guessed at.
fn by_fetch_site(site: &str) -> SameOrigin {
    let value = site.trim_ascii();
    if value.eq_ignore_ascii_case("same-origin") || value.eq_ignore_ascii_case("none") {
        SameOrigin::Yes
    } else {
        SameOrigin::No(format!("Sec-Fetch-Site is {}", quoted(site)))
    }
}

/// `Origin` against `Host`.
fn by_origin(origin: &str, host: Option<&str>) -> SameOrigin {
    let value = origin.trim_ascii();
    if value == "null" {
        return SameOrigin::No("Origin is \"null\"".to_owned());
    }
    let Some((from_host, from_port, default_port)) = parse_origin(value) else {
        return SameOrigin::No(format!(
            "Origin {} is not an http(s) origin",
            quoted(origin)
        ));
    };
    let Some(host) = host else {
        return SameOrigin::No(format!("Origin {} and no Host", quoted(origin)));
    };
    match parse_authority(host.trim_ascii(), default_port) {
        Some((to_host, to_port))
            if to_host.eq_ignore_ascii_case(from_host) && to_port == from_port =>
        {
            SameOrigin::Yes
        }
        Some(_) => SameOrigin::No(format!(
            "Origin {} is not Host {}",
            quoted(origin),
            quoted(host)
        )),
        None => SameOrigin::No(format!("Host {} is malformed", quoted(host))),
    }
}

/// A serialized `http` or `https` origin: its host, its port (the scheme's
/// default if none) and the scheme's default port.
fn parse_origin(origin: &str) -> Option<(&str, u16, u16)> {
    let (scheme, authority) = origin.split_once("://")?;
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else if scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        return None;
    };
    let (host, port) = parse_authority(authority, default_port)?;
    Some((host, port, default_port))
}

/// `host[:port]` (a `Host` header, or an origin after `scheme://`): the host
/// and the port, `default_port` if none. `None` for anything else: userinfo,
/// a path, an empty or oversized port.
fn parse_authority(authority: &str, default_port: u16) -> Option<(&str, u16)> {
    let (host, rest) = split_host(authority)?;
    let port = match rest.strip_prefix(':') {
        None if rest.is_empty() => default_port,
        Some(digits) if is_port(digits) => digits.parse().ok()?,
        _ => return None,
    };
    Some((host, port))
}

/// The host at the start of an authority (a name, an IPv4 address or a
/// bracketed IPv6 address) and what follows it.
fn split_host(authority: &str) -> Option<(&str, &str)> {
    let (host, rest) = if authority.starts_with('[') {
        authority.split_at_checked(authority.find(']')? + 1)?
    } else {
        authority.split_at_checked(authority.find(':').unwrap_or(authority.len()))?
    };
    let valid = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => {
            !ipv6.is_empty()
                && ipv6
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
        None => !host.is_empty() && host.bytes().all(is_reg_name_byte),
    };
    valid.then_some((host, rest))
}

/// One to five digits (the value is checked by parsing into a `u16`).
fn is_port(digits: &str) -> bool {
    (1..=5).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A byte of an RFC 3986 reg-name or IPv4 address (percent-encoding aside:
/// browsers send hosts in ASCII, IDNs as punycode).
fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b)
}

/// `value` for a log line: quoted and escaped as a Rust string literal, cut to
/// [`REASON_VALUE_CHARS`] characters (`...` after the quote if cut).
fn quoted(value: &str) -> String {
    match value.char_indices().nth(REASON_VALUE_CHARS) {
        Some((cut, _)) => format!("{:?}...", value.get(..cut).unwrap_or_default()),
        None => format!("{value:?}"),
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
