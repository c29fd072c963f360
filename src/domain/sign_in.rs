//! The sign-in limits (SPEC §6 "Signing in as real deployments do"): only failures count.
//!
//! Per account name (known or not, so a lock reveals nothing about who exists): 5 failures
//! within 15 minutes lock it for 15 minutes. Per client address: at most 30 failures a minute.
//! A successful sign-in never counts. These functions decide; `db::queries::login_limits` keeps the
//! counts in PostgreSQL, so every API process shares them.

use chrono::{DateTime, Duration, Utc};

/// Failures within [`ACCOUNT_WINDOW`] that lock an account name.
pub const ACCOUNT_FAILURES: usize = 5;
/// How far back an account's failures count.
pub const ACCOUNT_WINDOW: Duration = Duration::minutes(15);
/// How long a locked account name stays locked.
pub const ACCOUNT_LOCK: Duration = Duration::minutes(15);
/// Failures within [`ADDRESS_WINDOW`] after which a client address is refused.
pub const ADDRESS_FAILURES: usize = 30;
/// How far back a client address's failures count.
pub const ADDRESS_WINDOW: Duration = Duration::minutes(1);

/// What the limits know about one attempt before its password is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// The database's clock when this was read.
    pub now: DateTime<Utc>,
    /// The [`ADDRESS_FAILURES`]-th most recent failure of the address within the window, when
    /// there are that many: the address is full until it leaves the window.
    pub address_full_since: Option<DateTime<Utc>>,
    /// Until when the account name is locked, if it ever was.
    pub account_locked_until: Option<DateTime<Utc>>,
}

impl Standing {
    /// Seconds the client must wait before trying again, or `None` when it may try now.
    pub fn retry_after(&self) -> Option<u64> {
        let address = self
            .address_full_since
            .map(|at| at + ADDRESS_WINDOW)
            .filter(|until| *until > self.now);
        let account = self.account_locked_until.filter(|until| *until > self.now);
        let until = address.max(account)?;
        Some(whole_seconds(until - self.now))
    }
}

/// A wait as `Retry-After` seconds: rounded up, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let ms = u64::try_from(wait.num_milliseconds()).unwrap_or(0).max(1);
    ms.div_ceil(1000)
}

/// An account name's failures after one more at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountAfterFailure {
    /// The failures that still count, oldest first, `now` last (at most [`ACCOUNT_FAILURES`]).
    pub recent: Vec<DateTime<Utc>>,
    /// Set when this failure locks the account name.
    pub locks_until: Option<DateTime<Utc>>,
}

/// Counts a failure against an account name whose earlier failures were at `recent`: those
/// older than the window drop out, and the [`ACCOUNT_FAILURES`]-th within it locks the name.
pub fn account_failure(recent: &[DateTime<Utc>], now: DateTime<Utc>) -> AccountAfterFailure {
    let mut kept: Vec<DateTime<Utc>> = recent
        .iter()
        .copied()
        .filter(|at| *at > now - ACCOUNT_WINDOW)
        .collect();
    kept.sort();
    kept.push(now);
    let excess = kept.len().saturating_sub(ACCOUNT_FAILURES);
    kept.drain(..excess);
    let locks_until = (kept.len() >= ACCOUNT_FAILURES).then(|| now + ACCOUNT_LOCK);
    AccountAfterFailure {
        recent: kept,
        locks_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn the_fifth_failure_within_the_window_locks_for_fifteen_minutes() {
        let mut recent = Vec::new();
        for i in 0..4 {
            let after = account_failure(&recent, t(i * 60));
            assert_eq!(after.locks_until, None, "failure {}", i + 1);
            recent = after.recent;
        }
        let fifth = account_failure(&recent, t(14 * 60));
        assert_eq!(fifth.locks_until, Some(t(29 * 60)));
        assert_eq!(fifth.recent.len(), ACCOUNT_FAILURES);
    }

    #[test]
    fn failures_older_than_the_window_stop_counting() {
        // four failures an hour ago and four now: never five within fifteen minutes
        let old: Vec<_> = (0..4).map(|i| t(i * 10)).collect();
        let mut recent = old;
        for i in 0..4 {
            let after = account_failure(&recent, t(3600 + i * 10));
            assert_eq!(after.locks_until, None);
            recent = after.recent;
        }
        assert_eq!(recent.len(), 4);
        // exactly fifteen minutes old is outside the window
        let edge: Vec<_> = (0..4).map(|_| t(0)).collect();
        assert_eq!(account_failure(&edge, t(15 * 60)).locks_until, None);
        assert!(account_failure(&edge, t(15 * 60 - 1)).locks_until.is_some());
    }

    #[test]
    fn at_most_the_locking_number_of_failures_is_kept() {
        let many: Vec<_> = (0..40).map(t).collect();
        let after = account_failure(&many, t(41));
        assert_eq!(after.recent.len(), ACCOUNT_FAILURES);
        assert_eq!(after.recent.last(), Some(&t(41)));
        assert_eq!(after.recent.first(), Some(&t(36)));
    }

    #[test]
    fn retry_after_is_the_longer_wait_rounded_up() {
        let free = Standing {
            now: t(100),
            address_full_since: None,
            account_locked_until: Some(t(100)),
        };
        assert_eq!(free.retry_after(), None, "a lock that just ended");
        let address = Standing {
            now: t(100),
            address_full_since: Some(t(50)),
            account_locked_until: None,
        };
        assert_eq!(address.retry_after(), Some(10));
        let gone = Standing {
            address_full_since: Some(t(40)),
            ..address.clone()
        };
        assert_eq!(gone.retry_after(), None, "left the minute");
        let both = Standing {
            account_locked_until: Some(t(100 + 900)),
            ..address.clone()
        };
        assert_eq!(both.retry_after(), Some(900));
        let fraction = Standing {
            now: t(100) + Duration::milliseconds(1),
            ..address
        };
        assert_eq!(fraction.retry_after(), Some(10), "never rounded down to 9");
    }
}
