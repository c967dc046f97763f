//! `ngx_http_jwt_module`: JWT verification (`jwt_verify`) and issuance (`jwt_login`) for nginx.
//!
//! This file holds the module statics and registration: the directive table (each row names
//! the function that reads the directive), the module context and the access-phase hook.
//! Configuration lives in [`conf`], the access-phase handler in [`access`], `jwt_login` in
//! [`login`], variables in [`variables`], a request's verification results in
//! [`verification`]. Every JWT rule lives in the `jwt-core` crate, which knows nothing of nginx.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr::{addr_of, addr_of_mut};

use ngx::core::Status;
use ngx::ffi::{
    ngx_array_push, ngx_command_t, ngx_conf_t, ngx_http_handler_pt, ngx_http_module_t,
    ngx_http_phases_NGX_HTTP_ACCESS_PHASE, ngx_int_t, ngx_module_t, NGX_CONF_1MORE, NGX_CONF_2MORE,
    NGX_CONF_FLAG, NGX_CONF_NOARGS, NGX_CONF_TAKE1, NGX_CONF_TAKE12, NGX_CONF_TAKE123,
    NGX_HTTP_LOC_CONF, NGX_HTTP_MAIN_CONF, NGX_HTTP_MODULE, NGX_HTTP_SRV_CONF,
};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};
use ngx::ngx_string;

mod access;
mod browser;
mod conf;
mod jwks;
mod key_request;
mod login;
mod logout;
mod metrics;
mod refresh;
mod request_local;
mod response_headers;
mod revocation;
mod shared_zone;
mod subrequest;
mod token_source;
mod variables;
mod verification;

use conf::directives::{self as d, loc, main};
use conf::{JwtLocConf, JwtMainConf};

/// Marker type carrying the module's nginx hooks.
pub(crate) struct Module;

impl HttpModule for Module {
    fn module() -> &'static ngx_module_t {
        // SAFETY: the module static is only mutated by nginx while loading the module, before any
        // of our code can run.
        unsafe { &*addr_of!(ngx_http_jwt_module) }
    }

    unsafe extern "C" fn preconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        variables::register(cf)
    }

    unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        // SAFETY: nginx calls postconfiguration with a valid conf.
        let cf = unsafe { &mut *cf };
        if let Some(main) = Module::main_conf_mut(cf) {
            if conf::check_token_variables(cf, main).is_err() {
                return Status::NGX_ERROR.into();
            }
            if main.used {
                let cf_ptr: *mut ngx_conf_t = cf;
                // SAFETY: cf is the live configuration; the main conf is not borrowed from it.
                if let Err(message) = conf::ensure_zone(unsafe { &mut *cf_ptr }, main) {
                    ngx::ngx_conf_log_error!(ngx::ffi::NGX_LOG_EMERG, cf, "{}", message);
                    return Status::NGX_ERROR.into();
                }
            }
        }
        let Some(cmcf) = NgxHttpCoreModule::main_conf_mut(cf) else {
            return Status::NGX_ERROR.into();
        };
        let phase = &mut cmcf.phases[ngx_http_phases_NGX_HTTP_ACCESS_PHASE as usize];
        // SAFETY: `handlers` is an ngx_array_t of ngx_http_handler_pt owned by the core module.
        let slot = unsafe { ngx_array_push(&mut phase.handlers) } as *mut ngx_http_handler_pt;
        if slot.is_null() {
            return Status::NGX_ERROR.into();
        }
        // SAFETY: ngx_array_push returned room for one element of the array's type.
        unsafe { *slot = Some(access::access_handler) };
        Status::NGX_OK.into()
    }
}

// SAFETY: the location conf type is what create_loc_conf allocates for this module.
unsafe impl HttpModuleLocationConf for Module {
    type LocationConf = JwtLocConf;
}

// SAFETY: the main conf type is what create_main_conf allocates for this module.
unsafe impl HttpModuleMainConf for Module {
    type MainConf = JwtMainConf;
}

const ANY_LEVEL: u32 = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

