//! The response checks: status, headers and body against the block's expectations.

use std::collections::HashMap;

use super::{show_body, BlockRun, FailKind};
use crate::http::Response;
use crate::nginx;
use crate::perl::{escape_bytes, regex_of, PVal, PerlRegex};

impl BlockRun<'_> {
    pub(super) fn indexed<'v>(
        &self,
        v: &'v PVal,
        i: usize,
        what: &str,
    ) -> Result<&'v PVal, String> {
        if self.spec.need_array() {
            match v {
                PVal::List(items) => items
                    .get(i)
                    .ok_or_else(|| format!("--- {what}: no expectation for request {i} (list has {} elements)", items.len())),
                _ => Err(format!("--- {what}: several requests are sent, so the expectation must be a list (eval [...])")),
            }
        } else {
            match v {
                PVal::List(items) => items
                    .first()
                    .ok_or_else(|| format!("--- {what}: empty list")),
                other => Ok(other),
            }
        }
    }

    pub(super) fn check_response(&mut self, i: usize, resp: &Response, port: u16) {
        let spec = self.spec;
        let tag = if spec.need_array() || spec.repeat_each > 1 {
            format!("request {i}: ")
        } else {
            String::new()
        };
        let port_s = port.to_string();
        let sub_port = |s: &str| {
            s.replace("$ServerPortForClient", &port_s)
                .replace("$ServerPort", &port_s)
        };

        // status
        let code = resp.status.to_string();
        if let Some(v) = &spec.error_code_like {
            match self
                .indexed(v, i, "error_code_like")
                .and_then(|p| regex_of(p, "sm"))
            {
                Ok(re) => match re.is_match(code.as_bytes()) {
                    Ok(true) => {}
                    Ok(false) => self.fail(
                        FailKind::Status,
                        format!("{tag}status {code} does not match {re}"),
                    ),
                    Err(e) => self.fail(FailKind::Spec, e),
                },
                Err(e) => self.fail(FailKind::Spec, e),
            }
        } else {
            let want = match &spec.error_code {
                Some(v) => match self.indexed(v, i, "error_code") {
                    Ok(PVal::Str(s)) => String::from_utf8_lossy(s).trim().to_string(),
                    Ok(other) => {
                        return self.fail(
                            FailKind::Spec,
                            format!("--- error_code: unsupported value {}", other.describe()),
                        )
                    }
                    Err(e) => return self.fail(FailKind::Spec, e),
                },
                None => "200".into(),
            };
            if want != code {
                self.fail(
                    FailKind::Status,
                    format!(
                        "{tag}status: expected {want}, got {code} (body: {})",
                        show_body(&resp.body[..resp.body.len().min(300)])
                    ),
                );
            }
        }

        // headers
        if let Some(v) = &spec.response_headers {
            match self.indexed(v, i, "response_headers") {
                Ok(PVal::Str(s)) => {
                    for line in String::from_utf8_lossy(s).lines() {
                        let line = line.trim();
                        if line.is_empty() {
                            continue;
                        }
                        if let Some(name) = line.strip_prefix('!') {
                            let name = name.trim();
                            if let Some(got) = resp.header(name) {
                                self.fail(
                                    FailKind::Header,
                                    format!(
                                        "{tag}header {name}: must be absent, got \"{}\"",
                                        escape_bytes(got.as_bytes())
                                    ),
                                );
                            }
                            continue;
                        }
                        let Some((name, want)) = line.split_once(':') else {
                            self.fail(FailKind::Spec, format!("--- response_headers: line {line:?} is neither `Name: value` nor `!Name`"));
                            continue;
                        };
                        let (name, want) = (name.trim(), sub_port(want.trim()));
                        let got = resp.header(name).unwrap_or_default();
                        if got != want {
                            let got_s = if resp.header(name).is_none() {
                                "(absent)".to_string()
                            } else {
                                format!("\"{}\"", escape_bytes(got.as_bytes()))
                            };
                            self.fail(
                                FailKind::Header,
                                format!(
                                    "{tag}header {name}: expected \"{}\", got {got_s}",
                                    escape_bytes(want.as_bytes())
                                ),
                            );
                        }
                    }
                }
                Ok(other) => self.fail(
                    FailKind::Spec,
                    format!(
                        "--- response_headers: unsupported value {}",
                        other.describe()
                    ),
                ),
                Err(e) => self.fail(FailKind::Spec, e),
            }
        }
        if let Some(v) = &spec.response_headers_like {
            match self.indexed(v, i, "response_headers_like") {
                Ok(PVal::Str(s)) => {
                    for line in String::from_utf8_lossy(s).lines() {
                        let line = line.trim();
                        if line.is_empty() {
                            continue;
                        }
                        let Some((name, pat)) = line.split_once(':') else {
                            self.fail(
                                FailKind::Spec,
                                format!(
                                    "--- response_headers_like: line {line:?} is not `Name: regex`"
                                ),
                            );
                            continue;
                        };
                        let (name, pat) = (name.trim(), pat.trim());
                        let got = resp.header(name).unwrap_or_default();
                        match PerlRegex::new(&format!("^{}$", sub_port(pat)), "") {
                            Ok(re) => match re.is_match(got.as_bytes()) {
                                Ok(true) => {}
                                Ok(false) => self.fail(
                                    FailKind::Header,
                                    format!(
                                        "{tag}header {name}: \"{}\" does not match {re}",
                                        escape_bytes(got.as_bytes())
                                    ),
                                ),
                                Err(e) => self.fail(FailKind::Spec, e),
                            },
                            Err(e) => self.fail(FailKind::Spec, e),
                        }
                    }
                }
                Ok(other) => self.fail(
                    FailKind::Spec,
                    format!(
                        "--- response_headers_like: unsupported value {}",
                        other.describe()
                    ),
                ),
                Err(e) => self.fail(FailKind::Spec, e),
            }
        }
        for (v, like, what) in [
            (
                &spec.raw_response_headers_like,
                true,
                "raw_response_headers_like",
            ),
            (
                &spec.raw_response_headers_unlike,
                false,
                "raw_response_headers_unlike",
            ),
        ] {
            let Some(v) = v else { continue };
            match self.indexed(v, i, what).and_then(|p| regex_of(p, "s")) {
                Ok(re) => match re.is_match(resp.raw_headers.as_bytes()) {
                    Ok(m) if m != like => self.fail(
                        FailKind::Header,
                        format!(
                            "{tag}raw headers {} {re}: \"{}\"",
                            if like { "do not match" } else { "match" },
                            escape_bytes(resp.raw_headers.as_bytes())
                        ),
                    ),
                    Ok(_) => {}
                    Err(e) => self.fail(FailKind::Spec, e),
                },
                Err(e) => self.fail(FailKind::Spec, e),
            }
        }

        // body
        let body = &resp.body;
        if let Some(v) = &spec.response_body {
            match self.indexed(v, i, "response_body") {
                Ok(PVal::Str(s)) => {
                    let want = match std::str::from_utf8(s) {
                        Ok(t) => match nginx::expand_vars(
                            &sub_port(t),
                            &nginx::block_vars(&self.prefix, port),
                            &self.env,
                            &mut HashMap::new(),
                        ) {
                            Ok(t) => t.into_bytes(),
                            Err(e) => return self.fail(FailKind::Spec, e),
                        },
                        Err(_) => s.clone(),
                    };
                    if &want != body {
                        let diff = want
                            .iter()
                            .zip(body.iter())
                            .position(|(a, b)| a != b)
                            .unwrap_or(want.len().min(body.len()));
                        self.fail(
                            FailKind::Body,
                            format!(
                                "{tag}response_body differs at byte {diff}:\n        expected: {}\n        got:      {}",
                                show_body(&want),
                                show_body(body)
                            ),
                        );
                    }
                }
                Ok(p @ PVal::Regex { .. }) => match regex_of(p, "") {
                    Ok(re) => match re.is_match(body) {
                        Ok(true) => {}
                        Ok(false) => self.fail(
                            FailKind::Body,
                            format!(
                                "{tag}response_body: {re} does not match {}",
                                show_body(body)
                            ),
                        ),
                        Err(e) => self.fail(FailKind::Spec, e),
                    },
                    Err(e) => self.fail(FailKind::Spec, e),
                },
                Ok(other) => self.fail(
                    FailKind::Spec,
                    format!("--- response_body: unsupported value {}", other.describe()),
                ),
                Err(e) => self.fail(FailKind::Spec, e),
            }
        } else {
            for (v, like, what) in [
                (&spec.response_body_like, true, "response_body_like"),
                (&spec.response_body_unlike, false, "response_body_unlike"),
            ] {
                let Some(v) = v else { continue };
                let pat = match self.indexed(v, i, what) {
                    Ok(PVal::Str(s)) => {
                        PVal::Str(sub_port(&String::from_utf8_lossy(s)).into_bytes())
                    }
                    Ok(p) => p.clone(),
                    Err(e) => {
                        self.fail(FailKind::Spec, e);
                        continue;
                    }
                };
                match regex_of(&pat, "s") {
                    Ok(re) => match re.is_match(body) {
                        Ok(m) if m != like => self.fail(
                            FailKind::Body,
                            format!(
                                "{tag}{what}: {re} {} {}",
                                if like { "does not match" } else { "matches" },
                                show_body(body)
                            ),
                        ),
                        Ok(_) => {}
                        Err(e) => self.fail(FailKind::Spec, e),
                    },
                    Err(e) => self.fail(FailKind::Spec, e),
                }
            }
        }
    }
}
