//! Directives: configuration structs, one `cmd_*` setter per directive, and the merge that turns
//! the inherited settings into a ready [`Verifier`] / [`Signer`] per location.
//!
//! Every setting is an `Option` so that "not set at this level" is distinguishable from "set to
//! the default"; merge fills in the parent's value, then the default.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use jwt_core::{Algorithm, IssuePolicy, KeyRing, Signer, SignerError, Verifier, VerifyPolicy};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_full_name, ngx_conf_t, ngx_http_compile_complex_value,
    ngx_http_compile_complex_value_t, ngx_http_complex_value_t, ngx_http_get_variable_index,
    ngx_int_t, ngx_parse_time, ngx_pcalloc, ngx_str_t, NGX_LOG_EMERG,
};
use ngx::http::{HttpModuleLocationConf, NgxHttpCoreModule};

use crate::glue::{args, conf_error_at, text, ConfSite};
use crate::variables;

/// Tokens bigger than this are refused before any parsing (`too_large`).
pub const MAX_TOKEN_LEN: usize = 8192;
const DEFAULT_REALM: &str = "protected";
const DEFAULT_TOKEN_TTL: u64 = 3600;
const DEFAULT_CACHE_SIZE: usize = 1024;

/// `http`-level state: the variables declared with `jwt_claim_set`.
#[derive(Default)]
pub struct JwtMainConf {
    /// Boxed so the address handed to nginx as variable data stays put while the Vec grows.
    #[allow(clippy::vec_box)]
    pub claim_sets: Vec<Box<Vec<String>>>,
}

/// One `jwt_require` directive: all its variables must be non-empty and not "0".
#[derive(Clone, Debug)]
pub struct RequireRule {
    pub variables: Vec<(String, ngx_int_t)>,
    pub status: u16,
}

/// `jwt_login_cookie NAME [attribute ...]`.
#[derive(Clone, Debug)]
pub struct LoginCookie {
    pub name: String,
    /// Attributes after `NAME=<jwt>`, in order, already rendered (`Path=/`, `HttpOnly`, ...).
    pub attributes: Vec<String>,
    pub max_age: MaxAge,
}

/// The cookie's `Max-Age`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxAge {
    /// The token's lifetime (default): the cookie goes when the token expires.
    TokenLifetime,
    /// `Max-Age=N`.
    Seconds(u64),
    /// `Max-Age=off`: a session cookie.
    Off,
}

/// Where `jwt_verify` looks for the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1).
    BearerHeader,
    /// `jwt_token $variable;`: the value is the token as is.
    Value(*mut ngx_http_complex_value_t),
}

/// Location-level configuration (also set at `http` and `server` level and inherited).
#[derive(Default)]
pub struct JwtLocConf {
    verify: Option<bool>,
    verify_site: ConfSite,
    keys: Option<KeyRing>,
    keys_site: ConfSite,
    algorithms: Option<Vec<Algorithm>>,
    algorithms_site: ConfSite,
    token: Option<TokenSource>,
    leeway: Option<u64>,
    require_exp: Option<bool>,
    issuer: Option<String>,
    audiences: Option<Vec<String>>,
    require: Option<Vec<RequireRule>>,
    realm: Option<String>,
    failure_status: Option<u16>,
    login_uri: Option<String>,
    /// The query string of the `jwt_login` URI, passed to the subrequest as its arguments.
    login_args: Option<String>,
    login_site: ConfSite,
    sign_algorithm: Option<Algorithm>,
    sign_algorithm_site: ConfSite,
    token_ttl: Option<u64>,
    login_cookie: Option<LoginCookie>,
    cache_size: Option<usize>,
    /// A verification setting was written at this level (so the parent's verifier won't do).
    policy_set_here: bool,

