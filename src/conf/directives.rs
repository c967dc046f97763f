//! Directive handling: [`loc`] and [`main`] make the rows of the command table (in
//! `src/lib.rs`), and one function per directive reads its arguments into [`Settings`].
//!
//! A directive function receives nginx's parser state and the conf struct of the level being
//! parsed, and returns `Err(message)` for nginx to report with the file and line. Adding a
//! directive: a field in [`Settings`], a row in the table, its function (here, or beside the
//! handler it installs), README and t/ tests.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use jwt_core::claim_rule::ClaimRule;
use jwt_core::key_refresh::RefreshPolicy;
use jwt_core::revocation::RevocationList;
use jwt_core::{load_keys, parse_login_cookie, KeyRing};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_t, ngx_parse_size, ngx_parse_time, ngx_str_t, ngx_uint_t,
    NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF_OFFSET, NGX_LOG_EMERG, NGX_LOG_WARN,
};

use super::parse::{
    algorithm, arg, args, complex_value, directive_name, flag, full_path, once,
    referenced_variables, seconds, text, utf8_args, variable_index, variable_name,
};
use super::{JwtLocConf, JwtMainConf, LocalUri, RequireRule, Setting, Settings, TokenValue};
use crate::shared_zone::MIN_SIZE;
use crate::Module;
use ngx::http::HttpModuleMainConf;

pub type Outcome = Result<(), String>;
/// A directive that writes the location-level conf (at any level it may appear).
pub type LocDirective = fn(&mut ngx_conf_t, &mut Settings) -> Outcome;
/// A directive that writes the `http`-level main conf.
pub type MainDirective = fn(&mut ngx_conf_t, &mut JwtMainConf) -> Outcome;

// The directive's function travels in the command's `post` field, which nginx leaves to the
// setter (its own setters use it for post-processing hooks; ours are the only readers).

/// A row for a directive that writes the location-level conf (at any level it may appear).
pub const fn loc(name: ngx_str_t, flags: u32, directive: LocDirective) -> ngx_command_t {
    row(
        name,
        flags,
        set_loc,
        NGX_HTTP_LOC_CONF_OFFSET,
        directive as *mut c_void,
    )
}

/// A row for a directive that writes the `http`-level main conf.
pub const fn main(name: ngx_str_t, flags: u32, directive: MainDirective) -> ngx_command_t {
    row(
        name,
        flags,
        set_main,
        NGX_HTTP_MAIN_CONF_OFFSET,
        directive as *mut c_void,
    )
}

type Setter = unsafe extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char;

const fn row(
    name: ngx_str_t,
    flags: u32,
    set: Setter,
    conf: usize,
    directive: *mut c_void,
) -> ngx_command_t {
    ngx_command_t {
        name,
        type_: flags as ngx_uint_t,
        set: Some(set),
        conf,
        offset: 0,
        post: directive,
    }
}

unsafe extern "C" fn set_loc(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx calls a setter with its parser state, the command, and (for
    // NGX_HTTP_LOC_CONF_OFFSET) this module's JwtLocConf of the level being parsed.
    let (cf_ref, cmd, conf) = unsafe { (&mut *cf, &*cmd, &mut *conf.cast::<JwtLocConf>()) };
    // SAFETY: `loc` stored a LocDirective in `post` of every command with this setter.
    let directive = unsafe { std::mem::transmute::<*mut c_void, LocDirective>(cmd.post) };
    if let Some(main) = Module::main_conf_mut(&*cf_ref) {
        main.used = true;
    }
    let outcome = directive(cf_ref, &mut conf.settings);
    report(cf_ref, outcome)
}

unsafe extern "C" fn set_main(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: as `set_loc`, with this module's JwtMainConf (NGX_HTTP_MAIN_CONF_OFFSET).
    let (cf_ref, cmd, conf) = unsafe { (&mut *cf, &*cmd, &mut *conf.cast::<JwtMainConf>()) };
    // SAFETY: `main` stored a MainDirective in `post` of every command with this setter.
    let directive = unsafe { std::mem::transmute::<*mut c_void, MainDirective>(cmd.post) };
    conf.used = true;
    let outcome = directive(cf_ref, conf);
    report(cf_ref, outcome)
}

/// An `Err` becomes an `[emerg]` naming the current file and line.
fn report(cf: &mut ngx_conf_t, outcome: Outcome) -> *mut c_char {
    match outcome {
        Ok(()) => NGX_CONF_OK,
        Err(message) => {
            ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", message);
            NGX_CONF_ERROR
        }
    }
}

pub fn jwt_verify(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.verify)?;
    s.verify = Some(Setting::here(cf, flag(cf)?));
    Ok(())
}

