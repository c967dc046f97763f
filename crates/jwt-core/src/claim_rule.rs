//! `jwt_require_claim <path> <operator> <value>... [error=401|403]`: exact
//! tests on the claims of a verified token, shaped the way identity providers
//! shape them: a space-separated `scope` string (RFC 9068 §2.2.3, RFC 8693
//! §4.2), arrays (`roles`, `permissions`, `groups`) and nested objects
//! (Keycloak's `realm_access.roles`, `resource_access.<client>.roles`).
//!
//! It replaces `map` regexes over a claim's JSON text, where `~admin` also
//! matches `"superadmin"`: here every comparison is on whole values.
//!
//! # Path
//!
//! Claim names separated by `.`: `realm_access.roles` is the `roles` member of
//! the `realm_access` object claim. `\.` is a dot inside a name and `\\` a
//! backslash (`resource_access.my\.app.roles`); no other `\` escape exists.
//! Empty names (`a..b`, a leading or trailing dot) are refused. Every step
//! goes into an object member; arrays are never indexed (`groups.0` is the
//! member `"0"` of an object `groups`, and absent if `groups` is an array):
//! arrays are looked into only by the operators `any` and `all`.
//!
//! # Operators
//!
//! A configured value *equals* a claim value when the claim value is
//! * a string with exactly the same bytes (no case folding, no trimming, no
//!   Unicode normalisation);
//! * a number, and the configured text is a JSON number of the same numeric
//!   value (`5`, `5.0` and `5e0` are equal; integers that fit 64 bits are
//!   compared exactly, also above 2^53, not through floating point; larger
//!   ones, which JSON parsers hold as floating point, compare as such); text that is
//!   not a JSON number (`"5"` with quotes, ` 5`, `0x5`) never equals a
//!   number;
//! * a boolean, and the configured text is `true` or `false`.
//!
//! Arrays, objects and `null` equal nothing; a string never equals a number
//! or a boolean (the claim `"1"` equals the value `1`, the claim `1` equals
//! `1` and `1.0`, the claim `true` equals `true`; the claim `true` does not
//! equal `1`).
//!
//! A claim value *holds* a configured value when it is
//! * an array with an element that equals it (elements compare as above;
//!   nested arrays are not searched);
//! * a string whose words (split on ASCII space only, the `scope` syntax of
//!   RFC 6749 §3.3) include it exactly: `"read admin:write"` holds `read` and
//!   `admin:write` but neither `admin` nor `write`; `"superadmin"` does not
//!   hold `admin`. A value containing a space is never held by a string.
//!
//! The operators, each *met* or *unmet*:
//! * `eq V...`: the claim equals one of the values;
//! * `ne V...`: the claim is a string, number or boolean that equals none of
//!   the values. An absent claim, an array, an object or `null` is unmet:
//!   `ne guest` must not admit a token that says nothing (or says
//!   `["guest"]`);
//! * `any V...`: the claim holds at least one of the values;
//! * `all V...`: the claim holds every value;
//! * `gt N`, `ge N`, `lt N`, `le N`: the claim is a number greater than,
//!   greater than or equal to, less than, less than or equal to N, one JSON
//!   number (`jwt_require_claim auth_time ge 1700000000`). A string claim
//!   such as `"2"` is not a number and is unmet.
//!
//! A missing claim, a path through a non-object, a claim of a type the
//! operator does not take: all are *unmet*, never an error and never a
//! panic. The request is then denied with the rule's status: 403, or 401
//! with `error=401`.
//!
//! Why `any`/`all` and not `contains`: with several values, "contains a b"
//! reads as both "contains a or b" and "contains a and b"; the pair says which.
//! For the same reason there is one name per operator.
//!
//! # Arguments
//!
//! The last argument, if it starts with `error=`, is the status (`error=401`
//! or `error=403`); anywhere else an `error=` argument is refused, so a value
//! cannot be mistaken for the status or the status for a value. `eq`, `ne`,
//! `any` and `all` take one value or more, `any` and `all` no empty one (no
//! scope or role is the empty string); `gt`, `ge`, `lt` and `le` exactly one
//! JSON number. Anything else is a configuration error ([`ClaimRuleError`])
//! whose message names the problem and the fix.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