    // Derived by merge.
    pub verifier: Option<Arc<Verifier>>,
    pub signer: Option<Arc<Signer>>,
    pub issue_policy: Option<IssuePolicy>,
    /// `Bearer realm="..."` without and with `error="invalid_token"` / `"insufficient_scope"`.
    pub challenge: Challenges,
}

#[derive(Clone, Default)]
pub struct Challenges {
    pub no_token: String,
    pub invalid_token: String,
    pub insufficient_scope: String,
}

impl Challenges {
    fn for_realm(realm: &str) -> Challenges {
        let base = format!("Bearer realm=\"{realm}\"");
        Challenges {
            invalid_token: format!("{base}, error=\"invalid_token\""),
            insufficient_scope: format!("{base}, error=\"insufficient_scope\""),
            no_token: base,
        }
    }
}

impl JwtLocConf {
    pub fn verify_enabled(&self) -> bool {
        self.verify.unwrap_or(false)
    }

    pub fn token_source(&self) -> TokenSource {
        self.token.unwrap_or(TokenSource::BearerHeader)
    }

    pub fn require_rules(&self) -> &[RequireRule] {
        self.require.as_deref().unwrap_or(&[])
    }

    pub fn failure_status(&self) -> u16 {
        self.failure_status.unwrap_or(401)
    }

    pub fn login_uri(&self) -> Option<&str> {
        self.login_uri.as_deref()
    }

    pub fn login_args(&self) -> Option<&str> {
        self.login_args.as_deref()
    }

    pub fn login_cookie(&self) -> Option<&LoginCookie> {
        self.login_cookie.as_ref()
    }

    fn verify_policy(&self) -> VerifyPolicy {
        VerifyPolicy {
            algorithms: self.algorithms.clone(),
            leeway: self.leeway.unwrap_or(0),
            require_exp: self.require_exp.unwrap_or(true),
            issuer: self.issuer.clone(),
            audiences: self.audiences.clone().unwrap_or_default(),
            max_token_len: MAX_TOKEN_LEN,
        }
    }

    /// Takes every setting not written at this level from the enclosing level.
    fn inherit(&mut self, prev: &JwtLocConf) {
        fn take<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        if self.verify.is_none() {
            self.verify = prev.verify;
            self.verify_site = prev.verify_site.clone();
        }
        if self.keys.is_none() {
            self.keys.clone_from(&prev.keys);
            self.keys_site = prev.keys_site.clone();
        }
        if self.algorithms.is_none() {
            self.algorithms.clone_from(&prev.algorithms);
            self.algorithms_site = prev.algorithms_site.clone();
        }
        if self.sign_algorithm.is_none() {
            self.sign_algorithm = prev.sign_algorithm;
            self.sign_algorithm_site = prev.sign_algorithm_site.clone();
        }
        take(&mut self.token, &prev.token);
        take(&mut self.leeway, &prev.leeway);
        take(&mut self.require_exp, &prev.require_exp);
        take(&mut self.issuer, &prev.issuer);
        take(&mut self.audiences, &prev.audiences);
        take(&mut self.require, &prev.require);
        take(&mut self.realm, &prev.realm);
        take(&mut self.failure_status, &prev.failure_status);
        take(&mut self.token_ttl, &prev.token_ttl);
        take(&mut self.login_cookie, &prev.login_cookie);
        take(&mut self.cache_size, &prev.cache_size);
    }

