//! Turns a parsed block into a validated, typed test specification.
//!
//! Every section name is checked against the supported set: an unknown or unsupported section
//! makes the block fail (a typo must never skip a check).

use crate::parse::{Block, Preamble, Section, SETUP_SECTIONS};
use crate::perl::PVal;

/// Sections accepted and ignored (they only matter to modes this runner does not have).
const IGNORED: &[&str] = &[
    "ONLY",
    "SKIP",
    "LAST",
    "no_check_leak",
    "no_valgrind",
    "no_shuffle",
    "no_http2",
    "no_http3",
    "no_mockeagain",
    "suppress_stderr",
    "curl",
];

/// One `>>> name [date]` file of `--- user_files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFile {
    /// Path relative to the html directory.
    pub name: String,
    pub content: Vec<u8>,
    /// Optional `touch -t` style modification date.
    pub date: Option<String>,
}

/// The request part of a block.
#[derive(Debug, Clone)]
pub enum Requests {
    /// `--- request`: one string (one request) or a list (several, each on its own connection).
    Request(Vec<Vec<u8>>),
    /// `--- raw_request`: bytes sent verbatim; a list is sent as separate packets.
    Raw(Vec<Vec<u8>>),
    /// `--- pipelined_requests eval`: requests sent back to back on one connection.
    Pipelined(Vec<Vec<u8>>),
    /// No request (only valid with `--- must_die`).
    None,
}

/// A validated block.
#[derive(Debug, Clone)]
pub struct Spec {
    pub main_config: String,
    pub http_config: String,
    pub config: String,
    pub post_main_config: String,
    pub server_name: Option<String>,
    pub user_files: Vec<UserFile>,
    pub requests: Requests,
    /// `--- more_headers`: a string, or one string per request.
    pub more_headers: Option<PVal>,
    pub raw_request_middle_delay: f64,
    pub error_code: Option<PVal>,
    pub error_code_like: Option<PVal>,
    pub response_body: Option<PVal>,
    pub response_body_like: Option<PVal>,
    pub response_body_unlike: Option<PVal>,
    pub response_headers: Option<PVal>,
    pub response_headers_like: Option<PVal>,
    pub raw_response_headers_like: Option<PVal>,
    pub raw_response_headers_unlike: Option<PVal>,
    pub error_log: Option<PVal>,
    pub no_error_log: Option<PVal>,
    pub shutdown_error_log: Option<PVal>,
    pub no_shutdown_error_log: Option<PVal>,
    pub grep_error_log: Option<PVal>,
    pub grep_error_log_out: Option<PVal>,
    pub access_log: Option<PVal>,
    pub no_access_log: Option<PVal>,
    pub timeout: Option<f64>,
    pub wait: Option<f64>,
    pub log_level: Option<String>,
    /// `--- must_die` (with an optional expected exit code).
    pub must_die: Option<Option<i32>>,
    pub ignore_response: bool,
    pub repeat_each: usize,
    pub no_root_location: bool,
    /// For a block without `--- config`: the line of the block whose setup it runs with.
    pub setup_from: Option<usize>,
}

fn text(v: PVal, name: &str) -> Result<String, String> {
    match v {
        PVal::Str(s) => String::from_utf8(s).map_err(|_| format!("--- {name}: not valid UTF-8")),
        PVal::Undef => Ok(String::new()),
        other => Err(format!(
            "--- {name}: expected a string, got {}",
            other.describe()
        )),
    }
}

fn bytes(v: PVal, name: &str) -> Result<Vec<u8>, String> {
    match v {
        PVal::Str(s) => Ok(s),
        other => Err(format!(
            "--- {name}: expected a string, got {}",
            other.describe()
        )),
    }
}

/// Parses a Test::Nginx time value: `3`, `1.5`, `2s`, `300ms`.
pub fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse::<f64>().ok().map(|v| v / 1000.0);
    }
    s.strip_suffix('s').unwrap_or(s).trim().parse().ok()
}

