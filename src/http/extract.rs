//! Request extractors: strict JSON bodies, query strings, `If-Match`, pagination.

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

use super::error::{AppError, AppResult, FieldError};

/// The largest JSON body accepted (imports have their own limit).
pub const JSON_LIMIT: usize = 64 * 1024;

/// How long a JSON body may take to arrive.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON body parsed strictly: 400 when it is not JSON, 422 naming the field when it does not fit.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Body::from_request(req, payload);
        Box::pin(async move { body.await?.json().map(Json) })
    }
}

/// A raw body of at most `JSON_LIMIT` bytes, parsed later so that 404 and 403 come before 400/422.
pub struct Body {
    bytes: web::Bytes,
    json_declared: bool,
}

impl Body {
    /// Parses the body as JSON (415 when declared as something else).
    pub fn json<T: DeserializeOwned>(&self) -> AppResult<T> {
        if !self.json_declared {
            return Err(AppError::UnsupportedMediaType(
                "send the body as application/json",
            ));
        }
        parse_json(&self.bytes)
    }

    /// Whether the body is empty (or only whitespace).
    pub fn is_empty(&self) -> bool {
        self.bytes.iter().all(|b| b.is_ascii_whitespace())
    }
}

impl FromRequest for Body {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json_declared = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_ascii_lowercase())
            .is_none_or(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_len.is_some_and(|n| n > JSON_LIMIT) {
                return Err(AppError::PayloadTooLarge(JSON_LIMIT));
            }
            // a body that trickles in is cut off: the whole of it must arrive within BODY_TIMEOUT
            let read = async {
                let mut body = web::BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|e| AppError::Malformed(e.to_string()))?;
                    if body.len() + chunk.len() > JSON_LIMIT {
                        return Err(AppError::PayloadTooLarge(JSON_LIMIT));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = tokio::time::timeout(BODY_TIMEOUT, read)
                .await
                .map_err(|_| AppError::RequestTimeout)??;
            Ok(Body {
                bytes: body.freeze(),
                json_declared,
            })
        })
    }
}

/// Parses JSON with the path of the failing field, mapped to 400 or 422.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> AppResult<T> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(AppError::Malformed(
            "the body is empty; send a JSON object".into(),
        ));
    }
    // syntax before shape: a body that breaks is 400 whatever stands before the break (an
    // unknown or misspelt field included), so check it is JSON at all before fitting it to `T`
    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        return Err(AppError::Malformed(format!(
            "the body is not valid JSON: {err}"
        )));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => match nul_in_json(body) {
            // PostgreSQL text cannot hold U+0000: refuse it here, naming the field, not at the INSERT
            Some(field) => Err(AppError::field(field, NUL_MESSAGE)),
            None => Ok(v),
        },
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Syntax | Category::Eof | Category::Io => Err(AppError::Malformed(
                    format!("the body is not valid JSON: {inner}"),
                )),
                Category::Data => Err(data_error(&path, &inner.to_string())),
            }
        }
    }
}

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The path of the first string (or key) in a JSON body that holds U+0000, if any.
fn nul_in_json(body: &[u8]) -> Option<String> {
    // JSON can carry U+0000 only as the escape `\u0000`; most bodies are spared the second parse
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    fn walk(v: &serde_json::Value, path: String) -> Option<String> {
        let named = |path: &str| {
            if path.is_empty() {
                "body".to_string()
            } else {
                path.to_string()
            }
        };
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(named(&path)),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.contains('\0') {
                    Some(here)
                } else {
                    walk(item, here)
                }
            }),
            _ => None,
        }
    }
    walk(&value, String::new())
}

/// Turns a serde data error into a 422 naming the field.
pub(crate) fn data_error(path: &str, message: &str) -> AppError {
    // serde reports missing and unknown fields at the parent's path; name the field itself
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"));
    let field = match (named, path) {
        (Some(name), p) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
        (Some(name), "." | "") => name.to_string(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "." | "") => "body".to_string(),
        (None, p) => p.to_string(),
    };
    let message = if message.starts_with("unknown field") {
        "unknown field (or one that may not be set)".to_string()
    } else if message.starts_with("missing field") {
        "is required".to_string()
    } else {
        message
    };
    AppError::Validation {
        code: "validation_failed",
        errors: vec![FieldError::new(field, message)],
    }
}