    /// Builds the verifier and signer this location needs; errors name the directive to fix.
    fn prepare(&mut self, prev: &JwtLocConf) -> Result<(), (ConfSite, String)> {
        self.challenge = Challenges::for_realm(self.realm.as_deref().unwrap_or(DEFAULT_REALM));
        let ring = self.keys.clone().unwrap_or_default();

        if ring.is_empty() {
            if self.verify_enabled() {
                return Err((
                    self.verify_site.clone(),
                    "\"jwt_verify on\" needs at least one \"jwt_key_file\" in this location or \
                     above it"
                        .into(),
                ));
            }
        } else if !self.policy_set_here && prev.verifier.is_some() {
            // Nothing about verification changed here: share the parent's verifier (and cache).
            self.verifier.clone_from(&prev.verifier);
        } else {
            let cache = self.cache_size.unwrap_or(DEFAULT_CACHE_SIZE);
            let verifier =
                Verifier::new(self.verify_policy(), ring.clone(), cache).map_err(|e| {
                    let site = if self.algorithms.is_some() {
                        &self.algorithms_site
                    } else {
                        &self.keys_site
                    };
                    (site.clone(), e.to_string())
                })?;
            self.verifier = Some(Arc::new(verifier));
        }

        if self.login_uri.is_some() {
            let signer = Signer::new(&ring, self.sign_algorithm).map_err(|e| {
                let site = if self.sign_algorithm.is_some() {
                    &self.sign_algorithm_site
                } else {
                    &self.login_site
                };
                let message = match e {
                    SignerError::AlgorithmNotSupported { .. } => format!("jwt_sign_algorithm: {e}"),
                    _ => e.to_string(),
                };
                (site.clone(), message)
            })?;
            self.signer = Some(Arc::new(signer));
            self.issue_policy = Some(IssuePolicy {
                ttl: self.token_ttl.unwrap_or(DEFAULT_TOKEN_TTL),
                issuer: self.issuer.clone(),
                audiences: self.audiences.clone().unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// `merge_loc_conf`: written by hand (instead of ngx's default) to report errors with the
/// position of the directive at fault.
pub unsafe extern "C" fn merge_loc_conf(
    cf: *mut ngx_conf_t,
    prev: *mut c_void,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx passes the parent's and this level's JwtLocConf, created by create_loc_conf.
    let (cf, prev, conf) = unsafe {
        (
            &*cf,
            &*(prev as *const JwtLocConf),
            &mut *(conf as *mut JwtLocConf),
        )
    };
    conf.inherit(prev);
    match conf.prepare(prev) {
        Ok(()) => NGX_CONF_OK,
        Err((site, message)) => {
            conf_error_at(cf, &site, message);
            NGX_CONF_ERROR
        }
    }
}

/// Runs a setter body; an `Err` becomes an `[emerg]` naming the current file and line.
unsafe fn setter<C>(
    cf: *mut ngx_conf_t,
    conf: *mut c_void,
    body: impl FnOnce(&mut ngx_conf_t, &mut C) -> Result<(), String>,
) -> *mut c_char {
    // SAFETY: nginx calls set handlers with its parser state and this module's conf struct of
    // the level the directive's `conf` offset selects.
    let (cf_ref, conf) = unsafe { (&mut *cf, &mut *(conf as *mut C)) };
    match body(cf_ref, conf) {
        Ok(()) => NGX_CONF_OK,
        Err(message) => {
            ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", message);
            NGX_CONF_ERROR
        }
    }
}

fn directive_name(cf: &ngx_conf_t) -> String {
    args(cf).first().map(text).unwrap_or_default()
}

fn duplicate<T>(cf: &ngx_conf_t, slot: &Option<T>) -> Result<(), String> {
    match slot {
        Some(_) => Err(format!("\"{}\" directive is duplicate", directive_name(cf))),
        None => Ok(()),
    }
}

fn parse_flag(cf: &ngx_conf_t) -> Result<bool, String> {
    let value = text(&args(cf)[1]);
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
fn parse_seconds(cf: &ngx_conf_t, arg: &ngx_str_t) -> Result<u64, String> {
    let mut copy = *arg;
    // SAFETY: ngx_parse_time only reads the string.
    let seconds = unsafe { ngx_parse_time(&mut copy, 1) };
    u64::try_from(seconds).map_err(|_| {
        format!(
            "invalid time \"{}\" in \"{}\" directive (examples: 30s, 5m, 1h)",
            text(arg),
            directive_name(cf)
        )
    })
}

fn parse_algorithm(cf: &ngx_conf_t, arg: &ngx_str_t) -> Result<Algorithm, String> {
    let name = text(arg);
    if name.eq_ignore_ascii_case("none") {
        return Err(format!(
            "\"{}\" refuses \"none\": unsigned tokens are never accepted",
            directive_name(cf)
        ));
    }
    Algorithm::from_name(&name).ok_or_else(|| {
        let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown algorithm \"{name}\" in \"{}\" directive; use one of: {}",
            directive_name(cf),
            known.join(" ")
        )
    })
}

/// `$name` -> `name`, for directives that take a variable.
fn variable_name(cf: &ngx_conf_t, arg: &ngx_str_t) -> Result<String, String> {
    let raw = text(arg);
    match raw.strip_prefix('$') {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(format!(
            "\"{}\" expects a variable such as $jwt_claim_admin, got \"{raw}\"",
            directive_name(cf)
        )),
    }
}

fn variable_index(cf: &mut ngx_conf_t, name: &str) -> Result<ngx_int_t, String> {
    // SAFETY: cf.pool is the configuration pool; the copy lives as long as the configuration.
    let mut ngx_name = unsafe { ngx_str_t::from_str(cf.pool, name) };
    // SAFETY: cf is the live parser state; nginx resolves the name when variables are initialised.
    let index = unsafe { ngx_http_get_variable_index(cf, &mut ngx_name) };
    if index < 0 {
        return Err(format!("cannot use variable \"${name}\""));
    }
    Ok(index)
}

pub unsafe extern "C" fn cmd_verify(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.verify)?;
            conf.verify = Some(parse_flag(cf)?);
            conf.verify_site = ConfSite::current(cf);
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_key_file(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            let kid = match args(cf).get(2).map(text) {
                None => None,
                Some(param) => match param.strip_prefix("kid=") {
                    Some(kid) if !kid.is_empty() => Some(kid.to_string()),
                    _ => {
                        return Err(format!(
                            "invalid parameter \"{param}\" in \"jwt_key_file\"; the only \
                             parameter is kid=ID"
                        ))
                    }
                },
            };
            let arg = args(cf)[1];
            let path = full_path(cf, &arg)?;
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("jwt_key_file \"{path}\": cannot read the file: {e}"))?;
            let keys = jwt_core::key::load_keys(&bytes, kid.as_deref())
                .map_err(|e| format!("jwt_key_file \"{path}\": {e}"))?;
            if conf.keys.is_none() {
                conf.keys_site = ConfSite::current(cf);
            }
            conf.keys.get_or_insert_with(KeyRing::new).extend(keys);
            conf.policy_set_here = true;
            Ok(())
        })
    }
}

/// Resolves a relative path against nginx's configuration prefix, as `ssl_certificate` does.
fn full_path(cf: &mut ngx_conf_t, arg: &ngx_str_t) -> Result<String, String> {
    let mut name = *arg;
    // SAFETY: cycle is live during configuration; the result is allocated from its pool.
    if unsafe { ngx_conf_full_name(cf.cycle, &mut name, 1) } != 0 {
        return Err(format!("cannot resolve the path \"{}\"", text(arg)));
    }
    Ok(text(&name))
}

pub unsafe extern "C" fn cmd_algorithms(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.algorithms)?;
            let mut algorithms = Vec::new();
            for arg in &args(cf)[1..] {
                let alg = parse_algorithm(cf, arg)?;
                if !algorithms.contains(&alg) {
                    algorithms.push(alg);
                }
            }
            conf.algorithms = Some(algorithms);
            conf.algorithms_site = ConfSite::current(cf);
            conf.policy_set_here = true;
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_token(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.token)?;
            let mut value = args(cf)[1];
            if !value.as_bytes().contains(&b'$') {
                return Err(format!(
                    "\"jwt_token\" takes a variable such as $cookie_token or $http_authorization, \
                     got \"{}\"",
                    text(&value)
                ));
            }
            // SAFETY: allocated from the configuration pool, zeroed as nginx expects.
            let cv = ngx_pcalloc(cf.pool, std::mem::size_of::<ngx_http_complex_value_t>())
                as *mut ngx_http_complex_value_t;
            if cv.is_null() {
                return Err("out of memory".into());
            }
            let mut ccv: ngx_http_compile_complex_value_t = std::mem::zeroed();
            ccv.cf = cf;
            ccv.value = &mut value;
            ccv.complex_value = cv;
            // SAFETY: ccv is fully initialised for a plain (non-zero-terminated) value.
            if ngx_http_compile_complex_value(&mut ccv) != 0 {
                return Err(format!("invalid \"jwt_token\" value \"{}\"", text(&value)));
            }
            conf.token = Some(TokenSource::Value(cv));
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_leeway(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.leeway)?;
            conf.leeway = Some(parse_seconds(cf, &args(cf)[1])?);
            conf.policy_set_here = true;
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_require_exp(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.require_exp)?;
            conf.require_exp = Some(parse_flag(cf)?);
            conf.policy_set_here = true;
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_issuer(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.issuer)?;
            conf.issuer = Some(text(&args(cf)[1]));
            conf.policy_set_here = true;
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_audience(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.audiences)?;
            conf.audiences = Some(args(cf)[1..].iter().map(text).collect());
            conf.policy_set_here = true;
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_require(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            let mut rule = RequireRule {
                variables: Vec::new(),
                status: 403,
            };
            let all = args(cf).to_vec();
            for arg in &all[1..] {
                let raw = text(arg);
                if let Some(code) = raw.strip_prefix("error=") {
                    rule.status = match code {
                        "401" => 401,
                        "403" => 403,
                        _ => {
                            return Err(format!(
                                "invalid \"{raw}\" in \"jwt_require\": the error code must be \
                                 401 or 403"
                            ))
                        }
                    };
                    continue;
                }
                let name = variable_name(cf, arg)?;
                let index = variable_index(cf, &name)?;
                rule.variables.push((name, index));
            }
            if rule.variables.is_empty() {
                return Err("\"jwt_require\" needs at least one variable".into());
            }
            conf.require.get_or_insert_with(Vec::new).push(rule);
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_realm(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.realm)?;
            let realm = text(&args(cf)[1]);
            // The realm is sent inside a quoted-string; refuse what would need escaping.
            if realm
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
            {
                return Err(format!(
                    "\"jwt_realm\" \"{realm}\" contains a quote, backslash or control character"
                ));
            }
            conf.realm = Some(realm);
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_failure_status(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.failure_status)?;
            conf.failure_status = Some(match text(&args(cf)[1]).as_str() {
                "401" => 401,
                "403" => 403,
                other => {
                    return Err(format!(
                        "invalid status \"{other}\" in \"jwt_failure_status\": use 401 or 403"
                    ))
                }
            });
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_claim_set(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, main: &mut JwtMainConf| {
            let all = args(cf).to_vec();
            let name = variable_name(cf, &all[1])?;
            let path: Vec<String> = all[2..].iter().map(text).collect();
            let path = Box::new(path);
            let data = &*path as *const Vec<String> as usize;
            main.claim_sets.push(path);
            variables::add_claim_set(cf, &name, data)
        })
    }
}

