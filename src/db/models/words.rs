//! The domain's words (states, loops, levels, urgencies, categories) read straight from their
//! `text` columns: a row holds a `State`, never a string to re-parse, and a word the domain does
//! not know fails the read instead of travelling on.

use diesel::deserialize::{self, FromSql, Queryable};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::Text;

use crate::domain::need::{Category, Level, Loop, State, Urgency};

macro_rules! text_word {
    ($($t:ty),+) => {$(
        impl FromSql<Text, Pg> for $t {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let raw = std::str::from_utf8(bytes.as_bytes())?;
                <$t>::parse(raw).ok_or_else(|| {
                    format!("unknown {} {raw:?}", stringify!($t)).into()
                })
            }
        }

        impl Queryable<Text, Pg> for $t {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }
    )+};
}

text_word!(State, Loop, Level, Urgency, Category);
