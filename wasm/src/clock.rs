//! Time and ids, which the core takes from outside: the JavaScript clock and the browser's (or
//! Node's) random numbers.

use annals_core::Uuid;

/// Milliseconds since the Unix epoch, from `Date.now()`.
pub fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// A new command id: a UUIDv7 (RFC 9562: 48 bits of milliseconds since the epoch, then
/// random bits), so ids sort by the time they were made.
pub fn command_id(at: i64) -> Uuid {
    let millis = u64::try_from(at).unwrap_or(0).to_be_bytes();
    let mut bytes = Uuid::new_v4().into_bytes();
    bytes[..6].copy_from_slice(&millis[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    Uuid::from_bytes(bytes)
}

/// A new random id for one write of the stored entry.
pub fn revision() -> String {
    annals_core::json::uuid_text(&Uuid::new_v4())
}
