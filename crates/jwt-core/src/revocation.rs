//! `jwt_revocation_file`: validly signed, unexpired tokens that must be refused anyway (a
//! leaked token, a user who must be logged out everywhere now).
//!
//! The file is read once, at configuration time (a reload picks up changes), into a
//! [`RevocationList`]; the module asks [`RevocationList::revokes`] about every token that
//! verified and refuses it with error code `revoked` ([`crate::VerifyError::Revoked`]).
//!
//! # File format
//!
//! UTF-8 text, one entry per line (`\n` or `\r\n`):
//!
//! ```text
//! # Leaked in ticket 4711.
//! jti 4f1c2a9e-7d0b-4a57-9f3e-1f6a2b8c0d11
//!
//! sub alice 2026-11-30T12:00:00Z   # logged out everywhere
//! sub bob   1796040000
//! ```
//!
//! * `jti VALUE`: the token whose `jti` claim is exactly `VALUE` is revoked;
//! * `sub VALUE TIME`: every token whose `sub` claim is exactly `VALUE` and whose session
//!   began before `TIME` is revoked: its `auth_time` (the login time that `jwt_refresh`
//!   carries through refreshes), else its `iat`; so is a token of that subject with neither
//!   (its age is unknown: fail closed). A session begun at `TIME` or later is not: the user
//!   may log in again;
//! * `TIME` is unix seconds (`1796040000`) or an RFC 3339 UTC timestamp
//!   (`2026-11-30T12:00:00Z`; `T` and `Z` may be lower case; no fractions, no offsets);
//! * words are separated by spaces or tabs, so a `VALUE` is one word without them; it is
//!   compared exactly (case included) with the claim, which must be a JSON string;
//! * blank lines are ignored, and so is everything from a word that begins with `#` to
//!   the end of the line: a whole-line comment, or a comment after an entry. A `VALUE`
//!   may contain `#` but not begin with one;
//! * a `jti` listed twice is listed once; a `sub` listed twice keeps the latest (largest)
//!   `TIME`, wherever the lines are, so appending a line never revokes less.
//!
//! Any other line is an error that names the line ([`RevocationFileError`]): a mistyped
//! entry must stop the configuration from loading rather than silently revoke nothing.
//!
//! # Dates
//!
//! The RFC 3339 parser is the few lines below (civil date to days, Howard Hinnant's
//! `days_from_civil`) rather than `time` or `chrono`: one fixed UTC form is all the file
//! accepts, and either crate would bring a calendar, time zones and formatting into a
//! module that runs inside nginx for the sake of one conversion at configuration time.

use std::collections::{HashMap, HashSet};

use aws_lc_rs::digest;
use serde_json::Value;

use crate::renewal;
use crate::token::NumericDate;
use crate::verify::{quoted, VerifiedToken};

/// Bytes of a [`jti_digest`].
pub const JTI_DIGEST_LEN: usize = 16;

/// A line of a revocation file that is not an entry, a comment or blank.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: {reason}; expected \"jti VALUE\" or \"sub VALUE TIME\" \
     (TIME: unix seconds or 2026-11-30T12:00:00Z)"
)]
pub struct RevocationFileError {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// The entries of a `jwt_revocation_file`.
#[derive(Clone, Debug, Default)]
pub struct RevocationList {
    /// Revoked `jti` values.
    ids: HashSet<String>,
    /// Subject → tokens issued before this unix time are revoked.
    subjects: HashMap<String, u64>,
}

impl RevocationList {
    /// Parses a revocation file (see the module documentation for the format).
    pub fn parse(text: &[u8]) -> Result<RevocationList, RevocationFileError> {
        let mut list = RevocationList::default();
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            let at = |reason: String| RevocationFileError {
                line: index + 1,
                reason,
            };
            let line = std::str::from_utf8(line).map_err(|e| {
                at(format!(
                    "not UTF-8 text (byte {} of the line)",
                    e.valid_up_to() + 1
                ))
            })?;
            // A byte order mark, as some Windows editors write, is not part of an entry.
            let line = if index == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            list.add_line(line).map_err(at)?;
        }
        Ok(list)
    }

    /// Distinct entries: `jti` values plus subjects.
    pub fn len(&self) -> usize {
        self.ids.len() + self.subjects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.subjects.is_empty()
    }

