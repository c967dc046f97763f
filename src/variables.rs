//! `$jwt_claim_NAME`, `$jwt_header_NAME`, `$jwt_payload`, `$jwt_error` and the variables
//! declared by `jwt_claim_set`.
//!
//! They all read the per-request verification result (see [`crate::verification`]), so they work
//! in any location with a key ring, verified or not, and in `log_format`, `map`, headers, etc.
//! A token that does not verify yields empty claim variables and a non-empty `$jwt_error`.

use std::borrow::Cow;

use jwt_core::json::value_text;
use jwt_core::VerifiedToken;
use ngx::core::Status;
use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_request_t, ngx_http_variable_t,
    ngx_http_variable_value_t, ngx_int_t, ngx_pool_t, ngx_str_t, NGX_HTTP_VAR_NOCACHEABLE,
    NGX_HTTP_VAR_PREFIX,
};
use ngx::http::{HttpModuleMainConf, NgxHttpCoreModule, Request};
use serde_json::Value;

use crate::conf::parse::{args, text, variable_name};
use crate::conf::{is_module_variable, JwtMainConf};
use crate::response_headers::pool_bytes;
use crate::verification::{note_variable_read, outcome, Outcome};
use crate::Module;

type Getter = unsafe extern "C" fn(
    *mut ngx_http_request_t,
    *mut ngx_http_variable_value_t,
    usize,
) -> ngx_int_t;

const CLAIM_PREFIX: &str = "jwt_claim_";
const HEADER_PREFIX: &str = "jwt_header_";

/// Declares the module's built-in variables (preconfiguration).
pub fn register(cf: *mut ngx_conf_t) -> ngx_int_t {
    let builtins: [(&str, Getter, u32); 4] = [
        (CLAIM_PREFIX, claim_variable, NGX_HTTP_VAR_PREFIX),
        (HEADER_PREFIX, header_variable, NGX_HTTP_VAR_PREFIX),
        ("jwt_payload", payload_variable, 0),
        ("jwt_error", error_variable, 0),
    ];
    for (name, getter, flags) in builtins {
        if add(cf, name.as_bytes(), getter, flags, 0).is_err() {
            return Status::NGX_ERROR.into();
        }
    }
    Status::NGX_OK.into()
}

/// `jwt_claim_set $name claim [nested ...]` (http level): declares `$name`, the value of a
/// (nested) claim.
pub fn jwt_claim_set(cf: &mut ngx_conf_t, main: &mut JwtMainConf) -> Result<(), String> {
    let all: Vec<String> = args(cf).iter().map(text).collect();
    let name = variable_name(cf, &all[1])?;
    // Boxed: nginx keeps the address as the variable's data while the Vec of paths grows.
    let path = Box::new(all[2..].to_vec());
    let data = std::ptr::from_ref::<Vec<String>>(&path) as usize;
    add(cf, name.as_bytes(), claim_set_variable, 0, data)
        .map_err(|()| format!("cannot declare the variable \"${name}\""))?;
    main.claim_sets.push(path);
    main.claim_set_names.push(name.to_ascii_lowercase());
    Ok(())
}

fn add(
    cf: *mut ngx_conf_t,
    name: &[u8],
    getter: Getter,
    flags: u32,
    data: usize,
) -> Result<(), ()> {
    let mut ngx_name = ngx_str_t {
        len: name.len(),
        data: name.as_ptr().cast_mut(),
    };
    // Values depend on the location's key ring and token source: never serve a cached one to a
    // reader that asks for a fresh value (ngx_http_get_flushed_variable, complex values).
    let flags = (flags | NGX_HTTP_VAR_NOCACHEABLE) as usize;
    // SAFETY: cf is the live configuration; nginx copies the name into its own pool and
    // never writes through ours.
    let var = unsafe { ngx_http_add_variable(cf, &mut ngx_name, flags) };
    // SAFETY: NULL or the variable nginx just created for us.
    let var = unsafe { var.as_mut() }.ok_or(())?;
    var.get_handler = Some(getter);
    var.data = data;
    Ok(())
}

/// The indexes of the module's variables in this configuration's variable table (the ones a
/// config refers to, prefix variables such as `$jwt_claim_sub` included). Computed on the
/// first request of each worker: the table is complete only once configuration is over.
pub fn module_variable_indexes(r: &Request) -> &'static [usize] {
    let (Some(main), Some(cmcf)) = (Module::main_conf(r), NgxHttpCoreModule::main_conf(r)) else {
        return &[];
    };
    main.module_variables.get_or_init(|| {
        // SAFETY: cmcf.variables is the array of ngx_http_variable_t that indexes refer to.
        let table = unsafe { cmcf.variables.as_slice::<ngx_http_variable_t>() };
        table
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                let name = String::from_utf8_lossy(v.name.as_bytes());
                is_module_variable(&name, main)
            })
            .map(|(index, _)| index)
            .collect()
    })
}

/// Marks the cached values of the module's variables in this request as invalid, so that the
/// next read asks the module again, also through `ngx_http_get_indexed_variable` (the log
/// module, `set`).
pub fn invalidate_module_variables(r: &mut Request) {
    let indexes = module_variable_indexes(r);
    let raw: &mut ngx_http_request_t = r.as_mut();
    for &index in indexes {
        // SAFETY: `variables` has one slot per indexed variable of this configuration, and the
        // index comes from the same configuration's variable table.
        if let Some(value) = unsafe { raw.variables.add(index).as_mut() } {
            value.set_valid(0);
            value.set_not_found(0);
        }
    }
}

