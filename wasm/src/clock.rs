//! Time and ids, which the core takes from outside: the JavaScript clock and the browser's (or
//! Node's) random numbers.

use annals_core::Uuid;
use uuid::{NoContext, Timestamp};

/// Milliseconds since the Unix epoch, from `Date.now()`.
pub fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// A new command id: a UUIDv7, so ids sort by the time they were made.
pub fn command_id(at: i64) -> Uuid {
    let at = u64::try_from(at).unwrap_or(0);
    let timestamp = Timestamp::from_unix(NoContext, at / 1000, (at % 1000) as u32 * 1_000_000);
    Uuid::new_v7(timestamp)
}

/// A new random id for one write of the stored entry.
pub fn revision() -> String {
    Uuid::new_v4().to_string()
}
