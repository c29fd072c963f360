//! Filter parameters of list endpoints, checked.

use crate::error::{Error, Result};

/// A filter word parsed, or 422 naming the parameter and the words it takes.
pub fn word<T>(
    field: &str,
    raw: Option<String>,
    parse: fn(&str) -> Option<T>,
    words: String,
) -> Result<Option<T>> {
    match raw {
        None => Ok(None),
        Some(r) => parse(&r)
            .map(Some)
            .ok_or_else(|| Error::field(field, format!("must be one of {words}"))),
    }
}
