//! Rows as the database holds them (`Queryable`/`Selectable`), and the forms that write them
//! (`Insertable`/`AsChangeset`). Rows never go on the wire: the service builds its outputs from them.

pub mod attachments;
pub mod audit;
pub mod campaigns;
pub mod duty;
pub mod helpers;
pub mod ledger;
pub mod needs;
pub mod notifications;
pub mod org;
pub mod persons;
pub mod places;
pub mod reports;
pub mod roster;
pub mod sessions;
pub mod sla;
pub mod tokens;
pub mod users;
pub mod volunteers;
pub mod webhooks;
pub mod words;
