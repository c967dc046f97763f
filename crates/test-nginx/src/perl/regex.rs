//! Perl regexes (`like` sections, `qr//`) on top of `fancy_regex`.

use std::fmt;

use super::{escape_bytes, PVal};

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

/// The regex of a pattern value: a string is a pattern, a `qr//` keeps its flags; `extra_flags`
/// are added (e.g. `s` for `response_body_like`, as upstream).
pub fn regex_of(v: &PVal, extra_flags: &str) -> Result<PerlRegex, String> {
    match v {
        PVal::Str(s) => PerlRegex::new(&String::from_utf8_lossy(s), extra_flags),
        PVal::Regex { pat, flags } => PerlRegex::new(pat, &format!("{flags}{extra_flags}")),
        other => Err(format!("expected a pattern, got {}", other.describe())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
