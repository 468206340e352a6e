//! The one error type of the crate: [`Error`], with a [`kind`](Error::kind), the
//! [`path`](Error::path) involved and the cause in [`source`](std::error::Error::source).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A boxed error, the cause type that codecs and keys report.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result<T, dirkv::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a caller can act on.
///
/// New kinds may be added in minor releases, so match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The store path does not exist (opening with [`Exists::Update`](crate::Exists::Update)).
    NotFound,
    /// A store is already at the path (opening with [`Exists::Error`](crate::Exists::Error)).
    AlreadyExists,
    /// The path holds something that is not a dirkv store: a file, a dangling link, a
    /// non-empty folder without a manifest. It is never adopted and never deleted.
    NotAStore,
    /// The store was written by a newer dirkv or with other settings (key type, codec,
    /// shard depth) than the ones it is being opened with.
    IncompatibleFormat,
    /// A file of the store is damaged: truncated, wrong magic, checksum mismatch, a key
    /// that does not belong under its file name, a link or folder where an entry file
    /// should be. [`Error::path`] names the file.
    Corrupt,
    /// A write was attempted on a store opened with
    /// [`read_only(true)`](crate::Options::read_only).
    ReadOnly,
    /// The store's write lock could not be taken within the
    /// [`lock_timeout`](crate::Options::lock_timeout).
    Locked,
    /// An operating-system I/O error; [`Error::io_error_kind`] gives its kind.
    Io,
    /// A value or key could not be encoded by the codec.
    Encode,
    /// A stored value or key could not be decoded into the requested type (the file itself
    /// passed its checksum).
    Decode,
    /// The caller gave an argument the store cannot use.
    InvalidInput,
    /// The store is encrypted, and the key or passphrase given is not its key, or none
    /// was given.
    WrongKey,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::NotAStore => "not a dirkv store",
            ErrorKind::IncompatibleFormat => "incompatible format",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::ReadOnly => "read-only",
            ErrorKind::Locked => "locked",
            ErrorKind::Io => "I/O error",
            ErrorKind::Encode => "encode error",
            ErrorKind::Decode => "decode error",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::WrongKey => "wrong key",
        })
    }
}

/// The error type of every fallible dirkv operation.
///
/// `Display` says what dirkv was doing and on which path (a file, a folder, or an object's
/// URL); the underlying cause (an [`io::Error`], a codec error) is in
/// [`source`](std::error::Error::source). For [`Encode`](ErrorKind::Encode) and
/// [`Decode`](ErrorKind::Decode) errors `Display` also carries the cause (serde's
/// "missing field `name`") and the key where it is known, so that one log line is enough
/// to act on.
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    path: Option<PathBuf>,
    source: Option<BoxError>,
}

impl Error {
    /// A new error of `kind` with a message saying what went wrong.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: None,
            source: None,
        }
    }

    /// Attaches the path involved.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// An I/O error while `doing` something to `path`: always [`ErrorKind::Io`], with the
    /// [`io::Error`] as its source ([`Error::io_error_kind`] tells `NotFound`,
    /// `PermissionDenied`, `StorageFull` and the rest apart).
    pub(crate) fn io(doing: impl Into<Cow<'static, str>>, path: &Path, err: io::Error) -> Self {
        Error::new(ErrorKind::Io, doing)
            .with_path(path)
            .with_source(err)
    }

    /// A damaged file at `path`.
    pub(crate) fn corrupt(what: impl Into<Cow<'static, str>>, path: &Path) -> Self {
        Error::new(ErrorKind::Corrupt, what).with_path(path)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file or folder involved, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// For [`ErrorKind::Io`] errors, the kind of the underlying [`io::Error`] (for example
    /// `StorageFull`, `PermissionDenied`, `FileTooLarge`).
    pub fn io_error_kind(&self) -> Option<io::ErrorKind> {
        self.io_error().map(io::Error::kind)
    }

    /// The underlying [`io::Error`], when the cause is one (as walkdir's `io_error`).
    pub fn io_error(&self) -> Option<&io::Error> {
        self.source
            .as_ref()
            .and_then(|s| s.downcast_ref::<io::Error>())
    }

    /// Turns this error into the underlying [`io::Error`], when the cause is one; otherwise
    /// gives the error back.
    ///
    /// # Errors
    ///
    /// `Err(self)` when the cause is not an [`io::Error`].
    pub fn into_io_error(self) -> std::result::Result<io::Error, Self> {
        if self.io_error().is_none() {
            return Err(self);
        }
        match self.source.map(|s| s.downcast::<io::Error>()) {
            Some(Ok(err)) => Ok(*err),
            // Checked above; rebuilt so the branch needs no panic.
            Some(Err(source)) => Err(Error {
                kind: self.kind,
                message: self.message,
                path: self.path,
                source: Some(source),
            }),
            None => Err(Error {
                kind: self.kind,
                message: self.message,
                path: self.path,
                source: None,
            }),
        }
    }
}

