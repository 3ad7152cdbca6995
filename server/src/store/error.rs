//! What goes wrong in a database, sorted by what a caller can do about it.

use std::fmt;

/// The kind of a [`StoreError`]: whether the request may simply be sent again, and why it
/// failed. The API answers each with 503 and a stable code of its own (see
/// [`ApiError`](crate::error::ApiError)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The database cannot be reached, or a connection to it was lost; the store reconnects
    /// by itself.
    Unreachable,
    /// The disk, or the database, is full.
    Full,
    /// The database cannot be written: a read-only file or file system, or a server that
    /// only reads.
    ReadOnly,
    /// Another process holds the database's write lock.
    Locked,
    /// Anything else: a failure that says nothing about the database's availability.
    Failed,
    /// The domain's code panicked on the request (a fold of its events, most likely): the
    /// request's transaction was rolled back and the writer goes on with the next.
    Panicked,
}

impl Fault {
    /// Whether the fault is the database's state rather than this request's (so that every
    /// request would fail alike until it changes).
    pub fn is_availability(self) -> bool {
        !matches!(self, Fault::Failed | Fault::Panicked)
    }
}

/// A failure of the database itself (never of the caller's input): its kind, and what the
/// database said, which is logged and never sent to clients.
#[derive(Clone, Debug)]
pub struct StoreError {
    /// What kind of failure.
    pub fault: Fault,
    /// What happened, for the log.
    pub message: String,
}

impl StoreError {
    /// An error of a given kind.
    pub fn new(fault: Fault, message: impl Into<String>) -> Self {
        StoreError { fault, message: message.into() }
    }

    /// A failure of no particular kind ([`Fault::Failed`]).
    pub fn failed(message: impl Into<String>) -> Self {
        StoreError::new(Fault::Failed, message)
    }

    /// The domain's code panicked ([`Fault::Panicked`]) with `panic`'s payload.
    pub fn panicked(panic: &(dyn std::any::Any + Send)) -> Self {
        StoreError::new(
            Fault::Panicked,
            format!("the domain's code panicked: {}", panic_text(panic)),
        )
    }
}

/// What a panic said, when it said it with a string.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => text,
        (_, Some(text)) => text,
        _ => "(no message)",
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let fault = match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Fault::Full,
            Some(ErrorCode::ReadOnly) => Fault::ReadOnly,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Fault::Locked,
            // The file could not be opened, read or written: the store opens it again.
            Some(ErrorCode::CannotOpen | ErrorCode::SystemIoFailure) => Fault::Unreachable,
            _ => Fault::Failed,
        };
        StoreError::new(fault, format!("sqlite: {err}"))
    }
}

#[cfg(feature = "postgres")]
impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let fault = match err.code() {
            Some(code) if *code == SqlState::DISK_FULL => Fault::Full,
            Some(code) if *code == SqlState::READ_ONLY_SQL_TRANSACTION => Fault::ReadOnly,
            // Connection exceptions (class 08), a server shutting down, crashed or starting
            // (57P01-57P03), too many connections, a session ended by a timeout.
            Some(code)
                if code.code().starts_with("08")
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                        SqlState::TOO_MANY_CONNECTIONS,
                        SqlState::IDLE_SESSION_TIMEOUT,
                        SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                    ]
                    .contains(code) =>
            {
                Fault::Unreachable
            }
            Some(_) => Fault::Failed,
            // Not an answer of the server: a closed connection, or a socket that failed or
            // timed out.
            None if err.is_closed() || is_io(&err) => Fault::Unreachable,
            None => Fault::Failed,
        };
        let mut message = format!("postgres: {err}");
        if let Some(db) = err.as_db_error() {
            message = format!("postgres: {}: {}", db.code().code(), db.message());
        } else if let Some(source) = std::error::Error::source(&err) {
            message = format!("postgres: {err}: {source}");
        }
        StoreError::new(fault, message)
    }
}

/// Whether a PostgreSQL error came from the socket (connecting, reading or writing).
#[cfg(feature = "postgres")]
fn is_io(err: &tokio_postgres::Error) -> bool {
    std::error::Error::source(err).is_some_and(|source| source.is::<std::io::Error>())
}

impl From<annals_core::json::Error> for StoreError {
    fn from(error: annals_core::json::Error) -> Self {
        StoreError::failed(format!("stored JSON: {error}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        StoreError::failed(format!("stored json: {err}"))
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    fn sqlite_error(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_errors_are_sorted_by_what_a_caller_can_do() {
        use rusqlite::ffi;
        for (code, fault) in [
            (ffi::SQLITE_FULL, Fault::Full),
            (ffi::SQLITE_READONLY, Fault::ReadOnly),
            (ffi::SQLITE_READONLY_DBMOVED, Fault::ReadOnly),
            (ffi::SQLITE_BUSY, Fault::Locked),
            (ffi::SQLITE_LOCKED, Fault::Locked),
            (ffi::SQLITE_IOERR_WRITE, Fault::Unreachable),
            (ffi::SQLITE_CANTOPEN, Fault::Unreachable),
            (ffi::SQLITE_CONSTRAINT, Fault::Failed),
            (ffi::SQLITE_CORRUPT, Fault::Failed),
        ] {
            assert_eq!(StoreError::from(sqlite_error(code)).fault, fault, "code {code}");
        }
        assert_eq!(StoreError::from(rusqlite::Error::QueryReturnedNoRows).fault, Fault::Failed);
    }
}
