//! problem+json at the edge: how the crate's [`Error`](crate::error::Error) answers over HTTP.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::error::{Error as AppError, FieldError};

/// Shorthand for handler results.
pub type AppResult<T> = Result<T, AppError>;

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
    /// `possible_duplicate` only: the open need of the same person and category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_need_id: Option<uuid::Uuid>,
    /// `possible_duplicate` only: that need's case number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_case_number: Option<String>,
}

/// How an error reads as a problem.
pub trait AsProblem {
    /// The status, the code, the title and the detail.
    fn parts(&self) -> (StatusCode, &'static str, &'static str, String);
    /// The problem body for this error.
    fn problem(&self) -> Problem;
}

impl AsProblem for AppError {
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
            AppError::PossibleDuplicate {
                existing_case_number,
                ..
            } => (
                StatusCode::CONFLICT,
                "possible_duplicate",
                "Possible duplicate",
                format!(
                    "the person already has an open need of this category ({existing_case_number}); \
                     send confirm_duplicate: true to file this one all the same"
                ),
            ),
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
    fn problem(&self) -> Problem {
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
            existing_need_id: match self {
                AppError::PossibleDuplicate {
                    existing_need_id, ..
                } => Some(*existing_need_id),
                _ => None,
            },
            existing_case_number: match self {
                AppError::PossibleDuplicate {
                    existing_case_number,
                    ..
                } => Some(existing_case_number.clone()),
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
