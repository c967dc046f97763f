//! Revoked tokens: `jwt_revocation_file` (read at configuration time) and the shared set that
//! `jwt_logout` fills. Checked after every successful verification, cache hits included, so a
//! revocation takes effect on the next request in every worker.

use jwt_core::{jti_digest, VerifiedToken, VerifyError};
use ngx::http::{HttpModuleMainConf, Request};

use crate::conf::JwtLocConf;
use crate::metrics::{count, Counter};
use crate::shared_zone::Zone;
use crate::verification::now;
use crate::Module;

/// `Err(revoked)` when `token` is in the location's revocation file or was logged out.
pub fn check(r: &Request, conf: &JwtLocConf, token: &VerifiedToken) -> Result<(), VerifyError> {
    if let Some(list) = conf.revocation_list() {
        if let Some(reason) = list.revokes(token) {
            count(r, Counter::RevokedByFile);
            return Err(VerifyError::Revoked(reason));
        }
    }
    let Some(main) = Module::main_conf(r) else {
        return Ok(());
    };
    // Checked whenever the set holds entries, also when a reload dropped jwt_logout: a
    // logged-out token stays logged out until its exp.
    // SAFETY: the zone was added for the configuration this request runs under.
    let Some(zone) = main
        .zone
        .and_then(|zone| unsafe { Zone::new(zone.as_ptr()) })
    else {
        return Ok(());
    };
    if zone.nothing_revoked() {
        // The common case, and no digest to compute for it.
        return Ok(());
    }
    let Some(jti) = token.claim("jti").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    if zone.is_revoked(&jti_digest(jti), now()) {
        count(r, Counter::RevokedByLogout);
        return Err(VerifyError::Revoked(format!(
            "jti {} was logged out",
            printable(jti)
        )));
    }
    Ok(())
}

/// A token value for the log: quoted, escaped, at most 64 characters.
fn printable(value: &str) -> String {
    let mut out = String::from("\"");
    out.extend(value.chars().take(64).flat_map(char::escape_debug));
    out.push('"');
    if value.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}
