//! The crate's one error: every use case fails with it; `http::error` renders it as
//! RFC 9457 problem+json. Each variant names its status.

use serde::Serialize;
use utoipa::ToSchema;

/// One field that failed validation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// The field's JSON path (`helper_ids[1]`, `id_number`).
    pub field: String,
    /// What is wrong with it, in plain words.
    pub message: String,
}

impl FieldError {
    /// A field error from anything printable.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a request can fail with. Each variant names its status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `malformed_body`: the body is not JSON (or not the declared format).
    #[error("malformed body: {0}")]
    Malformed(String),
    /// 401 `unauthorized`: no valid credentials.
    #[error("unauthorized")]
    Unauthorized(&'static str),
    /// 403 `forbidden`: the caller's role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 404 `not_found`: absent, or outside the caller's scope (the two are indistinguishable).
    #[error("not found")]
    NotFound,
    /// 409 with a specific code (`invalid_transition`, `duplicate`, `conflict`, `insufficient_balance`).
    #[error("conflict {code}: {detail}")]
    Conflict {
        /// The machine code.
        code: &'static str,
        /// The human detail.
        detail: String,
    },
    /// 409 `possible_duplicate`: the person already has an open need of the category filed; the
    /// problem names it, and filing again with `confirm_duplicate: true` files all the same.
    #[error("possible duplicate of need {existing_need_id}")]
    PossibleDuplicate {
        /// The open need of the same person and category.
        existing_need_id: uuid::Uuid,
        /// Its case number.
        existing_case_number: String,
    },
    /// 412 `precondition_failed`: the `If-Match` version is stale.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 413 `payload_too_large`.
    #[error("payload too large")]
    PayloadTooLarge(usize),
    /// 408 `request_timeout`: the body did not arrive in time (a trickling client).
    #[error("request timeout")]
    RequestTimeout,
    /// 405 `method_not_allowed`: the path exists but not with this method; carries the `Allow` value.
    #[error("method not allowed")]
    MethodNotAllowed(String),
    /// 415 `unsupported_media_type`.
    #[error("unsupported media type")]
    UnsupportedMediaType(&'static str),
    /// 422 `validation_failed` (or another 422 code such as `idempotency_key_reused`).
    #[error("validation failed")]
    Validation {
        /// The machine code.
        code: &'static str,
        /// Every field that failed.
        errors: Vec<FieldError>,
    },
    /// 428 `precondition_required`: `If-Match` is missing.
    #[error("precondition required")]
    PreconditionRequired,
    /// 429 `rate_limited`, with `Retry-After` seconds.
    #[error("rate limited")]
    RateLimited(u64),
    /// 503 `unavailable`: the database cannot be reached right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: a bug. Logged with its cause; the body says nothing about it.
    #[error("internal: {0}")]
    Internal(String),
}

/// Shorthand for results of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 422 for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            code: "validation_failed",
            errors: vec![FieldError::new(field, message)],
        }
    }

    /// A 422 for several fields (or `Ok` when there are none).
    pub fn check(errors: Vec<FieldError>) -> Result<()> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation {
                code: "validation_failed",
                errors,
            })
        }
    }

    /// A 409 with a code.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// An unexpected failure: logged, answered as a generic 500.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => Error::NotFound,
            E::DatabaseError(K::UniqueViolation, info) => {
                let constraint = info.constraint_name().unwrap_or("");
                Error::conflict("duplicate", duplicate_detail(constraint))
            }
            E::DatabaseError(K::SerializationFailure, _) => {
                Error::conflict("conflict", "a concurrent change won; retry")
            }
            E::DatabaseError(K::ClosedConnection, info) => {
                Error::Unavailable(info.message().to_string())
            }
            E::DatabaseError(K::Unknown, ref info)
                if info
                    .message()
                    .contains("canceling statement due to statement timeout")
                    || info.message().contains("lock timeout") =>
            {
                Error::Unavailable(info.message().to_string())
            }
            E::DatabaseError(K::ExclusionViolation, _) => {
                Error::conflict("conflict", "overlaps an existing entry")
            }
            other => {
                let text = other.to_string();
                if text.contains("connection") || text.contains("Connection") {
                    Error::Unavailable(text)
                } else {
                    Error::Internal(text)
                }
            }
        }
    }
}

fn duplicate_detail(constraint: &str) -> String {
    match constraint {
        "persons_id_number_hash_key" => "a person with this id_number is already registered".into(),
        "users_username_key" => "this username is taken".into(),
        "org_units_code_key" => "an org unit with this code exists".into(),
        "needs_case_number_key" => "this case number is taken".into(),
        "organizations_singleton_key" => {
            "this unit already has an organisation of that kind".into()
        }
        _ => "already exists".into(),
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Error::Unavailable(e.to_string())
    }
}

impl From<crate::db::objects::ObjectError> for Error {
    fn from(e: crate::db::objects::ObjectError) -> Self {
        match e {
            crate::db::objects::ObjectError::Db(e) => e.into(),
            // the store (or the spool's disk) is infrastructure that is down, not a bug here
            other => Error::Unavailable(other.to_string()),
        }
    }
}
