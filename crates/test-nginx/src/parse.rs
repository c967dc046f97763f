//! The Test::Base data format used by Test::Nginx `.t` files.
//!
//! A file is a Perl preamble, a `__DATA__` (or `__END__`) line, then blocks. A block starts
//! with a line `=== name`; its sections start with lines `--- name [filters]` or the one-line
//! form `--- name [filters]: value`. Section values go through Test::Base's default filters
//! `norm` (CRLF/CR to LF) and `trim` (leading blank lines and trailing whitespace after the
//! last newline removed, so a multi-line value keeps exactly one final `\n`), then through the
//! filters named on the section line (`chomp`, `eval`, ...; `-trim` removes a default).

use std::path::{Path, PathBuf};

use crate::perl::{self, PVal};

/// One parsed `.t` file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Path of the file as given.
    pub path: PathBuf,
    /// Path shown in reports (relative to the workspace root when possible).
    pub display: String,
    /// Settings recognised in the Perl preamble.
    pub preamble: Preamble,
    /// Every block of the file, in order (including skipped ones).
    pub blocks: Vec<Block>,
}

/// The few preamble calls the runner understands; everything else before `__DATA__` is ignored.
#[derive(Debug, Clone, Default)]
pub struct Preamble {
    /// `repeat_each(N)`: each block's requests are sent N times (default 1).
    pub repeat_each: usize,
    /// `no_root_location()`: do not add the default `location / { root html; }`.
    pub no_root_location: bool,
    /// `log_level('warn')`: the default error_log level of the file's blocks.
    pub log_level: Option<String>,
    /// `workers(N)`.
    pub workers: Option<u32>,
    /// `worker_connections(N)`.
    pub worker_connections: Option<u32>,
    /// `env_to_nginx("A", "B=c")`: emitted as `env ...;` lines.
    pub env_to_nginx: Vec<String>,
    /// `$ENV{TEST_NGINX_X} ||= "literal";` / `= "literal";`: (name, value, only_if_unset).
    pub env_defaults: Vec<(String, String, bool)>,
    /// Preamble constructs that change blocks in ways this runner cannot reproduce.
    pub unsupported: Vec<String>,
}

/// One `=== name` block.
#[derive(Debug, Clone)]
pub struct Block {
    /// 1-based line of the `===` line.
    pub line: usize,
    /// The block name (text after `===`, e.g. `TEST 1: protected file`).
    pub name: String,
    /// Sections, in file order.
    pub sections: Vec<Section>,
    /// Whether this block runs, given `ONLY`, `SKIP` and `LAST` in the file.
    pub selected: Selection,
    /// A format error in the block (malformed or duplicate section...): the block fails.
    pub error: Option<String>,
}

/// Whether a block is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Runs.
    Run,
    /// Not run; the reason is shown in the report.
    Skip(String),
}

/// One `--- name` section, raw (filters not yet applied).
#[derive(Debug, Clone)]
pub struct Section {
    /// Section name.
    pub name: String,
    /// Filter words from the section line (`eval`, `chomp`, `-trim`, ...).
    pub filters: Vec<String>,
    /// The raw text: the lines up to the next section, or the one-line value.
    pub raw: String,
    /// 1-based line of the section line.
    pub line: usize,
}

impl Section {
    /// Applies the default and named filters, returning the section's value.
    pub fn value(&self) -> Result<PVal, String> {
        let mut chain: Vec<String> = vec!["norm".into(), "trim".into()];
        let mut append = Vec::new();
        for f in &self.filters {
            if let Some(rest) = f.strip_prefix('-') {
                chain.retain(|x| x != rest);
            } else if let Some(rest) = f.strip_prefix('+') {
                append.push(rest.to_string());
            } else {
                chain.push(f.clone());
            }
        }
        chain.extend(append);
        let mut v = PVal::Str(self.raw.as_bytes().to_vec());
        for f in &chain {
            v = apply_filter(f, v)
                .map_err(|e| format!("--- {} (line {}): {e}", self.name, self.line))?;
        }
        Ok(v)
    }

    /// Whether the section carries the named filter.
    pub fn has_filter(&self, f: &str) -> bool {
        self.filters.iter().any(|x| x == f)
    }
}

fn map_str(v: PVal, f: &dyn Fn(Vec<u8>) -> Vec<u8>) -> PVal {
    match v {
        PVal::Str(s) => PVal::Str(f(s)),
        PVal::List(items) => PVal::List(items.into_iter().map(|i| map_str(i, f)).collect()),
        other => other,
    }
}

