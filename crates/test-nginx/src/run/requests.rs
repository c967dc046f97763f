//! Building a block's requests and sending them; each response goes to the checks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::{show_body, BlockRun, FailKind};
use crate::http::{self, ReadUntil};
use crate::nginx::PortGuard;
use crate::perl::PVal;
use crate::spec::Requests;

/// What goes out on one connection, and how to read what comes back.
pub(super) struct Req {
    packets: Vec<Vec<u8>>,
    /// One entry per expected response (HEAD request or not).
    head: Vec<bool>,
    until: ReadUntil,
}

impl BlockRun<'_> {
    fn more_headers(&self, i: usize, vars: &HashMap<String, String>) -> Result<String, String> {
        let mut rp = HashMap::new();
        let text = match &self.spec.more_headers {
            None => return Ok(String::new()),
            Some(PVal::Str(s)) => s.clone(),
            Some(PVal::List(items)) => match items.get(i) {
                Some(PVal::Str(s)) => s.clone(),
                _ => return Err(format!("--- more_headers lacks data for request {i}")),
            },
            Some(other) => {
                return Err(format!(
                    "--- more_headers: unsupported value {}",
                    other.describe()
                ))
            }
        };
        let text =
            String::from_utf8(text).map_err(|_| "--- more_headers is not UTF-8".to_string())?;
        self.expand(&text, vars, &mut rp)
    }

    /// The block's requests with `$TEST_NGINX_*` substituted and `more_headers` added, one
    /// [`Req`] per connection.
    pub(super) fn build_requests(
        &self,
        vars: &HashMap<String, String>,
    ) -> Result<Vec<Req>, String> {
        let mut rp = HashMap::new();
        let expand_bytes =
            |b: &[u8], rp: &mut HashMap<String, PortGuard>| -> Result<Vec<u8>, String> {
                match std::str::from_utf8(b) {
                    Ok(t) => Ok(self.expand(t, vars, rp)?.into_bytes()),
                    Err(_) => Ok(b.to_vec()),
                }
            };
        let is_head = |b: &[u8]| {
            let t = b
                .iter()
                .skip_while(|c| c.is_ascii_whitespace())
                .copied()
                .collect::<Vec<u8>>();
            t.starts_with(b"HEAD ") || t == b"HEAD" || t.starts_with(b"HEAD\n")
        };
        Ok(match &self.spec.requests {
            Requests::Request(list) => {
                let mut out = Vec::new();
                for (i, r) in list.iter().enumerate() {
                    let r = expand_bytes(r, &mut rp)?;
                    let bytes = http::build_request(&r, &self.more_headers(i, vars)?, "close")?;
                    out.push(Req {
                        packets: vec![bytes],
                        head: vec![is_head(&r)],
                        until: ReadUntil::OneResponse { head: is_head(&r) },
                    });
                }
                out
            }
            Requests::Raw(packets) => {
                let head = packets.first().is_some_and(|p| is_head(p));
                vec![Req {
                    packets: packets.clone(),
                    head: vec![head],
                    until: ReadUntil::OneResponse { head },
                }]
            }
            Requests::Pipelined(list) => {
                let mut all = Vec::new();
                let mut heads = Vec::new();
                for (i, r) in list.iter().enumerate() {
                    let r = expand_bytes(r, &mut rp)?;
                    let conn = if i + 1 == list.len() {
                        "close"
                    } else {
                        "keep-alive"
                    };
                    all.extend(http::build_request(&r, &self.more_headers(i, vars)?, conn)?);
                    heads.push(is_head(&r));
                }
                vec![Req {
                    packets: vec![all],
                    head: heads,
                    until: ReadUntil::Close,
                }]
            }
            Requests::None => Vec::new(),
        })
    }

    pub(super) fn send_all(&mut self, addr: SocketAddr, reqs: &[Req], port: u16) {
        let spec = self.spec;
        // a block's own `--- timeout` is scaled under valgrind; the default already is
        let timeout = match spec.timeout {
            Some(t) => self.scaled(Duration::from_secs_f64(t.max(0.001))),
            None => Duration::from_secs_f64(self.ctx.default_timeout.max(0.001)),
        };
        let delay = Duration::from_secs_f64(spec.raw_request_middle_delay.max(0.0));
        let mut idx = 0usize;
        for req in reqs {
            let raw = match http::exchange(addr, &req.packets, delay, timeout, req.until) {
                Ok(raw) => raw,
                Err(e) => {
                    let kind = FailKind::Request;
                    self.fail(kind, format!("request {idx}: {e} (timeout {timeout:?})"));
                    return;
                }
            };
            let mut off = 0;
            for (k, &head) in req.head.iter().enumerate() {
                match http::parse_response(&raw[off..], head, true) {
                    http::Parsed::Complete(resp, used) => {
                        off += used;
                        if !spec.ignore_response {
                            self.check_response(idx, &resp, port);
                        }
                    }
                    parsed @ (http::Parsed::Error(_) | http::Parsed::Incomplete) => {
                        let e = match parsed {
                            http::Parsed::Error(e) => e,
                            _ => "incomplete response".to_string(),
                        };
                        // upstream idiom: `--- error_code:` (empty) expects no response at all
                        let no_response_expected = raw[off..].is_empty()
                            && spec.error_code.as_ref().is_some_and(|v| {
                                matches!(self.indexed(v, idx, "error_code"), Ok(PVal::Str(s)) if s.trim_ascii().is_empty())
                            });
                        if no_response_expected {
                            idx += 1;
                            continue;
                        }
                        if !spec.ignore_response {
                            let what = if req.head.len() > 1 {
                                format!("pipelined response {k}")
                            } else {
                                format!("request {idx}")
                            };
                            self.fail(
                                FailKind::Response,
                                format!("{what}: {e}; received: {}", show_body(&raw)),
                            );
                        }
                        return;
                    }
                }
                idx += 1;
            }
            if off < raw.len() && !spec.ignore_response {
                self.warnings.push(format!(
                    "unexpected extra bytes after the response: {}",
                    show_body(&raw[off..])
                ));
            }
        }
    }
}
