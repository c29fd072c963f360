//! Query functions: they take a connection and return `QueryResult<T>`; the service layer
//! owns the transaction around them. Scope lives in [`scope`], once for every read path.

pub mod audit;
pub mod helpers;
pub mod persons;
pub mod places;
pub mod scope;
