//! The JSON timestamp writers now live in [`crate::domain::ts`] (service outputs use them too);
//! this path stays for the handlers that still name it.

pub use crate::domain::ts::{utc, utc_opt};
