//! One application error, rendered as RFC 9457 problem+json at the edge.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
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

/// The problem+json body every error answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, for a human.
    pub detail: String,
    /// A stable machine-readable code (`not_found`, `validation_failed`, ...).
    pub code: String,
    /// Per-field errors (validation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// Everything a request can fail with. Each variant names its status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
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

/// Shorthand for handler results.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A 422 for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            code: "validation_failed",
            errors: vec![FieldError::new(field, message)],
        }
    }

    /// A 422 for several fields (or `Ok` when there are none).
    pub fn check(errors: Vec<FieldError>) -> AppResult<()> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation {
                code: "validation_failed",
                errors,
            })
        }
    }

    /// A 409 with a code.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// An unexpected failure: logged, answered as a generic 500.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            AppError::Malformed(d) => (
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "Malformed request body",
                d.clone(),
            ),
            AppError::Unauthorized(d) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                (*d).to_string(),
            ),
            AppError::Forbidden(d) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                (*d).to_string(),
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                "the resource does not exist".to_string(),
            ),
            AppError::Conflict { code, detail } => {
                (StatusCode::CONFLICT, code, "Conflict", detail.clone())
            }
            AppError::PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "Precondition failed",
                "the resource has changed since the version in If-Match".to_string(),
            ),
            AppError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                format!("the body exceeds the limit of {limit} bytes"),
            ),
            AppError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
                "the request body did not arrive in time".to_string(),
            ),
            AppError::MethodNotAllowed(allow) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
                format!("this path answers only {allow}"),
            ),
            AppError::UnsupportedMediaType(d) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                (*d).to_string(),
            ),
            AppError::Validation { code, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "Validation failed",
                "one or more fields are invalid".to_string(),
            ),
            AppError::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "precondition_required",
                "Precondition required",
                "this request needs an If-Match header with the resource's version".to_string(),
            ),
            AppError::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
                "too many attempts; try again later".to_string(),
            ),
            AppError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "the database is unavailable; try again shortly".to_string(),
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "an unexpected error occurred".to_string(),
            ),
        }
    }

    /// The problem body for this error.
    pub fn problem(&self) -> Problem {
        let (status, code, title, detail) = self.parts();
        Problem {
            type_: format!("https://zhucan.dev/problems/{}", code.replace('_', "-")),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            code: code.to_string(),
            errors: match self {
                AppError::Validation { errors, .. } => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(cause) => tracing::error!(%cause, "internal error"),
            AppError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            AppError::RateLimited(secs) => {
                resp.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            AppError::Unavailable(_) => {
                resp.insert_header((header::RETRY_AFTER, "2"));
            }
            AppError::MethodNotAllowed(allow) => {
                resp.insert_header((header::ALLOW, allow.clone()));
            }
            _ => {}
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => AppError::NotFound,
            E::DatabaseError(K::UniqueViolation, info) => {
                let constraint = info.constraint_name().unwrap_or("");
                AppError::conflict("duplicate", duplicate_detail(constraint))
            }
            E::DatabaseError(K::SerializationFailure, _) => {
                AppError::conflict("conflict", "a concurrent change won; retry")
            }
            E::DatabaseError(K::ClosedConnection, info) => {
                AppError::Unavailable(info.message().to_string())
            }
            E::DatabaseError(K::Unknown, ref info)
                if info
                    .message()
                    .contains("canceling statement due to statement timeout")
                    || info.message().contains("lock timeout") =>
            {
                AppError::Unavailable(info.message().to_string())
            }
            E::DatabaseError(K::ExclusionViolation, _) => {
                AppError::conflict("conflict", "overlaps an existing entry")
            }
            other => {
                let text = other.to_string();
                if text.contains("connection") || text.contains("Connection") {
                    AppError::Unavailable(text)
                } else {
                    AppError::Internal(text)
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
        "organizations_singleton_key" => {
            "this unit already has an organisation of that kind".into()
        }
        _ => "already exists".into(),
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}