pub unsafe extern "C" fn cmd_login(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.login_uri)?;
            let uri = text(&args(cf)[1]);
            if !uri.starts_with('/') {
                return Err(format!(
                    "\"jwt_login\" needs the URI of a location such as /authenticate, got \"{uri}\""
                ));
            }
            let clcf = NgxHttpCoreModule::location_conf_mut(&*cf)
                .ok_or("no http core location configuration")?;
            clcf.handler = Some(crate::login::login_handler);
            let (path, args) = match uri.split_once('?') {
                Some((path, args)) => (path.to_string(), Some(args.to_string())),
                None => (uri, None),
            };
            conf.login_uri = Some(path);
            conf.login_args = args;
            conf.login_site = ConfSite::current(cf);
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_sign_algorithm(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.sign_algorithm)?;
            conf.sign_algorithm = Some(parse_algorithm(cf, &args(cf)[1])?);
            conf.sign_algorithm_site = ConfSite::current(cf);
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_token_ttl(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.token_ttl)?;
            let ttl = parse_seconds(cf, &args(cf)[1])?;
            if ttl == 0 {
                return Err("\"jwt_token_ttl\" must be at least 1s".into());
            }
            conf.token_ttl = Some(ttl);
            Ok(())
        })
    }
}

pub unsafe extern "C" fn cmd_login_cookie(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.login_cookie)?;
            let all: Vec<String> = args(cf).iter().map(text).collect();
            conf.login_cookie = Some(parse_login_cookie(&all[1], &all[2..])?);
            Ok(())
        })
    }
}

