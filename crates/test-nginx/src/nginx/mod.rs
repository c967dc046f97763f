//! nginx itself: where it and the module are ([`locate`]), ports ([`ports`]), `$TEST_NGINX_*`
//! variables ([`vars`]), the generated nginx.conf ([`conf`]), the prefix directory
//! ([`prefix`]), nginx processes ([`process`]) and the `Nginx` API for Rust tests ([`api`]).
//! Everything is re-exported here, so `test_nginx::nginx::X` names every item.

use std::fmt;

pub mod api;
pub mod conf;
pub mod locate;
pub mod ports;
pub mod prefix;
pub mod process;
pub mod vars;

pub use api::{Nginx, NginxConfig};
pub use conf::{render_conf, ConfParts};
pub use locate::{
    paths, profile_dir, stale_module_warning, work_dir, workspace_root, DefaultModules, Paths,
    BUILD_ENV_FILE, MODULE_FILE,
};
pub use ports::{alloc_port, PortGuard};
pub use prefix::{make_prefix, set_mtime, write_html_file};
pub use process::{read_output, spawn, spawn_with, NginxProcess, Started, Stopped};
pub use vars::{block_vars, env_snapshot, expand_vars, fixtures_dir, FIXTURES_VAR};

/// The error type of this crate's API: a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}