fn apply_filter(name: &str, v: PVal) -> Result<PVal, String> {
    Ok(match name {
        "norm" => map_str(v, &|s| {
            let mut out = Vec::with_capacity(s.len());
            let mut i = 0;
            while i < s.len() {
                if s[i] == b'\r' {
                    out.push(b'\n');
                    if s.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                } else {
                    out.push(s[i]);
                }
                i += 1;
            }
            out
        }),
        "trim" => map_str(v, &|s| trim(&s).to_vec()),
        "chomp" => map_str(v, &|mut s| {
            if s.last() == Some(&b'\n') {
                s.pop();
            }
            s
        }),
        "chop" => map_str(v, &|mut s| {
            s.pop();
            s
        }),
        "unchomp" => map_str(v, &|mut s| {
            s.push(b'\n');
            s
        }),
        "eval" => match v {
            PVal::Str(s) => {
                let src =
                    String::from_utf8(s).map_err(|_| "eval section is not UTF-8".to_string())?;
                perl::eval(&src)?
            }
            _ => return Err("eval applied twice".into()),
        },
        other => {
            return Err(format!(
                "unsupported filter '{other}' (supported: eval chomp chop unchomp trim norm)"
            ))
        }
    })
}

/// Test::Base `trim`: drop leading blank lines and any whitespace after the last newline.
pub fn trim(s: &[u8]) -> &[u8] {
    // s/\A([ \t]*\n)+//
    let mut start = 0;
    loop {
        let mut j = start;
        while j < s.len() && (s[j] == b' ' || s[j] == b'\t') {
            j += 1;
        }
        if j < s.len() && s[j] == b'\n' {
            start = j + 1;
        } else {
            break;
        }
    }
    let s = &s[start..];
    // s/(?<=\n)\s*\z//
    let mut end = s.len();
    while end > 0 && s[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    // keep whitespace up to and including the first newline after the last non-space
    match s[end..].iter().position(|&c| c == b'\n') {
        Some(p) => &s[..end + p + 1],
        None => s,
    }
}

/// Parses a `.t` file's text.
pub fn parse_file(path: &Path, display: &str, text: &str) -> Result<TestFile, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let data_idx = lines
        .iter()
        .position(|l| {
            let t = l.trim_end();
            t == "__DATA__" || t == "__END__"
        })
        .ok_or_else(|| format!("{display}: no __DATA__ line"))?;
    let preamble_text: String = lines[..data_idx].concat();
    let preamble = parse_preamble(&preamble_text);

    let mut blocks = Vec::new();
    let mut i = data_idx + 1;
    // Test::Base's `<<< perl >>>` pre-eval is not supported.
    if lines[i..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_start().starts_with("<<<"))
    {
        return Err(format!(
            "{display}: `<<< ... >>>` pre-eval code after __DATA__ is not supported"
        ));
    }
    // Anything before the first `===` is ignored, as Test::Base does.
    while i < lines.len() && !lines[i].starts_with("===") {
        i += 1;
    }
    while i < lines.len() {
        let start = i;
        i += 1;
        while i < lines.len() && !lines[i].starts_with("===") {
            i += 1;
        }
        blocks.push(parse_block(&lines[start..i], start + 1, display));
    }

    // ONLY / SKIP / LAST, as Test::Base: the first ONLY block alone runs; SKIP blocks are
    // dropped; blocks after a LAST are dropped.
    let only = blocks
        .iter()
        .position(|b| b.sections.iter().any(|s| s.name == "ONLY"));
    let mut last_seen = false;
    for (k, b) in blocks.iter_mut().enumerate() {
        b.selected = if let Some(o) = only {
            if k == o {
                Selection::Run
            } else {
                Selection::Skip("another block has --- ONLY".into())
            }
        } else if last_seen {
            Selection::Skip("after a --- LAST block".into())
        } else if b.sections.iter().any(|s| s.name == "SKIP") {
            Selection::Skip("--- SKIP".into())
        } else {
            Selection::Run
        };
        if b.sections.iter().any(|s| s.name == "LAST") {
            last_seen = true;
        }
    }

    Ok(TestFile {
        path: path.to_path_buf(),
        display: display.to_string(),
        preamble,
        blocks,
    })
}

/// Parses a section header line `--- name filters` (Test::Base: `^--- +\(?(\w+)\)? *(.*)?\n`).
fn section_header(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("---")?;
    let rest_trim = rest.trim_start_matches(' ');
    if rest_trim.len() == rest.len() {
        return None; // at least one space after ---
    }
    let rest = rest_trim.strip_prefix('(').unwrap_or(rest_trim);
    let name_len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    if name_len == 0 {
        return None;
    }
    let name = rest[..name_len].to_string();
    let rest = &rest[name_len..];
    let rest = rest.strip_prefix(')').unwrap_or(rest);
    let filters = rest
        .trim_start_matches(' ')
        .trim_end_matches(['\n', '\r'])
        .to_string();
    Some((name, filters))
}

