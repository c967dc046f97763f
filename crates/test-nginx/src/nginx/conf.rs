//! The generated nginx.conf, in the layout of Test::Nginx's template.

use std::path::{Path, PathBuf};

/// Everything that goes into a generated nginx.conf.
#[derive(Debug, Clone)]
pub struct ConfParts {
    pub modules: Vec<PathBuf>,
    pub env: Vec<String>,
    pub main: String,
    pub post_main: String,
    pub http: String,
    pub server: String,
    pub server_name: String,
    pub log_level: String,
    pub workers: u32,
    pub worker_connections: u32,
    pub root_location: bool,
    /// A comment line (e.g. which test the file belongs to).
    pub comment: String,
}

impl Default for ConfParts {
    fn default() -> Self {
        ConfParts {
            modules: Vec::new(),
            env: Vec::new(),
            main: String::new(),
            post_main: String::new(),
            http: String::new(),
            server: String::new(),
            server_name: "localhost".into(),
            log_level: "debug".into(),
            workers: 1,
            worker_connections: 64,
            root_location: true,
            comment: String::new(),
        }
    }
}

fn has_directive(conf: &str, name: &str) -> bool {
    conf.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split([';', '{', '}']))
        .any(|stmt| stmt.split_whitespace().next() == Some(name))
}

/// Renders nginx.conf in the layout of Test::Nginx's template.
pub fn render_conf(p: &ConfParts, prefix: &Path, port: u16, nginx_v: &str) -> String {
    let pre = prefix.display();
    let mut c = String::new();
    if !p.comment.is_empty() {
        c.push_str(&format!("# {}\n", p.comment));
    }
    for m in &p.modules {
        c.push_str(&format!("load_module {};\n", m.display()));
    }
    c.push_str(&format!(
        "worker_processes {};\ndaemon off;\nmaster_process on;\nerror_log {pre}/logs/error.log {};\npid {pre}/logs/nginx.pid;\n",
        p.workers, p.log_level
    ));
    for e in &p.env {
        c.push_str(&format!("env {e};\n"));
    }
    // as upstream: run workers as root when the test runs as root (files stay readable)
    if unsafe { libc::geteuid() } == 0 && !has_directive(&p.main, "user") {
        c.push_str("user root;\n");
    }
    c.push('\n');
    c.push_str(&p.main);
    c.push_str("\n\nhttp {\n");
    c.push_str(&format!("    access_log {pre}/logs/access.log;\n"));
    let temps = [
        ("client_body_temp_path", "client_body_temp", ""),
        (
            "proxy_temp_path",
            "proxy_temp",
            "--without-http_proxy_module",
        ),
        (
            "fastcgi_temp_path",
            "fastcgi_temp",
            "--without-http_fastcgi_module",
        ),
        (
            "uwsgi_temp_path",
            "uwsgi_temp",
            "--without-http_uwsgi_module",
        ),
        ("scgi_temp_path", "scgi_temp", "--without-http_scgi_module"),
    ];
    for (directive, dir, without) in temps {
        if (without.is_empty() || !nginx_v.contains(without)) && !has_directive(&p.http, directive)
        {
            c.push_str(&format!("    {directive} {pre}/{dir};\n"));
        }
    }
    c.push_str("    default_type text/plain;\n    keepalive_timeout 68;\n\n");
    c.push_str(&p.http);
    c.push_str(&format!(
        "\n    server {{\n        listen 127.0.0.1:{port};\n        server_name '{}';\n        client_max_body_size 30M;\n\n",
        p.server_name.replace('\\', "\\\\").replace('\'', "\\'")
    ));
    c.push_str("        # Begin test case config...\n");
    c.push_str(&p.server);
    c.push_str("\n        # End test case config.\n");
    if p.root_location {
        c.push_str(&format!("\n        location / {{\n            root {pre}/html;\n            index index.html index.htm;\n        }}\n"));
    }
    c.push_str("    }\n}\n\n");
    c.push_str(&p.post_main);
    c.push_str(&format!(
        "\n\nevents {{\n    accept_mutex off;\n    worker_connections {};\n}}\n",
        p.worker_connections
    ));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_layout() {
        let parts = ConfParts {
            modules: vec![PathBuf::from("/m.so")],
            main: "env X;".into(),
            http: "proxy_temp_path /x;".into(),
            server: "location /t { return 200; }".into(),
            ..ConfParts::default()
        };
        let c = render_conf(
            &parts,
            Path::new("/pre"),
            4321,
            "--without-http_scgi_module",
        );
        assert!(c.contains("load_module /m.so;\n"));
        assert!(c.find("load_module").unwrap() < c.find("daemon off;").unwrap());
        assert!(c.contains("listen 127.0.0.1:4321;"));
        assert!(c.contains("error_log /pre/logs/error.log debug;"));
        assert!(c.contains("client_body_temp_path /pre/client_body_temp;"));
        assert!(!c.contains("proxy_temp_path /pre"));
        assert!(!c.contains("scgi_temp_path"));
        assert!(c.contains("root /pre/html;"));
        assert!(c.contains("worker_connections 64;"));
    }
}
