//! Counters of what the gateway does, summed over workers in the shared zone, and `jwt_status`,
//! which prints them in the Prometheus text exposition format (version 0.0.4).
//!
//! A counter is one `AtomicU64` in the zone: incrementing it is one atomic add, no lock. The
//! zone survives reloads (with the same `jwt_shared_memory` size), so the counters do; a restart
//! starts them at zero, which Prometheus' `rate()` and `increase()` treat as a counter reset.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use ngx::core::Status;
use ngx::ffi::{ngx_conf_t, ngx_http_request_t, ngx_int_t, NGX_HTTP_OK};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, Method, NgxHttpCoreModule, Request};

use crate::conf::parse::once;
use crate::conf::{Setting, Settings};
use crate::response_headers::{not_allowed, push_header_out, send_body};
use crate::shared_zone::Zone;
use crate::Module;

/// One metric family: its name, help text and label name; its series follow in [`SERIES`].
struct Family {
    name: &'static str,
    help: &'static str,
    label: &'static str,
}

const FAMILIES: [Family; 8] = [
    Family {
        name: "jwt_verifications_total",
        help: "Access-phase verifications, by result: ok or the $jwt_error code.",
        label: "result",
    },
    Family {
        name: "jwt_authorization_denied_total",
        help: "Valid tokens denied by an authorization rule, by directive.",
        label: "rule",
    },
    Family {
        name: "jwt_token_cache_total",
        help: "Lookups in the per-worker cache of verified tokens.",
        label: "result",
    },
    Family {
        name: "jwt_logins_total",
        help: "jwt_login requests: issued, the authenticator's answer passed on by status \
               class, or error (502: an unusable authenticator answer).",
        label: "result",
    },
    Family {
        name: "jwt_refreshes_total",
        help: "jwt_refresh requests, by result.",
        label: "result",
    },
    Family {
        name: "jwt_logouts_total",
        help: "jwt_logout requests, by result (full: the revocation set had no room).",
        label: "result",
    },
    Family {
        name: "jwt_revoked_total",
        help: "Valid tokens refused as revoked, by where the revocation came from.",
        label: "source",
    },
    Family {
        name: "jwt_key_fetches_total",
        help: "jwt_key_request fetches of a JWKS, by result.",
        label: "result",
    },
];

macro_rules! counters {
    ($($variant:ident => ($family:expr, $label:expr)),* $(,)?) => {
        /// Every series, in output order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Counter {
            $($variant,)*
        }

        /// (family index, label value) of each [`Counter`], by discriminant.
        const SERIES: &[(usize, &str)] = &[$(($family, $label),)*];
    };
}

counters! {
    VerifyOk => (0, "ok"),
    RejectMissing => (0, "missing"),
    RejectTooLarge => (0, "too_large"),
    RejectMalformed => (0, "malformed"),
    RejectAlgorithm => (0, "algorithm"),
    RejectCrit => (0, "crit"),
    RejectKey => (0, "key"),
    RejectSignature => (0, "signature"),
    RejectTyp => (0, "typ"),
    RejectIssuer => (0, "issuer"),
    RejectAudience => (0, "audience"),
    RejectExpired => (0, "expired"),
    RejectNotYetValid => (0, "not_yet_valid"),
    RejectRevoked => (0, "revoked"),
    DeniedRequire => (1, "jwt_require"),
    DeniedRequireClaim => (1, "jwt_require_claim"),
    CacheHit => (2, "hit"),
    CacheMiss => (2, "miss"),
    LoginIssued => (3, "issued"),
    LoginPassed1xx => (3, "1xx"),
    LoginPassed2xx => (3, "2xx"),
    LoginPassed3xx => (3, "3xx"),
    LoginPassed4xx => (3, "4xx"),
    LoginPassed5xx => (3, "5xx"),
    LoginError => (3, "error"),
    RefreshIssued => (4, "issued"),
    RefreshRefused => (4, "refused"),
    LogoutRevoked => (5, "revoked"),
    LogoutRefused => (5, "refused"),
    LogoutFull => (5, "full"),
    RevokedByFile => (6, "file"),
    RevokedByLogout => (6, "logout"),
    KeyFetchOk => (7, "ok"),
    KeyFetchUnchanged => (7, "unchanged"),
    KeyFetchFailed => (7, "failed"),
}