fn parse_block(lines: &[&str], first_line: usize, display: &str) -> Block {
    let name = lines[0]
        .trim_start_matches("===")
        .trim_end()
        .trim_start_matches([' ', '\t'])
        .to_string();
    let mut sections: Vec<Section> = Vec::new();
    let error = parse_sections(lines, first_line, display, &mut sections).err();
    Block {
        line: first_line,
        name,
        sections,
        selected: Selection::Run,
        error,
    }
}

fn parse_sections(
    lines: &[&str],
    first_line: usize,
    display: &str,
    sections: &mut Vec<Section>,
) -> Result<(), String> {
    let mut current: Option<(String, String, usize, Vec<&str>)> = None;
    let finish = |cur: Option<(String, String, usize, Vec<&str>)>,
                  sections: &mut Vec<Section>|
     -> Result<(), String> {
        let Some((name, filters, line, body)) = cur else {
            return Ok(());
        };
        let body: String = body.concat();
        let (filters, raw) = split_one_line(&name, &filters, body, display, line)?;
        let filters: Vec<String> = filters.split_whitespace().map(str::to_string).collect();
        if sections.iter().any(|s| s.name == name) {
            return Err(format!("{display}:{line}: duplicate section --- {name}"));
        }
        sections.push(Section {
            name,
            filters,
            raw,
            line,
        });
        Ok(())
    };
    for (k, l) in lines.iter().enumerate().skip(1) {
        if let Some((sname, filters)) = section_header(l) {
            finish(current.take(), sections)?;
            current = Some((sname, filters, first_line + k, Vec::new()));
        } else {
            // `---name` (no space) is not a section line for Test::Base: it would silently
            // become text of the previous section, so reject it.
            if l.starts_with("---")
                && l[3..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(format!(
                    "{display}:{}: malformed section line {:?} (need `--- name`)",
                    first_line + k,
                    l.trim_end()
                ));
            }
            match current.as_mut() {
                Some(cur) => cur.3.push(l),
                // text before the first section is the description, ignored; but a line that
                // looks like a mistyped section line must not be dropped silently
                None if l.starts_with('-') => {
                    return Err(format!(
                        "{display}:{}: malformed section line {:?} (need `--- name`)",
                        first_line + k,
                        l.trim_end()
                    ));
                }
                None => {}
            }
        }
    }
    finish(current.take(), sections)
}

/// Handles the one-line form `--- name filters: value`.
fn split_one_line(
    name: &str,
    filters: &str,
    body: String,
    display: &str,
    line: usize,
) -> Result<(String, String), String> {
    // Test::Base: if ($filters =~ /:(\s|\z)/) { ... split /\s*:(?:\s+|\z)/, $filters, 2 }
    let b = filters.as_bytes();
    let pos = (0..b.len())
        .find(|&k| b[k] == b':' && (k + 1 == b.len() || b[k + 1].is_ascii_whitespace()));
    let Some(pos) = pos else {
        return Ok((filters.to_string(), body));
    };
    if body.chars().any(|c| !c.is_whitespace()) {
        return Err(format!("{display}:{line}: extra lines not allowed after the one-line section '--- {name}: ...'"));
    }
    let f = filters[..pos].trim_end().to_string();
    let value = filters[pos + 1..].trim().to_string();
    Ok((f, value))
}

