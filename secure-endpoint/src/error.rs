//! The error type handlers return. How it is answered (its body, the sanitized 500) is
//! `rejection/`'s business: this file only says what the error is.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

/// An error a handler returns with `?`.
///
/// Any `std::error::Error + Send + Sync + 'static` converts into it. Such an error is
/// internal: the client receives only
/// `500 {"error":"An unexpected error occurred","request_id":"…"}`, and the error with its
/// whole `source()` chain goes to the log under the same request id.
///
/// A refusal meant for the client is built on purpose with [`Error::client`] and passes
/// through as written.
///
/// ```
/// use secure_endpoint::{Error, public};
///
/// #[public]
/// async fn read_config() -> Result<String, Error> {
///     let text = std::fs::read_to_string("/nonexistent/config.toml")?; // io::Error → 500
///     Ok(text)
/// }
///
/// #[public]
/// async fn register() -> Result<&'static str, Error> {
///     Err(Error::client(http::StatusCode::CONFLICT, "Username already taken"))
/// }
/// ```
pub struct Error {
    kind: Kind,
}

enum Kind {
    Internal(Box<dyn std::error::Error + Send + Sync + 'static>),
    Client {
        status: StatusCode,
        message: Cow<'static, str>,
    },
}

impl Error {
    /// A refusal the client is meant to read: `status` with `{"error": message}`.
    ///
    /// `status` should be a 4xx; a 5xx is treated as internal and its message is not sent.
    pub fn client(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind: Kind::Client {
                status,
                message: message.into(),
            },
        }
    }

    /// An internal error from a message, for failures that have no error type.
    pub fn internal(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Internal(message.into().into()),
        }
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        Error {
            kind: Kind::Internal(Box::new(error)),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Internal(error) => f.debug_tuple("Internal").field(error).finish(),
            Kind::Client { status, message } => f
                .debug_struct("Client")
                .field("status", status)
                .field("message", message)
                .finish(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Internal(error) => {
                write!(f, "{error}")?;
                let mut source = error.source();
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            Kind::Client { status, message } => write!(f, "{status}: {message}"),
        }
    }
}

/// The detail of an internal error, carried on the response to the outer layer, which
/// logs it with the request id and never sends it.
#[derive(Clone, Debug)]
pub(crate) struct ErrorReport(pub(crate) String);

impl Error {
    /// What the client may read, a 4xx status with the handler's message; else the
    /// detail for the log, which the client never reads.
    pub(crate) fn into_parts(self) -> Result<(StatusCode, Cow<'static, str>), ErrorReport> {
        match self.kind {
            Kind::Client { status, message } if !status.is_server_error() => Ok((status, message)),
            _ => Err(ErrorReport(self.to_string())),
        }
    }
}
