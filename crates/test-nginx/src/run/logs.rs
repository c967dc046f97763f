//! The log checks: `error_log`-like sections, `access_log`, and the automatic checks every
//! block gets (`[alert]`, `[emerg]`, crashes).

use std::fs;

use super::{show_body, tail, BlockRun, FailKind, Failure};
use crate::http;
use crate::perl::{escape_bytes, regex_of, PVal, PerlRegex};

enum Pat {
    Sub(Vec<u8>),
    Re(PerlRegex),
}

impl Pat {
    fn find(&self, line: &[u8]) -> Result<Option<String>, String> {
        match self {
            Pat::Sub(s) => Ok(http::find(line, s).map(|_| String::from_utf8_lossy(s).into_owned())),
            Pat::Re(r) => r.find(line),
        }
    }

    fn show(&self) -> String {
        match self {
            Pat::Sub(s) => format!("\"{}\"", escape_bytes(s)),
            Pat::Re(r) => format!("qr{r}"),
        }
    }
}

/// The patterns of an `error_log`-like value: a string is one substring per non-empty line; a
/// `qr//` is one regex; a list holds strings (each one substring) and regexes.
fn log_patterns(v: &PVal) -> Result<Vec<Pat>, String> {
    Ok(match v {
        PVal::Str(s) => {
            let s = s.strip_suffix(b"\n").unwrap_or(s);
            s.split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| Pat::Sub(l.to_vec()))
                .collect()
        }
        PVal::Regex { .. } => vec![Pat::Re(regex_of(v, "")?)],
        PVal::List(items) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    PVal::Str(s) => out.push(Pat::Sub(s.clone())),
                    PVal::Regex { .. } => out.push(Pat::Re(regex_of(i, "")?)),
                    PVal::Undef => {}
                    other => return Err(format!("unsupported log pattern {}", other.describe())),
                }
            }
            out
        }
        PVal::Undef => vec![],
    })
}

/// Upstream's `value_contains`: whether any pattern's text contains `needle`.
fn value_contains(v: &PVal, needle: &str) -> bool {
    match v {
        PVal::Str(s) => http::find(s, needle.as_bytes()).is_some(),
        PVal::Regex { pat, .. } => pat.contains(needle),
        PVal::List(items) => items.iter().any(|i| value_contains(i, needle)),
        PVal::Undef => false,
    }
}

