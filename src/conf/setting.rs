//! A directive's value together with where it was written.

use std::fmt;

use ngx::ffi::ngx_conf_t;

/// Where a directive was written, so errors found later (at merge time) can still name it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfSite {
    file: String,
    line: usize,
}

impl ConfSite {
    /// The position of the directive nginx is parsing right now.
    pub fn current(cf: &ngx_conf_t) -> ConfSite {
        // SAFETY: NULL, or (while a directive is parsed) the file being read.
        match unsafe { cf.conf_file.as_ref() } {
            Some(file) => ConfSite {
                file: String::from_utf8_lossy(file.file.name.as_bytes()).into_owned(),
                line: file.line,
            },
            None => ConfSite::default(),
        }
    }
}

impl fmt::Display for ConfSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A setting as written by one directive.
#[derive(Clone, Debug)]
pub struct Setting<T> {
    pub value: T,
    /// The directive's file and line.
    pub site: ConfSite,
    /// How deep the level that wrote it is (`http` 0, `server` 1, `location` 2...): a
    /// deeper setting was written closer to the request. Set by merge.
    pub depth: u32,
}

impl<T> Setting<T> {
    /// A value written by the directive being parsed.
    pub fn here(cf: &ngx_conf_t, value: T) -> Setting<T> {
        Setting {
            value,
            site: ConfSite::current(cf),
            depth: 0,
        }
    }
}

/// Merge rule for every setting: one written at this level stays (and learns its depth),
/// otherwise the parent's applies.
pub fn inherit<T: Clone>(mine: &mut Option<Setting<T>>, parent: &Option<Setting<T>>, depth: u32) {
    match mine {
        Some(setting) => setting.depth = depth,
        None => mine.clone_from(parent),
    }
}

/// The effective value, or `default` where no level wrote one.
pub fn value_or<T: Copy>(setting: &Option<Setting<T>>, default: T) -> T {
    setting.as_ref().map_or(default, |s| s.value)
}