/// The directive, named in every configuration error.
const DIRECTIVE: &str = "jwt_require_claim";

/// The status of an unmet rule without `error=`: the token is valid but not
/// enough (RFC 6750 §3.1 `insufficient_scope`), as for `jwt_require`.
const DEFAULT_STATUS: u16 = 403;

/// How many characters of a claim or value an [`Unmet`] message shows: enough
/// to recognise it, too few for a large claim to flood the error log.
const MAX_LOGGED_CHARS: usize = 64;

/// Why a `jwt_require_claim` directive is refused, for `nginx -t`. Each
/// message names the offending argument and the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRuleError {
    /// Fewer than a path and an operator.
    #[error(
        "\"{DIRECTIVE}\" needs a claim path, an operator and a value, \
         as in: {DIRECTIVE} scope any read"
    )]
    MissingArguments,

    /// The path is the empty string.
    #[error(
        "empty claim path in \"{DIRECTIVE}\": name a claim, as in scope or realm_access.roles"
    )]
    EmptyPath,

    /// `a..b`, `.a` or `a.`.
    #[error(
        "empty claim name in path \"{0}\" in \"{DIRECTIVE}\": separate names with \
         single dots, none at either end (a dot inside a name is written \\.)"
    )]
    EmptyName(String),

    /// A `\` followed by something other than `.` or `\`.
    #[error(
        "invalid escape in claim path \"{0}\" in \"{DIRECTIVE}\": only \\. (a dot \
         inside a name) and \\\\ (a backslash) are escapes"
    )]
    InvalidEscape(String),

    /// Not one of the operators.
    #[error("unknown operator \"{name}\" in \"{DIRECTIVE}\": {hint}")]
    UnknownOperator { name: String, hint: &'static str },

    /// An operator without a value.
    #[error("operator {operator} in \"{DIRECTIVE}\" needs {needs}")]
    MissingValue {
        operator: &'static str,
        needs: &'static str,
    },

    /// `gt`, `ge`, `lt`, `le` with more than one value.
    #[error("operator {operator} in \"{DIRECTIVE}\" takes exactly one number, not {count} values")]
    TooManyValues {
        operator: &'static str,
        count: usize,
    },

    /// `gt`, `ge`, `lt`, `le` with a value that is not a JSON number.
    #[error(
        "\"{value}\" is not a number, in \"{DIRECTIVE}\" ... {operator}: gt, ge, lt and le \
         compare with one JSON number, such as 2, -1 or 1.5"
    )]
    NotANumber {
        operator: &'static str,
        value: String,
    },

    /// `any` or `all` with `""`.
    #[error(
        "empty value for operator {operator} in \"{DIRECTIVE}\": no scope word or role \
         is empty; remove the \"\" argument"
    )]
    EmptyValue { operator: &'static str },

    /// `error=` with anything but 401 or 403.
    #[error("invalid \"{0}\" in \"{DIRECTIVE}\": use error=401 or error=403")]
    InvalidStatus(String),

    /// `error=` before the last argument.
    #[error("\"{0}\" in \"{DIRECTIVE}\" must be its last argument")]
    MisplacedStatus(String),
}

/// The operators; see the module documentation for their semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Eq,
    Ne,
    Any,
    All,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Operator {
    const ALL: [Operator; 8] = [
        Operator::Eq,
        Operator::Ne,
        Operator::Any,
        Operator::All,
        Operator::Gt,
        Operator::Ge,
        Operator::Lt,
        Operator::Le,
    ];

    fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::Any => "any",
            Operator::All => "all",
            Operator::Gt => "gt",
            Operator::Ge => "ge",
            Operator::Lt => "lt",
            Operator::Le => "le",
        }
    }

    fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The orderings of claim to bound that meet `gt`, `ge`, `lt`, `le`;
    /// `None` for the other operators.
    fn accepted_orderings(self) -> Option<&'static [Ordering]> {
        match self {
            Operator::Gt => Some(&[Ordering::Greater]),
            Operator::Ge => Some(&[Ordering::Greater, Ordering::Equal]),
            Operator::Lt => Some(&[Ordering::Less]),
            Operator::Le => Some(&[Ordering::Less, Ordering::Equal]),
            Operator::Eq | Operator::Ne | Operator::Any | Operator::All => None,
        }
    }

    fn is_comparison(self) -> bool {
        self.accepted_orderings().is_some()
    }

    /// What the claim must be for the operator to look at it, for [`Unmet`].
    fn takes(self) -> &'static str {
        match self {
            Operator::Eq | Operator::Ne => "a string, number or boolean",
            Operator::Any | Operator::All => "an array or a string",
            Operator::Gt | Operator::Ge | Operator::Lt | Operator::Le => "a number",
        }
    }
}

