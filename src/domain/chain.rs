//! Hash chains: every need event and every ledger row carries the SHA-256 of the previous
//! row's hash and its own canonical content, so `zhucan verify` finds any row altered or
//! removed behind the application's back.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// One link: SHA-256 over the previous hash (none for the first row) and the canonical content.
pub fn link(prev: Option<&[u8]>, content: &Value) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev.unwrap_or(&[]));
    h.update(content.to_string().as_bytes());
    h.finalize().to_vec()
}

/// A timestamp as the chain writes it: microseconds, UTC, always six digits.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// What a need event's hash covers.
pub struct EventFacts<'a> {
    /// The need.
    pub need_id: Uuid,
    /// 1, 2, …
    pub seq: i32,
    /// Its city.
    pub city_id: Uuid,
    /// What happened.
    pub action: &'a str,
    /// The state before (none for filing).
    pub from_state: Option<&'a str>,
    /// The state after.
    pub to_state: &'a str,
    /// The level after.
    pub level: &'a str,
    /// The handler after.
    pub handler_organization_id: Uuid,
    /// Who (none for the system).
    pub actor_user_id: Option<Uuid>,
    /// The username, or `system`.
    pub actor: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// The action's details.
    pub payload: &'a Value,
}

/// The hash of a need event after `prev`.
pub fn event_hash(prev: Option<&[u8]>, e: &EventFacts<'_>) -> Vec<u8> {
    let content = json!({
        "need_id": e.need_id,
        "seq": e.seq,
        "city_id": e.city_id,
        "action": e.action,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "level": e.level,
        "handler_organization_id": e.handler_organization_id,
        "actor_user_id": e.actor_user_id,
        "actor": e.actor,
        "at": stamp(e.at),
        "payload": e.payload,
    });
    link(prev, &content)
}
