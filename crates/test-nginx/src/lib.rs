//! `test-nginx`: the ngx-jwt project's runner for `t/*.t` files written in the
//! [Test::Nginx::Socket](https://metacpan.org/pod/Test::Nginx::Socket) data format, and a small
//! API to drive nginx from Rust integration tests.
//!
//! * `cargo test --release -p test-nginx --test t` runs `<workspace>/t/*.t` against the nginx
//!   the module was built for, with `libngx_http_jwt_module.so` loaded (both found through
//!   `target/release/ngx-jwt-build.env`; `cargo build --release` first).
//! * `cargo test --release -p test-nginx --test selftest` proves the runner fails on wrong
//!   expectations (`t/selftest/*.t`, stock nginx only).
//! * [`Nginx`] starts an nginx with a given config for ad-hoc tests (reloads, interop...).
//!
//! Environment: `TEST_NGINX_BINARY`, `TEST_NGINX_LOAD_MODULES` (space-separated `.so` paths,
//! empty for none), `TEST_NGINX_JOBS`, `TEST_NGINX_FILES`, `TEST_NGINX_TIMEOUT`,
//! `TEST_NGINX_LOG_LEVEL`, `TEST_NGINX_NO_CLEAN` (keep every prefix), `TEST_NGINX_WORK_DIR`
//! (instead of `target/test-nginx`), and any `TEST_NGINX_*` used in `.t` files.

pub mod http;
pub mod nginx;
pub mod parse;
pub mod perl;
pub mod run;
pub mod spec;
pub mod suite;

pub use http::{Request, Response};
pub use nginx::{paths, DefaultModules, Error, Nginx, NginxConfig, Paths};
pub use run::{BlockResult, FailKind, Failure, Outcome};
pub use suite::{main_suite, run_suite, SuiteOptions, SuiteResult};