/// The module's directives: name, where it may appear and its arguments, and the function
/// that reads it (see [`conf::directives`]). Terminated by an empty entry, as nginx expects.
static mut COMMANDS: [ngx_command_t; 34] = [
    loc(
        ngx_string!("jwt_verify"),
        ANY_LEVEL | NGX_CONF_FLAG,
        d::jwt_verify,
    ),
    loc(
        ngx_string!("jwt_key_file"),
        ANY_LEVEL | NGX_CONF_TAKE12,
        d::jwt_key_file,
    ),
    loc(
        ngx_string!("jwt_algorithms"),
        ANY_LEVEL | NGX_CONF_1MORE,
        d::jwt_algorithms,
    ),
    loc(
        ngx_string!("jwt_token"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_token,
    ),
    loc(
        ngx_string!("jwt_leeway"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_leeway,
    ),
    loc(
        ngx_string!("jwt_require_exp"),
        ANY_LEVEL | NGX_CONF_FLAG,
        d::jwt_require_exp,
    ),
    loc(
        ngx_string!("jwt_issuer"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_issuer,
    ),
    loc(
        ngx_string!("jwt_audience"),
        ANY_LEVEL | NGX_CONF_1MORE,
        d::jwt_audience,
    ),
    loc(
        ngx_string!("jwt_require"),
        ANY_LEVEL | NGX_CONF_1MORE,
        d::jwt_require,
    ),
    loc(
        ngx_string!("jwt_realm"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_realm,
    ),
    loc(
        ngx_string!("jwt_failure_status"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_failure_status,
    ),
    main(
        ngx_string!("jwt_claim_set"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_2MORE,
        variables::jwt_claim_set,
    ),
    loc(
        ngx_string!("jwt_login"),
        NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
        login::jwt_login,
    ),
    loc(
        ngx_string!("jwt_sign_algorithm"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_sign_algorithm,
    ),
    loc(
        ngx_string!("jwt_token_ttl"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_token_ttl,
    ),
    loc(
        ngx_string!("jwt_login_cookie"),
        ANY_LEVEL | NGX_CONF_1MORE,
        d::jwt_login_cookie,
    ),
    loc(
        ngx_string!("jwt_cache_size"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_cache_size,
    ),
    loc(
        ngx_string!("jwt_key_request"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_key_request,
    ),
    loc(
        ngx_string!("jwt_key_cache"),
        ANY_LEVEL | NGX_CONF_TAKE12,
        d::jwt_key_cache,
    ),
    main(
        ngx_string!("jwt_shared_memory"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
        d::jwt_shared_memory,
    ),
    loc(
        ngx_string!("jwt_typ"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_typ,
    ),
    loc(
        ngx_string!("jwt_require_claim"),
        ANY_LEVEL | NGX_CONF_2MORE,
        d::jwt_require_claim,
    ),
    loc(
        ngx_string!("jwt_refresh"),
        NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
        refresh::jwt_refresh,
    ),
    loc(
        ngx_string!("jwt_refresh_max_age"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_refresh_max_age,
    ),
    loc(
        ngx_string!("jwt_refresh_grace"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_refresh_grace,
    ),
    loc(
        ngx_string!("jwt_logout"),
        NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
        logout::jwt_logout,
    ),
    main(
        ngx_string!("jwt_logout_capacity"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
        d::jwt_logout_capacity,
    ),
    loc(
        ngx_string!("jwt_revocation_file"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        d::jwt_revocation_file,
    ),
    loc(
        ngx_string!("jwt_login_redirect"),
        ANY_LEVEL | NGX_CONF_TAKE123,
        browser::jwt_login_redirect,
    ),
    loc(
        ngx_string!("jwt_login_page"),
        ANY_LEVEL | NGX_CONF_TAKE12,
        browser::jwt_login_page,
    ),
    loc(
        ngx_string!("jwt_logout_redirect"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        browser::jwt_logout_redirect,
    ),
    loc(
        ngx_string!("jwt_status"),
        NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
        metrics::jwt_status,
    ),
    loc(
        ngx_string!("jwt_jwks"),
        NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS | NGX_CONF_TAKE1,
        jwks::jwt_jwks,
    ),
    ngx_command_t::empty(),
];

static MODULE_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: Some(Module::preconfiguration),
    postconfiguration: Some(Module::postconfiguration),
    create_main_conf: Some(Module::create_main_conf),
    init_main_conf: None,
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: Some(Module::create_loc_conf),
    merge_loc_conf: Some(conf::merge_loc_conf),
};

// `ngx_modules` (what `load_module` looks up) for the cdylib cargo builds. nginx's own build
// (`config`: ./configure --add-dynamic-module) generates that table in C and references the
// descriptor below by its C name instead, so there the descriptor is unmangled.
#[cfg(feature = "export-modules")]
ngx::ngx_modules!(ngx_http_jwt_module);
#[cfg_attr(not(feature = "export-modules"), no_mangle)]
/// The module descriptor nginx looks up by name after `load_module`.
#[used]
#[allow(non_upper_case_globals)]
pub static mut ngx_http_jwt_module: ngx_module_t = ngx_module_t {
    ctx: addr_of!(MODULE_CTX) as _,
    // SAFETY: only the address is taken; nginx reads the table during configuration.
    commands: unsafe { addr_of_mut!(COMMANDS[0]) },
    type_: NGX_HTTP_MODULE as _,
    init_process: Some(init_process),
    ..ngx_module_t::default()
};

/// Each worker starts with no random bytes drawn ahead (for token ids, see
/// jwt_core::forget_random_batch): none may be shared with a sibling forked from the same
/// master.
extern "C" fn init_process(_cycle: *mut ngx::ffi::ngx_cycle_t) -> ngx_int_t {
    jwt_core::forget_random_batch();
    ngx::ffi::NGX_OK as ngx_int_t
}