/// Parses the `user_files` format: `>>> name [date]` lines, each followed by the content.
pub fn parse_user_files(raw: &[u8]) -> Result<Vec<UserFile>, String> {
    let mut files: Vec<UserFile> = Vec::new();
    for line in raw.split_inclusive(|&c| c == b'\n') {
        if let Some(rest) = line.strip_prefix(b">>> ") {
            let rest = String::from_utf8_lossy(rest);
            let mut words = rest.trim().splitn(2, char::is_whitespace);
            let name = words.next().unwrap_or("").to_string();
            let date = words
                .next()
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty());
            if name.is_empty() {
                return Err("--- user_files: `>>>` without a file name".into());
            }
            if name.starts_with('/') || name.split('/').any(|c| c == "..") {
                return Err(format!(
                    "--- user_files: file name {name:?} must stay inside the html directory"
                ));
            }
            files.push(UserFile {
                name,
                content: Vec::new(),
                date,
            });
        } else if let Some(last) = files.last_mut() {
            last.content.extend_from_slice(line);
        } else if !line.iter().all(u8::is_ascii_whitespace) {
            return Err("--- user_files: content before the first `>>> name` line".into());
        }
    }
    Ok(files)
}

impl Spec {
    /// Validates a block's sections.
    pub fn from_block(block: &Block, pre: &Preamble) -> Result<Spec, String> {
        if let Some(e) = &block.error {
            return Err(e.clone());
        }
        if !pre.unsupported.is_empty() {
            return Err(format!(
                "the file's preamble uses {}, which this runner does not support",
                pre.unsupported.join(", ")
            ));
        }
        let mut spec = Spec {
            main_config: String::new(),
            http_config: String::new(),
            config: String::new(),
            post_main_config: String::new(),
            server_name: None,
            user_files: Vec::new(),
            requests: Requests::None,
            more_headers: None,
            raw_request_middle_delay: 0.0,
            error_code: None,
            error_code_like: None,
            response_body: None,
            response_body_like: None,
            response_body_unlike: None,
            response_headers: None,
            response_headers_like: None,
            raw_response_headers_like: None,
            raw_response_headers_unlike: None,
            error_log: None,
            no_error_log: None,
            shutdown_error_log: None,
            no_shutdown_error_log: None,
            grep_error_log: None,
            grep_error_log_out: None,
            access_log: None,
            no_access_log: None,
            timeout: None,
            wait: None,
            log_level: pre.log_level.clone(),
            must_die: None,
            ignore_response: false,
            repeat_each: pre.repeat_each.max(1),
            no_root_location: pre.no_root_location,
            setup_from: None,
        };
        // a block without `--- config` runs on an earlier block's setup, as under upstream
        // (checked after the sections, so that a typo is reported first)
        let has_config = block.sections.iter().any(|s| s.name == "config");
        let inherited: &[Section] = match (&block.inherited, has_config) {
            (Some(setup), false) => {
                spec.setup_from = Some(setup.line);
                &setup.sections
            }
            _ => &[],
        };
        let mut request: Option<PVal> = None;
        let mut raw_request: Option<PVal> = None;
        let mut pipelined: Option<PVal> = None;
        for sec in inherited.iter().chain(&block.sections) {
            let name = sec.name.as_str();
            if IGNORED.contains(&name) {
                continue;
            }
            let v = sec.value()?;
            let at = |e: String| format!("{e} (line {})", sec.line);
            match name {
                "main_config" => spec.main_config = text(v, name).map_err(at)?,
                "http_config" => spec.http_config = text(v, name).map_err(at)?,
                "config" => spec.config = text(v, name).map_err(at)?,
                "post_main_config" => spec.post_main_config = text(v, name).map_err(at)?,
                "server_name" => {
                    spec.server_name = Some(text(v, name).map_err(at)?.trim().to_string())
                }
                "user_files" => {
                    let raw = bytes(v, name).map_err(at)?;
                    spec.user_files = parse_user_files(&raw).map_err(at)?;
                }
                "request" => request = Some(v),
                "raw_request" => raw_request = Some(v),
                "pipelined_requests" => pipelined = Some(v),
                "more_headers" => spec.more_headers = Some(v),
                "raw_request_middle_delay" => {
                    spec.raw_request_middle_delay = parse_time(&text(v, name).map_err(at)?)
                        .ok_or_else(|| at(format!("--- {name}: not a time value")))?
                }
                "error_code" => spec.error_code = Some(v),
                "error_code_like" => spec.error_code_like = Some(v),
                "response_body" => spec.response_body = Some(v),
                "response_body_like" => spec.response_body_like = Some(v),
                "response_body_unlike" => spec.response_body_unlike = Some(v),
                "response_headers" => spec.response_headers = Some(v),
                "response_headers_like" => spec.response_headers_like = Some(v),
                "raw_response_headers_like" => spec.raw_response_headers_like = Some(v),
                "raw_response_headers_unlike" => spec.raw_response_headers_unlike = Some(v),
                "error_log" => spec.error_log = Some(v),
                "no_error_log" => spec.no_error_log = Some(v),
                "shutdown_error_log" => spec.shutdown_error_log = Some(v),
                "no_shutdown_error_log" => spec.no_shutdown_error_log = Some(v),
                "grep_error_log" => spec.grep_error_log = Some(v),
                "grep_error_log_out" => spec.grep_error_log_out = Some(v),
                "access_log" => spec.access_log = Some(v),
                "no_access_log" => spec.no_access_log = Some(v),
                "timeout" => {
                    spec.timeout = Some(
                        parse_time(&text(v, name).map_err(at)?)
                            .ok_or_else(|| at(format!("--- {name}: not a time value")))?,
                    )
                }
                "wait" => {
                    spec.wait = Some(
                        parse_time(&text(v, name).map_err(at)?)
                            .ok_or_else(|| at(format!("--- {name}: not a time value")))?,
                    )
                }
                "log_level" => {
                    let l = text(v, name).map_err(at)?.trim().to_string();
                    const LEVELS: &[&str] = &[
                        "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg",
                    ];
                    if !LEVELS.contains(&l.as_str()) {
                        return Err(at(format!("--- log_level: unknown level {l:?}")));
                    }
                    spec.log_level = Some(l);
                }
                "must_die" => {
                    let t = text(v, name).map_err(at)?;
                    let t = t.trim();
                    spec.must_die = Some(if t.is_empty() {
                        None
                    } else {
                        Some(t.parse::<i32>().map_err(|_| {
                            at(format!("--- must_die: exit code {t:?} is not a number"))
                        })?)
                    });
                }
                "ignore_response" => spec.ignore_response = true,
                other => {
                    return Err(at(format!(
                        "unknown or unsupported section '--- {other}' (supported: {})",
                        SUPPORTED.join(" ")
                    )))
                }
            }
        }

        if !has_config {
            let own: Vec<String> = block
                .sections
                .iter()
                .filter(|s| SETUP_SECTIONS.contains(&s.name.as_str()) || s.name == "must_die")
                .map(|s| format!("--- {}", s.name))
                .collect();
            if !own.is_empty() {
                return Err(format!(
                    "{} without --- config: upstream Test::Nginx starts no nginx for a block without --- config (it runs on the previous block's nginx), so these would not apply there (--- user_files would not be written); add a --- config section (it may be empty)",
                    own.join(", ")
                ));
            }
            if block.inherited.is_none() {
                return Err(
                    "no --- config, and no earlier block with one whose nginx this block could run on (upstream Test::Nginx bails out: \"No '--- config' section specified and could not get previous one\"); add a --- config section".into(),
                );
            }
        }
        let n = [
            request.is_some(),
            raw_request.is_some(),
            pipelined.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if n > 1 {
            return Err(
                "only one of --- request, --- raw_request, --- pipelined_requests is allowed"
                    .into(),
            );
        }
        spec.requests = if let Some(v) = request {
            match v {
                PVal::Str(s) => Requests::Request(vec![s]),
                PVal::List(items) => Requests::Request(
                    items
                        .into_iter()
                        .map(|i| match i {
                            PVal::Str(s) => Ok(s),
                            other => Err(format!(
                                "--- request: each request must be a string (packet lists are not supported), got {}",
                                other.describe()
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                other => return Err(format!("--- request: unsupported value {}", other.describe())),
            }
        } else if let Some(v) = raw_request {
            match v {
                PVal::Str(s) => Requests::Raw(vec![s]),
                PVal::List(items) => Requests::Raw(
                    items
                        .into_iter()
                        .map(|i| bytes(i, "raw_request"))
                        .collect::<Result<_, _>>()?,
                ),
                other => {
                    return Err(format!(
                        "--- raw_request: unsupported value {}",
                        other.describe()
                    ))
                }
            }
        } else if let Some(v) = pipelined {
            match v {
                PVal::List(items) if !items.is_empty() => Requests::Pipelined(
                    items
                        .into_iter()
                        .map(|i| bytes(i, "pipelined_requests"))
                        .collect::<Result<_, _>>()?,
                ),
                other => {
                    return Err(format!(
                        "--- pipelined_requests must be a non-empty eval list, got {}",
                        other.describe()
                    ))
                }
            }
        } else {
            Requests::None
        };
        if matches!(spec.requests, Requests::None) && spec.must_die.is_none() {
            return Err("no --- request (or raw_request / pipelined_requests) section".into());
        }
        if spec.grep_error_log.is_some() != spec.grep_error_log_out.is_some() {
            return Err("--- grep_error_log and --- grep_error_log_out go together".into());
        }
        Ok(spec)
    }

    /// Number of responses a block expects per repetition.
    pub fn response_count(&self) -> usize {
        match &self.requests {
            Requests::Request(r) => r.len(),
            Requests::Pipelined(r) => r.len(),
            Requests::Raw(_) => 1,
            Requests::None => 0,
        }
    }

    /// Whether expectations must be lists (one element per request), as upstream's `need_array`.
    pub fn need_array(&self) -> bool {
        matches!(self.requests, Requests::Pipelined(_)) || self.response_count() > 1
    }
}

/// Names of the sections this runner implements (besides the ignored ones).
pub const SUPPORTED: &[&str] = &[
    "main_config",
    "http_config",
    "config",
    "post_main_config",
    "server_name",
    "user_files",
    "request",
    "raw_request",
    "pipelined_requests",
    "more_headers",
    "raw_request_middle_delay",
    "error_code",
    "error_code_like",
    "response_body",
    "response_body_like",
    "response_body_unlike",
    "response_headers",
    "response_headers_like",
    "raw_response_headers_like",
    "raw_response_headers_unlike",
    "error_log",
    "no_error_log",
    "shutdown_error_log",
    "no_shutdown_error_log",
    "grep_error_log",
    "grep_error_log_out",
    "access_log",
    "no_access_log",
    "timeout",
    "wait",
    "log_level",
    "must_die",
    "ignore_response",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_file;
    use std::path::Path;

    fn spec(data: &str) -> Result<Spec, String> {
        let f = parse_file(Path::new("x.t"), "x.t", &format!("__DATA__\n{data}")).unwrap();
        Spec::from_block(&f.blocks[0], &f.preamble)
    }

    #[test]
    fn user_files_format() {
        let f =
            parse_user_files(b">>> a.txt\nhello\n>>> sub/dir/b.txt 201901010000\n\nx\n>>> empty\n")
                .unwrap();
        let uf = |n: &str, c: &[u8], d: Option<&str>| UserFile {
            name: n.into(),
            content: c.to_vec(),
            date: d.map(Into::into),
        };
        assert_eq!(f[0], uf("a.txt", b"hello\n", None));
        assert_eq!(f[1], uf("sub/dir/b.txt", b"\nx\n", Some("201901010000")));
        assert_eq!(f[2], uf("empty", b"", None));
        assert!(parse_user_files(b">>> ../x\n").is_err());
        assert!(parse_user_files(b"junk\n>>> a\n").is_err());
    }

    #[test]
    fn unknown_sections_fail() {
        let e = spec("=== A\n--- request: GET /\n--- respone_body\nx\n").unwrap_err();
        assert!(e.contains("respone_body"), "{e}");
        let e = spec("=== A\n--- request: GET /\n--- request_body\nx\n").unwrap_err();
        assert!(e.contains("request_body"), "{e}");
        assert!(spec("=== A\n--- config\n")
            .unwrap_err()
            .contains("no --- request"));
        assert!(spec("=== A\n--- config\n--- must_die\n").is_ok());
        assert!(spec("=== A\n--- request: GET /\n--- log_level: loud\n").is_err());
        assert!(spec("=== A\n--- request: GET /\n--- timeout: 2x\n").is_err());
    }

    #[test]
    fn blocks_without_config_run_on_the_previous_setup() {
        let f = parse_file(
            Path::new("x.t"),
            "x.t",
            "__DATA__\n=== A\n--- request: GET /\n\n=== B\n--- SKIP\n--- config\nskipped;\n--- request: GET /\n\n=== C\n--- http_config\nh;\n--- config\nc;\n--- user_files\n>>> f\nx\n--- log_level: warn\n--- request: GET /\n--- error_code: 404\n\n=== D\n--- request: GET /d\n\n=== E\n--- request: GET /e\n--- user_files\n>>> g\ny\n\n=== F\n--- main_config\nbad;\n--- must_die\n",
        )
        .unwrap();
        let spec = |i: usize| Spec::from_block(&f.blocks[i], &f.preamble);
        // the first block has nothing to run on (upstream bails out)
        assert!(spec(0).unwrap_err().contains("no earlier block"));
        // D takes C's setup (B is skipped), not C's expectations
        let d = spec(3).unwrap();
        assert_eq!(d.setup_from, Some(f.blocks[2].line));
        assert_eq!(
            (d.http_config.as_str(), d.config.as_str()),
            ("h;\n", "c;\n")
        );
        assert_eq!(d.user_files.len(), 1);
        assert_eq!(d.log_level.as_deref(), Some("warn"));
        assert!(d.error_code.is_none());
        assert!(matches!(&d.requests, Requests::Request(r) if r[0] == b"GET /d"));
        // setup sections of its own would be ignored by upstream: an error
        let e = spec(4).unwrap_err();
        assert!(e.contains("--- user_files without --- config"), "{e}");
        let e = spec(5).unwrap_err();
        assert!(
            e.contains("--- main_config, --- must_die without --- config"),
            "{e}"
        );
        assert_eq!(spec(2).unwrap().setup_from, None);
    }

    #[test]
    fn typed_values() {
        let s = spec(
            "=== A\n--- config\n--- request eval\n[\"GET /a\", \"GET /b\"]\n--- timeout: 300ms\n--- must_die: 1\n--- ONLY\n--- no_check_leak\n",
        )
        .unwrap();
        assert!(matches!(&s.requests, Requests::Request(r) if r.len() == 2));
        assert!(s.need_array());
        assert_eq!(s.timeout, Some(0.3));
        assert_eq!(s.must_die, Some(Some(1)));
        let s = spec("=== A\n--- config\n--- raw_request eval\n\"GET / HTTP/1.0\\r\\n\\r\\n\"\n")
            .unwrap();
        assert!(matches!(&s.requests, Requests::Raw(r) if r[0] == b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!s.need_array());
    }
}