/// Marks the variable as empty-and-absent.
fn not_found(v: &mut ngx_http_variable_value_t) -> Status {
    v.set_not_found(1);
    Status::NGX_OK
}

fn found(v: &mut ngx_http_variable_value_t, data: *mut u8, len: usize) -> Status {
    let Ok(len) = u32::try_from(len) else {
        return Status::NGX_ERROR;
    };
    v.set_len(len);
    v.data = data;
    v.set_valid(1);
    v.set_no_cacheable(0);
    v.set_not_found(0);
    Status::NGX_OK
}

/// Sets `v` to `text`, copying owned text into the request pool.
fn set_text(
    pool: *mut ngx_pool_t,
    v: &mut ngx_http_variable_value_t,
    text: Cow<'_, str>,
) -> Status {
    match text {
        Cow::Borrowed(s) => found(v, s.as_ptr() as *mut u8, s.len()),
        Cow::Owned(s) => match pool_bytes(pool, s.as_bytes()) {
            Some(copy) => found(v, copy.data, copy.len),
            None => Status::NGX_ERROR,
        },
    }
}

/// Runs `getter` with safe references; the unsafe part is only the pointer conversion.
unsafe fn with_request(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    getter: impl FnOnce(&mut Request, *mut ngx_pool_t, &mut ngx_http_variable_value_t) -> Status,
) -> ngx_int_t {
    // SAFETY: nginx calls variable getters with a live request and a writable value slot.
    let (r, v) = unsafe { (Request::from_ngx_http_request(r), &mut *v) };
    let pool = r.pool().as_ptr();
    getter(r, pool, v).into()
}

/// The verification result of the location this variable is read in.
fn read_outcome(r: &mut Request) -> Option<&Outcome> {
    if note_variable_read(r)? {
        invalidate_module_variables(r);
    }
    outcome(r)
}

/// Sets `v` to what `pick` finds in the verified token; not found when there is no valid token
/// or `pick` finds nothing.
unsafe fn token_value(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    pick: impl FnOnce(&VerifiedToken) -> Option<Cow<'_, str>>,
) -> ngx_int_t {
    // SAFETY: nginx calls getters with a live request and value slot (caller's contract).
    unsafe {
        with_request(r, v, |r, pool, v| match read_outcome(r) {
            Some(Ok(token)) => match pick(token) {
                Some(text) => set_text(pool, v, text),
                None => not_found(v),
            },
            _ => not_found(v),
        })
    }
}

/// The variable name nginx passes to prefix variables as `data`, without the prefix.
unsafe fn suffix(data: usize, prefix: &str) -> Option<String> {
    // SAFETY: for NGX_HTTP_VAR_PREFIX variables nginx passes a pointer to the full name.
    let name = unsafe { (data as *const ngx_str_t).as_ref() }?;
    let name = std::str::from_utf8(name.as_bytes()).ok()?;
    name.strip_prefix(prefix).map(str::to_string)
}

/// nginx lower-cases variable names, so `$jwt_claim_userid` must also find `userId`.
fn lookup<'a>(map: impl Iterator<Item = (&'a String, &'a Value)>, name: &str) -> Option<&'a Value> {
    let mut folded = None;
    for (key, value) in map {
        if key == name {
            return Some(value);
        }
        if folded.is_none() && key.eq_ignore_ascii_case(name) {
            folded = Some(value);
        }
    }
    folded
}

unsafe extern "C" fn claim_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: see `suffix`.
    let Some(name) = (unsafe { suffix(data, CLAIM_PREFIX) }) else {
        return Status::NGX_ERROR.into();
    };
    // SAFETY: called by nginx as a variable getter.
    unsafe {
        token_value(r, v, |token| {
            lookup(token.claims().iter(), &name).map(value_text)
        })
    }
}

unsafe extern "C" fn header_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: see `suffix`.
    let Some(name) = (unsafe { suffix(data, HEADER_PREFIX) }) else {
        return Status::NGX_ERROR.into();
    };
    // SAFETY: called by nginx as a variable getter.
    unsafe { token_value(r, v, |token| token.header(&name).map(value_text)) }
}

unsafe extern "C" fn payload_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    // SAFETY: called by nginx as a variable getter.
    unsafe { token_value(r, v, |token| Some(Cow::Borrowed(token.payload_json()))) }
}

unsafe extern "C" fn error_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    // SAFETY: called by nginx as a variable getter.
    unsafe {
        with_request(r, v, |r, pool, v| match read_outcome(r) {
            Some(Err(e)) => set_text(pool, v, Cow::Borrowed(e.code())),
            Some(Ok(_)) => found(v, b"".as_ptr() as *mut u8, 0),
            None => not_found(v),
        })
    }
}

unsafe extern "C" fn claim_set_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: data is the address of a Vec<String> boxed in the main conf, which outlives
    // every request of this configuration cycle.
    let Some(path) = (unsafe { (data as *const Vec<String>).as_ref() }) else {
        return Status::NGX_ERROR.into();
    };
    // SAFETY: called by nginx as a variable getter.
    unsafe { token_value(r, v, |token| token.claim_path(path).map(value_text)) }
}
