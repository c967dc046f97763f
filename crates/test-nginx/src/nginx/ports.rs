//! Free ports on 127.0.0.1, never handed out twice at once within the process.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

use super::Error;

fn used_ports() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A port reserved in this process (released on drop).
#[derive(Debug)]
pub struct PortGuard(u16);

impl PortGuard {
    /// The port number.
    pub fn port(&self) -> u16 {
        self.0
    }
}

impl Drop for PortGuard {
    fn drop(&mut self) {
        used_ports()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// Picks a free port on 127.0.0.1 (bind to port 0, release), never one in use by another test
/// of this process.
pub fn alloc_port() -> Result<PortGuard, Error> {
    for _ in 0..100 {
        let l = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error(format!("bind 127.0.0.1:0: {e}")))?;
        let port = l.local_addr().map_err(|e| Error(e.to_string()))?.port();
        drop(l);
        if used_ports()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return Ok(PortGuard(port));
        }
    }
    Err(Error("could not find a free port".into()))
}
