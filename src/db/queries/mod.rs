//! Query functions: they take a connection and return `QueryResult<T>`; the service layer
//! owns the transaction around them. Scope lives in [`scope`], once for every read path.

pub mod campaigns;
pub mod ledger;
pub mod reports;
pub mod roster;
pub mod scope;
pub mod sla;
pub mod unit;
pub mod volunteers;