/// `jwt_key_file path [kid=ID]`: may repeat; the files of one level form its key ring.
pub fn jwt_key_file(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    let kid = match args(cf).get(2).map(text) {
        None => None,
        Some(param) => match param.strip_prefix("kid=") {
            Some(kid) if !kid.is_empty() => Some(kid.to_string()),
            _ => {
                return Err(format!(
                    "invalid parameter \"{param}\" in \"jwt_key_file\"; the only parameter is \
                     kid=ID"
                ))
            }
        },
    };
    let raw = args(cf).get(1).copied().unwrap_or_else(ngx_str_t::empty);
    let path = full_path(cf, &raw)?;
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("jwt_key_file \"{path}\": cannot read the file: {e}"))?;
    let keys =
        load_keys(&bytes, kid.as_deref()).map_err(|e| format!("jwt_key_file \"{path}\": {e}"))?;
    if keys.iter().any(|k| k.can_sign()) {
        warn_if_readable_by_others(cf, &path);
    }
    s.key_file
        .get_or_insert_with(|| Setting::here(cf, KeyRing::new()))
        .value
        .extend(keys);
    Ok(())
}

pub fn jwt_algorithms(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.algorithms)?;
    let mut algorithms = Vec::new();
    for name in args(cf)[1..].iter().map(text) {
        let alg = algorithm(cf, &name)?;
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    s.algorithms = Some(Setting::here(cf, algorithms));
    Ok(())
}

pub fn jwt_token(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.token)?;
    let raw = arg(cf, 1);
    if !raw.contains('$') {
        return Err(format!(
            "\"jwt_token\" takes a variable such as $cookie_token or $http_authorization, got \
             \"{raw}\""
        ));
    }
    let value = complex_value(cf, 1)?;
    let token = TokenValue {
        value,
        variables: referenced_variables(&raw),
    };
    let setting = Setting::here(cf, token);
    if let Some(main) = Module::main_conf_mut(&*cf) {
        // Checked once every variable is declared (a map or set may come later in the file).
        main.token_variables
            .push((setting.site.clone(), setting.value.variables.clone()));
    }
    s.token = Some(setting);
    Ok(())
}

pub fn jwt_leeway(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.leeway)?;
    s.leeway = Some(Setting::here(cf, seconds(cf, 1)?));
    Ok(())
}

pub fn jwt_require_exp(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.require_exp)?;
    s.require_exp = Some(Setting::here(cf, flag(cf)?));
    Ok(())
}

pub fn jwt_issuer(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.issuer)?;
    s.issuer = Some(Setting::here(cf, arg(cf, 1)));
    Ok(())
}

pub fn jwt_audience(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.audience)?;
    let audiences = args(cf)[1..].iter().map(text).collect();
    s.audience = Some(Setting::here(cf, audiences));
    Ok(())
}

/// `jwt_require $var ... [error=401|403]`: may repeat; each one is a rule of its own.
pub fn jwt_require(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    let mut rule = RequireRule {
        variables: Vec::new(),
        status: 403,
    };
    let all: Vec<String> = args(cf)[1..].iter().map(text).collect();
    for raw in &all {
        if let Some(code) = raw.strip_prefix("error=") {
            rule.status = match code {
                "401" => 401,
                "403" => 403,
                _ => {
                    return Err(format!(
                        "invalid \"{raw}\" in \"jwt_require\": the error code must be 401 or 403"
                    ))
                }
            };
            continue;
        }
        let name = variable_name(cf, raw)?;
        let index = variable_index(cf, &name)?;
        rule.variables.push((name, index));
    }
    if rule.variables.is_empty() {
        return Err("\"jwt_require\" needs at least one variable".into());
    }
    s.require
        .get_or_insert_with(|| Setting::here(cf, Vec::new()))
        .value
        .push(rule);
    Ok(())
}

pub fn jwt_realm(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.realm)?;
    let realm = arg(cf, 1);
    // The realm is sent inside a quoted-string; refuse what would need escaping.
    if realm
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return Err(format!(
            "\"jwt_realm\" \"{realm}\" contains a quote, backslash or control character"
        ));
    }
    s.realm = Some(Setting::here(cf, realm));
    Ok(())
}

