//! `zhucan rotate-pii-key`: re-encrypts personal data under the current key.

use uuid::Uuid;

use crate::domain::pii::PiiCipher;

/// Re-encrypts every person's ID number under the current key, in batches, while the service
/// keeps running (servers read both keys until the rotation is done). Returns (re-encrypted,
/// already current). Rows changed meanwhile are retried on the next run.
pub async fn rotate(
    conn: &mut diesel_async::AsyncPgConnection,
    cipher: &PiiCipher,
) -> anyhow::Result<(usize, usize)> {
    use crate::db::schema::persons;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let (mut rotated, mut current) = (0, 0);
    let mut after = Uuid::nil();
    loop {
        let batch: Vec<(Uuid, Vec<u8>)> = persons::table
            .filter(persons::id.gt(after))
            .order(persons::id)
            .limit(1000)
            .select((persons::id, persons::id_number_enc))
            .load(conn)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.0;
        for (id, sealed) in batch {
            if cipher.is_current(id, "id_number", &sealed) {
                current += 1;
                continue;
            }
            let clear = cipher
                .open(id, "id_number", &sealed)
                .map_err(|e| anyhow::anyhow!("person {id}: {e}"))?;
            let n = diesel::update(
                persons::table
                    .filter(persons::id.eq(id))
                    .filter(persons::id_number_enc.eq(&sealed)),
            )
            .set((
                persons::id_number_enc.eq(cipher.seal(id, "id_number", &clear)),
                persons::id_number_hash.eq(cipher.blind_index(&clear)),
            ))
            .execute(conn)
            .await?;
            rotated += n;
        }
    }
    Ok((rotated, current))
}
