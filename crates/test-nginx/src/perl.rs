//! The tiny subset of Perl that `--- section eval` bodies use, and Perl regex translation.
//!
//! Supported expression syntax (anything else is an error, never silently ignored):
//!
//! * `"double quoted"` and `qq{...}` strings with the escapes `\n \r \t \f \a \e \0 \NNN`
//!   (octal), `\xHH`, `\x{HHHH}`, `\\`, `\"`, `\$`, `\@` and `\<any>`; an unescaped
//!   `$name`/`@name` (variable interpolation) is rejected;
//! * `'single quoted'` and `q{...}` strings (only `\\` and `\'` escapes);
//! * `qr/.../flags` (any delimiter, bracketing ones nest) with flags `i m s x`;
//! * integer and decimal numbers (kept as strings, as Perl would print them);
//! * `[ a, b, ... ]` array references and `( ... )` grouping / lists, `,` or `=>` separated;
//! * the operators `.` (concatenation) and `x` (repetition; a parenthesised list on the left
//!   repeats the list), with Perl's precedence (`x` binds tighter than `.`);
//! * `#` comments, `undef`, and a trailing `;`.

use std::fmt;

/// A value produced by evaluating a Perl literal expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PVal {
    /// A string (Perl strings are byte strings).
    Str(Vec<u8>),
    /// A `qr//` regex: the pattern text and its flags (subset of `imsx`).
    Regex { pat: String, flags: String },
    /// An array reference or a list.
    List(Vec<PVal>),
    /// `undef`.
    Undef,
}

impl PVal {
    /// The string value, if this is a string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            PVal::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short human-readable rendering, used in failure messages.
    pub fn describe(&self) -> String {
        match self {
            PVal::Str(s) => format!("\"{}\"", escape_bytes(s)),
            PVal::Regex { pat, flags } => format!("qr/{pat}/{flags}"),
            PVal::List(items) => {
                let inner: Vec<String> = items.iter().map(PVal::describe).collect();
                format!("[{}]", inner.join(", "))
            }
            PVal::Undef => "undef".into(),
        }
    }
}

impl fmt::Display for PVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Renders bytes the way failure reports show them: printable ASCII as is, the rest escaped.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Evaluates the body of an `eval` section.
pub fn eval(src: &str) -> Result<PVal, String> {
    let mut p = Parser {
        s: src.as_bytes(),
        i: 0,
    };
    p.skip_ws();
    if p.eof() {
        return Err("empty eval section".into());
    }
    let mut items = Vec::new();
    push_flat(&mut items, p.expr()?);
    loop {
        p.skip_ws();
        if p.eat(b",") || p.eat(b"=>") {
            p.skip_ws();
            if p.eof() || p.peek() == Some(b';') {
                break;
            }
            push_flat(&mut items, p.expr()?);
            continue;
        }
        break;
    }
    p.skip_ws();
    while p.eat(b";") {
        p.skip_ws();
    }
    if !p.eof() {
        return Err(p.err(
            "unexpected input (only Perl string/qr/array literals with `.` and `x` are supported)",
        ));
    }
    Ok(if items.len() == 1 {
        items.pop().unwrap()
    } else {
        PVal::List(items)
    })
}