/// The fix for an unknown operator: the names other modules use for the same
/// test (kjdev/nginx-auth-jwt's `intersect`, `in`, `nin`), or the list.
fn operator_hint(name: &str) -> &'static str {
    match name {
        "contains" | "intersect" | "has" => {
            "use any (holds at least one of the values) or all (holds every one)"
        }
        "in" => "use eq (equals one of the values)",
        "nin" | "not_in" => "use ne (equals none of the values)",
        _ if Operator::from_name(&name.to_ascii_lowercase()).is_some() => {
            "operators are lowercase: eq, ne, any, all, gt, ge, lt or le"
        }
        _ => "use eq, ne, any, all, gt, ge, lt or le",
    }
}

/// A JSON number, exact: serde_json keeps integers as `i64`/`u64` (both fit
/// in `i128`) and everything else as a finite `f64`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Int(i.into())
        } else if let Some(u) = n.as_u64() {
            Num::Int(u.into())
        } else {
            // Without arbitrary_precision every other Number is an f64; NaN
            // (never produced) would compare as nothing.
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }

    /// Configured text as a JSON number, or `None`. The JSON grammar starts
    /// with `-` or a digit and ends with a digit; checking that first keeps
    /// serde_json from accepting surrounding whitespace.
    fn parse(text: &str) -> Option<Num> {
        let starts = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
        let ends = text.ends_with(|c: char| c.is_ascii_digit());
        if !(starts && ends) {
            return None;
        }
        serde_json::from_str::<Number>(text)
            .ok()
            .map(|n| Num::of(&n))
    }

    fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
            (Num::Int(a), Num::Float(b)) => int_cmp_float(a, b),
            (Num::Float(a), Num::Int(b)) => int_cmp_float(b, a).map(Ordering::reverse),
        }
    }
}

/// `i` against `f` without rounding `i` to an f64 (which would make
/// 2^53 + 1 equal 2^53): compare integer parts exactly, then the fraction.
fn int_cmp_float(i: i128, f: f64) -> Option<Ordering> {
    // 2^127: every finite f64 below it in magnitude has an integer part that
    // converts to i128 exactly, and every serde_json integer is far inside.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f.is_nan() {
        return None;
    }
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    let fraction = f - whole;
    Some(
        i.cmp(&(whole as i128))
            .then_with(|| 0.0_f64.partial_cmp(&fraction).unwrap_or(Ordering::Equal)),
    )
}

/// A configured value, read once in each form a claim may take.
#[derive(Clone, Debug, PartialEq)]
struct Operand {
    text: String,
    number: Option<Num>,
    boolean: Option<bool>,
}

impl Operand {
    fn new(text: &str) -> Operand {
        let boolean = match text {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        Operand {
            text: text.to_owned(),
            number: Num::parse(text),
            boolean,
        }
    }

    /// The `eq` relation (module documentation).
    fn equals(&self, claim: &Value) -> bool {
        match claim {
            Value::String(s) => *s == self.text,
            Value::Number(n) => self
                .number
                .is_some_and(|v| Num::of(n).compare(v) == Some(Ordering::Equal)),
            Value::Bool(b) => self.boolean == Some(*b),
            Value::Null | Value::Array(_) | Value::Object(_) => false,
        }
    }

    /// The `any`/`all` relation (module documentation).
    fn is_held_by(&self, claim: &Value) -> bool {
        match claim {
            Value::Array(items) => items.iter().any(|item| self.equals(item)),
            Value::String(s) => scope_words(s).any(|word| word == self.text),
            _ => false,
        }
    }
}

/// The words of a space-separated list: RFC 6749 §3.3 separates scope tokens
/// by U+0020 only, so a tab or a non-breaking space is part of a word.
/// Repeated spaces yield no empty word.
fn scope_words(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|word| !word.is_empty())
}

