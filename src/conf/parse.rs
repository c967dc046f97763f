//! Reading directive arguments: flags, times, algorithms, variables, paths, and reporting
//! errors with the position of the directive at fault.

use std::fmt;

use jwt_core::Algorithm;
use ngx::ffi::{
    ngx_conf_full_name, ngx_conf_t, ngx_http_compile_complex_value,
    ngx_http_compile_complex_value_t, ngx_http_complex_value_t, ngx_http_get_variable_index,
    ngx_parse_time, ngx_pcalloc, ngx_str_t, NGX_LOG_EMERG, NGX_LOG_WARN,
};

use super::ConfSite;

/// The arguments of the directive being parsed; `[0]` is the directive name.
pub fn args(cf: &ngx_conf_t) -> &[ngx_str_t] {
    // SAFETY: NULL, or (during a directive's set handler) an array of ngx_str_t.
    match unsafe { cf.args.as_ref() } {
        // SAFETY: the array holds ngx_str_t elements.
        Some(args) => unsafe { args.as_slice() },
        None => &[],
    }
}

/// Argument `n` of the directive as text (lossy: arguments are ASCII in practice); empty
/// when absent (nginx checks the argument count against the command's flags first).
pub fn arg(cf: &ngx_conf_t, n: usize) -> String {
    args(cf).get(n).map(text).unwrap_or_default()
}

/// Lossy text of an nginx string, for messages and parsing of ASCII arguments.
pub fn text(s: &ngx_str_t) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

/// The directive's arguments after its name, refused unless they are UTF-8: for values that
/// are compared with claims byte for byte (a Latin-1 `ü` must not quietly become U+FFFD).
pub fn utf8_args(cf: &ngx_conf_t) -> Result<Vec<String>, String> {
    args(cf)[1..]
        .iter()
        .map(|a| {
            String::from_utf8(a.as_bytes().to_vec()).map_err(|_| {
                format!(
                    "\"{}\" argument \"{}\" is not UTF-8: save the configuration file as UTF-8",
                    directive_name(cf),
                    text(a)
                )
            })
        })
        .collect()
}

/// The name of the directive being parsed.
pub fn directive_name(cf: &ngx_conf_t) -> String {
    arg(cf, 0)
}

/// Logs a configuration error that belongs to a directive read earlier (nginx's own
/// `ngx_conf_log_error` would name the current line instead).
pub fn error_at(cf: &ngx_conf_t, site: &ConfSite, message: impl fmt::Display) {
    ngx::ngx_log_error!(NGX_LOG_EMERG, cf.log, "{message} in {site}");
}

/// Logs a configuration warning about a directive read earlier; the configuration is used.
pub fn warn_at(cf: &ngx_conf_t, site: &ConfSite, message: impl fmt::Display) {
    ngx::ngx_log_error!(NGX_LOG_WARN, cf.log, "{message} in {site}");
}

/// Refuses a directive written twice at one level.
pub fn once<T>(cf: &ngx_conf_t, slot: &Option<T>) -> Result<(), String> {
    match slot {
        Some(_) => Err(format!("\"{}\" directive is duplicate", directive_name(cf))),
        None => Ok(()),
    }
}

pub fn flag(cf: &ngx_conf_t) -> Result<bool, String> {
    let value = arg(cf, 1);
    match value.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!(
            "invalid value \"{value}\" in \"{}\" directive, it must be \"on\" or \"off\"",
            directive_name(cf)
        )),
    }
}

/// Seconds from an nginx time string (`30s`, `5m`, `1h`, `0`).
pub fn seconds(cf: &ngx_conf_t, n: usize) -> Result<u64, String> {
    let raw = args(cf).get(n).copied().unwrap_or_else(ngx_str_t::empty);
    let mut copy = raw;
    // SAFETY: ngx_parse_time only reads the string.
    let seconds = unsafe { ngx_parse_time(&mut copy, 1) };
    u64::try_from(seconds).map_err(|_| {
        format!(
            "invalid time \"{}\" in \"{}\" directive (examples: 30s, 5m, 1h)",
            text(&raw),
            directive_name(cf)
        )
    })
}

pub fn algorithm(cf: &ngx_conf_t, name: &str) -> Result<Algorithm, String> {
    if name.eq_ignore_ascii_case("none") {
        return Err(format!(
            "\"{}\" refuses \"none\": unsigned tokens are never accepted",
            directive_name(cf)
        ));
    }
    Algorithm::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown algorithm \"{name}\" in \"{}\" directive; use one of: {}",
            directive_name(cf),
            known.join(" ")
        )
    })
}

/// `$name` -> `name`, for directives that take a variable.
pub fn variable_name(cf: &ngx_conf_t, raw: &str) -> Result<String, String> {
    match raw.strip_prefix('$') {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(format!(
            "\"{}\" expects a variable such as $jwt_claim_admin, got \"{raw}\"",
            directive_name(cf)
        )),
    }
}

/// The index of variable `name`, resolved by nginx once configuration is read.
pub fn variable_index(cf: &mut ngx_conf_t, name: &str) -> Result<usize, String> {
    let mut ngx_name = ngx_str_t {
        len: name.len(),
        data: name.as_ptr().cast_mut(),
    };
    // SAFETY: cf is the live parser state; nginx copies the name into its own pool (it never
    // writes through ours) and resolves it when variables are initialised.
    let index = unsafe { ngx_http_get_variable_index(cf, &mut ngx_name) };
    usize::try_from(index).map_err(|_| format!("cannot use variable \"${name}\""))
}

/// The names of the variables a complex value reads: `$name` and `${name}`.
pub fn referenced_variables(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let name = match rest.strip_prefix('{') {
            Some(braced) => braced.split('}').next().unwrap_or_default(),
            None => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            }
        };
        if !name.is_empty() {
            names.push(name.to_string());
        }
    }
    names
}

/// Compiles argument `n` as a complex value (text with variables), allocated in the
/// configuration pool.
pub fn complex_value(
    cf: &mut ngx_conf_t,
    n: usize,
) -> Result<*mut ngx_http_complex_value_t, String> {
    let mut value = args(cf).get(n).copied().unwrap_or_else(ngx_str_t::empty);
    // SAFETY: cf.pool is the live configuration pool; zeroed memory is what nginx expects.
    let cv = unsafe { ngx_pcalloc(cf.pool, std::mem::size_of::<ngx_http_complex_value_t>()) }
        .cast::<ngx_http_complex_value_t>();
    if cv.is_null() {
        return Err("out of memory".into());
    }
    let mut ccv = ngx_http_compile_complex_value_t {
        cf,
        value: &mut value,
        complex_value: cv,
        // SAFETY: the remaining fields are flags and counters for which zero means "off".
        ..unsafe { std::mem::zeroed() }
    };
    // SAFETY: ccv is fully initialised for a plain (non-zero-terminated) value; the compiled
    // value lives in the configuration pool.
    if unsafe { ngx_http_compile_complex_value(&mut ccv) } != 0 {
        return Err(format!(
            "invalid \"{}\" value \"{}\"",
            directive_name(cf),
            text(&value)
        ));
    }
    Ok(cv)
}

/// Resolves a relative path against nginx's configuration prefix, as `ssl_certificate` does.
pub fn full_path(cf: &mut ngx_conf_t, raw: &ngx_str_t) -> Result<String, String> {
    let mut name = *raw;
    // SAFETY: the cycle is live during configuration; the result is allocated from its pool.
    if unsafe { ngx_conf_full_name(cf.cycle, &mut name, 1) } != 0 {
        return Err(format!("cannot resolve the path \"{}\"", text(raw)));
    }
    Ok(text(&name))
}
