//! Rows as the database holds them (`Queryable`/`Selectable`), and the forms that write them
//! (`Insertable`/`AsChangeset`). Rows never go on the wire: the service builds its outputs from them.
pub mod audit;
pub mod duty;
pub mod helpers;
pub mod needs;
pub mod persons;
pub mod places;
pub mod webhooks;
pub mod words;
