//! valgrind reports: parsing them into records, and which records fail a block.

use crate::run::{FailKind, Failure};

/// At most this many failing records are quoted per block (the rest are counted).
const MAX_QUOTED: usize = 5;

/// At most this many lines of a record are quoted.
const MAX_RECORD_LINES: usize = 14;

/// What a record of a valgrind report is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKind {
    /// A memcheck error (invalid access, uninitialised value, bad free, fatal signal...).
    Error,
    /// A definitely-lost leak.
    DefiniteLeak,
    /// Other leak kinds (indirect, possible, reachable): never a failure.
    OtherLeak,
    /// Banners, summaries, warnings without a stack.
    Other,
}

/// One record of a report: the lines between two empty `==pid==` lines, without the prefix.
#[derive(Debug, Clone)]
pub struct Record {
    pub kind: RecordKind,
    pub lines: Vec<String>,
}

impl Record {
    /// The first line that is not a `Thread N:` marker.
    pub fn header(&self) -> &str {
        self.lines
            .iter()
            .map(String::as_str)
            .find(|l| !is_thread_marker(l))
            .unwrap_or("")
    }

    /// The stack frame lines (`at 0x...`, `by 0x...`), trimmed.
    pub fn frames(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| l.trim()).filter(|l| is_frame(l))
    }
}