/// Defaults `Path=/; HttpOnly; Secure; SameSite=Lax`; `Name=value` replaces a default of the
/// same name, `Name=off` drops it, anything else is appended.
fn parse_login_cookie(name: &str, params: &[String]) -> Result<LoginCookie, String> {
    let valid_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
    };
    if !valid_token(name) {
        return Err(format!(
            "invalid cookie name \"{name}\" in \"jwt_login_cookie\""
        ));
    }
    let mut attributes: Vec<(String, Option<String>)> = vec![
        ("Path".into(), Some("/".into())),
        ("HttpOnly".into(), None),
        ("Secure".into(), None),
        ("SameSite".into(), Some("Lax".into())),
    ];
    let mut max_age = MaxAge::TokenLifetime;
    for param in params {
        if param.bytes().any(|b| b == b';' || b.is_ascii_control()) {
            return Err(format!(
                "invalid cookie attribute \"{param}\" in \"jwt_login_cookie\""
            ));
        }
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (param.clone(), None),
        };
        if key.eq_ignore_ascii_case("Max-Age") {
            max_age = match value.as_deref() {
                Some("off") => MaxAge::Off,
                Some(n) => MaxAge::Seconds(n.parse().map_err(|_| {
                    format!(
                        "invalid \"{param}\" in \"jwt_login_cookie\": Max-Age takes a number \
                         of seconds or off"
                    )
                })?),
                None => {
                    return Err(format!(
                        "invalid \"{param}\" in \"jwt_login_cookie\": use Max-Age=N or Max-Age=off"
                    ))
                }
            };
            continue;
        }
        let existing = attributes
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(&key));
        match (existing, value.as_deref()) {
            (Some(i), Some("off")) => {
                attributes.remove(i);
            }
            (Some(i), _) => attributes[i] = (key, value),
            (None, Some("off")) => {}
            (None, _) => attributes.push((key, value)),
        }
    }
    let attributes = attributes
        .into_iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k,
        })
        .collect();
    Ok(LoginCookie {
        name: name.to_string(),
        attributes,
        max_age,
    })
}

pub unsafe extern "C" fn cmd_cache_size(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    unsafe {
        setter(cf, conf, |cf, conf: &mut JwtLocConf| {
            duplicate(cf, &conf.cache_size)?;
            let raw = text(&args(cf)[1]);
            let size = raw.parse::<usize>().map_err(|_| {
                format!("invalid \"jwt_cache_size\" \"{raw}\": a number of tokens such as 1024")
            })?;
            conf.cache_size = Some(size);
            conf.policy_set_here = true;
            Ok(())
        })
    }
}

/// The location configuration of the request being served.
pub fn loc_conf(r: &ngx::http::Request) -> Option<&'static JwtLocConf> {
    crate::Module::location_conf(r)
}