/// A parsed `jwt_require_claim`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimRule {
    /// Object member names, outermost first; never empty.
    path: Vec<String>,
    operator: Operator,
    /// Never empty; for comparisons exactly one, a number.
    values: Vec<Operand>,
    status: u16,
}

impl ClaimRule {
    /// Parses the directive's arguments after its name: the path, the
    /// operator, its values, and an optional last `error=401|403`.
    pub fn parse(args: &[&str]) -> Result<ClaimRule, ClaimRuleError> {
        let (args, status) = split_status(args)?;
        let [path, operator, values @ ..] = args else {
            return Err(ClaimRuleError::MissingArguments);
        };
        let path = parse_path(path)?;
        let operator =
            Operator::from_name(operator).ok_or_else(|| ClaimRuleError::UnknownOperator {
                name: (*operator).to_owned(),
                hint: operator_hint(operator),
            })?;
        let values = parse_values(operator, values)?;
        Ok(ClaimRule {
            path,
            operator,
            values,
            status,
        })
    }

    /// The status of a request whose token does not meet the rule: 403 by
    /// default, or the `error=` argument.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the claims meet the rule; why not, for the error log.
    pub fn check(&self, claims: &Map<String, Value>) -> Result<(), Unmet> {
        let claim = lookup(claims, &self.path).map_err(|why| self.unmet(why))?;
        match self.operator {
            Operator::Eq => self.check_eq(claim),
            Operator::Ne => self.check_ne(claim),
            Operator::Any => self.check_any(claim),
            Operator::All => self.check_all(claim),
            Operator::Gt | Operator::Ge | Operator::Lt | Operator::Le => self.check_order(claim),
        }
    }

    fn check_eq(&self, claim: &Value) -> Result<(), Unmet> {
        let excerpt = scalar_excerpt(claim).ok_or_else(|| self.wrong_type(claim))?;
        if self.values.iter().any(|v| v.equals(claim)) {
            return Ok(());
        }
        Err(self.unmet(Why::Is(excerpt)))
    }

    fn check_ne(&self, claim: &Value) -> Result<(), Unmet> {
        let excerpt = scalar_excerpt(claim).ok_or_else(|| self.wrong_type(claim))?;
        if self.values.iter().any(|v| v.equals(claim)) {
            return Err(self.unmet(Why::Is(excerpt)));
        }
        Ok(())
    }

    fn check_any(&self, claim: &Value) -> Result<(), Unmet> {
        self.require_list(claim)?;
        if self.values.iter().any(|v| v.is_held_by(claim)) {
            return Ok(());
        }
        Err(self.unmet(Why::HoldsNone))
    }

    fn check_all(&self, claim: &Value) -> Result<(), Unmet> {
        self.require_list(claim)?;
        match self.values.iter().find(|v| !v.is_held_by(claim)) {
            None => Ok(()),
            Some(missing) => Err(self.unmet(Why::Lacks(quote(&missing.text, MAX_LOGGED_CHARS)))),
        }
    }

    fn check_order(&self, claim: &Value) -> Result<(), Unmet> {
        let Value::Number(n) = claim else {
            return Err(self.wrong_type(claim));
        };
        let accepted = self.operator.accepted_orderings().unwrap_or_default();
        // A non-number bound (refused by parse) compares as nothing: unmet.
        let order = self
            .values
            .first()
            .and_then(|v| v.number)
            .and_then(|bound| Num::of(n).compare(bound));
        if order.is_some_and(|o| accepted.contains(&o)) {
            return Ok(());
        }
        Err(self.unmet(Why::Is(n.to_string())))
    }