fn parse_preamble(text: &str) -> Preamble {
    let mut p = Preamble {
        repeat_each: 1,
        ..Preamble::default()
    };
    // strip comments (roughly: `#` to end of line, outside of quotes is not tracked)
    let code: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let call_arg = |name: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(pos) = code[from..].find(name) {
            let at = from + pos;
            from = at + name.len();
            let before_ok = at == 0
                || !code.as_bytes()[at - 1].is_ascii_alphanumeric()
                    && code.as_bytes()[at - 1] != b'_';
            let after = code[from..].trim_start();
            if before_ok && after.starts_with('(') {
                if let Some(end) = after.find(')') {
                    out.push(after[1..end].trim().to_string());
                }
            }
        }
        out
    };
    for a in call_arg("repeat_each") {
        if let Ok(n) = a.parse::<usize>() {
            p.repeat_each = n.max(1);
        }
    }
    if !call_arg("no_root_location").is_empty() {
        p.no_root_location = true;
    }
    for a in call_arg("log_level") {
        if let Ok(PVal::Str(s)) = perl::eval(&a) {
            p.log_level = Some(String::from_utf8_lossy(&s).into_owned());
        }
    }
    for a in call_arg("workers") {
        if let Ok(n) = a.parse() {
            p.workers = Some(n);
        }
    }
    for a in call_arg("worker_connections") {
        if let Ok(n) = a.parse() {
            p.worker_connections = Some(n);
        }
    }
    for a in call_arg("env_to_nginx") {
        match perl::eval(&a) {
            Ok(PVal::Str(s)) => p
                .env_to_nginx
                .push(String::from_utf8_lossy(&s).into_owned()),
            Ok(PVal::List(items)) => {
                for i in items {
                    if let PVal::Str(s) = i {
                        p.env_to_nginx
                            .push(String::from_utf8_lossy(&s).into_owned());
                    }
                }
            }
            _ => p.unsupported.push(format!("env_to_nginx({a})")),
        }
    }
    for name in [
        "add_block_preprocessor",
        "set_http_config_filter",
        "add_response_body_check",
        "filters",
        "filters_delay",
    ] {
        if !call_arg(name).is_empty() || code.contains(&format!("{name} {{")) {
            p.unsupported.push(format!("{name}(...)"));
        }
    }
    // $ENV{TEST_NGINX_FOO} ||= "value";   $ENV{TEST_NGINX_FOO} = 'value';
    let mut from = 0;
    while let Some(pos) = code[from..].find("$ENV{") {
        let at = from + pos + 5;
        from = at;
        let Some(close) = code[at..].find('}') else {
            break;
        };
        let name = code[at..at + close]
            .trim()
            .trim_matches(['"', '\''])
            .to_string();
        let after = code[at + close + 1..].trim_start();
        let (only_unset, rhs) = if let Some(r) = after.strip_prefix("||=") {
            (true, r)
        } else if let Some(r) = after.strip_prefix("//=") {
            (true, r)
        } else if let Some(r) = after.strip_prefix('=') {
            if r.starts_with('=') || r.starts_with('~') {
                continue;
            }
            (false, r)
        } else {
            continue;
        };
        let Some(end) = rhs.find(';') else { continue };
        if let Ok(PVal::Str(v)) = perl::eval(&rhs[..end]) {
            p.env_defaults
                .push((name, String::from_utf8_lossy(&v).into_owned(), only_unset));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"use Test::Nginx::Socket 'no_plan';
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
$ENV{TEST_NGINX_FOO} ||= "bar";
repeat_each(2);
no_root_location();
# log_level('info');
log_level("warn");
no_long_string();
run_tests();
__DATA__

=== TEST 1: protected file needs a token
some description
--- http_config
    jwt_key_file $TEST_NGINX_HTML_DIR/secret.key;
--- config
    location /p { jwt_verify on; alias $TEST_NGINX_HTML_DIR/p.txt; }

--- user_files
>>> secret.key
0123456789abcdef0123456789abcdef
>>> p.txt
hello
--- request
GET /p
--- more_headers
Authorization: Bearer abc
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="x", error="invalid_token"
!Set-Cookie
--- response_body_like: ^<html>
--- response_body chomp
a


--- error_log eval
[qr/jwt: token \w+/, "x"]
--- no_error_log
[error]



=== TEST 2: skipped
--- SKIP
--- request
GET /

=== TEST 3
--- request: GET /
--- LAST

=== TEST 4: after last
--- request: GET /
"#;

    #[test]
    fn parses_sample() {
        let f = parse_file(Path::new("x.t"), "x.t", SAMPLE).unwrap();
        assert_eq!(f.preamble.repeat_each, 2);
        assert!(f.preamble.no_root_location);
        assert_eq!(f.preamble.log_level.as_deref(), Some("warn"));
        assert_eq!(
            f.preamble.env_defaults,
            vec![("TEST_NGINX_FOO".into(), "bar".into(), true)]
        );
        assert_eq!(f.blocks.len(), 4);
        let b = &f.blocks[0];
        assert_eq!(b.line, 12);
        assert_eq!(b.name, "TEST 1: protected file needs a token");
        let names: Vec<&str> = b.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "http_config",
                "config",
                "user_files",
                "request",
                "more_headers",
                "error_code",
                "response_headers",
                "response_body_like",
                "response_body",
                "error_log",
                "no_error_log"
            ]
        );
        let get = |n: &str| {
            b.sections
                .iter()
                .find(|s| s.name == n)
                .unwrap()
                .value()
                .unwrap()
        };
        assert_eq!(
            get("config"),
            PVal::Str(
                b"    location /p { jwt_verify on; alias $TEST_NGINX_HTML_DIR/p.txt; }\n".to_vec()
            )
        );
        assert_eq!(get("error_code"), PVal::Str(b"401".to_vec()));
        assert_eq!(get("response_body_like"), PVal::Str(b"^<html>".to_vec()));
        assert_eq!(get("response_body"), PVal::Str(b"a".to_vec()));
        assert_eq!(get("request"), PVal::Str(b"GET /p\n".to_vec()));
        assert_eq!(get("no_error_log"), PVal::Str(b"[error]\n".to_vec()));
        assert!(matches!(get("error_log"), PVal::List(v) if v.len() == 2));
        assert_eq!(b.sections[5].line, 28);
        assert_eq!(f.blocks[1].selected, Selection::Skip("--- SKIP".into()));
        assert_eq!(f.blocks[2].selected, Selection::Run);
        assert_eq!(f.blocks[2].name, "TEST 3");
        assert!(matches!(f.blocks[3].selected, Selection::Skip(_)));
    }

    #[test]
    fn only_wins() {
        let t = "__DATA__\n=== A\n--- request: GET /\n=== B\n--- ONLY\n--- request: GET /\n=== C\n--- ONLY\n";
        let f = parse_file(Path::new("x.t"), "x.t", t).unwrap();
        let sel: Vec<bool> = f
            .blocks
            .iter()
            .map(|b| b.selected == Selection::Run)
            .collect();
        assert_eq!(sel, [false, true, false]);
    }

    #[test]
    fn trim_rules() {
        assert_eq!(trim(b"\n  \nabc\n\n \n"), b"abc\n");
        assert_eq!(trim(b"abc"), b"abc");
        assert_eq!(trim(b"abc  \n"), b"abc  \n");
        assert_eq!(trim(b"\n\n"), b"");
        assert_eq!(trim(b"  x\n y \n\t"), b"  x\n y \n");
    }

    fn block_error(t: &str) -> String {
        parse_file(Path::new("x.t"), "x.t", t).unwrap().blocks[0]
            .error
            .clone()
            .unwrap_or_default()
    }

    #[test]
    fn section_errors() {
        assert!(block_error("__DATA__\n=== A\n--- config\n--- config\n").contains("duplicate"));
        assert!(block_error("__DATA__\n=== A\n--- error_code: 200\nfoo\n").contains("extra lines"));
        assert!(
            block_error("__DATA__\n=== A\n--- config\n---error_code: 200\n").contains("malformed")
        );
        assert!(block_error("__DATA__\n=== A\n-- config\n").contains("malformed"));
        assert_eq!(
            block_error("__DATA__\n=== A\ndescription\n--- config\n-- x\n"),
            ""
        );
        let s = Section {
            name: "x".into(),
            filters: vec!["bogus".into()],
            raw: "a".into(),
            line: 1,
        };
        assert!(s.value().unwrap_err().contains("unsupported filter"));
        let s = Section {
            name: "x".into(),
            filters: vec!["-trim".into()],
            raw: "\na\n\n".into(),
            line: 1,
        };
        assert_eq!(s.value().unwrap(), PVal::Str(b"\na\n\n".to_vec()));
        let s = Section {
            name: "x".into(),
            filters: vec!["eval".into()],
            raw: "\"a\\r\\n\" x 2\n".into(),
            line: 1,
        };
        assert_eq!(s.value().unwrap(), PVal::Str(b"a\r\na\r\n".to_vec()));
        assert!(parse_file(Path::new("x.t"), "x.t", "no data\n").is_err());
    }

    #[test]
    fn header_forms() {
        assert_eq!(
            section_header("--- config\n"),
            Some(("config".into(), "".into()))
        );
        assert_eq!(
            section_header("--- error_code: 401\n"),
            Some(("error_code".into(), ": 401".into()))
        );
        assert_eq!(
            section_header("--- request eval\n"),
            Some(("request".into(), "eval".into()))
        );
        assert_eq!(section_header("---config\n"), None);
        assert_eq!(section_header("--- \n"), None);
        assert_eq!(
            split_one_line("e", ": 401", String::new(), "", 1).unwrap(),
            ("".into(), "401".into())
        );
        assert_eq!(
            split_one_line("e", "eval: \"a: b\"", String::new(), "", 1).unwrap(),
            ("eval".into(), "\"a: b\"".into())
        );
        assert_eq!(
            split_one_line("e", "chomp", "x\n".into(), "", 1).unwrap(),
            ("chomp".into(), "x\n".into())
        );
    }
}