pub fn jwt_failure_status(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.failure_status)?;
    let status = match arg(cf, 1).as_str() {
        "401" => 401,
        "403" => 403,
        other => {
            return Err(format!(
                "invalid status \"{other}\" in \"jwt_failure_status\": use 401 or 403"
            ))
        }
    };
    s.failure_status = Some(Setting::here(cf, status));
    Ok(())
}

pub fn jwt_sign_algorithm(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.sign_algorithm)?;
    let alg = algorithm(cf, &arg(cf, 1))?;
    s.sign_algorithm = Some(Setting::here(cf, alg));
    Ok(())
}

pub fn jwt_token_ttl(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.token_ttl)?;
    let ttl = seconds(cf, 1)?;
    if ttl == 0 {
        return Err("\"jwt_token_ttl\" must be at least 1s".into());
    }
    s.token_ttl = Some(Setting::here(cf, ttl));
    Ok(())
}

pub fn jwt_login_cookie(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.login_cookie)?;
    let all: Vec<String> = args(cf).iter().map(text).collect();
    let cookie = parse_login_cookie(&all[1], &all[2..]).map_err(|e| e.to_string())?;
    s.login_cookie = Some(Setting::here(cf, cookie));
    Ok(())
}

pub fn jwt_cache_size(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.cache_size)?;
    let raw = arg(cf, 1);
    let size = raw.parse::<usize>().map_err(|_| {
        format!("invalid \"jwt_cache_size\" \"{raw}\": a number of tokens such as 1024")
    })?;
    s.cache_size = Some(Setting::here(cf, size));
    Ok(())
}

/// `jwt_key_request uri`: the local URI whose answer is the JWKS (a location that
/// `proxy_pass`es to the provider's `jwks_uri`).
pub fn jwt_key_request(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.key_request)?;
    let raw = arg(cf, 1);
    if raw.contains('$') {
        return Err(format!(
            "\"jwt_key_request\" takes a fixed URI, got \"{raw}\": variables are not \
             expanded; put them in the JWKS location's proxy_pass"
        ));
    }
    let target = local_uri(cf, &raw)?;
    s.key_request = Some(Setting::here(cf, target));
    Ok(())
}

/// `jwt_key_cache time [refetch=time]`.
pub fn jwt_key_cache(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.key_cache)?;
    let lifetime = seconds(cf, 1)?;
    if lifetime == 0 {
        return Err("\"jwt_key_cache\" must be at least 1s".into());
    }
    let mut policy = RefreshPolicy {
        lifetime,
        ..RefreshPolicy::default()
    };
    if let Some(raw) = args(cf).get(2).map(text) {
        let Some(value) = raw.strip_prefix("refetch=") else {
            return Err(format!(
                "invalid parameter \"{raw}\" in \"jwt_key_cache\": the only parameter is \
                 refetch=TIME, the shortest time between two fetches (default 30s)"
            ));
        };
        policy.refetch = time_value(value).ok_or_else(|| {
            format!("invalid time \"{value}\" in \"jwt_key_cache\" (examples: 10s, 1m)")
        })?;
        if policy.refetch == 0 {
            return Err("\"jwt_key_cache\" refetch= must be at least 1s".into());
        }
    }
    s.key_cache = Some(Setting::here(cf, policy));
    Ok(())
}

/// `jwt_typ type`: the token header's `typ` must be this media type (RFC 9068's `at+jwt`).
pub fn jwt_typ(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.typ)?;
    let typ = utf8_args(cf)?.swap_remove(0);
    // RFC 7515 §4.1.9: "application/" may be left out, so it alone names no type.
    let short = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ.as_str(),
    };
    if short.is_empty() || typ.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "invalid \"jwt_typ\" \"{typ}\": a media type such as at+jwt (RFC 9068)"
        ));
    }
    s.typ = Some(Setting::here(cf, typ));
    Ok(())
}

/// `jwt_require_claim path operator value... [error=401|403]`: may repeat; every rule must
/// hold.
pub fn jwt_require_claim(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    let all = utf8_args(cf)?;
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let rule = ClaimRule::parse(&all).map_err(|e| format!("\"jwt_require_claim\": {e}"))?;
    s.require_claim
        .get_or_insert_with(|| Setting::here(cf, Vec::new()))
        .value
        .push(rule);
    Ok(())
}

