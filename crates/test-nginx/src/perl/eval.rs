//! Evaluation of `--- section eval` bodies (the supported syntax is listed in [`super`]).

use super::PVal;

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
    Ok(single_or_list(items))
}

/// One value as itself, several as a list.
fn single_or_list(items: Vec<PVal>) -> PVal {
    match <[PVal; 1]>::try_from(items) {
        Ok([v]) => v,
        Err(items) => PVal::List(items),
    }
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
                let items = self.list(b')')?;
                Ok((single_or_list(items), true))
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
                // ASCII by construction
                let word = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
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
                                let flags = String::from_utf8_lossy(&self.s[start..self.i]);
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
                        while let Some(d) = body
                            .get(i)
                            .filter(|_| k < 2)
                            .and_then(|&c| (c as char).to_digit(16))
                        {
                            v = v * 16 + d;
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
}
