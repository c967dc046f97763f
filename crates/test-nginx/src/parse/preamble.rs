//! The Perl preamble of a `.t` file (before `__DATA__`): the few calls the runner reads.

use crate::perl::{self, PVal};

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

/// Reads the preamble's settings; anything else in it is ignored.
pub(super) fn parse_preamble(text: &str) -> Preamble {
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
