//! A minimal HTTP/1.x client: request building with Test::Nginx's rules, sending over TCP,
//! and response parsing (Content-Length, chunked, read-until-close).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A parsed HTTP response.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// `HTTP/1.1` etc.
    pub version: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The status line and header lines, each ending with CRLF (without the blank line).
    pub raw_headers: String,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value; several headers of that name are joined with `", "` (as Perl's
    /// HTTP::Headers does). Names are case-insensitive.
    pub fn header(&self, name: &str) -> Option<String> {
        let vals: Vec<&str> = self.header_all(name);
        if vals.is_empty() {
            None
        } else {
            Some(vals.join(", "))
        }
    }

    /// All values of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request for the [`crate::Nginx`] API.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A request with the given method and URI.
    pub fn new(method: &str, uri: &str) -> Self {
        Request {
            method: method.into(),
            uri: uri.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `GET uri`.
    pub fn get(uri: &str) -> Self {
        Self::new("GET", uri)
    }

    /// `POST uri` with a body.
    pub fn post(uri: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new("POST", uri).body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Serializes: HTTP/1.1, `Host: localhost` and `Connection: close` unless given, and a
    /// `Content-Length` for a non-empty body unless a length or transfer-encoding is given.
    pub fn to_bytes(&self) -> Vec<u8> {
        let has = |n: &str| self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.uri);
        if !has("Host") {
            out.push_str("Host: localhost\r\n");
        }
        if !has("Connection") {
            out.push_str("Connection: close\r\n");
        }
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.body.is_empty() && !has("Content-Length") && !has("Transfer-Encoding") {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Builds a request from a `--- request` value and `--- more_headers` text, the way
/// Test::Nginx::Socket does:
///
/// * leading whitespace and `#` comment lines are dropped;
/// * the first line is `METHOD [URI [VERSION]]` (URI defaults to `/`, version to `HTTP/1.1`);
/// * the following lines are the body; unless more_headers is chunked or sets
///   `Content-Length`, the body is trimmed of surrounding whitespace and a `Content-Length`
///   header is added;
/// * `Host: localhost` and `Connection: <conn>` are added unless more_headers has them.
pub fn build_request(request: &[u8], more_headers: &str, conn: &str) -> Result<Vec<u8>, String> {
    // while ($request =~ s/^\s*\#[^\n]+\s+|^\s+//gs) {}
    let mut req = request;
    loop {
        let ws = req.iter().take_while(|c| c.is_ascii_whitespace()).count();
        if ws > 0 {
            req = &req[ws..];
            continue;
        }
        if req.first() == Some(&b'#') {
            match req.iter().position(|&c| c == b'\n') {
                Some(p) => {
                    req = &req[p + 1..];
                    continue;
                }
                None => req = &[],
            }
        }
        break;
    }
    if req.is_empty() {
        return Err("--- request: the request line is empty".into());
    }
    let (first, content) = match req.iter().position(|&c| c == b'\n') {
        Some(p) => (&req[..p], &req[p + 1..]),
        None => (req, &[][..]),
    };
    let first = String::from_utf8_lossy(first);
    let words: Vec<&str> = first.split_whitespace().collect();
    if words.is_empty() || words.len() > 3 || first.trim_end().contains('\t') {
        return Err(format!(
            "--- request: request line should be 'METHOD [URI [VERSION]]', got {:?}",
            first.trim_end()
        ));
    }
    let method = words[0];
    let uri = words.get(1).copied().unwrap_or("/");
    let version = words.get(2).copied().unwrap_or("HTTP/1.1");

    let (hdrs, chunked) = parse_more_headers(more_headers);
    let mut body: Vec<u8> = content.to_vec();
    let mut len_header = String::new();
    if !chunked
        && !body.is_empty()
        && !hdrs.starts_with("Content-Length:")
        && !hdrs.contains("\nContent-Length:")
    {
        let start = body
            .iter()
            .position(|c| !c.is_ascii_whitespace())
            .unwrap_or(body.len());
        let end = body
            .iter()
            .rposition(|c| !c.is_ascii_whitespace())
            .map_or(start, |e| e + 1);
        body = body[start..end.max(start)].to_vec();
        len_header = format!("Content-Length: {}\r\n", body.len());
    }
    let lower = hdrs.to_ascii_lowercase();
    let mut out = format!("{method} {uri} {version}\r\n");
    if !lower.starts_with("host:") && !lower.contains("\nhost:") {
        out.push_str("Host: localhost\r\n");
    }
    if !lower.starts_with("connection") && !lower.contains("\nconnection") {
        out.push_str(&format!("Connection: {conn}\r\n"));
    }
    out.push_str(&hdrs);
    out.push_str(&len_header);
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Test::Nginx's `parse_more_headers`: `Name: value` lines (blank and `#` lines skipped) to
/// CRLF-terminated header lines; also tells whether `Transfer-Encoding: chunked` is set.
pub fn parse_more_headers(text: &str) -> (String, bool) {
    let mut out = String::new();
    let mut chunked = false;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (k, v) = match line.find(':') {
            Some(p) => (&line[..p], line[p + 1..].trim_start()),
            None => (line, ""),
        };
        if k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked" {
            chunked = true;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    (out, chunked)
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum ClientError {
    /// Could not connect or send.
    Io(String),
    /// The deadline passed; carries what was received so far.
    Timeout(Vec<u8>),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Timeout(got) => write!(
                f,
                "timed out; received {} bytes: \"{}\"",
                got.len(),
                crate::perl::escape_bytes(&got[..got.len().min(500)])
            ),
        }
    }
}

/// How long to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadUntil {
    /// Until one complete response was received (or the peer closed).
    OneResponse {
        /// The request was a HEAD request (no body follows the headers).
        head: bool,
    },
    /// Until the peer closes the connection.
    Close,
}

/// Connects, sends `packets` (sleeping `delay` between them), and reads the reply.
pub fn exchange(
    addr: SocketAddr,
    packets: &[Vec<u8>],
    delay: Duration,
    timeout: Duration,
    until: ReadUntil,
) -> Result<Vec<u8>, ClientError> {
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| ClientError::Io(format!("connect to {addr}: {e}")))?;
    let _ = s.set_nodelay(true);
    s.set_write_timeout(Some(timeout))
        .map_err(|e| ClientError::Io(e.to_string()))?;
    for (k, p) in packets.iter().enumerate() {
        if k > 0 && !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if let Err(e) = s.write_all(p) {
            // nginx may answer and close before reading everything (e.g. 413): go on reading
            if e.kind() != ErrorKind::BrokenPipe && e.kind() != ErrorKind::ConnectionReset {
                return Err(ClientError::Io(format!("send: {e}")));
            }
            break;
        }
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(ClientError::Timeout(buf));
        }
        s.set_read_timeout(Some(deadline - now))
            .map_err(|e| ClientError::Io(e.to_string()))?;
        match s.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if let ReadUntil::OneResponse { head } = until {
                    if let Parsed::Complete(..) = parse_response(&buf, head, false) {
                        return Ok(buf);
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                return Err(ClientError::Timeout(buf))
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // a reset is a close (nginx resets when it closes with unread request data)
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(buf),
            Err(e) => return Err(ClientError::Io(format!("read: {e}"))),
        }
    }
}

/// Result of parsing a response from a buffer.
#[derive(Debug)]
pub enum Parsed {
    /// A complete response and the number of bytes it used.
    Complete(Response, usize),
    /// More bytes are needed.
    Incomplete,
    /// Malformed.
    Error(String),
}

/// Parses one response from the start of `buf`. `eof` means no more bytes will come (a body
/// without length then ends at the end of the buffer). Interim 1xx responses are skipped.
pub fn parse_response(buf: &[u8], head: bool, eof: bool) -> Parsed {
    let mut off = 0;
    loop {
        let rest = &buf[off..];
        let Some(hend) = find(rest, b"\r\n\r\n") else {
            return if eof {
                if rest.is_empty() {
                    Parsed::Error("empty response (connection closed without data)".into())
                } else {
                    Parsed::Error("connection closed inside the response headers".into())
                }
            } else {
                Parsed::Incomplete
            };
        };
        let head_text = String::from_utf8_lossy(&rest[..hend + 2]).into_owned();
        let mut lines = head_text.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("").to_string();
        let code = parts.next().unwrap_or("");
        let reason = parts.next().unwrap_or("").to_string();
        if !version.starts_with("HTTP/") {
            return Parsed::Error(format!("bad status line {status_line:?}"));
        }
        let Ok(status) = code.parse::<u16>() else {
            return Parsed::Error(format!("bad status line {status_line:?}"));
        };
        let mut headers = Vec::new();
        for l in lines {
            if l.is_empty() {
                continue;
            }
            match l.find(':') {
                Some(p) => headers.push((l[..p].trim().to_string(), l[p + 1..].trim().to_string())),
                None => return Parsed::Error(format!("bad header line {l:?}")),
            }
        }
        let body_start = hend + 4;
        let mut resp = Response {
            status,
            reason,
            version,
            headers,
            raw_headers: head_text,
            body: Vec::new(),
        };
        if (100..200).contains(&status) && status != 101 {
            off += body_start;
            continue;
        }
        if head || status == 204 || status == 304 || status == 101 {
            return Parsed::Complete(resp, off + body_start);
        }
        let body = &rest[body_start..];
        let chunked = resp.header("Transfer-Encoding").is_some_and(|te| {
            te.split(',')
                .next_back()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
        });
        if chunked {
            return match decode_chunked(body) {
                Ok(Some((decoded, used))) => {
                    resp.body = decoded;
                    Parsed::Complete(resp, off + body_start + used)
                }
                Ok(None) if eof => {
                    Parsed::Error("connection closed inside the chunked body".into())
                }
                Ok(None) => Parsed::Incomplete,
                Err(e) => Parsed::Error(e),
            };
        }
        if let Some(cl) = resp.header("Content-Length") {
            let Ok(n) = cl.trim().parse::<usize>() else {
                return Parsed::Error(format!("bad Content-Length {cl:?}"));
            };
            if body.len() >= n {
                resp.body = body[..n].to_vec();
                return Parsed::Complete(resp, off + body_start + n);
            }
            return if eof {
                Parsed::Error(format!(
                    "response body truncated: {n} bytes expected, got {}",
                    body.len()
                ))
            } else {
                Parsed::Incomplete
            };
        }
        if eof {
            resp.body = body.to_vec();
            return Parsed::Complete(resp, buf.len());
        }
        return Parsed::Incomplete;
    }
}

/// Decodes a chunked body. `Ok(None)` if incomplete; on success, the body and the number of
/// bytes consumed (including the last chunk and trailers).
pub fn decode_chunked(b: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let Some(le) = find(&b[i..], b"\r\n") else {
            return Ok(None);
        };
        let size_line = String::from_utf8_lossy(&b[i..i + le]);
        let size_text = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size line {size_line:?}"))?;
        i += le + 2;
        if size == 0 {
            // trailers until an empty line
            loop {
                let Some(le) = find(&b[i..], b"\r\n") else {
                    return Ok(None);
                };
                i += le + 2;
                if le == 0 {
                    return Ok(Some((out, i)));
                }
            }
        }
        if b.len() < i + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[i..i + size]);
        i += size;
        if &b[i..i + 2] != b"\r\n" {
            return Err("invalid chunked data (expected CRLF after chunk data)".into());
        }
        i += 2;
    }
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return if needle.is_empty() { Some(0) } else { None };
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_requests_like_upstream() {
        let r = build_request(b"GET /p\n", "Authorization: Bearer abc\n", "close").unwrap();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "GET /p HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer abc\r\n\r\n"
        );
        let r = build_request(b"  # comment\nPOST /t\n  a=1&b=2 \n", "", "close").unwrap();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 7\r\n\r\na=1&b=2"
        );
        let r = build_request(b"GET", "Host: x\nconnection: keep-alive", "close").unwrap();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "GET / HTTP/1.1\r\nHost: x\r\nconnection: keep-alive\r\n\r\n"
        );
        let r = build_request(b"GET /x HTTP/1.0", "", "close").unwrap();
        assert!(r.starts_with(b"GET /x HTTP/1.0\r\n"));
        // chunked: body sent as is
        let r = build_request(
            b"POST /c\n5\r\nhello\r\n0\r\n\r\n",
            "Transfer-Encoding: chunked",
            "close",
        )
        .unwrap();
        assert!(r.ends_with(b"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        // explicit Content-Length: body not trimmed
        let r = build_request(b"POST /c\nab\n", "Content-Length: 3", "close").unwrap();
        assert!(r.ends_with(b"Content-Length: 3\r\n\r\nab\n"));
        assert!(build_request(b"  \n", "", "close").is_err());
        assert!(build_request(b"GET / HTTP/1.1 extra\n", "", "close").is_err());
    }

    #[test]
    fn parses_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhelloEXTRA";
        let Parsed::Complete(r, used) = parse_response(raw, false, false) else {
            panic!()
        };
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello");
        assert_eq!(used, raw.len() - 5);
        assert_eq!(r.header("X-a").as_deref(), Some("1, 2"));
        assert_eq!(
            r.raw_headers,
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n"
        );
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
                false,
                false
            ),
            Parsed::Incomplete
        ));
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
                false,
                true
            ),
            Parsed::Error(_)
        ));
        let Parsed::Complete(r, _) =
            parse_response(b"HTTP/1.0 200 OK\r\n\r\nuntil close", false, true)
        else {
            panic!()
        };
        assert_eq!(r.body, b"until close");
        let Parsed::Complete(r, _) =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, false)
        else {
            panic!()
        };
        assert!(r.body.is_empty());
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let Parsed::Complete(r, _) = parse_response(raw, false, false) else {
            panic!()
        };
        assert_eq!(r.status, 204);
        assert!(matches!(parse_response(b"", false, true), Parsed::Error(_)));
        assert!(matches!(
            parse_response(b"garbage\r\n\r\n", false, true),
            Parsed::Error(_)
        ));
    }

    #[test]
    fn chunked_decoding() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let (d, used) = decode_chunked(body).unwrap().unwrap();
        assert_eq!(d, b"hello world");
        assert_eq!(&body[used..], b"NEXT");
        assert!(decode_chunked(b"5\r\nhel").unwrap().is_none());
        assert!(decode_chunked(b"5\r\nhello\r\n0\r\n").unwrap().is_none());
        assert!(decode_chunked(b"zz\r\n").is_err());
        assert!(decode_chunked(b"2\r\nabX\r\n").is_err());
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let Parsed::Complete(r, used) = parse_response(raw, false, false) else {
            panic!()
        };
        assert_eq!(r.body, b"abc");
        assert_eq!(used, raw.len());
    }

    #[test]
    fn api_request_bytes() {
        let r = Request::post("/x", "ab").header("X-A", "1").to_bytes();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "POST /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nab"
        );
    }
}
