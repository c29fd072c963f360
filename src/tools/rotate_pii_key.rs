//! `zhucan rotate-pii-key`: re-encrypts personal data under the current key, and recomputes the
//! keyed hashes it is found by (the ID number's and the phones'); and the fill of the phone
//! hashes that `serve` runs at start for rows written before phones were hashed.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::models::persons::{PiiChanges, PiiRow};
use crate::db::queries::persons as q;
use crate::domain::pii::PiiCipher;

/// Rows per batch.
const BATCH: i64 = 1000;

/// The phone hashes a row should hold under the current key, where they differ from its own.
fn phone_changes(cipher: &PiiCipher, row: &PiiRow) -> PiiChanges {
    let hash = |p: &Option<String>| p.as_deref().and_then(|p| cipher.phone_index(p));
    let (phone, guardian) = (hash(&row.phone), hash(&row.guardian_phone));
    PiiChanges {
        phone_hash: (phone != row.phone_hash).then_some(phone),
        guardian_phone_hash: (guardian != row.guardian_phone_hash).then_some(guardian),
        ..PiiChanges::default()
    }
}

/// Re-encrypts every person's ID number under the current key and rehashes it and the phones,
/// in batches, while the service keeps running (servers read both keys until the rotation is
/// done). Returns (re-encrypted, already current). Rows changed meanwhile are retried on the
/// next run.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    cipher: &PiiCipher,
) -> anyhow::Result<(usize, usize)> {
    let (mut rotated, mut current) = (0, 0);
    let mut after = Uuid::nil();
    loop {
        let batch = q::pii_batch(conn, after, BATCH, false).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for row in batch {
            let mut changes = phone_changes(cipher, &row);
            let sealed_current = cipher.is_current(row.id, "id_number", &row.id_number_enc);
            if !sealed_current {
                let clear = cipher
                    .open(row.id, "id_number", &row.id_number_enc)
                    .map_err(|e| anyhow::anyhow!("person {}: {e}", row.id))?;
                changes.id_number_enc = Some(cipher.seal(row.id, "id_number", &clear));
                changes.id_number_hash = Some(cipher.blind_index(&clear));
            }
            let unchanged = changes.id_number_enc.is_none()
                && changes.phone_hash.is_none()
                && changes.guardian_phone_hash.is_none();
            if sealed_current {
                current += 1;
            }
            if unchanged {
                continue;
            }
            let n = q::update_pii(conn, &row, &changes).await?;
            if !sealed_current {
                rotated += n;
            }
        }
    }
    Ok((rotated, current))
}

/// Hashes the phones of persons written before phones were hashed (or by a build that did not
/// hash them). Cheap when there are none: an index holds exactly the rows that need it. Returns
/// the rows filled.
pub async fn hash_phones(
    conn: &mut AsyncPgConnection,
    cipher: &PiiCipher,
) -> anyhow::Result<usize> {
    let mut filled = 0;
    let mut after = Uuid::nil();
    loop {
        // by id, once each: a phone with too few digits to hash stays unhashed, and is not read again
        let batch = q::pii_batch(conn, after, BATCH, true).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for row in batch {
            let changes = phone_changes(cipher, &row);
            if changes.phone_hash.is_some() || changes.guardian_phone_hash.is_some() {
                filled += q::update_pii(conn, &row, &changes).await?;
            }
        }
    }
    Ok(filled)
}
