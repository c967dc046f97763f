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
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;

use jwt_core::bearer::Challenges;
use jwt_core::claim_rule::ClaimRule;
use jwt_core::key_refresh::RefreshPolicy;
use jwt_core::revocation::RevocationList;
use jwt_core::{
    defaults, Algorithm, IssuePolicy, KeyRing, LoginCookie, Signer, SignerError, Verifier,
    VerifyPolicy,
};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_conf_t, ngx_http_complex_value_t, ngx_http_conf_ctx_t, ngx_http_core_srv_conf_t,
    ngx_shm_zone_t,
};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};

use crate::browser::{LoginPage, LoginRedirect};
use crate::key_request::KeySource;
use crate::shared_zone;
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
    /// `jwt_shared_memory`.
    pub shared_memory_size: Option<usize>,
    /// Some directive of the module appears in this configuration (then the zone exists, for
    /// the counters at least).
    pub used: bool,
    /// `jwt_logout_capacity`.
    pub logout_capacity: Option<usize>,
    /// Every `jwt_token` and the variables it reads, for [`check_token_variables`].
    pub token_variables: Vec<(ConfSite, Vec<String>)>,
    /// The module's shared memory zone, added when a configuration first needs it.
    pub zone: Option<NonNull<ngx_shm_zone_t>>,
    /// The `jwt_key_request` sources, shared by the locations that name the same one (`Rc`: a
    /// source and its slot cache belong to one single-threaded worker).
    pub key_sources: Vec<Rc<KeySource>>,
    /// The core server configurations seen by merge, in order: a server's position names it
    /// in the shared zone.
    servers: Vec<*const c_void>,
}

impl JwtMainConf {
    /// `jwt_logout_capacity`.
    pub fn logout_capacity(&self) -> usize {
        self.logout_capacity.unwrap_or(defaults::LOGOUT_CAPACITY)
    }
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

/// A local URI and the query string passed to it: the target of a subrequest (`jwt_login`'s
/// authenticator, `jwt_key_request`'s JWKS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalUri {
    pub uri: String,
    pub args: Option<String>,
}

/// `jwt_jwks [max_age=time]`: this location publishes the key ring's public keys.
#[derive(Clone, Copy, Debug)]
pub struct JwksPublication {
    pub max_age: u64,
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
            pub login: Option<Setting<LocalUri>>,
            /// `jwt_jwks`: a location's content handler, never inherited.
            pub jwks: Option<Setting<JwksPublication>>,
            /// `jwt_refresh`, `jwt_logout`, `jwt_status`: content handlers, never inherited.
            pub refresh: Option<Setting<()>>,
            pub logout: Option<Setting<()>>,
            pub status: Option<Setting<()>>,
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
    key_request: LocalUri,
    key_cache: RefreshPolicy,
    typ: String,
    require_claim: Vec<ClaimRule>,
    refresh_max_age: Option<u64>,
    refresh_grace: u64,
    revocation_file: Arc<RevocationList>,
    login_redirect: LoginRedirect,
    login_page: LoginPage,
    logout_redirect: String,
}

