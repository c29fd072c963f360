//! Personal data at rest: the resident ID number is sealed with XChaCha20-Poly1305,
//! bound to its row (the row id is the associated data), and found by a keyed hash.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Format byte in front of every ciphertext, so a later scheme can coexist.
const FORMAT_V1: u8 = 1;

/// Seals and opens personal data, and derives its lookup hash.
#[derive(Clone)]
pub struct PiiCipher {
    aead: XChaCha20Poly1305,
    index_key: [u8; 32],
    /// The key being rotated away from (`PII_KEY_PREVIOUS`), still accepted for reading.
    previous: Option<Box<PiiCipher>>,
}

/// A ciphertext that does not open: altered, or copied from another row, or another key.
#[derive(Debug, thiserror::Error)]
#[error("personal data could not be decrypted (altered, moved, or another key)")]
pub struct OpenError;

impl PiiCipher {
    /// Builds the cipher from the 32-byte `PII_KEY`; the hash key is derived from it.
    pub fn new(key: &[u8; 32]) -> Self {
        let aead = XChaCha20Poly1305::new(key.into());
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| {
            // HMAC accepts keys of any length; this branch is unreachable.
            <HmacSha256 as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable!())
        });
        mac.update(b"zhucan/blind-index/v1");
        let index_key: [u8; 32] = mac.finalize().into_bytes().into();
        Self {
            aead,
            index_key,
            previous: None,
        }
    }

    /// During a key rotation: seal with `key`, still open and find what `previous` sealed.
    pub fn with_previous(key: &[u8; 32], previous: &[u8; 32]) -> Self {
        let mut c = Self::new(key);
        c.previous = Some(Box::new(Self::new(previous)));
        c
    }

    /// Whether `sealed` opens under the current key (as opposed to the previous one).
    pub fn is_current(&self, row_id: Uuid, field: &str, sealed: &[u8]) -> bool {
        self.open_current(row_id, field, sealed).is_ok()
    }

    /// Every keyed hash a value may be stored under (current key first, then the previous).
    pub fn blind_indexes(&self, value: &str) -> Vec<Vec<u8>> {
        let mut out = vec![self.blind_index(value)];
        if let Some(p) = &self.previous {
            out.push(p.blind_index(value));
        }
        out
    }

    fn aad(row_id: Uuid, field: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(16 + field.len());
        aad.extend_from_slice(row_id.as_bytes());
        aad.extend_from_slice(field.as_bytes());
        aad
    }

    /// Seals `clear` for the field `field` of row `row_id`.
    pub fn seal(&self, row_id: Uuid, field: &str, clear: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = Self::aad(row_id, field);
        let ct = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: clear.as_bytes(),
                    aad: &aad,
                },
            )
            // encryption with a valid key and nonce cannot fail for inputs under 256 GiB
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + nonce.len() + ct.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens what `seal` produced for the same row and field (under the current or previous key).
    pub fn open(&self, row_id: Uuid, field: &str, sealed: &[u8]) -> Result<String, OpenError> {
        match self.open_current(row_id, field, sealed) {
            Ok(v) => Ok(v),
            Err(e) => match &self.previous {
                Some(p) => p.open(row_id, field, sealed),
                None => Err(e),
            },
        }
    }

    fn open_current(&self, row_id: Uuid, field: &str, sealed: &[u8]) -> Result<String, OpenError> {
        if sealed.len() < 1 + 24 + 16 || sealed[0] != FORMAT_V1 {
            return Err(OpenError);
        }
        let nonce = XNonce::from_slice(&sealed[1..25]);
        let aad = Self::aad(row_id, field);
        let clear = self
            .aead
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[25..],
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError)?;
        String::from_utf8(clear).map_err(|_| OpenError)
    }

    /// The keyed hash of a phone number (its digits, without a +86 / 0086 prefix), kept
    /// apart from the ID number's hashes by a prefix; `None` when it has too few digits to be one.
    pub fn phone_index(&self, raw: &str) -> Option<Vec<u8>> {
        phone_digits(raw).map(|d| self.blind_index(&format!("phone:{d}")))
    }

    /// Every keyed hash a phone number may be stored under (current key first, then the previous).
    pub fn phone_indexes(&self, raw: &str) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self.phone_index(raw).into_iter().collect();
        if let Some(p) = &self.previous {
            out.extend(p.phone_index(raw));
        }
        out
    }

    /// The keyed hash used to find a value without decrypting every row.
    pub fn blind_index(&self, value: &str) -> Vec<u8> {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.index_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// A phone number as it is hashed: its digits, without the country code (`+86 138-0000-0000`,
/// `008613800000000` and `13800000000` are one number); `None` for anything with letters or
/// fewer than 5 digits (which no search should match).
pub fn phone_digits(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if !raw
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-'))
    {
        return None;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let national = if raw.starts_with("+86") {
        digits.strip_prefix("86").unwrap_or(&digits)
    } else {
        digits.strip_prefix("0086").unwrap_or(&digits)
    };
    (national.len() >= 5).then(|| national.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn one_phone_number_is_one_hash_however_it_is_written() {
        let c = PiiCipher::new(&[3u8; 32]);
        let h = c.phone_index("13800000000").unwrap();
        for same in ["138 0000 0000", "+86 138-0000-0000", "008613800000000"] {
            assert_eq!(c.phone_index(same).unwrap(), h, "{same}");
        }
        assert_ne!(c.phone_index("13800000001").unwrap(), h);
        assert_ne!(
            c.blind_index("13800000000"),
            h,
            "apart from ID-number hashes"
        );
        assert!(c.phone_index("张三").is_none());
        assert!(c.phone_index("1234").is_none());
    }

    use super::*;

    #[test]
    fn sealed_value_opens_only_on_its_own_row() {
        let c = PiiCipher::new(&[7u8; 32]);
        let row = Uuid::now_v7();
        let sealed = c.seal(row, "id_number", "11010519491231002X");
        assert_eq!(
            c.open(row, "id_number", &sealed).unwrap(),
            "11010519491231002X"
        );
        assert!(c.open(Uuid::now_v7(), "id_number", &sealed).is_err());
        assert!(c.open(row, "other", &sealed).is_err());
        let other_key = PiiCipher::new(&[8u8; 32]);
        assert!(other_key.open(row, "id_number", &sealed).is_err());
    }

    #[test]
    fn sealed_value_does_not_contain_the_clear_text() {
        let c = PiiCipher::new(&[7u8; 32]);
        let sealed = c.seal(Uuid::now_v7(), "id_number", "11010519491231002X");
        assert!(!sealed.windows(6).any(|w| w == b"110105" || w == b"491231"));
    }

    #[test]
    fn a_rotation_reads_both_keys_and_writes_the_new_one() {
        let old = PiiCipher::new(&[1u8; 32]);
        let row = Uuid::now_v7();
        let sealed_old = old.seal(row, "id_number", "x");
        let both = PiiCipher::with_previous(&[2u8; 32], &[1u8; 32]);
        assert_eq!(both.open(row, "id_number", &sealed_old).unwrap(), "x");
        assert!(!both.is_current(row, "id_number", &sealed_old));
        let sealed_new = both.seal(row, "id_number", "x");
        assert!(both.is_current(row, "id_number", &sealed_new));
        assert!(old.open(row, "id_number", &sealed_new).is_err());
        assert_eq!(
            both.blind_indexes("x"),
            vec![
                PiiCipher::new(&[2u8; 32]).blind_index("x"),
                old.blind_index("x")
            ]
        );
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let a = PiiCipher::new(&[1u8; 32]);
        let b = PiiCipher::new(&[2u8; 32]);
        assert_eq!(a.blind_index("x"), a.blind_index("x"));
        assert_ne!(a.blind_index("x"), a.blind_index("y"));
        assert_ne!(a.blind_index("x"), b.blind_index("x"));
    }
}
