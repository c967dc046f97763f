//! Starting, signalling and stopping nginx processes.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::vars::{fixtures_dir, FIXTURES_VAR};
use super::Error;

/// How starting nginx went.
#[derive(Debug)]
pub enum Started {
    /// Running (the pid file was written: the listening sockets are bound).
    Running(NginxProcess),
    /// nginx exited during start-up.
    Exited { status: ExitStatus, output: String },
}

/// A running nginx master (in the runner's process group, so Ctrl-C stops it too).
#[derive(Debug)]
pub struct NginxProcess {
    child: Option<Child>,
    pid: i32,
    prefix: PathBuf,
}

/// How stopping nginx went.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Exit status of the master.
    pub status: Option<ExitStatus>,
    /// Problems: did not exit on SIGQUIT, killed by a signal, left processes behind.
    pub problems: Vec<String>,
}

/// Reads nginx's captured stdout/stderr of a prefix.
pub fn read_output(prefix: &Path) -> String {
    fs::read_to_string(prefix.join("nginx.out")).unwrap_or_default()
}

/// Starts `nginx -p prefix -c conf/nginx.conf` and waits until it runs or exits.
pub fn spawn(nginx: &Path, prefix: &Path, startup_timeout: Duration) -> Result<Started, Error> {
    spawn_with(&[], nginx, prefix, startup_timeout)
}

/// As [`spawn`], with nginx's command line prefixed by `launcher` (a program and its
/// arguments, e.g. valgrind's), which must `exec` nginx in the same process: the pid in nginx's
/// pid file is compared with the child's.
pub fn spawn_with(
    launcher: &[OsString],
    nginx: &Path,
    prefix: &Path,
    startup_timeout: Duration,
) -> Result<Started, Error> {
    let out = fs::File::create(prefix.join("nginx.out"))
        .map_err(|e| Error(format!("create nginx.out: {e}")))?;
    let err = out.try_clone().map_err(|e| Error(e.to_string()))?;
    let pidfile = prefix.join("logs/nginx.pid");
    let _ = fs::remove_file(&pidfile);
    let mut prefix_arg = prefix.as_os_str().to_owned();
    prefix_arg.push("/");
    let mut cmd = match launcher.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(nginx);
            c
        }
        None => Command::new(nginx),
    };
    // nginx sees what `.t` files see, for `env TEST_NGINX_FIXTURES;` / `env_to_nginx`
    if std::env::var_os(FIXTURES_VAR).is_none() {
        cmd.env(FIXTURES_VAR, fixtures_dir());
    }
    let mut child = cmd
        .arg("-p")
        .arg(&prefix_arg)
        .arg("-c")
        .arg("conf/nginx.conf")
        .current_dir(prefix)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| {
            let program = launcher.first().map(PathBuf::from);
            let program = program.as_deref().unwrap_or(nginx);
            Error(format!("cannot start {}: {e}", program.display()))
        })?;
    let pid = child.id() as i32;
    let start = Instant::now();
    let mut sleep = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| Error(e.to_string()))? {
            return Ok(Started::Exited {
                status,
                output: read_output(prefix),
            });
        }
        if let Ok(t) = fs::read_to_string(&pidfile) {
            if t.trim().parse::<i32>().ok() == Some(pid) {
                return Ok(Started::Running(NginxProcess {
                    child: Some(child),
                    pid,
                    prefix: prefix.to_path_buf(),
                }));
            }
        }
        if start.elapsed() > startup_timeout {
            let mut p = NginxProcess {
                child: Some(child),
                pid,
                prefix: prefix.to_path_buf(),
            };
            p.stop(Duration::from_secs(1));
            return Err(Error(format!(
                "nginx did not write its pid file within {:?}; output: {}",
                startup_timeout,
                read_output(prefix)
            )));
        }
        std::thread::sleep(sleep);
        sleep = (sleep * 2).min(Duration::from_millis(10));
    }
}

fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

impl NginxProcess {
    /// Master pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The prefix directory.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Whether the master still runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a signal to the master.
    pub fn signal(&self, sig: i32) -> bool {
        self.child.is_some() && signal(self.pid, sig)
    }

    fn wait_for(&mut self, d: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let end = Instant::now() + d;
        let mut sleep = Duration::from_millis(1);
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(sleep);
            sleep = (sleep * 2).min(Duration::from_millis(10));
        }
    }

    /// Graceful stop: SIGQUIT, then SIGTERM, then SIGKILL (master and workers).
    pub fn stop(&mut self, grace: Duration) -> Stopped {
        let mut problems = Vec::new();
        let Some(child) = self.child.as_mut() else {
            return Stopped {
                status: None,
                problems,
            };
        };
        let mut status;
        if let Ok(Some(s)) = child.try_wait() {
            problems.push(format!("nginx master exited before the stop ({s})"));
            status = Some(s);
        } else {
            signal(self.pid, libc::SIGQUIT);
            status = self.wait_for(grace);
            if status.is_none() {
                problems.push(format!("nginx did not exit within {grace:?} of SIGQUIT"));
                signal(self.pid, libc::SIGTERM);
                status = self.wait_for(Duration::from_secs(2));
            }
            if status.is_none() {
                let workers = self.children();
                signal(self.pid, libc::SIGKILL);
                for w in workers {
                    signal(w, libc::SIGKILL);
                }
                status = self.wait_for(Duration::from_secs(2));
            }
        }
        if let Some(s) = status {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = s.signal() {
                if sig != libc::SIGKILL || problems.is_empty() {
                    problems.push(format!("nginx master was killed by signal {sig}"));
                }
            }
        }
        self.child = None;
        Stopped { status, problems }
    }

    /// The pids of the master's children (the workers), from /proc.
    pub fn children(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir("/proc") else {
            return out;
        };
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
                // pid (comm) state ppid ...
                if let Some(after) = stat.rfind(')').map(|p| &stat[p + 1..]) {
                    let ppid = after
                        .split_whitespace()
                        .nth(1)
                        .and_then(|s| s.parse::<i32>().ok());
                    if ppid == Some(self.pid) {
                        out.push(pid);
                    }
                }
            }
        }
        out
    }
}

impl Drop for NginxProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            let workers = self.children();
            signal(self.pid, libc::SIGKILL);
            for w in workers {
                signal(w, libc::SIGKILL);
            }
            if let Some(c) = self.child.as_mut() {
                let _ = c.wait();
            }
        }
    }
}