impl Settings {
    /// The settings that make up a verifier, identified by where they were written: two levels
    /// with the same inputs can share one verifier (and its cache of verified tokens).
    fn verifier_inputs(&self) -> [Option<&ConfSite>; 11] {
        [
            // Revocations are checked with each result, which is kept per verifier: a level
            // with its own file must not reuse a result checked against another.
            self.revocation_file.as_ref().map(|s| &s.site),
            self.key_request.as_ref().map(|s| &s.site),
            self.key_cache.as_ref().map(|s| &s.site),
            self.typ.as_ref().map(|s| &s.site),
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
    /// The remote key set the verifier uses (`jwt_key_request`).
    pub key_source: Option<Rc<KeySource>>,
    /// `jwt_jwks`: the JWKS document this location answers with.
    pub jwks_document: Option<String>,
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

    pub fn login_redirect(&self) -> Option<&LoginRedirect> {
        self.settings.login_redirect.as_ref().map(|s| &s.value)
    }

    pub fn login_page(&self) -> Option<&LoginPage> {
        self.settings.login_page.as_ref().map(|s| &s.value)
    }

    pub fn logout_redirect(&self) -> Option<&str> {
        self.settings
            .logout_redirect
            .as_ref()
            .map(|s| s.value.as_str())
    }

    /// `jwt_refresh_max_age` (`None`: `off`).
    pub fn refresh_max_age(&self) -> Option<u64> {
        self.settings
            .refresh_max_age
            .as_ref()
            .map_or(defaults::REFRESH_MAX_AGE, |s| s.value)
    }

    pub fn refresh_grace(&self) -> u64 {
        setting::value_or(&self.settings.refresh_grace, defaults::REFRESH_GRACE)
    }

    pub fn revocation_list(&self) -> Option<&RevocationList> {
        self.settings.revocation_file.as_ref().map(|s| &*s.value)
    }

    pub fn claim_rules(&self) -> &[ClaimRule] {
        self.settings
            .require_claim
            .as_ref()
            .map_or(&[], |s| &s.value)
    }

    pub fn login(&self) -> Option<&LocalUri> {
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
            typ: s.typ.as_ref().map(|t| t.value.clone()),
        }
    }

    fn ring(&self) -> KeyRing {
        self.settings
            .key_file
            .as_ref()
            .map_or_else(KeyRing::new, |k| k.value.clone())
    }

    /// Builds what this level needs at request time; errors name the directive to fix.
    fn prepare(
        &mut self,
        cf: &mut ngx_conf_t,
        parent: &JwtLocConf,
        main: &mut JwtMainConf,
    ) -> ConfResult {
        let realm = self.settings.realm.as_ref().map(|r| r.value.as_str());
        self.challenge = Challenges::for_realm(realm.unwrap_or(defaults::REALM));
        self.check_require_has_verification()?;
        self.check_token_source(main)?;
        self.check_one_content_handler()?;
        self.prepare_verifier(cf, parent, main)?;
        self.check_session_handlers()?;
        self.prepare_signer()?;
        self.warn_login_behind_verification(cf);
        self.check_login_redirect_has_cookie()?;
        self.prepare_jwks()
    }

    /// The module's content handlers each take the whole location.
    fn check_one_content_handler(&self) -> ConfResult {
        let s = &self.settings;
        let handlers: Vec<(&str, &ConfSite)> = [
            ("jwt_login", s.login.as_ref().map(|x| &x.site)),
            ("jwt_jwks", s.jwks.as_ref().map(|x| &x.site)),
            ("jwt_refresh", s.refresh.as_ref().map(|x| &x.site)),
            ("jwt_logout", s.logout.as_ref().map(|x| &x.site)),
            ("jwt_status", s.status.as_ref().map(|x| &x.site)),
        ]
        .into_iter()
        .filter_map(|(name, site)| site.map(|site| (name, site)))
        .collect();
        match handlers.as_slice() {
            [(first, first_site), (second, second_site), ..] => Err((
                (*second_site).clone(),
                format!(
                    "\"{second}\" and \"{first}\" (at {first_site}) both answer this location: \
                     give each its own location"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `jwt_refresh` and `jwt_logout` check the presented token with the location's keys.
    fn check_session_handlers(&self) -> ConfResult {
        let s = &self.settings;
        for (name, setting) in [("jwt_refresh", &s.refresh), ("jwt_logout", &s.logout)] {
            if let Some(setting) = setting {
                if self.verifier.is_none() {
                    return Err((
                        setting.site.clone(),
                        format!(
                            "\"{name}\" needs the keys of the tokens it accepts: add a \
                             \"jwt_key_file\" in this location or above it"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A browser login sets the session as a cookie: without one the browser lands on the
    /// return path without a session.
    fn check_login_redirect_has_cookie(&self) -> ConfResult {
        match (&self.settings.login, &self.settings.login_redirect) {
            (Some(_), Some(redirect)) if self.settings.login_cookie.is_none() => Err((
                redirect.site.clone(),
                "\"jwt_login_redirect\" sends the browser on with its session in a cookie: add \
                 \"jwt_login_cookie\" where the login is"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    /// A `jwt_login` location that also verifies would need a token to log in; a `jwt_refresh`
    /// one would refuse the expired tokens its grace is for.
    fn warn_login_behind_verification(&self, cf: &mut ngx_conf_t) {
        if !self.verify_enabled() {
            return;
        }
        if let Some(login) = &self.settings.login {
            parse::warn_at(
                cf,
                &login.site,
                "\"jwt_login\" where \"jwt_verify on\" applies: a client needs a valid token to \
                 log in; add \"jwt_verify off\" to the login location",
            );
        }
        if let (Some(refresh), true) = (&self.settings.refresh, self.refresh_grace() > 0) {
            parse::warn_at(
                cf,
                &refresh.site,
                "\"jwt_refresh\" with \"jwt_refresh_grace\" where \"jwt_verify on\" applies: \
                 the access check refuses the expired tokens the grace is for; add \
                 \"jwt_verify off\" to the refresh location (it verifies the token itself)",
            );
        }
    }

    /// Content handlers that verify the presented token themselves.
    pub fn checks_tokens_itself(&self) -> bool {
        self.settings.refresh.is_some() || self.settings.logout.is_some()
    }

    fn prepare_verifier(
        &mut self,
        cf: &mut ngx_conf_t,
        parent: &JwtLocConf,
        main: &mut JwtMainConf,
    ) -> ConfResult {
        let ring = self.ring();
        if ring.is_empty() && self.settings.key_request.is_none() {
            return match &self.settings.verify {
                Some(verify) if verify.value => Err((
                    verify.site.clone(),
                    "\"jwt_verify on\" needs at least one \"jwt_key_file\" or a \
                     \"jwt_key_request\" in this location or above it"
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
            self.key_source.clone_from(&parent.key_source);
            return Ok(());
        }
        let cache = setting::value_or(&self.settings.cache_size, defaults::CACHE_SIZE);
        let policy = self.verify_policy();
        let verifier = match &self.settings.key_request {
            None => Verifier::new(policy, ring, cache),
            Some(request) => {
                let source = key_source(cf, main, &request.value, self.key_cache_policy())
                    .map_err(|e| (request.site.clone(), e))?;
                let keys = Arc::clone(&source.keys);
                self.key_source = Some(source);
                Verifier::with_remote_keys(policy, ring, cache, keys)
            }
        };
        let verifier = verifier.map_err(|e| {
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
        // jwt_login and jwt_refresh issue tokens.
        let issuing_site = match (&self.settings.login, &self.settings.refresh) {
            (Some(login), _) => login.site.clone(),
            (None, Some(refresh)) => refresh.site.clone(),
            (None, None) => return Ok(()),
        };
        let sign_algorithm = self.settings.sign_algorithm.as_ref();
        let signer = Signer::new(&self.ring(), sign_algorithm.map(|a| a.value)).map_err(|e| {
            let site = sign_algorithm.map_or(&issuing_site, |a| &a.site).clone();
            let message = match e {
                SignerError::AlgorithmNotSupported { .. } => format!("jwt_sign_algorithm: {e}"),
                // jwt-core words it for jwt_login; a jwt_refresh location signs as well.
                _ if self.settings.login.is_none() => {
                    e.to_string().replace("jwt_login", "jwt_refresh")
                }
                _ => e.to_string(),
            };
            (site, message)
        })?;
        let signer = match &self.settings.typ {
            // Tokens issued here must pass the jwt_typ check of the locations that verify them.
            Some(typ) => signer.with_type(&typ.value),
            None => signer,
        };
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

    /// A `jwt_require` or `jwt_require_claim` protects nothing where no token is verified:
    /// refuse it unless `jwt_verify on` applies, or a deeper level explicitly exempts itself
    /// with `jwt_verify off`.
    fn check_require_has_verification(&self) -> ConfResult {
        let rules = [
            (
                "jwt_require",
                self.settings.require.as_ref().map(|s| (&s.site, s.depth)),
            ),
            (
                "jwt_require_claim",
                self.settings
                    .require_claim
                    .as_ref()
                    .map(|s| (&s.site, s.depth)),
            ),
        ];
        for (directive, rule) in rules {
            let Some((site, depth)) = rule else {
                continue;
            };
            let exempted = match &self.settings.verify {
                Some(verify) => verify.value || verify.depth > depth,
                None => false,
            };
            if !exempted {
                return Err((
                    site.clone(),
                    format!(
                        "\"{directive}\" applies where \"jwt_verify\" is not on, so it would \
                         protect nothing: add \"jwt_verify on\" at the same level as \
                         \"{directive}\" (a location below it can opt out with \"jwt_verify off\")"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn key_cache_policy(&self) -> RefreshPolicy {
        self.settings
            .key_cache
            .as_ref()
            .map_or_else(RefreshPolicy::default, |c| c.value)
    }

    /// `jwt_jwks`: the public halves of this location's key files, each with its `kid`.
    fn prepare_jwks(&mut self) -> ConfResult {
        let Some(jwks) = &self.settings.jwks else {
            return Ok(());
        };
        let ring = self.ring();
        let public: Vec<_> = ring
            .keys()
            .iter()
            .filter(|k| k.public_jwk().is_some())
            .collect();
        if public.is_empty() {
            return Err((
                jwks.site.clone(),
                "\"jwt_jwks\" has no public key to publish: add a \"jwt_key_file\" with an RSA, \
                 EC or Ed25519 key (HMAC secrets are never published)"
                    .into(),
            ));
        }
        if let Some(key) = public.iter().find(|k| k.kid().is_none()) {
            return Err((
                jwks.site.clone(),
                format!(
                    "\"jwt_jwks\" publishes keys by kid, and the {} has none: give it one with \
                     \"jwt_key_file FILE kid=NAME\" (or a \"kid\" in its JWK)",
                    key.describe()
                ),
            ));
        }
        let mut kids: Vec<&str> = public.iter().filter_map(|k| k.kid()).collect();
        kids.sort_unstable();
        if let Some(pair) = kids.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err((
                jwks.site.clone(),
                format!(
                    "\"jwt_jwks\" would publish two keys with the kid \"{}\": consumers pick a \
                     key by kid (RFC 7517 §4.5), give each key its own",
                    pair[0]
                ),
            ));
        }
        self.jwks_document = Some(ring.public_jwks().to_string());
        Ok(())
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
            &mut *cf,
            &*prev.cast::<JwtLocConf>(),
            &mut *conf.cast::<JwtLocConf>(),
        )
    };
    conf.depth = prev.depth + 1;
    conf.settings.inherit(&prev.settings, conf.depth);
    let Some(main) = Module::main_conf_mut(cf) else {
        return NGX_CONF_ERROR;
    };
    match conf.prepare(cf, prev, main) {
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

/// The source for `jwt_key_request target` in the server being merged, created on first use;
/// locations of one server naming the same URI with the same `jwt_key_cache` share it.
fn key_source(
    cf: &mut ngx_conf_t,
    main: &mut JwtMainConf,
    target: &LocalUri,
    cache: RefreshPolicy,
) -> Result<Rc<KeySource>, String> {
    let (position, server_name) = current_server(cf, main);
    let name = format!(
        "{position} {server_name} {}?{} {}/{}",
        target.uri,
        target.args.as_deref().unwrap_or(""),
        cache.lifetime,
        cache.refetch
    );
    if let Some(source) = main.key_sources.iter().find(|s| s.name == name) {
        return Ok(Rc::clone(source));
    }
    let zone = ensure_zone(cf, main)?;
    let source = Rc::new(KeySource::new(name, target.clone(), cache, zone.as_ptr()));
    main.key_sources.push(Rc::clone(&source));
    Ok(source)
}

/// The position (in merge order, which is configuration order) and first name of the server
/// block being merged: a subrequest's URI is resolved in its own server, so the same URI in two
/// servers may be two providers.
fn current_server(cf: &ngx_conf_t, main: &mut JwtMainConf) -> (usize, String) {
    let ctx = cf.ctx.cast::<ngx_http_conf_ctx_t>();
    // SAFETY: during the http block's merge, cf->ctx is the http context whose srv_conf is the
    // server being merged; the core module's slot holds its ngx_http_core_srv_conf_t.
    let cscf = unsafe {
        (*ctx)
            .srv_conf
            .add(NgxHttpCoreModule::module().ctx_index)
            .read()
            .cast::<ngx_http_core_srv_conf_t>()
    };
    let key = cscf.cast_const().cast::<c_void>();
    let position = match main.servers.iter().position(|s| *s == key) {
        Some(position) => position,
        None => {
            main.servers.push(key);
            main.servers.len() - 1
        }
    };
    // SAFETY: NULL or the live core server configuration.
    let name = unsafe { cscf.as_ref() }
        .map(|c| String::from_utf8_lossy(c.server_name.as_bytes()).into_owned())
        .unwrap_or_default();
    (position, name)
}

/// The module's shared memory zone of this configuration, added on first use.
pub fn ensure_zone(
    cf: &mut ngx_conf_t,
    main: &mut JwtMainConf,
) -> Result<NonNull<ngx_shm_zone_t>, String> {
    if let Some(zone) = main.zone {
        return Ok(zone);
    }
    let size = main
        .shared_memory_size
        .unwrap_or(defaults::SHARED_MEMORY_SIZE);
    let zone = shared_zone::add_zone(cf, size)?;
    let zone = NonNull::new(zone).ok_or("cannot add the shared memory zone")?;
    main.zone = Some(zone);
    Ok(zone)
}

/// A `jwt_token` naming a variable nobody declares is refused here, with the directive's file
/// and line: nginx's own "unknown variable" error, later, names neither. Runs in
/// postconfiguration, when every `map`, `set` and module variable is declared.
pub fn check_token_variables(cf: &ngx_conf_t, main: &JwtMainConf) -> Result<(), ()> {
    let Some(cmcf) = NgxHttpCoreModule::main_conf(cf) else {
        return Ok(());
    };
    // SAFETY: until variables are initialised (after postconfiguration), variables_keys holds
    // the declared names and prefix_variables the prefix ones, both arrays of nginx's types.
    let (names, prefixes) = unsafe {
        let Some(keys) = cmcf.variables_keys.as_ref() else {
            return Ok(());
        };
        (
            keys.keys.as_slice::<ngx::ffi::ngx_hash_key_t>(),
            cmcf.prefix_variables
                .as_slice::<ngx::ffi::ngx_http_variable_t>(),
        )
    };
    let declared = |name: &str| {
        let name = name.as_bytes();
        name.iter().all(u8::is_ascii_digit)
            || names
                .iter()
                .any(|k| k.key.as_bytes().eq_ignore_ascii_case(name))
            || prefixes.iter().any(|p| {
                let prefix = p.name.as_bytes();
                name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix)
            })
    };
    for (site, variables) in &main.token_variables {
        if let Some(unknown) = variables.iter().find(|v| !declared(v)) {
            parse::error_at(
                cf,
                site,
                format!(
                    "\"jwt_token\" reads the unknown variable \"${unknown}\": check its name \
                     (for a cookie, $cookie_NAME; for a header, $http_NAME)"
                ),
            );
            return Err(());
        }
    }
    Ok(())
}