    /// `any` and `all` look into arrays and strings only.
    fn require_list(&self, claim: &Value) -> Result<(), Unmet> {
        match claim {
            Value::Array(_) | Value::String(_) => Ok(()),
            _ => Err(self.wrong_type(claim)),
        }
    }

    fn wrong_type(&self, claim: &Value) -> Unmet {
        self.unmet(Why::WrongType(kind(claim)))
    }

    fn unmet(&self, why: Why) -> Unmet {
        Unmet {
            path: quote(&path_text(&self.path), usize::MAX),
            operator: self.operator,
            values: self.values_text(MAX_LOGGED_CHARS),
            why,
        }
    }

    /// The values as arguments: comparison bounds (validated JSON numbers)
    /// bare, the others quoted, each cut after `max_chars` characters.
    fn values_text(&self, max_chars: usize) -> String {
        let quoted = !self.operator.is_comparison();
        let rendered: Vec<String> = self
            .values
            .iter()
            .map(|v| render(&v.text, max_chars, quoted))
            .collect();
        rendered.join(" ")
    }
}

/// The canonical form for logs: `"path" operator values [error=401]`, every
/// string quoted and escaped as nginx reads quoted arguments, so a logged
/// rule (without control characters) can be pasted back into a
/// configuration. The default `error=403` is left out, so that equal rules
/// print alike.
impl fmt::Display for ClaimRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            quote(&path_text(&self.path), usize::MAX),
            self.operator.name(),
            self.values_text(usize::MAX)
        )?;
        if self.status != DEFAULT_STATUS {
            write!(f, " error={}", self.status)?;
        }
        Ok(())
    }
}

/// Takes the trailing `error=` off the arguments, and refuses one elsewhere.
fn split_status<'a, 'b>(args: &'a [&'b str]) -> Result<(&'a [&'b str], u16), ClaimRuleError> {
    let (args, status) = match args.split_last() {
        Some((last, rest)) if last.starts_with("error=") => (rest, parse_status(last)?),
        _ => (args, DEFAULT_STATUS),
    };
    if let Some(misplaced) = args.iter().find(|a| a.starts_with("error=")) {
        return Err(ClaimRuleError::MisplacedStatus((*misplaced).to_owned()));
    }
    Ok((args, status))
}

fn parse_status(arg: &str) -> Result<u16, ClaimRuleError> {
    match arg {
        "error=401" => Ok(401),
        "error=403" => Ok(403),
        _ => Err(ClaimRuleError::InvalidStatus(arg.to_owned())),
    }
}

/// `a.b\.c` → `["a", "b.c"]` (module documentation).
fn parse_path(text: &str) -> Result<Vec<String>, ClaimRuleError> {
    if text.is_empty() {
        return Err(ClaimRuleError::EmptyPath);
    }
    let mut names = Vec::new();
    let mut name = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => names.push(finish_name(&mut name, text)?),
            '\\' => match chars.next() {
                Some(escaped @ ('.' | '\\')) => name.push(escaped),
                _ => return Err(ClaimRuleError::InvalidEscape(text.to_owned())),
            },
            c => name.push(c),
        }
    }
    names.push(finish_name(&mut name, text)?);
    Ok(names)
}

fn finish_name(name: &mut String, path: &str) -> Result<String, ClaimRuleError> {
    if name.is_empty() {
        return Err(ClaimRuleError::EmptyName(path.to_owned()));
    }
    Ok(std::mem::take(name))
}

/// The inverse of [`parse_path`]: names escaped and joined with dots.
fn path_text<S: AsRef<str>>(names: &[S]) -> String {
    let escaped: Vec<String> = names
        .iter()
        .map(|name| name.as_ref().replace('\\', "\\\\").replace('.', "\\."))
        .collect();
    escaped.join(".")
}

