//! Configuration: the module's `http`-level and location-level structs, and the merge that
//! turns inherited settings into a ready [`Verifier`] / [`Signer`] per location.
//!
//! * [`directives`]: the directive table and one function per directive;
//! * [`setting`]: [`Setting`], a value with where it was written, and [`ConfSite`];
//! * [`parse`]: helpers for reading directive arguments.
//!
//! Every setting is an `Option<Setting<T>>`: `None` means "not written at this level", and
//! merge takes the parent's. Defaults come from [`jwt_core::defaults`].

pub mod directives;
pub mod parse;
mod setting;

use std::cell::OnceCell;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use jwt_core::bearer::Challenges;
use jwt_core::{
    defaults, Algorithm, IssuePolicy, KeyRing, LoginCookie, Signer, SignerError, Verifier,
    VerifyPolicy,
};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{ngx_conf_t, ngx_http_complex_value_t};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf};

use crate::Module;
pub use setting::{ConfSite, Setting};

/// `http`-level state: the variables declared with `jwt_claim_set`.
#[derive(Default)]
pub struct JwtMainConf {
    /// Claim paths, boxed so the address handed to nginx as variable data stays put while the
    /// Vec grows.
    #[allow(clippy::vec_box)]
    pub claim_sets: Vec<Box<Vec<String>>>,
    /// The names (lower case, without `$`) of the variables `jwt_claim_set` declared.
    pub claim_set_names: Vec<String>,
    /// Indexes of the module's variables in nginx's variable table (see
    /// [`crate::variables::module_variable_indexes`]).
    pub module_variables: OnceCell<Vec<usize>>,
}

/// One `jwt_require` directive: all its variables must be met.
#[derive(Clone, Debug)]
pub struct RequireRule {
    /// Name (without `$`) and index of each variable.
    pub variables: Vec<(String, usize)>,
    pub status: u16,
}

/// Where `jwt_verify` looks for the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1).
    BearerHeader,
    /// `jwt_token $variable;`: the value is the token as is.
    Value(*mut ngx_http_complex_value_t),
}

/// `jwt_token`: the compiled value and the variables it reads.
#[derive(Clone, Debug)]
pub struct TokenValue {
    pub value: *mut ngx_http_complex_value_t,
    pub variables: Vec<String>,
}

/// `jwt_login uri`: the authenticator location and the query string passed to it.
#[derive(Clone, Debug)]
pub struct LoginTarget {
    pub uri: String,
    pub args: Option<String>,
}

/// Declares [`Settings`] with one inherited field per directive and the merge rule that
/// fills them, so that a new directive is one line here (plus its table row and function).
macro_rules! inherited_settings {
    ($($field:ident: $ty:ty),* $(,)?) => {
        /// What the directives wrote at one level (`http`, `server` or `location`). One field
        /// per directive, named after it.
        #[derive(Default)]
        pub struct Settings {
            $(pub $field: Option<Setting<$ty>>,)*
            /// `jwt_login`: a location's content handler, never inherited.
            pub login: Option<Setting<LoginTarget>>,
        }

        impl Settings {
            /// Takes every setting not written at this level from the parent level.
            fn inherit(&mut self, parent: &Settings, depth: u32) {
                $(setting::inherit(&mut self.$field, &parent.$field, depth);)*
            }
        }
    };
}

inherited_settings! {
    verify: bool,
    key_file: KeyRing,
    algorithms: Vec<Algorithm>,
    token: TokenValue,
    leeway: u64,
    require_exp: bool,
    issuer: String,
    audience: Vec<String>,
    require: Vec<RequireRule>,
    realm: String,
    failure_status: u16,
    sign_algorithm: Algorithm,
    token_ttl: u64,
    login_cookie: LoginCookie,
    cache_size: usize,
}

