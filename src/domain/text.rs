//! Free text as users type it: trimming, phone numbers, and PATCH bodies' "absent vs null".

use serde::{Deserialize, Deserializer};

/// Distinguishes an absent field (`None`) from an explicit null (`Some(None)`) in PATCH bodies.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Trims a free-text field; empty becomes `None`.
pub fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Checks a phone number: digits, spaces, `+` and `-`, 5–20 characters.
pub fn phone_ok(p: &str) -> bool {
    let n = p.chars().count();
    (5..=20).contains(&n) && p.chars().all(|c| c.is_ascii_digit() || " +-".contains(c))
}