fn is_thread_marker(l: &str) -> bool {
    l.strip_prefix("Thread ")
        .and_then(|r| r.split(':').next())
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

fn is_frame(l: &str) -> bool {
    let l = l.trim_start();
    l.starts_with("at 0x") || l.starts_with("by 0x")
}

/// Splits a `==pid== ` prefixed line; other lines (generated suppressions, messages of the
/// valgrind launcher) give `None`.
fn strip_pid_prefix(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("==")?;
    let end = rest.find("==")?;
    if end == 0 || !rest[..end].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let body = &rest[end + 2..];
    Some(body.strip_prefix(' ').unwrap_or(body))
}

fn classify(lines: &[String]) -> RecordKind {
    let header = lines
        .iter()
        .map(String::as_str)
        .find(|l| !is_thread_marker(l))
        .unwrap_or("");
    let has_stack = lines.iter().any(|l| is_frame(l));
    if header.contains(" lost in loss record ") || header.contains(" reachable in loss record ") {
        return if header.contains("are definitely lost in loss record") {
            RecordKind::DefiniteLeak
        } else {
            RecordKind::OtherLeak
        };
    }
    const ERRORS: &[&str] = &[
        "Invalid read of size",
        "Invalid write of size",
        "Invalid free()",
        "Mismatched free()",
        "Mismatched new/delete",
        "Conditional jump or move depends on uninitialised value",
        "Use of uninitialised value of size",
        "Source and destination overlap",
        "has a fishy value",
        "Jump to the invalid address",
        "Process terminating with default action of signal",
        "Invalid alignment value",
        "Invalid size value",
    ];
    if ERRORS.iter().any(|e| header.contains(e))
        || (header.starts_with("Syscall param ")
            && (header.contains("uninitialised") || header.contains("unaddressable")))
    {
        return RecordKind::Error;
    }
    // an unknown record with a stack is taken for an error (a memcheck error message this
    // list misses must fail the block, not pass silently); valgrind's own warnings are not
    if has_stack && !header.starts_with("Warning:") && !header.starts_with("WARNING:") {
        return RecordKind::Error;
    }
    RecordKind::Other
}

/// Parses a valgrind report into records.
pub fn parse_log(text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut flush = |cur: &mut Vec<String>| {
        if !cur.is_empty() {
            let lines = std::mem::take(cur);
            out.push(Record {
                kind: classify(&lines),
                lines,
            });
        }
    };
    for line in text.lines() {
        match strip_pid_prefix(line) {
            Some(body) if !body.trim().is_empty() => cur.push(body.trim_end().to_string()),
            // an empty `==pid==` line ends a record; so does anything not from the tool
            _ => flush(&mut cur),
        }
    }
    flush(&mut cur);
    out
}

/// valgrind's own count from the `ERROR SUMMARY: N errors from M contexts` line, if present.
fn error_summary(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .filter_map(strip_pid_prefix)
        .find(|l| l.starts_with("ERROR SUMMARY: "))?;
    line["ERROR SUMMARY: ".len()..]
        .split_whitespace()
        .next()?
        .replace(',', "")
        .parse()
        .ok()
}

fn quote(r: &Record) -> String {
    let mut lines: Vec<&str> = r
        .lines
        .iter()
        .map(String::as_str)
        .filter(|l| !is_thread_marker(l))
        .collect();
    let more = lines.len().saturating_sub(MAX_RECORD_LINES);
    lines.truncate(MAX_RECORD_LINES);
    let mut s = lines.join("\n    ");
    if more > 0 {
        s.push_str(&format!("\n    ... ({more} more lines)"));
    }
    s
}

/// The failures shown by reports: `(name, text)` pairs, `name` saying which process and file.
/// A report fails on any error record, on a definitely-lost record with a frame containing one
/// of `module_frames`, when it is incomplete (no final `ERROR SUMMARY` although it has the
/// banner: the process did not finish), and when valgrind counted errors that no record shows
/// (a report this parser does not understand must not pass).
pub fn failures(reports: &[(&str, &str)], module_frames: &[String]) -> Vec<Failure> {
    let mut quoted: Vec<String> = Vec::new();
    let mut unquoted = 0usize;
    let mut other: Vec<Failure> = Vec::new();
    for (name, text) in reports {
        let records = parse_log(text);
        let mut counted = 0usize;
        for r in &records {
            let why = match r.kind {
                RecordKind::Error => {
                    counted += 1;
                    Some(String::new())
                }
                RecordKind::DefiniteLeak => {
                    counted += 1;
                    r.frames()
                        .find(|f| module_frames.iter().any(|m| f.contains(m.as_str())))
                        .map(|f| format!(" (module frame: {f})"))
                }
                _ => None,
            };
            if let Some(why) = why {
                if quoted.len() < MAX_QUOTED {
                    quoted.push(format!("{name}{why}:\n    {}", quote(r)));
                } else {
                    unquoted += 1;
                }
            }
        }
        let has_banner = records.iter().any(|r| {
            r.lines
                .iter()
                .any(|l| l.starts_with("Memcheck, a memory error detector"))
        });
        match error_summary(text) {
            None if has_banner => other.push(Failure {
                kind: FailKind::Valgrind,
                message: format!(
                    "{name}: the report has no ERROR SUMMARY: the process did not finish (killed before its leak check?)"
                ),
            }),
            Some(n) if n > 0 && counted == 0 => other.push(Failure {
                kind: FailKind::Valgrind,
                message: format!(
                    "{name}: valgrind counted {n} error(s) but no error record could be read from the report"
                ),
            }),
            _ => {}
        }
    }
    let mut out: Vec<Failure> = quoted
        .into_iter()
        .map(|message| Failure {
            kind: FailKind::Valgrind,
            message,
        })
        .collect();
    if unquoted > 0 {
        out.push(Failure {
            kind: FailKind::Valgrind,
            message: format!("... and {unquoted} more failing valgrind record(s): see the reports"),
        });
    }
    out.extend(other);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valgrind::default_module_frames;
    use std::path::PathBuf;

    fn frames() -> Vec<String> {
        default_module_frames(&[PathBuf::from("/x/libngx_http_jwt_module.so")])
    }

    /// A worker's report with an invalid read in the module (the kind of bug the mode exists
    /// for), cut down from a real report.
    const INVALID_READ: &str = "\
==4242== Memcheck, a memory error detector
==4242== Copyright (C) 2002-2022, and GNU GPL'd, by Julian Seward et al.
==4242== Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info
==4242== Command: /x/nginx -p /p/ -c conf/nginx.conf
==4242== Parent PID: 4241
==4242== 
==4242== Invalid read of size 8
==4242==    at 0x5A1B2C3: ngx_http_jwt_module::verify::check_claims (/work/main/src/verify.rs:120)
==4242==    by 0x5A1B400: ngx_http_jwt_module::handler::access_handler (/work/main/src/handler.rs:33)
==4242==    by 0x16B0B1: ngx_http_core_access_phase (/r/nginx/src/http/ngx_http_core_module.c:1104)
==4242==    by 0x166D2D: ngx_http_core_run_phases (/r/nginx/src/http/ngx_http_core_module.c:885)
==4242==  Address 0x6e3f0a8 is 0 bytes after a block of size 8 alloc'd
==4242==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==4242==    by 0x153A88: ngx_alloc (/r/nginx/src/os/unix/ngx_alloc.c:22)
==4242== 
{
   <insert_a_suppression_name_here>
   Memcheck:Addr8
   fun:_ZN19ngx_http_jwt_module6verify12check_claims17h0123456789abcdefE
}
==4242== 
==4242== HEAP SUMMARY:
==4242==     in use at exit: 41,290 bytes in 25 blocks
==4242==   total heap usage: 3,228 allocs, 3,203 frees, 371,854 bytes allocated
==4242== 
==4242== LEAK SUMMARY:
==4242==    definitely lost: 0 bytes in 0 blocks
==4242==    indirectly lost: 0 bytes in 0 blocks
==4242==      possibly lost: 28,288 bytes in 4 blocks
==4242==    still reachable: 12,994 bytes in 20 blocks
==4242==         suppressed: 8 bytes in 1 blocks
==4242== 
==4242== For lists of detected and suppressed errors, rerun with: -s
==4242== ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 1 from 1)
";

    /// A worker's report with only nginx's own definite leak (the environment it builds for
    /// workers and never frees), as valgrind 3.19 printed it for nginx 1.28.
    const NGINX_LEAK: &str = "\
==15414== Memcheck, a memory error detector
==15414== Command: /x/nginx -p /p/ -c conf/nginx.conf
==15414== Parent PID: 15380
==15414== 
==15414== 
==15414== HEAP SUMMARY:
==15414==     in use at exit: 41,290 bytes in 25 blocks
==15414==   total heap usage: 3,228 allocs, 3,203 frees, 371,854 bytes allocated
==15414== 
==15414== 8 bytes in 1 blocks are definitely lost in loss record 1 of 16
==15414==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==15414==    by 0x153A88: ngx_alloc (/r/nginx-src-1.28.5+1.28.3/nginx/src/os/unix/ngx_alloc.c:22)
==15414==    by 0x131387: ngx_set_environment (/r/nginx-src-1.28.5+1.28.3/nginx/src/core/nginx.c:591)
==15414==    by 0x1575FA: ngx_worker_process_init (/r/nginx/src/os/unix/ngx_process_cycle.c:763)
==15414==    by 0x157FCD: ngx_worker_process_cycle (/r/nginx/src/os/unix/ngx_process_cycle.c:706)
==15414==    by 0x13110C: main (/r/nginx/src/core/nginx.c:384)
==15414== 
{
   <insert_a_suppression_name_here>
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   fun:ngx_set_environment
}
==15414== 
==15414== LEAK SUMMARY:
==15414==    definitely lost: 8 bytes in 1 blocks
==15414==    indirectly lost: 0 bytes in 0 blocks
==15414==      possibly lost: 28,288 bytes in 4 blocks
==15414==    still reachable: 12,994 bytes in 20 blocks
==15414==         suppressed: 0 bytes in 0 blocks
==15414== 
==15414== ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 0 from 0)
";

    #[test]
    fn invalid_read_in_the_module_fails() {
        let recs = parse_log(INVALID_READ);
        let errors: Vec<&Record> = recs
            .iter()
            .filter(|r| r.kind == RecordKind::Error)
            .collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].header(), "Invalid read of size 8");
        let f = failures(
            &[("worker 4242 (valgrind.4242.log)", INVALID_READ)],
            &frames(),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FailKind::Valgrind);
        let m = &f[0].message;
        assert!(
            m.starts_with(
                "worker 4242 (valgrind.4242.log):\n    Invalid read of size 8\n       at 0x5A1B2C3: ngx_http_jwt_module::verify::check_claims"
            ),
            "{m}"
        );
        assert!(m.contains("0 bytes after a block of size 8 alloc'd"), "{m}");
    }

    #[test]
    fn nginx_internal_definite_leak_passes() {
        let recs = parse_log(NGINX_LEAK);
        assert_eq!(
            recs.iter()
                .filter(|r| r.kind == RecordKind::DefiniteLeak)
                .count(),
            1
        );
        let f = failures(
            &[("worker 15414 (valgrind.15414.log)", NGINX_LEAK)],
            &frames(),
        );
        assert!(f.is_empty(), "{f:?}");
        // the same leak with a module frame in its stack fails
        let module_leak = NGINX_LEAK.replace(
            "ngx_set_environment (/r/",
            "ngx_http_jwt_module::keys::load (/r/",
        );
        let f = failures(&[("worker 15414", &module_leak)], &frames());
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message
                .contains("module frame: by 0x131387: ngx_http_jwt_module::keys::load"),
            "{}",
            f[0].message
        );
        // and so does a frame of the module's object without debug information
        let so_leak = NGINX_LEAK.replace(
            "ngx_set_environment (/r/nginx-src-1.28.5+1.28.3/nginx/src/core/nginx.c:591)",
            "??? (in /x/target/release/libngx_http_jwt_module.so)",
        );
        assert_eq!(failures(&[("w", &so_leak)], &frames()).len(), 1);
    }

    #[test]
    fn other_error_kinds_and_incomplete_reports() {
        let uninit = "==7== Memcheck, a memory error detector\n==7== \n==7== Thread 2:\n==7== Conditional jump or move depends on uninitialised value(s)\n==7==    at 0x1: ngx_http_parse_request_line (/r/ngx_http_parse.c:10)\n==7== \n==7== ERROR SUMMARY: 1 errors from 1 contexts\n";
        let f = failures(&[("w", uninit)], &frames());
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.contains("Conditional jump"),
            "{}",
            f[0].message
        );
        assert!(!f[0].message.contains("Thread 2"), "{}", f[0].message);
        // killed before the leak check: no ERROR SUMMARY
        let cut = "==7== Memcheck, a memory error detector\n==7== Command: nginx\n==7== \n";
        let f = failures(&[("w", cut)], &frames());
        assert!(f[0].message.contains("no ERROR SUMMARY"), "{f:?}");
        // errors counted but none readable: the parser must not pass what it does not know
        let odd = "==7== Memcheck, a memory error detector\n==7== \n==7== Something new\n==7== \n==7== ERROR SUMMARY: 2 errors from 2 contexts\n";
        let f = failures(&[("w", odd)], &frames());
        assert!(f[0].message.contains("counted 2 error(s)"), "{f:?}");
        // an unknown message with a stack is an error; a warning is not
        let unknown = "==7== Some future complaint\n==7==    at 0x1: f (a.c:1)\n==7== \n==7== Warning: set address range perms: large range\n==7==    at 0x2: g (b.c:2)\n";
        let kinds: Vec<RecordKind> = parse_log(unknown).into_iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [RecordKind::Error, RecordKind::Other]);
        // a clean report
        let clean = "==7== Memcheck, a memory error detector\n==7== \n==7== ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 3 from 3)\n";
        assert!(failures(&[("w", clean)], &frames()).is_empty());
    }

    #[test]
    fn quoting_is_bounded() {
        let mut text = String::from("==1== Memcheck, a memory error detector\n");
        for i in 0..8 {
            text.push_str(&format!("==1== Invalid write of size {i}\n"));
            for k in 0..20 {
                text.push_str(&format!("==1==    by 0x{k}: f{k} (a.c:{k})\n"));
            }
            text.push_str("==1== \n");
        }
        text.push_str("==1== ERROR SUMMARY: 8 errors from 8 contexts\n");
        let f = failures(&[("w", &text)], &frames());
        assert_eq!(f.len(), MAX_QUOTED + 1);
        assert!(f[0].message.contains("more lines"), "{}", f[0].message);
        assert!(
            f[MAX_QUOTED].message.contains("3 more failing"),
            "{}",
            f[MAX_QUOTED].message
        );
    }
}
