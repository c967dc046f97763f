//! The main suite: runs `<workspace>/t/*.t`. Arguments after `--` (or `TEST_NGINX_FILES`)
//! select files (`t/verify.t`), blocks (`t/verify.t:12`) or path substrings (`verify`).

fn main() -> std::process::ExitCode {
    test_nginx::main_suite()
}
