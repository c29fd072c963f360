//! Query functions: they take a connection and return `QueryResult<T>`; the service layer
//! owns the transaction around them. Scope lives in [`scope`], once for every read path.

pub mod audit;
pub mod campaigns;
pub mod deadlines;
pub mod duty;
pub mod health;
pub mod helpers;
pub mod idempotency;
pub mod ledger;
pub mod login_limits;
pub mod needs;
pub mod notifications;
pub mod org;
pub mod org_units;
pub mod organizations;
pub mod persons;
pub mod places;
pub mod reports;
pub mod roster;
pub mod scope;
pub mod sessions;
pub mod sla;
pub mod tokens;
pub mod users;
pub mod volunteers;
pub mod webhooks;

/// A LIKE pattern matching values that contain `text` literally (its `%`, `_` and `\\` escaped).
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