    /// Why the file revokes `token`, for the log; `None` when it does not. Values from the
    /// token are quoted, escaped and cut like every token-supplied value in a log line.
    ///
    /// Costs at most two hash lookups and allocates only for a revoked token: it runs on
    /// every request of a location with a revocation file.
    pub fn revokes(&self, token: &VerifiedToken) -> Option<String> {
        if let Some(Value::String(jti)) = token.claim("jti") {
            if self.ids.contains(jti.as_str()) {
                return Some(format!("jti {} is in the revocation file", quoted(jti)));
            }
        }
        let Some(Value::String(sub)) = token.claim("sub") else {
            return None;
        };
        let &before = self.subjects.get(sub.as_str())?;
        // When the session began: `auth_time` (jwt_refresh carries the login time through
        // refreshes, so a session that began before the cut-off cannot outlive it by
        // refreshing), else `iat`.
        let number = |name: &'static str| match token.claim(name) {
            Some(Value::Number(n)) => n.as_f64().map(|v| (name, v)),
            _ => None,
        };
        let issued = match number(renewal::AUTH_TIME).or_else(|| number("iat")) {
            // Logged in at `before` or later: a login after the revocation.
            Some((_, at)) if at >= before as f64 => return None,
            Some((name, at)) => format!("{name} {}", NumericDate(at)),
            None => "the token has no numeric auth_time or iat".to_owned(),
        };
        Some(format!(
            "sub {} is revoked for tokens issued before {before} ({issued})",
            quoted(sub)
        ))
    }

    /// One line, without its `\n`.
    fn add_line(&mut self, line: &str) -> Result<(), String> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let words: Vec<&str> = line
            .split([' ', '\t'])
            .filter(|word| !word.is_empty())
            .take_while(|word| !word.starts_with('#'))
            .collect();
        match words.as_slice() {
            [] => Ok(()),
            ["jti", value] => {
                self.ids.insert((*value).to_owned());
                Ok(())
            }
            ["sub", value, time] => {
                let time = parse_time(time)?;
                let latest = self.subjects.entry((*value).to_owned()).or_insert(time);
                *latest = (*latest).max(time);
                Ok(())
            }
            [keyword @ ("jti" | "sub"), ..] => Err(wrong_arity(keyword, words.len() - 1)),
            [other, ..] => Err(format!("unknown entry {}", quoted(other))),
        }
    }
}

/// The reason for a `jti`/`sub` line with the wrong number of words after the keyword.
fn wrong_arity(keyword: &str, found: usize) -> String {
    let (wanted, shape) = match keyword {
        "jti" => (1, "a value"),
        _ => (2, "a value and a time"),
    };
    let words = match found {
        0 => "nothing".to_owned(),
        1 => "1 word".to_owned(),
        n => format!("{n} words"),
    };
    let hint = if found > wanted {
        " (a value cannot contain spaces; start a comment with #)"
    } else {
        ""
    };
    format!("\"{keyword}\" takes {shape}, found {words}{hint}")
}

/// `TIME` of a `sub` entry: unix seconds or `YYYY-MM-DDTHH:MM:SSZ`.
fn parse_time(text: &str) -> Result<u64, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("time {} is too large", quoted(text)));
    }
    parse_rfc3339_utc(text).map_err(|why| format!("time {}: {why}", quoted(text)))
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339 §5.6, UTC only, no fraction) as unix seconds.
fn parse_rfc3339_utc(text: &str) -> Result<u64, String> {
    let b = text.as_bytes();
    if !has_rfc3339_utc_shape(b) {
        return Err(rfc3339_shape_hint(b).to_owned());
    }
    // Every digit position holds an ASCII digit (checked above): no overflow, no sign.
    let field = |start: usize, len: usize, name: &str, min: u64, max: u64| {
        let digits = b.iter().skip(start).take(len);
        let n = digits.fold(0, |n, d| n * 10 + u64::from(d - b'0'));
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("{name} {n} is not in {min}..={max}"))
        }
    };
    let year = field(0, 4, "year", 1970, 9999)?;
    let month = field(5, 2, "month", 1, 12)?;
    let day = field(8, 2, "day", 1, days_in_month(year, month))?;
    let hour = field(11, 2, "hour", 0, 23)?;
    let minute = field(14, 2, "minute", 0, 59)?;
    let second = field(17, 2, "second", 0, 59)?;
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Exactly `DDDD-DD-DDTDD:DD:DDZ`, `T` and `Z` in either case (RFC 3339 §5.6 NOTE).
fn has_rfc3339_utc_shape(b: &[u8]) -> bool {
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => matches!(c, b'T' | b't'),
            13 | 16 => c == b':',
            19 => matches!(c, b'Z' | b'z'),
            _ => c.is_ascii_digit(),
        })
}

/// Why a time that is not unix seconds does not have the RFC 3339 shape, for the two
/// near misses worth naming.
fn rfc3339_shape_hint(b: &[u8]) -> &'static str {
    match b.get(19) {
        Some(b'.') => "fractions of a second are not accepted",
        Some(b'+' | b'-') => "only UTC times ending in Z are accepted",
        _ => "not unix seconds nor a UTC time like 2026-11-30T12:00:00Z",
    }
}

fn is_leap_year(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days of `month` (1–12) in `year`.
fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, for years
/// 1970..=9999 (no underflow there). Howard Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms": years start in March so that the leap day ends the year, and
/// `(153 * m + 2) / 5` is the number of days before month `m` counted from March.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468: days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The first [`JTI_DIGEST_LEN`] bytes of SHA-256(`jti`): the key of the shared-memory set
/// of revoked `jti` values, fixed-size whatever the `jti` length. 128 bits leave
/// collisions (a valid token refused because another's digest matches) out of practical
/// reach: about 2^64 revoked tokens before one becomes likely.
pub fn jti_digest(jti: &str) -> [u8; JTI_DIGEST_LEN] {
    let full = digest::digest(&digest::SHA256, jti.as_bytes());
    let mut out = [0u8; JTI_DIGEST_LEN];
    for (out, byte) in out.iter_mut().zip(full.as_ref()) {
        *out = *byte;
    }
    out
}

#[cfg(test)]
mod tests;
