//! The Test::Base data format used by Test::Nginx `.t` files. A little over 600 lines: the
//! section rules are one table and its unit tests, which read best together.
//!
//! A file is a Perl preamble, a `__DATA__` (or `__END__`) line, then blocks. A block starts
//! with a line `=== name`; its sections start with lines `--- name [filters]` or the one-line
//! form `--- name [filters]: value`. Section values go through Test::Base's default filters
//! `norm` (CRLF/CR to LF) and `trim` (leading blank lines and trailing whitespace after the
//! last newline removed, so a multi-line value keeps exactly one final `\n`), then through the
//! filters named on the section line (`chomp`, `eval`, ...; `-trim` removes a default).

use std::path::{Path, PathBuf};

use crate::perl::{self, PVal};

mod preamble;

use preamble::parse_preamble;
pub use preamble::Preamble;

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
    /// For a block without `--- config`: the block whose nginx it runs on under upstream
    /// Test::Nginx (see [`SETUP_SECTIONS`]).
    pub inherited: Option<InheritedSetup>,
}

/// The sections that make up a block's nginx: its configuration and its files. Upstream
/// Test::Nginx starts a new nginx for a block only when it has a `--- config` section; a block
/// without one runs on the nginx already running, that of the previous block (in file order
/// with `no_shuffle()`, else in the shuffled order), and its own setup sections are ignored
/// (`--- user_files` are not written: the usual symptom is a 404). With no previous block,
/// upstream bails out. This runner gives such a block the setup sections of the nearest earlier
/// block that runs and has a `--- config`, and rejects setup sections of its own.
pub const SETUP_SECTIONS: &[&str] = &[
    "main_config",
    "http_config",
    "config",
    "post_main_config",
    "server_name",
    "user_files",
    "log_level",
];

/// The setup a block without `--- config` takes from an earlier block.
#[derive(Debug, Clone)]
pub struct InheritedSetup {
    /// Line of the `===` line of the block it comes from.
    pub line: usize,
    /// That block's [`SETUP_SECTIONS`].
    pub sections: Vec<Section>,
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

    // blocks without `--- config` take the setup of the nearest earlier block that runs and
    // has one: the nginx they would run on under upstream (see SETUP_SECTIONS)
    let mut setup: Option<InheritedSetup> = None;
    for b in blocks.iter_mut() {
        if b.selected != Selection::Run {
            continue;
        }
        if b.sections.iter().any(|s| s.name == "config") {
            setup = Some(InheritedSetup {
                line: b.line,
                sections: b
                    .sections
                    .iter()
                    .filter(|s| SETUP_SECTIONS.contains(&s.name.as_str()))
                    .cloned()
                    .collect(),
            });
        } else {
            b.inherited = setup.clone();
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
        inherited: None,
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
