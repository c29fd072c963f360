//! Reading a `multipart/form-data` upload as it streams in: a few short text fields first (the
//! console's CSRF token), then the one field `file`, chunk by chunk into a sink (memory for an
//! import, a spool file for an attachment). The body is bounded by a limit and a deadline; a
//! client that trickles gets 408, one that sends too much 413.

use actix_multipart::{Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use crate::http::error::{AppError, AppResult};
use crate::service::attachments::{Refused, Spool, MAX_SIZE};

/// How long an upload may take to arrive (16 MiB at about 1 Mbit/s), against trickling clients.
pub const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The largest text field before the file (a CSRF token is 43 characters).
const TEXT_FIELD_LIMIT: usize = 1024;

/// Where the file's bytes go.
pub trait FileSink {
    /// Takes the next chunk of the file.
    fn chunk(&mut self, bytes: &[u8]) -> impl std::future::Future<Output = AppResult<()>>;
}

impl FileSink for Vec<u8> {
    async fn chunk(&mut self, bytes: &[u8]) -> AppResult<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

impl FileSink for Spool {
    async fn chunk(&mut self, bytes: &[u8]) -> AppResult<()> {
        self.write(bytes).await.map_err(refused)
    }
}

/// The answer to a refused attachment.
pub fn refused(r: Refused) -> AppError {
    match r {
        Refused::TooLarge => AppError::PayloadTooLarge(MAX_SIZE as usize),
        Refused::Unsupported | Refused::Empty => {
            AppError::UnsupportedMediaType("the field `file` must be a JPEG, PNG or PDF file")
        }
        Refused::Io(e) => AppError::Unavailable(format!("spool: {e}")),
    }
}

/// What a form held besides the file.
#[derive(Debug, Default)]
pub struct Form {
    /// The short text fields that came before the file, in order.
    pub fields: Vec<(String, String)>,
    /// The file's name as the client gave it.
    pub filename: Option<String>,
}

impl Form {
    /// A text field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Streams the form: the text fields named in `text` (before the file), then `file` into the
/// sink `open` makes once it has seen those fields (it may refuse: a bad CSRF token, a caller
/// who may not). A body over `limit` is 413, a form without `file` or with any other field 400.
pub async fn read<S, F>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    text: &[&str],
    open: F,
) -> AppResult<(Form, S)>
where
    S: FileSink,
    F: AsyncFnOnce(&Form) -> AppResult<S>,
{
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        return Err(AppError::UnsupportedMediaType(
            "send a multipart/form-data form with the field `file`",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(AppError::PayloadTooLarge(limit));
    }
    let mut seen = 0usize;
    let limited = payload.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > limit {
            Err(PayloadError::Overflow)
        } else {
            Ok(chunk)
        }
    });
    let mut multipart = Multipart::new(req.headers(), limited);
    let read = async {
        let mut form = Form::default();
        let mut open = Some(open);
        let mut sink: Option<S> = None;
        while let Some(field) = multipart.next().await {
            let mut field = field.map_err(|e| multipart_error(e, limit))?;
            let name = field.name().unwrap_or_default().to_string();
            if name == "file" && sink.is_none() {
                form.filename = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(str::to_string);
                let Some(open) = open.take() else {
                    break;
                };
                let mut s = open(&form).await?;
                while let Some(chunk) = field.next().await {
                    s.chunk(&chunk.map_err(|e| multipart_error(e, limit))?)
                        .await?;
                }
                sink = Some(s);
            } else if name == "file" {
                // a second file is read and dropped, as before
                while let Some(chunk) = field.next().await {
                    chunk.map_err(|e| multipart_error(e, limit))?;
                }
            } else if sink.is_none() && text.contains(&name.as_str()) {
                let mut value = Vec::new();
                while let Some(chunk) = field.next().await {
                    value.extend_from_slice(&chunk.map_err(|e| multipart_error(e, limit))?);
                    if value.len() > TEXT_FIELD_LIMIT {
                        return Err(AppError::Malformed(format!(
                            "the field `{name}` is too long"
                        )));
                    }
                }
                form.fields
                    .push((name, String::from_utf8_lossy(&value).into_owned()));
            } else {
                return Err(AppError::Malformed(format!(
                    "the form may hold only the field `file`{}",
                    if text.is_empty() {
                        ""
                    } else {
                        " (and, before it, its hidden fields)"
                    }
                )));
            }
        }
        match sink {
            Some(s) => Ok((form, s)),
            None => Err(AppError::Malformed(
                "the form has no field `file`: send the file as `file`".into(),
            )),
        }
    };
    tokio::time::timeout(UPLOAD_TIMEOUT, read)
        .await
        .map_err(|_| AppError::RequestTimeout)?
}

fn multipart_error(e: MultipartError, limit: usize) -> AppError {
    match e {
        MultipartError::Payload(PayloadError::Overflow) => AppError::PayloadTooLarge(limit),
        other => AppError::Malformed(format!("the multipart form is not readable: {other}")),
    }
}