/// Adds what dirkv was doing and on which path to an [`io::Error`] (the style of tempfile's
/// `IoResultExt`): `fs::remove_file(&p).ctx("cannot remove entry", &p)?`.
pub(crate) trait IoResultExt<T> {
    /// The error becomes an [`ErrorKind::Io`] error saying `doing`, naming `path`, with the
    /// `io::Error` as its source.
    fn ctx(self, doing: &'static str, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoResultExt<T> for io::Result<T> {
    fn ctx(self, doing: &'static str, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(doing, path.as_ref(), e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if matches!(self.kind, ErrorKind::Encode | ErrorKind::Decode)
            && let Some(source) = &self.source
        {
            write!(f, " ({source})")?;
        }
        if let Some(path) = &self.path {
            write!(f, ": {}", path.display())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(path) = &self.path {
            d.field("path", path);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<io::Error> for Error {
    /// An I/O error from outside dirkv (kind [`ErrorKind::Io`], no path), so that `?` works
    /// in functions that mix `std::io` and dirkv calls. `Display` keeps the cause's message.
    fn from(err: io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("I/O error: {err}")).with_source(err)
    }
}

impl From<Error> for io::Error {
    /// Lets dirkv errors flow through `io::Result` code. The dirkv error is kept as the
    /// inner error, so `Display` and the path survive.
    fn from(err: Error) -> io::Error {
        let kind = match err.kind {
            ErrorKind::NotFound => io::ErrorKind::NotFound,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::Corrupt | ErrorKind::Decode => io::ErrorKind::InvalidData,
            ErrorKind::ReadOnly | ErrorKind::WrongKey => io::ErrorKind::PermissionDenied,
            ErrorKind::Locked => io::ErrorKind::WouldBlock,
            ErrorKind::InvalidInput | ErrorKind::Encode => io::ErrorKind::InvalidInput,
            ErrorKind::Io => err.io_error_kind().unwrap_or(io::ErrorKind::Other),
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_names_path_and_keeps_cause_in_source() {
        let io = io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        let e = Error::io("cannot write entry", Path::new("/s/ab/x.dkv"), io);
        assert_eq!(e.to_string(), "cannot write entry: /s/ab/x.dkv");
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(e.io_error_kind(), Some(io::ErrorKind::PermissionDenied));
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("denied"));
        let back: io::Error = e.into();
        assert_eq!(back.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn decode_errors_show_their_cause_and_io_errors_convert() {
        let cause = io::Error::other("missing field `name`");
        let e = Error::new(ErrorKind::Decode, "cannot decode the value of key \"home\"")
            .with_path("/s/ab/x.dkv")
            .with_source(cause);
        assert_eq!(
            e.to_string(),
            "cannot decode the value of key \"home\" (missing field `name`): /s/ab/x.dkv"
        );
        let e: Error = io::Error::new(io::ErrorKind::StorageFull, "disk full").into();
        assert_eq!(e.to_string(), "I/O error: disk full");
        assert_eq!(
            e.io_error().map(io::Error::kind),
            Some(io::ErrorKind::StorageFull)
        );
        assert_eq!(
            e.into_io_error().map(|e| e.kind()).ok(),
            Some(io::ErrorKind::StorageFull)
        );
        let plain = Error::new(ErrorKind::Corrupt, "bad");
        assert!(plain.into_io_error().is_err());
        let r: io::Result<()> = Err(io::Error::from(io::ErrorKind::NotFound));
        let e = r.ctx("cannot open", "/x").unwrap_err();
        assert_eq!(
            (e.kind(), e.to_string()),
            (ErrorKind::Io, "cannot open: /x".to_owned())
        );
    }

    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }
}