impl BlockRun<'_> {
    pub(super) fn check_logs(&mut self, log: &[u8], must_die: bool) {
        let spec = self.spec;
        let lines: Vec<&[u8]> = log.split_inclusive(|&c| c == b'\n').collect();
        let tail_n = 25;
        // expected patterns
        for (v, what) in [
            (&spec.error_log, "error_log"),
            (&spec.shutdown_error_log, "shutdown_error_log"),
        ] {
            let Some(v) = v else { continue };
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- {what}: {e}")),
                Ok(pats) => {
                    let mut missing = Vec::new();
                    for p in &pats {
                        let mut found = false;
                        for l in &lines {
                            match p.find(l) {
                                Ok(Some(_)) => {
                                    found = true;
                                    break;
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    self.fail(FailKind::Spec, e);
                                    found = true;
                                    break;
                                }
                            }
                        }
                        if !found {
                            missing.push(p.show());
                        }
                    }
                    if !missing.is_empty() {
                        let src = if must_die {
                            "nginx's output and error.log"
                        } else {
                            "error.log"
                        };
                        self.fail(
                            FailKind::ErrorLog,
                            format!(
                                "--- {what}: no line of {src} matches {}; last lines:\n{}",
                                missing.join(", "),
                                tail(log, tail_n)
                            ),
                        );
                    }
                }
            }
        }
        for (v, what) in [
            (&spec.no_error_log, "no_error_log"),
            (&spec.no_shutdown_error_log, "no_shutdown_error_log"),
        ] {
            let Some(v) = v else { continue };
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- {what}: {e}")),
                Ok(pats) => {
                    for p in &pats {
                        for l in &lines {
                            match p.find(l) {
                                Ok(Some(_)) => {
                                    self.fail(
                                        FailKind::NoErrorLog,
                                        format!(
                                            "--- {what}: {} matches the line \"{}\"",
                                            p.show(),
                                            escape_bytes(l.strip_suffix(b"\n").unwrap_or(l))
                                        ),
                                    );
                                    break;
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    self.fail(FailKind::Spec, e);
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
        if let (Some(g), Some(want)) = (&spec.grep_error_log, &spec.grep_error_log_out) {
            let g = match g {
                PVal::List(items) => items.first().cloned().unwrap_or(PVal::Undef),
                other => other.clone(),
            };
            let pat = match &g {
                PVal::Str(s) => Ok(Pat::Sub(s.strip_suffix(b"\n").unwrap_or(s).to_vec())),
                PVal::Regex { .. } => regex_of(&g, "").map(Pat::Re),
                other => Err(format!(
                    "--- grep_error_log: unsupported value {}",
                    other.describe()
                )),
            };
            match pat {
                Err(e) => self.fail(FailKind::Spec, e),
                Ok(pat) => {
                    let mut got = String::new();
                    for l in &lines {
                        match pat.find(l) {
                            Ok(Some(m)) if !m.contains('\n') => {
                                got.push_str(&m);
                                got.push('\n');
                            }
                            Ok(_) => {}
                            Err(e) => self.fail(FailKind::Spec, e),
                        }
                    }
                    let want = match want {
                        PVal::List(items) => items.first().cloned().unwrap_or(PVal::Undef),
                        other => other.clone(),
                    };
                    match &want {
                        PVal::Str(s) => {
                            if s != got.as_bytes() {
                                self.fail(
                                    FailKind::GrepErrorLog,
                                    format!(
                                        "--- grep_error_log_out: expected {}, got {}",
                                        show_body(s),
                                        show_body(got.as_bytes())
                                    ),
                                );
                            }
                        }
                        p @ PVal::Regex { .. } => match regex_of(p, "") {
                            Ok(re) => {
                                if !re.is_match(got.as_bytes()).unwrap_or(false) {
                                    self.fail(
                                        FailKind::GrepErrorLog,
                                        format!(
                                            "--- grep_error_log_out: {re} does not match {}",
                                            show_body(got.as_bytes())
                                        ),
                                    );
                                }
                            }
                            Err(e) => self.fail(FailKind::Spec, e),
                        },
                        other => self.fail(
                            FailKind::Spec,
                            format!(
                                "--- grep_error_log_out: unsupported value {}",
                                other.describe()
                            ),
                        ),
                    }
                }
            }
        }

        if must_die {
            return;
        }
        // automatic checks, unless the block's own log expectations talk about them
        let exempt = |needle: &str| {
            [
                &spec.error_log,
                &spec.no_error_log,
                &spec.shutdown_error_log,
                &spec.no_shutdown_error_log,
            ]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| value_contains(v, needle)))
        };
        let (failures, warnings) = auto_log_checks(&lines, &exempt);
        for f in failures {
            self.fail(f.kind, f.message);
        }
        self.warnings.extend(warnings);
    }

    pub(super) fn check_access_log(&mut self) {
        let spec = self.spec;
        if spec.access_log.is_none() && spec.no_access_log.is_none() {
            return;
        }
        let log = fs::read(self.prefix.join("logs/access.log")).unwrap_or_default();
        let lines: Vec<&[u8]> = log.split_inclusive(|&c| c == b'\n').collect();
        if let Some(v) = &spec.access_log {
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- access_log: {e}")),
                Ok(pats) => {
                    for p in pats {
                        if !lines.iter().any(|l| matches!(p.find(l), Ok(Some(_)))) {
                            self.fail(
                                FailKind::AccessLog,
                                format!(
                                    "--- access_log: no line matches {}; access.log:\n{}",
                                    p.show(),
                                    tail(&log, 10)
                                ),
                            );
                        }
                    }
                }
            }
        }
        if let Some(v) = &spec.no_access_log {
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- no_access_log: {e}")),
                Ok(pats) => {
                    for p in pats {
                        if let Some(l) = lines.iter().find(|l| matches!(p.find(l), Ok(Some(_)))) {
                            self.fail(
                                FailKind::NoAccessLog,
                                format!(
                                    "--- no_access_log: {} matches \"{}\"",
                                    p.show(),
                                    escape_bytes(l)
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Whether a line reports a failed C assertion: `\bAssertion .*?failed\b`.
fn is_assertion_failure(line: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    line.match_indices("Assertion ").any(|(i, m)| {
        let rest = &line[i + m.len()..];
        !word(line[..i].chars().next_back())
            && rest
                .match_indices("failed")
                .any(|(j, f)| !word(rest[j + f.len()..].chars().next()))
    })
}

/// The checks every block gets: a worker that exited on a signal or a failed assertion is a
/// crash; `[alert]` and `[emerg]` lines fail the block; `[crit]` lines are warnings. `exempt`
/// tells whether the block's own log expectations mention `[alert`, `[emerg`, `[crit` or
/// `exited on signal` (then that class is left to them, as upstream does).
pub fn auto_log_checks(
    lines: &[&[u8]],
    exempt: &dyn Fn(&str) -> bool,
) -> (Vec<Failure>, Vec<String>) {
    let (ok_alert, ok_emerg, ok_crit, ok_signal) = (
        exempt("[alert"),
        exempt("[emerg"),
        exempt("[crit"),
        exempt("exited on signal"),
    );
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    for l in lines {
        let text = String::from_utf8_lossy(l);
        let text = text.trim_end();
        let mut fail = |kind, message| failures.push(Failure { kind, message });
        if text.contains("exited on signal") {
            if !ok_signal {
                fail(FailKind::Crash, format!("error.log: {text}"));
            }
        } else if text.contains("[alert]") {
            if !ok_alert {
                fail(
                    FailKind::Alert,
                    format!("unexpected [alert] in error.log: {text}"),
                );
            }
        } else if text.contains("[emerg]") {
            if !ok_emerg {
                fail(
                    FailKind::Alert,
                    format!("unexpected [emerg] in error.log: {text}"),
                );
            }
        } else if text.contains("[crit]") && !ok_crit {
            warnings.push(format!("[crit] in error.log: {text}"));
        }
        if is_assertion_failure(text) {
            fail(FailKind::Crash, format!("error.log: {text}"));
        }
    }
    (failures, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_log_checks() {
        let log: &[&[u8]] = &[
            b"2026/01/01 00:00:00 [notice] 1#1: start worker process 2\n",
            b"2026/01/01 00:00:00 [alert] 1#1: worker process 2 exited on signal 11 (core dumped)\n",
            b"2026/01/01 00:00:00 [alert] 3#3: something odd\n",
            b"2026/01/01 00:00:00 [emerg] 3#3: bind() failed\n",
            b"2026/01/01 00:00:00 [crit] 3#3: SSL_do_handshake() failed\n",
            b"nginx: src/core/x.c:1: f: Assertion `a' failed.\n",
        ];
        let none = |_: &str| false;
        let (f, w) = auto_log_checks(log, &none);
        let kinds: Vec<FailKind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FailKind::Crash,
                FailKind::Alert,
                FailKind::Alert,
                FailKind::Crash
            ]
        );
        assert_eq!(w.len(), 1);
        // mentioning a class in the block's own expectations hands it over to them
        let alert = |n: &str| n == "[alert" || n == "[crit";
        let (f, w) = auto_log_checks(log, &alert);
        let kinds: Vec<FailKind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FailKind::Crash, FailKind::Alert, FailKind::Crash]);
        assert!(w.is_empty());
        assert!(is_assertion_failure("a: Assertion failed"));
        assert!(!is_assertion_failure("NoAssertion x failed"));
        assert!(!is_assertion_failure("Assertion x failedly"));
        let signal = |n: &str| n == "exited on signal";
        let (f, _) = auto_log_checks(&log[..2], &signal);
        assert!(f.is_empty());
    }

    #[test]
    fn log_pattern_forms() {
        let p = log_patterns(&PVal::Str(b"a\n\nb\n".to_vec())).unwrap();
        assert_eq!(p.len(), 2);
        let p = log_patterns(&crate::perl::eval("[qr/x+/, 'y', undef]").unwrap()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].find(b"axxb").unwrap().as_deref(), Some("xx"));
        assert!(value_contains(
            &crate::perl::eval("[qr/\\[alert\\]/, '[emerg]']").unwrap(),
            "[emerg"
        ));
    }
}
