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
//! (instead of `target/test-nginx`), `TEST_NGINX_USE_VALGRIND`, and any `TEST_NGINX_*` used in
//! `.t` files.
//!
//! Fixtures: `$TEST_NGINX_FIXTURES` is the absolute path of the repository's `t/fixtures`
//! directory (keys, tokens...), set by the runner unless the environment sets it, and
//! substituted like every `$TEST_NGINX_*` name (`--- config`, `--- http_config`,
//! `--- main_config`, `--- user_files`, requests, expected bodies); nginx gets it in its
//! environment too (for `env TEST_NGINX_FIXTURES;`). Under upstream Test::Nginx, which
//! substitutes `$TEST_NGINX_*` from the environment, export it or give it a default in the
//! preamble, which this runner ignores since it is not a literal:
//!
//! ```perl
//! use FindBin;
//! $ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/fixtures";
//! ```
//!
//! ```text
//! --- http_config
//!     jwt_key_file $TEST_NGINX_FIXTURES/keys/hmac.key;
//! ```
//!
//! Memory checking: with `TEST_NGINX_USE_VALGRIND=1` every block's nginx (master and workers)
//! runs under valgrind's memcheck, and a block fails on any memory error or on a definite leak
//! whose stack has a frame of the module; see [`valgrind`] for the details (timeouts, skipped
//! blocks, suppressions). A subset:
//!
//! ```sh
//! TEST_NGINX_USE_VALGRIND=1 TEST_NGINX_FILES="t/verify-basic.t t/login-basic.t" \
//!     cargo test --release --locked -p test-nginx --test t
//! ```

pub mod http;
pub mod nginx;
pub mod parse;
pub mod perl;
pub mod run;
pub mod spec;
pub mod suite;
pub mod valgrind;

pub use http::{Request, Response};
pub use nginx::{paths, DefaultModules, Error, Nginx, NginxConfig, Paths};
pub use run::{BlockResult, FailKind, Failure, Outcome};
pub use suite::{main_suite, run_suite, SuiteOptions, SuiteResult};