/// The query string parsed strictly, 422 naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let qs = req.query_string();
        if let Some((name, _)) = form_urlencoded::parse(qs.as_bytes())
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return std::future::ready(Err(AppError::field(name.into_owned(), NUL_MESSAGE)));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(qs.as_bytes()));
        std::future::ready(
            serde_path_to_error::deserialize::<_, T>(de)
                .map(Query)
                .map_err(|err| {
                    let path = err.path().to_string();
                    data_error(&path, &err.into_inner().to_string())
                }),
        )
    }
}

/// Parses a UUID path segment; anything else is simply not found.
pub fn path_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

/// The version in `If-Match` (`"3"`, `W/"3"` or `3`): 428 when absent, 412 when unreadable.
pub fn if_match(req: &HttpRequest) -> AppResult<i32> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or(AppError::PreconditionRequired)?
        .to_str()
        .map_err(|_| AppError::PreconditionFailed)?
        .trim();
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    raw.trim_matches('"')
        .parse::<i32>()
        .map_err(|_| AppError::PreconditionFailed)
}

/// The `ETag` value for a version.
pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

pub use crate::service::page::{
    decode_cursor, encode_cursor, Page, PageQuery, SeqPage, DEFAULT_LIMIT, MAX_LIMIT,
};

impl crate::service::needs::RawBody for Body {
    fn parse<T: DeserializeOwned>(&self) -> AppResult<T> {
        self.json()
    }

    fn is_empty(&self) -> bool {
        Body::is_empty(self)
    }
}

/// The `Idempotency-Key` header, if sent: visible ASCII, 1–200 characters (422 otherwise).
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = req
            .headers()
            .get("Idempotency-Key")
            .map(|v| v.to_str().map(|s| s.trim().to_string()))
            .transpose()
            .map_err(|_| AppError::field("Idempotency-Key", "must be visible ASCII"))
            .and_then(|key| match key {
                Some(k) if k.is_empty() || k.len() > 200 => {
                    Err(AppError::field("Idempotency-Key", "1–200 characters"))
                }
                k => Ok(IdempotencyKey(k)),
            });
        std::future::ready(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the parse outcome matters")]
    struct Login {
        username: String,
        password: String,
    }

    fn code(r: AppResult<Login>) -> (&'static str, Vec<String>) {
        match r {
            Ok(_) => ("ok", vec![]),
            Err(AppError::Malformed(_)) => ("malformed_body", vec![]),
            Err(AppError::Validation { code, errors }) => {
                (code, errors.into_iter().map(|e| e.field).collect())
            }
            Err(_) => ("other", vec![]),
        }
    }

    #[test]
    fn a_body_that_breaks_is_malformed_whatever_stands_before_the_break() {
        for body in [
            r#"{"name": "张三", "id_number": "#,
            r#"{"username": "a", "password": "#,
            r#"{"username": 1"#,
            r#"{"extra": [1, 2}"#,
            r#"{"username": "a", "password": "b"} trailing"#,
            r#"{"username": "a", "password": "b"}{}"#,
            "[1, 2",
            "nul\u{0}",
        ] {
            assert_eq!(
                code(parse_json::<Login>(body.as_bytes())).0,
                "malformed_body",
                "{body}"
            );
        }
    }

    #[test]
    fn well_formed_json_of_the_wrong_shape_is_422_naming_the_field() {
        assert_eq!(
            code(parse_json::<Login>(
                br#"{"name": "x", "username": "a", "password": "b"}"#
            )),
            ("validation_failed", vec!["name".to_string()])
        );
        assert_eq!(
            code(parse_json::<Login>(br#"{"username": "a"}"#)),
            ("validation_failed", vec!["password".to_string()])
        );
        assert_eq!(
            code(parse_json::<Login>(
                br#"{"username": "a\u0000", "password": "b"}"#
            )),
            ("validation_failed", vec!["username".to_string()])
        );
        assert_eq!(
            code(parse_json::<Login>(
                br#"{"username": "a", "password": "b"}"#
            ))
            .0,
            "ok"
        );
    }
}
