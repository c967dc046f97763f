//! `$TEST_NGINX_*` variables: the per-block values and their substitution.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::locate::workspace_root;
use super::ports::{alloc_port, PortGuard};

/// `$TEST_NGINX_*` substitution, as upstream's `expand_env_in_text`: each `$TEST_NGINX_NAME`
/// (`[_A-Z0-9]+`) is replaced by the block's own value (`vars`), a `TEST_NGINX_RAND_PORT_N`
/// (a fresh free port per block), or the process environment; unset names are an error.
pub fn expand_vars(
    text: &str,
    vars: &HashMap<String, String>,
    env: &HashMap<String, String>,
    rand_ports: &mut HashMap<String, PortGuard>,
) -> Result<String, String> {
    const P: &str = "$TEST_NGINX_";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(P) {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let len = after
            .bytes()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
            .count();
        let name = &after[..len];
        let value = if let Some(v) = vars.get(name) {
            v.clone()
        } else if name.starts_with("TEST_NGINX_RAND_PORT_")
            && name["TEST_NGINX_RAND_PORT_".len()..]
                .bytes()
                .all(|c| c.is_ascii_digit())
        {
            if !rand_ports.contains_key(name) {
                rand_ports.insert(name.to_string(), alloc_port().map_err(|e| e.0)?);
            }
            rand_ports[name].port().to_string()
        } else if let Some(v) = env.get(name) {
            v.clone()
        } else {
            return Err(format!(
                "${name} is used but not defined (no environment variable {name})"
            ));
        };
        out.push_str(&value);
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The variable that names the repository's `t/fixtures` directory.
pub const FIXTURES_VAR: &str = "TEST_NGINX_FIXTURES";

/// `<workspace>/t/fixtures` (absolute), the default of `TEST_NGINX_FIXTURES`.
pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("t").join("fixtures")
}

/// The `TEST_NGINX_*` variables of the process environment, plus `TEST_NGINX_FIXTURES`
/// ([`fixtures_dir`]) unless the environment sets it.
pub fn env_snapshot() -> HashMap<String, String> {
    let mut env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("TEST_NGINX_"))
        .collect();
    env.entry(FIXTURES_VAR.into())
        .or_insert_with(|| fixtures_dir().display().to_string());
    env
}

/// The per-block `$TEST_NGINX_*` values.
pub fn block_vars(prefix: &Path, port: u16) -> HashMap<String, String> {
    let mut v = HashMap::new();
    v.insert(
        "TEST_NGINX_HTML_DIR".into(),
        prefix.join("html").display().to_string(),
    );
    v.insert("TEST_NGINX_SERVROOT".into(), prefix.display().to_string());
    v.insert("TEST_NGINX_SERVER_PORT".into(), port.to_string());
    v.insert("TEST_NGINX_PORT".into(), port.to_string());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_expansion() {
        let vars = block_vars(Path::new("/p"), 1234);
        let mut env = HashMap::new();
        env.insert("TEST_NGINX_FOO".to_string(), "bar".to_string());
        let mut rp = HashMap::new();
        let s = expand_vars(
            "a $TEST_NGINX_HTML_DIR/x $TEST_NGINX_PORT;$TEST_NGINX_FOO.",
            &vars,
            &env,
            &mut rp,
        )
        .unwrap();
        assert_eq!(s, "a /p/html/x 1234;bar.");
        let e = expand_vars("$TEST_NGINX_NOPE", &vars, &env, &mut rp).unwrap_err();
        assert!(e.contains("TEST_NGINX_NOPE"));
        let a = expand_vars(
            "$TEST_NGINX_RAND_PORT_1 $TEST_NGINX_RAND_PORT_1",
            &vars,
            &env,
            &mut rp,
        )
        .unwrap();
        let (x, y) = a.split_once(' ').unwrap();
        assert_eq!(x, y);
        assert_eq!(
            expand_vars("$nginx_var $TEST_", &vars, &env, &mut rp).unwrap(),
            "$nginx_var $TEST_"
        );
    }

    #[test]
    fn fixtures_variable() {
        let dir = fixtures_dir();
        assert!(dir.is_absolute() && dir.ends_with("t/fixtures"), "{dir:?}");
        let env = env_snapshot();
        let want = std::env::var(FIXTURES_VAR).unwrap_or_else(|_| dir.display().to_string());
        assert_eq!(env.get(FIXTURES_VAR), Some(&want));
        let s = expand_vars(
            "$TEST_NGINX_FIXTURES/keys/hmac.key",
            &HashMap::new(),
            &env,
            &mut HashMap::new(),
        )
        .unwrap();
        assert_eq!(s, format!("{want}/keys/hmac.key"));
    }
}