/// Perl flattens parenthesised lists into the enclosing list; array refs stay nested.
fn push_flat(items: &mut Vec<PVal>, (v, flat): (PVal, bool)) {
    match v {
        PVal::List(inner) if flat => items.extend(inner),
        v => items.push(v),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn eat(&mut self, t: &[u8]) -> bool {
        if self.s[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }

    fn err(&self, msg: &str) -> String {
        let line = 1 + self.s[..self.i.min(self.s.len())]
            .iter()
            .filter(|&&c| c == b'\n')
            .count();
        let rest: String = String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..])
            .chars()
            .take(30)
            .collect();
        format!("eval: {msg} at line {line} of the section, near {rest:?}")
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'#' {
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == b'\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    /// expr := rep ('.' rep)*; also tells whether the value is a flattenable (paren) list.
    fn expr(&mut self) -> Result<(PVal, bool), String> {
        let (mut v, mut flat) = self.rep()?;
        loop {
            self.skip_ws();
            // `.` but not `..` (range) nor a number like `.5`
            if self.peek() == Some(b'.') && self.peek_at(1) != Some(b'.') {
                self.i += 1;
                self.skip_ws();
                let (r, _) = self.rep()?;
                v = PVal::Str(concat(self, v, r)?);
                flat = false;
            } else {
                return Ok((v, flat));
            }
        }
    }

    /// rep := primary ('x' count)*
    fn rep(&mut self) -> Result<(PVal, bool), String> {
        let (mut v, paren_list) = self.primary()?;
        loop {
            self.skip_ws();
            let is_x = self.peek() == Some(b'x')
                && matches!(self.peek_at(1), Some(c) if c.is_ascii_digit() || c.is_ascii_whitespace() || c == b'(');
            if !is_x {
                return Ok((v, paren_list));
            }
            self.i += 1;
            self.skip_ws();
            let (count, _) = self.primary()?;
            let n = match &count {
                PVal::Str(s) => std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .map(|f| if f < 0.0 { 0 } else { f as usize })
                    .ok_or_else(|| self.err("repetition count is not a number"))?,
                _ => return Err(self.err("repetition count is not a number")),
            };
            v = if paren_list {
                let items = match v {
                    PVal::List(items) => items,
                    other => vec![other],
                };
                let mut out = Vec::with_capacity(items.len() * n);
                for _ in 0..n {
                    out.extend(items.iter().cloned());
                }
                PVal::List(out)
            } else {
                let s = to_str(self, v)?;
                PVal::Str(s.repeat(n))
            };
        }
    }

    /// Returns the value and whether it was a parenthesised list (for list repetition).
    fn primary(&mut self) -> Result<(PVal, bool), String> {
        self.skip_ws();
        let c = self
            .peek()
            .ok_or_else(|| self.err("unexpected end of input"))?;
        match c {
            b'"' => {
                self.i += 1;
                let body = self.delimited(b'"', b'"')?;
                Ok((PVal::Str(self.interpolate(body)?), false))
            }
            b'\'' => {
                self.i += 1;
                let body = self.delimited(b'\'', b'\'')?;
                Ok((PVal::Str(single_quoted(body, b'\'')), false))
            }
            b'[' => {
                self.i += 1;
                let items = self.list(b']')?;
                Ok((PVal::List(items), false))
            }
            b'(' => {
                self.i += 1;
                let mut items = self.list(b')')?;
                if items.len() == 1 {
                    Ok((items.pop().unwrap(), true))
                } else {
                    Ok((PVal::List(items), true))
                }
            }
            b'0'..=b'9' | b'-' | b'+' => {
                let start = self.i;
                self.i += 1;
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit()
                        || c == b'_'
                        || (c == b'.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit()))
                    {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let text: String = String::from_utf8_lossy(&self.s[start..self.i]).replace('_', "");
                let n: f64 = text.parse().map_err(|_| self.err("bad number"))?;
                let s = if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{}", n as i64)
                } else {
                    format!("{n}")
                };
                Ok((PVal::Str(s.into_bytes()), false))
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == b'_' {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let word = std::str::from_utf8(&self.s[start..self.i])
                    .unwrap()
                    .to_string();
                match word.as_str() {
                    "undef" => Ok((PVal::Undef, false)),
                    "q" | "qq" | "qr" => {
                        self.skip_ws();
                        let open = self
                            .peek()
                            .ok_or_else(|| self.err("missing quote delimiter"))?;
                        if open.is_ascii_alphanumeric()
                            || open == b'_'
                            || open == b','
                            || open == b';'
                        {
                            return Err(self.err(&format!("bad delimiter after {word}")));
                        }
                        self.i += 1;
                        let close = match open {
                            b'{' => b'}',
                            b'(' => b')',
                            b'[' => b']',
                            b'<' => b'>',
                            o => o,
                        };
                        let body = self.delimited(open, close)?;
                        match word.as_str() {
                            "q" => Ok((PVal::Str(single_quoted(body, close)), false)),
                            "qq" => Ok((PVal::Str(self.interpolate(body)?), false)),
                            _ => {
                                let start = self.i;
                                while let Some(c) = self.peek() {
                                    if c.is_ascii_alphabetic() {
                                        self.i += 1;
                                    } else {
                                        break;
                                    }
                                }
                                let flags = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                                if let Some(bad) = flags.chars().find(|c| !"imsx".contains(*c)) {
                                    return Err(self.err(&format!("unsupported qr// flag '{bad}'")));
                                }
                                let pat = String::from_utf8(body.to_vec())
                                    .map_err(|_| self.err("qr// pattern is not UTF-8"))?;
                                check_no_interpolation(&pat, true).map_err(|e| self.err(&e))?;
                                let pat = if close == b'/' {
                                    pat.replace("\\/", "/")
                                } else {
                                    pat
                                };
                                Ok((
                                    PVal::Regex {
                                        pat,
                                        flags: flags.to_string(),
                                    },
                                    false,
                                ))
                            }
                        }
                    }
                    _ => Err(self.err(&format!("unsupported Perl construct `{word}`"))),
                }
            }
            _ => Err(self.err("unsupported Perl syntax")),
        }
    }

    fn list(&mut self, close: u8) -> Result<Vec<PVal>, String> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(&[close]) {
                return Ok(items);
            }
            push_flat(&mut items, self.expr()?);
            self.skip_ws();
            if self.eat(b",") || self.eat(b"=>") {
                continue;
            }
            if self.eat(&[close]) {
                return Ok(items);
            }
            return Err(self.err(&format!("expected ',' or '{}'", close as char)));
        }
    }

    /// Returns the raw body up to the matching close delimiter (backslash escapes skipped,
    /// bracketing delimiters nest); the cursor ends after the close delimiter.
    fn delimited(&mut self, open: u8, close: u8) -> Result<&'a [u8], String> {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            if c == b'\\' {
                self.i += 2;
                continue;
            }
            if c == close && depth == 0 {
                let body = &self.s[start..self.i];
                self.i += 1;
                return Ok(body);
            }
            if open != close {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                }
            }
            self.i += 1;
        }
        self.i = start;
        Err(self.err(&format!(
            "unterminated string (missing '{}')",
            close as char
        )))
    }

    /// Double-quoted string semantics.
    fn interpolate(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            let c = body[i];
            if (c == b'$' || c == b'@')
                && body.get(i + 1).is_some_and(|&n| {
                    n.is_ascii_alphabetic() || n == b'_' || n == b'{' || n == b':'
                })
            {
                return Err(self.err(&format!(
                    "variable interpolation (`{}...`) is not supported; escape it as \\{}",
                    c as char, c as char
                )));
            }
            if c != b'\\' {
                out.push(c);
                i += 1;
                continue;
            }
            i += 1;
            let Some(&e) = body.get(i) else {
                out.push(b'\\');
                break;
            };
            i += 1;
            match e {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'f' => out.push(0x0c),
                b'a' => out.push(0x07),
                b'e' => out.push(0x1b),
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    let mut k = 0;
                    while k < 2 && i < body.len() && (b'0'..=b'7').contains(&body[i]) {
                        v = v * 8 + u32::from(body[i] - b'0');
                        i += 1;
                        k += 1;
                    }
                    push_code(&mut out, v);
                }
                b'x' => {
                    if body.get(i) == Some(&b'{') {
                        let end = body[i..]
                            .iter()
                            .position(|&c| c == b'}')
                            .ok_or_else(|| self.err("unterminated \\x{...}"))?;
                        let hex = std::str::from_utf8(&body[i + 1..i + end])
                            .unwrap_or("")
                            .trim();
                        let v = u32::from_str_radix(hex, 16)
                            .map_err(|_| self.err("bad \\x{...} escape"))?;
                        push_code(&mut out, v);
                        i += end + 1;
                    } else {
                        let mut v = 0u32;
                        let mut k = 0;
                        while k < 2 && i < body.len() && body[i].is_ascii_hexdigit() {
                            v = v * 16 + (body[i] as char).to_digit(16).unwrap();
                            i += 1;
                            k += 1;
                        }
                        out.push(v as u8);
                    }
                }
                b'u' | b'l' | b'U' | b'L' | b'Q' | b'E' | b'N' | b'c' => {
                    return Err(self.err(&format!("unsupported escape \\{}", e as char)));
                }
                other => out.push(other),
            }
        }
        Ok(out)
    }
}