/// `jwt_shared_memory size` (http): the module's shared memory zone.
pub fn jwt_shared_memory(cf: &mut ngx_conf_t, main: &mut JwtMainConf) -> Outcome {
    if main.shared_memory_size.is_some() {
        return Err("\"jwt_shared_memory\" directive is duplicate".into());
    }
    let raw = args(cf).get(1).copied().unwrap_or_else(ngx_str_t::empty);
    let mut copy = raw;
    // SAFETY: ngx_parse_size only reads the string.
    let size = unsafe { ngx_parse_size(&mut copy) };
    let size = usize::try_from(size).map_err(|_| {
        format!(
            "invalid size \"{}\" in \"jwt_shared_memory\" (examples: 512k, 1m)",
            text(&raw)
        )
    })?;
    if size < MIN_SIZE {
        return Err(format!(
            "\"jwt_shared_memory\" {} is too small: at least {}k",
            text(&raw),
            MIN_SIZE / 1024
        ));
    }
    main.shared_memory_size = Some(size);
    Ok(())
}

/// A local URI and its query string, for directives that make subrequests.
pub fn local_uri(cf: &ngx_conf_t, raw: &str) -> Result<LocalUri, String> {
    if !raw.starts_with('/') {
        let directive = directive_name(cf);
        let example = if directive == "jwt_login" {
            "/authenticate"
        } else {
            "/_jwks"
        };
        return Err(format!(
            "\"{directive}\" needs the URI of a location such as {example}, got \"{raw}\""
        ));
    }
    Ok(match raw.split_once('?') {
        Some((uri, args)) => LocalUri {
            uri: uri.to_string(),
            args: Some(args.to_string()),
        },
        None => LocalUri {
            uri: raw.to_string(),
            args: None,
        },
    })
}

/// Seconds from an nginx time string given as a parameter value.
pub fn time_value(value: &str) -> Option<u64> {
    let mut s = ngx_str_t {
        len: value.len(),
        data: value.as_ptr().cast_mut(),
    };
    // SAFETY: ngx_parse_time only reads the string.
    u64::try_from(unsafe { ngx_parse_time(&mut s, 1) }).ok()
}

/// `jwt_refresh_max_age time | off`.
pub fn jwt_refresh_max_age(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.refresh_max_age)?;
    let max_age = if arg(cf, 1) == "off" {
        None
    } else {
        match seconds(cf, 1)? {
            0 => return Err("\"jwt_refresh_max_age\" must be at least 1s, or off".into()),
            n => Some(n),
        }
    };
    s.refresh_max_age = Some(Setting::here(cf, max_age));
    Ok(())
}

/// `jwt_refresh_grace time`.
pub fn jwt_refresh_grace(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.refresh_grace)?;
    s.refresh_grace = Some(Setting::here(cf, seconds(cf, 1)?));
    Ok(())
}

/// `jwt_revocation_file path`: read now; a reload reads it again.
pub fn jwt_revocation_file(cf: &mut ngx_conf_t, s: &mut Settings) -> Outcome {
    once(cf, &s.revocation_file)?;
    let raw = args(cf).get(1).copied().unwrap_or_else(ngx_str_t::empty);
    let path = full_path(cf, &raw)?;
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("\"jwt_revocation_file\" cannot read \"{path}\": {e}"))?;
    let list = RevocationList::parse(&bytes)
        .map_err(|e| format!("\"jwt_revocation_file\" \"{path}\" {e}"))?;
    s.revocation_file = Some(Setting::here(cf, Arc::new(list)));
    Ok(())
}

/// `jwt_logout_capacity number` (http).
pub fn jwt_logout_capacity(cf: &mut ngx_conf_t, main: &mut JwtMainConf) -> Outcome {
    if main.logout_capacity.is_some() {
        return Err("\"jwt_logout_capacity\" directive is duplicate".into());
    }
    let raw = arg(cf, 1);
    let capacity = raw
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            format!("invalid \"jwt_logout_capacity\" \"{raw}\": a number of tokens such as 10000")
        })?;
    main.logout_capacity = Some(capacity);
    Ok(())
}

/// A secret or private key that group or others can read is a key other local users (or a
/// compromised service sharing the group) can sign with. A warning, not an error: packaging
/// and containers often run as root with 0644 files, and refusing to start would hurt more
/// than it protects there.
fn warn_if_readable_by_others(cf: &mut ngx_conf_t, path: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        ngx::ngx_conf_log_error!(
            NGX_LOG_WARN,
            cf,
            "jwt_key_file \"{path}\" holds a secret or private key and is readable by group or \
             others (mode {:04o}): chmod 600 it (owned by the user nginx starts as)",
            mode & 0o7777
        );
    }
}