impl Settings {
    /// The settings that make up a verifier, identified by where they were written: two levels
    /// with the same inputs can share one verifier (and its cache of verified tokens).
    fn verifier_inputs(&self) -> [Option<&ConfSite>; 7] {
        [
            self.key_file.as_ref().map(|s| &s.site),
            self.algorithms.as_ref().map(|s| &s.site),
            self.leeway.as_ref().map(|s| &s.site),
            self.require_exp.as_ref().map(|s| &s.site),
            self.issuer.as_ref().map(|s| &s.site),
            self.audience.as_ref().map(|s| &s.site),
            self.cache_size.as_ref().map(|s| &s.site),
        ]
    }
}

/// Location-level configuration (also set at `http` and `server` level and inherited).
#[derive(Default)]
pub struct JwtLocConf {
    pub settings: Settings,
    /// How deep this level is: `http` 0, `server` 1, `location` 2 and more.
    depth: u32,

    // Derived by merge.
    pub verifier: Option<Arc<Verifier>>,
    pub signer: Option<Arc<Signer>>,
    pub issue_policy: Option<IssuePolicy>,
    /// `Bearer realm="..."` without and with `error="invalid_token"` / `"insufficient_scope"`.
    pub challenge: Challenges,
}

type ConfResult = Result<(), (ConfSite, String)>;

impl JwtLocConf {
    pub fn verify_enabled(&self) -> bool {
        setting::value_or(&self.settings.verify, false)
    }

    pub fn token_source(&self) -> TokenSource {
        match &self.settings.token {
            Some(token) => TokenSource::Value(token.value.value),
            None => TokenSource::BearerHeader,
        }
    }

    pub fn require_rules(&self) -> &[RequireRule] {
        self.settings.require.as_ref().map_or(&[], |s| &s.value)
    }

    pub fn failure_status(&self) -> u16 {
        setting::value_or(&self.settings.failure_status, 401)
    }

    pub fn login(&self) -> Option<&LoginTarget> {
        self.settings.login.as_ref().map(|s| &s.value)
    }

    pub fn login_cookie(&self) -> Option<&LoginCookie> {
        self.settings.login_cookie.as_ref().map(|s| &s.value)
    }

    fn verify_policy(&self) -> VerifyPolicy {
        let s = &self.settings;
        VerifyPolicy {
            algorithms: s.algorithms.as_ref().map(|a| a.value.clone()),
            leeway: setting::value_or(&s.leeway, defaults::LEEWAY),
            require_exp: setting::value_or(&s.require_exp, defaults::REQUIRE_EXP),
            issuer: s.issuer.as_ref().map(|i| i.value.clone()),
            audiences: s.audience.as_ref().map_or(Vec::new(), |a| a.value.clone()),
            max_token_len: defaults::MAX_TOKEN_LEN,
        }
    }

    fn ring(&self) -> KeyRing {
        self.settings
            .key_file
            .as_ref()
            .map_or_else(KeyRing::new, |k| k.value.clone())
    }

    /// Builds what this level needs at request time; errors name the directive to fix.
    fn prepare(&mut self, parent: &JwtLocConf, main: &JwtMainConf) -> ConfResult {
        let realm = self.settings.realm.as_ref().map(|r| r.value.as_str());
        self.challenge = Challenges::for_realm(realm.unwrap_or(defaults::REALM));
        self.check_require_has_verification()?;
        self.check_token_source(main)?;
        self.prepare_verifier(parent)?;
        self.prepare_signer()
    }

    fn prepare_verifier(&mut self, parent: &JwtLocConf) -> ConfResult {
        let ring = self.ring();
        if ring.is_empty() {
            return match &self.settings.verify {
                Some(verify) if verify.value => Err((
                    verify.site.clone(),
                    "\"jwt_verify on\" needs at least one \"jwt_key_file\" in this location or \
                     above it"
                        .into(),
                )),
                _ => Ok(()),
            };
        }
        if parent.verifier.is_some()
            && self.settings.verifier_inputs() == parent.settings.verifier_inputs()
        {
            // Nothing about verification changed here: share the parent's verifier (and cache).
            self.verifier.clone_from(&parent.verifier);
            return Ok(());
        }
        let cache = setting::value_or(&self.settings.cache_size, defaults::CACHE_SIZE);
        let verifier = Verifier::new(self.verify_policy(), ring, cache).map_err(|e| {
            let site = match (&self.settings.algorithms, &self.settings.key_file) {
                (Some(algorithms), _) => algorithms.site.clone(),
                (None, Some(keys)) => keys.site.clone(),
                (None, None) => ConfSite::default(),
            };
            (site, e.to_string())
        })?;
        self.verifier = Some(Arc::new(verifier));
        Ok(())
    }

