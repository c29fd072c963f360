//! A posted form (`application/x-www-form-urlencoded`), and its fields as the body of a use
//! case: the same `RawBody` seam the JSON API hands its bytes through, so a form is checked by
//! the same code, field by field, as a JSON body.

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

use super::Refusal;
use crate::error::{Error, Result};
use crate::http::extract::{data_error, JSON_LIMIT};
use crate::service::needs::RawBody;

/// Fields that steer the console and are no part of a use case's body.
const CONTROL: &[&str] = &["csrf", "version", "idempotency_key"];
/// Fields whose value is a number in the body.
const NUMBERS: &[&str] = &["satisfaction", "disability_grade"];
/// Fields whose value is true or false in the body.
const FLAGS: &[&str] = &["satisfied", "confirm_duplicate"];

/// The fields of a posted form, in order.
#[derive(Debug, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl FromRequest for Form {
    type Error = Refusal;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes
                .await
                .map_err(|e| Refusal::Failed(Error::Malformed(e.to_string())))?;
            if bytes.len() > JSON_LIMIT {
                return Err(Refusal::Failed(Error::PayloadTooLarge(JSON_LIMIT)));
            }
            Ok(Form::parse(&bytes))
        })
    }
}

impl Form {
    /// A form from its urlencoded bytes.
    pub fn parse(bytes: &[u8]) -> Form {
        Form {
            fields: form_urlencoded::parse(bytes).into_owned().collect(),
        }
    }

    /// A field's value (the first, if sent twice).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's value, or empty.
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The `version` hidden field, as `If-Match` would carry it (428 when absent).
    pub fn version(&self) -> Result<i32> {
        match self.get("version") {
            None | Some("") => Err(Error::PreconditionRequired),
            Some(v) => v.trim().parse().map_err(|_| Error::PreconditionFailed),
        }
    }

    /// The form's fields as a use case's body: blank fields left out (absent, as in JSON),
    /// numbers and flags typed, `name[i]` fields gathered into the list `name`; `extra` added (what the URL says, such as the person).
    pub fn body(&self, extra: &[(&str, Value)]) -> FormBody {
        let mut map = Map::new();
        for (k, v) in &self.fields {
            let v = v.trim();
            if v.is_empty() || CONTROL.contains(&k.as_str()) {
                continue;
            }
            // `helper_ids[0]`, `helper_ids[1]` …: the items of a list, in the form's order
            if let Some((list, _)) = k.strip_suffix(']').and_then(|k| k.split_once('[')) {
                let entry = map
                    .entry(list.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(Value::from(v));
                }
                continue;
            }
            if map.contains_key(k) {
                continue;
            }
            let value = if NUMBERS.contains(&k.as_str()) {
                v.parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::from(v))
            } else if FLAGS.contains(&k.as_str()) {
                match v {
                    "true" | "on" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    other => Value::from(other),
                }
            } else {
                Value::from(v)
            };
            map.insert(k.clone(), value);
        }
        for (k, v) in extra {
            map.insert((*k).to_string(), v.clone());
        }
        FormBody(Value::Object(map))
    }
}

/// A form's fields as a body for the service (see [`Form::body`]).
pub struct FormBody(Value);

impl RawBody for FormBody {
    fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        serde_path_to_error::deserialize::<_, T>(&self.0).map_err(|err| {
            let path = err.path().to_string();
            data_error(&path, &err.into_inner().to_string())
        })
    }

    fn is_empty(&self) -> bool {
        self.0.as_object().is_none_or(Map::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_a_typed_body_without_its_control_fields() {
        let f = Form::parse(
            b"csrf=x&version=3&satisfied=true&satisfaction=4&note=+%E5%A5%BD+&reason=&confirm_duplicate=on",
        );
        assert_eq!(f.version().ok(), Some(3));
        let FormBody(v) = f.body(&[("person_id", Value::from("p"))]);
        assert_eq!(
            v,
            serde_json::json!({"satisfied": true, "satisfaction": 4, "note": "好", "confirm_duplicate": true, "person_id": "p"})
        );
        assert!(Form::parse(b"").version().is_err());
    }

    #[test]
    fn numbered_fields_become_a_list_without_their_blanks() {
        let f = Form::parse(b"helper_ids%5B0%5D=a&helper_ids%5B1%5D=&helper_ids%5B2%5D=c");
        let FormBody(v) = f.body(&[]);
        assert_eq!(v, serde_json::json!({"helper_ids": ["a", "c"]}));
    }
}