/// How many counters the zone holds.
pub const COUNT: usize = SERIES.len();

impl Counter {
    /// The rejection counter of a `$jwt_error` code.
    pub fn rejected(code: &str) -> Counter {
        const REJECTIONS: [Counter; 13] = [
            Counter::RejectMissing,
            Counter::RejectTooLarge,
            Counter::RejectMalformed,
            Counter::RejectAlgorithm,
            Counter::RejectCrit,
            Counter::RejectKey,
            Counter::RejectSignature,
            Counter::RejectTyp,
            Counter::RejectIssuer,
            Counter::RejectAudience,
            Counter::RejectExpired,
            Counter::RejectNotYetValid,
            Counter::RejectRevoked,
        ];
        REJECTIONS
            .into_iter()
            .find(|c| SERIES[*c as usize].1 == code)
            .unwrap_or(Counter::RejectMalformed)
    }

    /// The login counter of an authenticator status passed on to the client.
    pub fn login_passed(status: usize) -> Counter {
        match status / 100 {
            1 => Counter::LoginPassed1xx,
            2 => Counter::LoginPassed2xx,
            3 => Counter::LoginPassed3xx,
            4 => Counter::LoginPassed4xx,
            _ => Counter::LoginPassed5xx,
        }
    }
}

/// Adds one to `counter`, if this configuration has the zone (it always has when it uses the
/// module).
pub fn count(r: &Request, counter: Counter) {
    if let Some(zone) = zone_of(r) {
        zone.count(counter);
    }
}

fn zone_of(r: &Request) -> Option<Zone> {
    let main = Module::main_conf(r)?;
    // SAFETY: the zone was added for the configuration this request runs under.
    unsafe { Zone::new(main.zone?.as_ptr()) }
}

/// `jwt_status` (location): this location answers with the counters.
pub fn jwt_status(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.status)?;
    let clcf =
        NgxHttpCoreModule::location_conf_mut(&*cf).ok_or("no http core location configuration")?;
    clcf.handler = Some(status_handler);
    s.status = Some(Setting::here(cf, ()));
    Ok(())
}

unsafe extern "C" fn status_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls content handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    respond(request)
}

fn respond(r: &mut Request) -> ngx_int_t {
    let rc = r.discard_request_body();
    if rc != Status::NGX_OK {
        return rc.into();
    }
    if !matches!(r.method(), Method::GET | Method::HEAD) {
        return not_allowed(r, b"GET, HEAD");
    }
    let values: Vec<u64> = match zone_of(r) {
        Some(zone) => (0..COUNT)
            .map(|i| zone.counter(i).map_or(0, |c| c.load(Ordering::Relaxed)))
            .collect(),
        None => vec![0; COUNT],
    };
    let body = exposition(&values);
    if let Err(status) = push_header_out(r.as_mut(), b"Cache-Control", b"no-store") {
        return status.into();
    }
    send_body(
        r,
        NGX_HTTP_OK as _,
        b"text/plain; version=0.0.4; charset=utf-8",
        body.as_bytes(),
    )
}

/// The text exposition of `values` (indexed like [`Counter`]).
fn exposition(values: &[u64]) -> String {
    let mut out = String::with_capacity(4096);
    for (index, family) in FAMILIES.iter().enumerate() {
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} counter", family.name);
        for (series, (_, label)) in SERIES.iter().enumerate().filter(|(_, (f, _))| *f == index) {
            let value = values.get(series).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "{}{{{}=\"{label}\"}} {value}",
                family.name, family.label
            );
        }
    }
    out
}