    fn prepare_signer(&mut self) -> ConfResult {
        let Some(login) = &self.settings.login else {
            return Ok(());
        };
        let sign_algorithm = self.settings.sign_algorithm.as_ref();
        let signer = Signer::new(&self.ring(), sign_algorithm.map(|a| a.value)).map_err(|e| {
            let site = sign_algorithm.map_or(&login.site, |a| &a.site).clone();
            let message = match e {
                SignerError::AlgorithmNotSupported { .. } => format!("jwt_sign_algorithm: {e}"),
                _ => e.to_string(),
            };
            (site, message)
        })?;
        self.signer = Some(Arc::new(signer));
        self.issue_policy = Some(IssuePolicy {
            ttl: setting::value_or(&self.settings.token_ttl, defaults::TOKEN_TTL),
            issuer: self.settings.issuer.as_ref().map(|i| i.value.clone()),
            audiences: self
                .settings
                .audience
                .as_ref()
                .map_or(Vec::new(), |a| a.value.clone()),
        });
        Ok(())
    }

    /// A `jwt_require` protects nothing where no token is verified: refuse it unless
    /// `jwt_verify on` applies, or a deeper level explicitly exempts itself with
    /// `jwt_verify off`.
    fn check_require_has_verification(&self) -> ConfResult {
        let Some(require) = &self.settings.require else {
            return Ok(());
        };
        let exempted = match &self.settings.verify {
            Some(verify) => verify.value || verify.depth > require.depth,
            None => false,
        };
        if exempted {
            return Ok(());
        }
        Err((
            require.site.clone(),
            "\"jwt_require\" applies where \"jwt_verify\" is not on, so it would protect \
             nothing: add \"jwt_verify on\" at the same level as \"jwt_require\" (a location \
             below it can opt out with \"jwt_verify off\")"
                .into(),
        ))
    }

    /// The token source must not read the module's own variables: they are computed from the
    /// token, so the token would depend on itself.
    fn check_token_source(&self, main: &JwtMainConf) -> ConfResult {
        let Some(token) = &self.settings.token else {
            return Ok(());
        };
        match token
            .value
            .variables
            .iter()
            .find(|name| is_module_variable(name, main))
        {
            None => Ok(()),
            Some(name) => Err((
                token.site.clone(),
                format!(
                    "\"jwt_token\" cannot read \"${name}\": the module's variables are computed \
                     from the token itself; use a request variable such as $cookie_NAME or \
                     $http_NAME"
                ),
            )),
        }
    }
}

/// Whether `$name` is one of the module's variables: `$jwt_claim_*`, `$jwt_header_*`,
/// `$jwt_payload`, `$jwt_error` or a `jwt_claim_set` variable (nginx's variable names are
/// case-insensitive).
pub fn is_module_variable(name: &str, main: &JwtMainConf) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("jwt_claim_")
        || name.starts_with("jwt_header_")
        || name == "jwt_payload"
        || name == "jwt_error"
        || main.claim_set_names.contains(&name)
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
            &*prev.cast::<JwtLocConf>(),
            &mut *conf.cast::<JwtLocConf>(),
        )
    };
    conf.depth = prev.depth + 1;
    conf.settings.inherit(&prev.settings, conf.depth);
    let Some(main) = Module::main_conf(cf) else {
        return NGX_CONF_ERROR;
    };
    match conf.prepare(prev, main) {
        Ok(()) => NGX_CONF_OK,
        Err((site, message)) => {
            parse::error_at(cf, &site, message);
            NGX_CONF_ERROR
        }
    }
}

/// The location configuration of the request being served.
pub fn loc_conf(r: &ngx::http::Request) -> Option<&'static JwtLocConf> {
    Module::location_conf(r)
}