fn parse_values(operator: Operator, values: &[&str]) -> Result<Vec<Operand>, ClaimRuleError> {
    let name = operator.name();
    if values.is_empty() {
        let needs = if operator.is_comparison() {
            "one number"
        } else {
            "at least one value"
        };
        return Err(ClaimRuleError::MissingValue {
            operator: name,
            needs,
        });
    }
    if operator.is_comparison() {
        if values.len() > 1 {
            return Err(ClaimRuleError::TooManyValues {
                operator: name,
                count: values.len(),
            });
        }
        if let Some(value) = values.iter().find(|v| Num::parse(v).is_none()) {
            return Err(ClaimRuleError::NotANumber {
                operator: name,
                value: (*value).to_owned(),
            });
        }
    }
    // The empty value would be held by an array element "" but never by a
    // scope string (it has no empty word): refused rather than inconsistent.
    if matches!(operator, Operator::Any | Operator::All) && values.iter().any(|v| v.is_empty()) {
        return Err(ClaimRuleError::EmptyValue { operator: name });
    }
    Ok(values.iter().map(|v| Operand::new(v)).collect())
}

/// Where a path leads out of the claims: an absent member, or a step into a
/// value that is not an object.
fn lookup<'a>(claims: &'a Map<String, Value>, path: &[String]) -> Result<&'a Value, Why> {
    let mut members = claims;
    for (depth, name) in path.iter().enumerate() {
        let value = members.get(name).ok_or(Why::Absent)?;
        if depth + 1 == path.len() {
            return Ok(value);
        }
        members = value.as_object().ok_or_else(|| Why::NotAnObject {
            parent: quote(&path_text(&path[..=depth]), usize::MAX),
            kind: kind(value),
        })?;
    }
    // Unreachable: parse never makes an empty path.
    Err(Why::Absent)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string, number or boolean claim as a short log text; `None` for the
/// other types, which `eq` and `ne` do not take.
fn scalar_excerpt(claim: &Value) -> Option<String> {
    match claim {
        Value::String(s) => Some(quote(s, MAX_LOGGED_CHARS)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn quote(s: &str, max_chars: usize) -> String {
    render(s, max_chars, true)
}

/// `s` escaped as nginx reads a quoted argument (`\\`, `\"`, `\t`, `\r`,
/// `\n`), other control characters as `\xHH` as nginx's logs write them (a
/// token's claim must not split a log line), optionally quoted, and cut after
/// `max_chars` characters with `…` after it.
fn render(s: &str, max_chars: usize, quoted: bool) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars) + 2);
    if quoted {
        out.push('"');
    }
    for c in s.chars().take(max_chars) {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
    if s.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// Why a token does not meet a [`ClaimRule`]: its `Display` is one error-log
/// line naming the path, the operator and the reason, with claim and
/// configured values cut to 64 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet {
    /// Quoted, escaped.
    path: String,
    operator: Operator,
    /// As in [`ClaimRule::values_text`], cut.
    values: String,
    why: Why,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Why {
    /// No such member.
    Absent,
    /// A step of the path into a value that is not an object.
    NotAnObject { parent: String, kind: &'static str },
    /// A type the operator does not take.
    WrongType(&'static str),
    /// `eq`, `ne`, `gt`... unmet by this scalar (an excerpt).
    Is(String),
    /// `any` unmet.
    HoldsNone,
    /// `all` unmet by this value (quoted, cut).
    Lacks(String),
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Unmet {
            path,
            operator,
            values,
            why,
        } = self;
        let op = operator.name();
        match why {
            Why::Absent => write!(f, "claim {path} is absent ({op} {values})"),
            Why::NotAnObject { parent, kind } => write!(
                f,
                "claim {path} is absent: {parent} is {kind}, not an object ({op} {values})"
            ),
            Why::WrongType(kind) => write!(
                f,
                "claim {path} is {kind}, not {} ({op} {values})",
                operator.takes()
            ),
            Why::Is(claim) if *operator == Operator::Ne => {
                write!(f, "claim {path} is {claim}, which ne {values} excludes")
            }
            Why::Is(claim) => write!(f, "claim {path} is {claim}, not {op} {values}"),
            Why::HoldsNone => write!(f, "claim {path} holds none of {values}"),
            Why::Lacks(value) => {
                write!(f, "claim {path} does not hold {value} ({op} {values})")
            }
        }
    }
}

impl std::error::Error for Unmet {}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