fn push_code(out: &mut Vec<u8>, v: u32) {
    if v < 0x100 {
        out.push(v as u8);
    } else if let Some(ch) = char::from_u32(v) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

fn single_quoted(body: &[u8], close: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' && i + 1 < body.len() && (body[i + 1] == b'\\' || body[i + 1] == close)
        {
            out.push(body[i + 1]);
            i += 2;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

fn to_str(p: &Parser<'_>, v: PVal) -> Result<Vec<u8>, String> {
    match v {
        PVal::Str(s) => Ok(s),
        PVal::Undef => Ok(Vec::new()),
        // `("a") x 2 . "b"`: list repetition in scalar context is string repetition
        PVal::List(items) if items.iter().all(|i| matches!(i, PVal::Str(_))) => Ok(items
            .into_iter()
            .flat_map(|i| if let PVal::Str(s) = i { s } else { Vec::new() })
            .collect()),
        other => Err(p.err(&format!("cannot use {} as a string", other.describe()))),
    }
}

fn concat(p: &Parser<'_>, a: PVal, b: PVal) -> Result<Vec<u8>, String> {
    let mut a = to_str(p, a)?;
    a.extend(to_str(p, b)?);
    Ok(a)
}

/// Rejects Perl variable interpolation inside a `qr//` body (`$name`, `${...}`, `@name`).
fn check_no_interpolation(pat: &str, in_regex: bool) -> Result<(), String> {
    let b = pat.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'$' | b'@' => {
                let next = b.get(i + 1).copied();
                let is_var = next.is_some_and(|n| {
                    n.is_ascii_alphabetic() || n == b'_' || n == b'{' || n == b':'
                });
                // In a regex, `$` before `)` or `|` or at the end is an anchor.
                if is_var && !(in_regex && b[i] == b'@' && next == Some(b'{')) {
                    return Err(format!(
                        "variable interpolation (`{}...`) in qr// is not supported",
                        b[i] as char
                    ));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Translates a Perl regex (as used by `like`/`qr//`) into the dialect of `fancy_regex`.
///
/// * `flags` are Perl match flags (`imsx`), applied as an inline group;
/// * without `m`, `$` and `\Z` mean "at the end, or before a final newline" as in Perl;
/// * `\Q...\E` quoting, `\h`/`\H`, and escaped punctuation (`\/`, `\<`, `\"`...) are translated;
/// * a `{` that does not start a quantifier is literal, as in Perl;
/// * inside a character class, `[` (except POSIX `[:name:]`), `&` and `~` are literal.
pub fn translate_regex(pat: &str, flags: &str) -> String {
    let multiline = flags.contains('m');
    let mut out = String::with_capacity(pat.len() + 16);
    let inline: String = flags.chars().filter(|c| "imsx".contains(*c)).collect();
    if !inline.is_empty() {
        out.push_str(&format!("(?{inline})"));
    }
    let chars: Vec<char> = pat.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                out.push_str("\\\\");
                break;
            };
            i += 2;
            match e {
                'Q' => {
                    // quote until \E
                    while i < chars.len() {
                        if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        push_literal(&mut out, chars[i], in_class);
                        i += 1;
                    }
                }
                'E' => {}
                'Z' if !in_class => out.push_str("(?=\\n?\\z)"),
                'h' => out.push_str(if in_class { " \\t" } else { "[ \\t]" }),
                'H' if !in_class => out.push_str("[^ \\t]"),
                e if e.is_ascii_punctuation() => push_literal(&mut out, e, in_class),
                'p' | 'P' | 'x' | 'g' | 'k' | 'o' | 'N' if chars.get(i) == Some(&'{') => {
                    out.push('\\');
                    out.push(e);
                    while i < chars.len() {
                        out.push(chars[i]);
                        i += 1;
                        if chars[i - 1] == '}' {
                            break;
                        }
                    }
                }
                e => {
                    out.push('\\');
                    out.push(e);
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    // POSIX class [:name:]
                    let rest: String = chars[i..].iter().collect();
                    if let Some(end) = rest.find(":]") {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count();
                        continue;
                    }
                    out.push_str("\\[");
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // a `]` right after `[` or `[^` is literal
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '$' if !multiline => out.push_str("(?=\\n?\\z)"),
            '{' => {
                let rest: String = chars[i..].iter().collect();
                let q = quantifier_len(&rest);
                if q > 0 && i > 0 {
                    out.push_str(&rest[..q]);
                    i += q;
                    continue;
                }
                out.push_str("\\{");
            }
            '}' => out.push_str("\\}"),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn push_literal(out: &mut String, c: char, in_class: bool) {
    let meta = if in_class {
        "\\]^-[&~"
    } else {
        "\\.+*?()|[]{}^$#&-~"
    };
    if meta.contains(c) || (c.is_whitespace()) {
        if c.is_whitespace() {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        } else {
            out.push('\\');
            out.push(c);
        }
    } else {
        out.push(c);
    }
}

/// Length of a `{n}`, `{n,}` or `{n,m}` quantifier at the start of `s`, 0 if none.
fn quantifier_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') {
        return 0;
    }
    let mut i = 1;
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == digits_start {
        return 0;
    }
    if b.get(i) == Some(&b',') {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if b.get(i) == Some(&b'}') {
        i + 1
    } else {
        0
    }
}

/// A compiled Perl regex.
#[derive(Clone, Debug)]
pub struct PerlRegex {
    /// The original Perl pattern, shown as `/pattern/flags` (escaped) in messages.
    pub source: String,
    re: fancy_regex::Regex,
}

impl fmt::Display for PerlRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PerlRegex {
    /// Compiles a Perl pattern with Perl flags (`imsx`).
    pub fn new(pat: &str, flags: &str) -> Result<Self, String> {
        let translated = translate_regex(pat, flags);
        let re = fancy_regex::RegexBuilder::new(&translated)
            .backtrack_limit(10_000_000)
            .build()
            .map_err(|e| format!("bad regex /{pat}/{flags}: {e}"))?;
        let mut shown_flags: Vec<char> = flags.chars().collect();
        shown_flags.sort_unstable();
        shown_flags.dedup();
        let source = format!(
            "/{}/{}",
            escape_bytes(pat.as_bytes()),
            shown_flags.into_iter().collect::<String>()
        );
        Ok(PerlRegex { source, re })
    }

    /// The first match in `text`, if any (bytes are matched as lossy UTF-8).
    pub fn find(&self, text: &[u8]) -> Result<Option<String>, String> {
        let s = String::from_utf8_lossy(text);
        match self.re.find(&*s) {
            Ok(m) => Ok(m.map(|m| m.as_str().to_string())),
            Err(e) => Err(format!("regex {} failed: {e}", self.source)),
        }
    }

    /// Whether the regex matches somewhere in `text` (bytes are matched as lossy UTF-8).
    pub fn is_match(&self, text: &[u8]) -> Result<bool, String> {
        let s = String::from_utf8_lossy(text);
        self.re
            .is_match(&*s)
            .map_err(|e| format!("regex {} failed: {e}", self.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> PVal {
        PVal::Str(v.as_bytes().to_vec())
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            eval(r#""GET / HTTP/1.0\r\n\r\n""#).unwrap(),
            s("GET / HTTP/1.0\r\n\r\n")
        );
        assert_eq!(
            eval(r#""a\tb\\c\"d\$e\@f\x41\x{263a}\101""#).unwrap(),
            s("a\tb\\c\"d$e@fA\u{263a}A")
        );
        assert_eq!(eval(r"'a\nb\'c\\d'").unwrap(), s("a\\nb'c\\d"));
        assert_eq!(eval(r#""\xff""#).unwrap(), PVal::Str(vec![0xff]));
        assert_eq!(eval("qq{a{b}c\\n}").unwrap(), s("a{b}c\n"));
        assert_eq!(eval("q(x)").unwrap(), s("x"));
    }

    #[test]
    fn operators() {
        assert_eq!(eval(r#""POST /t\n" . "a" x 3"#).unwrap(), s("POST /t\naaa"));
        assert_eq!(eval(r#"("ab") x 2 . "c""#).unwrap(), s("ababc"));
        assert_eq!(eval("\"a\" . # comment\n \"b\";\n").unwrap(), s("ab"));
        assert_eq!(
            eval("[(\"200\") x 2]").unwrap(),
            PVal::List(vec![s("200"), s("200")])
        );
        assert_eq!(eval("200").unwrap(), s("200"));
        assert_eq!(eval("'x' x 0").unwrap(), s(""));
    }

    #[test]
    fn lists_and_regexes() {
        let v = eval("[qr/foo\\d+/, \"bar\", 'baz',]").unwrap();
        assert_eq!(
            v,
            PVal::List(vec![
                PVal::Regex {
                    pat: "foo\\d+".into(),
                    flags: "".into()
                },
                s("bar"),
                s("baz")
            ])
        );
        assert_eq!(
            eval("qr{a/b}i").unwrap(),
            PVal::Regex {
                pat: "a/b".into(),
                flags: "i".into()
            }
        );
        assert_eq!(
            eval("qr/a\\/b/").unwrap(),
            PVal::Regex {
                pat: "a/b".into(),
                flags: "".into()
            }
        );
        assert_eq!(
            eval("\"a\", \"b\"").unwrap(),
            PVal::List(vec![s("a"), s("b")])
        );
    }

    #[test]
    fn rejects_unsupported() {
        assert!(eval("\"$foo\"").is_err());
        assert!(eval("qr/$x/").is_err());
        assert!(eval("join(',', 1)").is_err());
        assert!(eval("\"abc").is_err());
        assert!(eval("\"a\" \"b\"").is_err());
        assert!(eval("").is_err());
        assert!(eval("qr/x/g").is_err());
    }

    fn m(pat: &str, flags: &str, text: &str) -> bool {
        PerlRegex::new(pat, flags)
            .unwrap()
            .is_match(text.as_bytes())
            .unwrap()
    }

    #[test]
    fn perl_regex_semantics() {
        // `$` matches before a final newline, as in Perl
        assert!(m("^hello$", "", "hello\n"));
        assert!(m("^hello$\n", "", "hello\n"));
        assert!(!m("^hello$", "", "hello\nx"));
        assert!(m("^hello$", "m", "hello\nx"));
        assert!(m("lo\\Z", "", "hello\n"));
        // /s
        assert!(m("a.b", "s", "a\nb"));
        assert!(!m("a.b", "", "a\nb"));
        // literal braces and escaped punctuation
        assert!(m("{\"a\":1}", "", "x{\"a\":1}"));
        assert!(m("^\\{\"a\"\\}$", "", "{\"a\"}"));
        assert!(m("a{2}", "", "aa"));
        assert!(m("\\<html\\>", "", "<html>"));
        assert!(m("a\\/b", "", "a/b"));
        assert!(m("\\Qa.b*\\E$", "", "xa.b*"));
        assert!(!m("\\Qa.b\\E", "", "axb"));
        assert!(m("[[]x", "", "[x"));
        assert!(m("[]a]", "", "]"));
        assert!(m("[[:digit:]]+", "", "42"));
        assert!(m("a\\hb", "", "a b"));
        assert!(m("FOO", "i", "foo"));
        // lookaround works
        assert!(m("foo(?=bar)", "", "foobar"));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_bytes(b"a\r\n\"\x01\xff"), "a\\r\\n\\\"\\x01\\xff");
    }
}
