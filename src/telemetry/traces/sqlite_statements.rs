//! Statement spans on SQLite. sqlx runs a SQLite connection's statements on a thread of its own,
//! where the call's trace context is not current; so each connection carries a [`CallSlot`] that
//! holds the context of the call it is leased to, and SQLite's profile callback (run on that
//! thread as each statement finishes, with its text and its time) makes the span beneath it.

use std::{
    ffi::{CStr, c_int, c_uint, c_void},
    ptr::NonNull,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use libsqlite3_sys::{
    SQLITE_TRACE_CLOSE, SQLITE_TRACE_PROFILE, sqlite3, sqlite3_sql, sqlite3_stmt, sqlite3_trace_v2,
};
use opentelemetry::{Context, trace::TraceContextExt};

/// The trace context of the call a connection is leased to, if any.
#[derive(Default)]
pub struct CallSlot(Mutex<Option<Context>>);

impl CallSlot {
    /// The connection now serves the call whose context is current (none for a call that is
    /// not traced, or not sampled).
    pub fn enter(&self) {
        let cx = Context::current();
        *self.lock() = cx.has_active_span().then_some(cx);
    }

    /// The connection serves no call.
    pub fn leave(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Context>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Has SQLite report each statement `handle` finishes, for the call in the slot answered; `None`
/// when tracing is off. The slot lives as long as the connection: SQLite's report of its close
/// releases it.
pub fn profile(handle: NonNull<sqlite3>) -> Option<Arc<CallSlot>> {
    if !super::enabled() {
        return None;
    }
    let slot = Arc::new(CallSlot::default());
    let raw = Arc::into_raw(slot.clone()).cast_mut().cast::<c_void>();
    // SAFETY: `handle` is an open connection; `raw` stays valid until the callback gets
    // SQLITE_TRACE_CLOSE, which takes back the reference given here.
    let code = unsafe {
        sqlite3_trace_v2(
            handle.as_ptr(),
            (SQLITE_TRACE_PROFILE | SQLITE_TRACE_CLOSE) as c_uint,
            Some(on_trace),
            raw,
        )
    };
    if code == 0 {
        Some(slot)
    } else {
        // SAFETY: SQLite did not take the reference.
        drop(unsafe { Arc::from_raw(raw.cast::<CallSlot>()) });
        None
    }
}

/// SQLite's trace callback: for SQLITE_TRACE_PROFILE, `p` is the statement and `x` its time in
/// nanoseconds (an `i64`); for SQLITE_TRACE_CLOSE, the connection is closing.
unsafe extern "C" fn on_trace(
    kind: c_uint,
    slot: *mut c_void,
    p: *mut c_void,
    x: *mut c_void,
) -> c_int {
    let slot = slot.cast::<CallSlot>().cast_const();
    if kind == SQLITE_TRACE_CLOSE as c_uint {
        // SAFETY: the reference given in `profile`, taken back once, as the connection closes.
        drop(unsafe { Arc::from_raw(slot) });
        return 0;
    }
    if kind != SQLITE_TRACE_PROFILE as c_uint || p.is_null() || x.is_null() {
        return 0;
    }
    // SAFETY: `slot` is alive until SQLITE_TRACE_CLOSE; for a profile report, SQLite passes the
    // statement and a pointer to its time, valid for the callback.
    let (parent, sql, nanos) = unsafe {
        let Some(parent) = (*slot).lock().clone() else {
            return 0;
        };
        let sql = sqlite3_sql(p.cast::<sqlite3_stmt>());
        if sql.is_null() {
            return 0;
        }
        let nanos = *x.cast::<i64>();
        (
            parent,
            CStr::from_ptr(sql).to_string_lossy().into_owned(),
            nanos,
        )
    };
    let took = Duration::from_nanos(u64::try_from(nanos).unwrap_or(0));
    super::statements::record(&parent, &sql, took, None);
    0
}
