//! Environment and flags → `Config`.

use anyhow::{bail, Context};
use base64::Engine;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the service needs to run, read once at start.
pub struct Config {
    /// `DATABASE_URL`; `None` means the embedded default cluster.
    pub database_url: Option<String>,
    /// `BIND_ADDR`, default `127.0.0.1:8080`.
    pub bind_addr: String,
    /// `DATA_DIR`, default `./data`.
    pub data_dir: PathBuf,
    /// HMAC secret for access tokens.
    pub jwt_secret: SecretString,
    /// 32-byte key for personal data.
    pub pii_key: SecretBox<[u8; 32]>,
    /// The key being rotated away from (`PII_KEY_PREVIOUS`), readable until `rotate-pii-key` is done.
    pub pii_key_previous: Option<SecretBox<[u8; 32]>>,
    /// `APP_ENV=production` turns on the strict checks.
    pub production: bool,
    /// `LOG_FORMAT`: text or json.
    pub log_json: bool,
    /// Database pool size (`DB_POOL_SIZE`, default 16).
    pub pool_size: usize,
    /// How long a request waits for a pooled connection (`DB_POOL_WAIT_MS`, default 3000).
    pub pool_wait: Duration,
    /// How pooled connections are checked (`DB_POOL_RECYCLE`: `idle`, the default, checks one
    /// unused for 5 s or more; `verified` every checkout; `fast` none) — see [`crate::db::Recycle`].
    pub pool_recycle: crate::db::Recycle,
    /// `statement_timeout` per connection (`DB_STATEMENT_TIMEOUT_MS`, default 10000).
    pub statement_timeout_ms: u64,
    /// Lifetime of access tokens (≤ 15 min).
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// Seconds between SLA sweeps in `serve` (`SWEEP_INTERVAL_SECS`, default 60; 0 disables).
    pub sweep_interval: Duration,
    /// `TRUSTED_PROXIES`: the deployment's own reverse proxies (CIDRs, default none), whose
    /// `X-Forwarded-For` names the client address the sign-in limits count.
    pub trusted_proxies: Vec<IpNet>,
    /// The webhook delivery worker (`WEBHOOK_*`).
    pub webhooks: WebhookSettings,
    /// `PUBLIC_URL`: where people reach the service (behind a proxy, its address); when it is
    /// `https://…` the console's session cookie is marked `Secure`.
    pub public_url: Option<url::Url>,
    /// `CONSOLE_IDLE_MINUTES` (default 30): a console session not used for this long ends.
    pub console_idle: Duration,
    /// Where attachments are kept (`ATTACHMENTS_DIR`, `ATTACHMENTS_URL`,
    /// `ATTACHMENTS_ORPHAN_GRACE_SECS`).
    pub attachments: crate::db::objects::Settings,
}

/// How webhooks are checked and delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `WEBHOOK_ALLOW_PRIVATE=1`: let webhooks target loopback, private, link-local and
    /// multicast addresses (a closed network, or tests); refused by default.
    pub allow_private: bool,
    /// `WEBHOOK_RETRY_BASE_MS` (default 1000): the wait before the first retry; the schedule
    /// scales with it, up to 3600 times it before the tenth and last attempt.
    pub retry_base: Duration,
    /// `WEBHOOK_TIMEOUT_MS` (default 10000): the longest one delivery may take, connecting
    /// included (connecting alone: at most 5 s).
    pub timeout: Duration,
    /// `WEBHOOK_POLL_MS` (default 1000; 0 turns the worker off): how often an idle worker
    /// looks for due deliveries.
    pub poll: Duration,
    /// `WEBHOOK_CONCURRENCY` (default 16): deliveries in flight at once in one process.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private: false,
            retry_base: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            concurrency: 16,
        }
    }
}

impl WebhookSettings {
    /// Reads the `WEBHOOK_*` variables.
    fn from_env() -> anyhow::Result<WebhookSettings> {
        let allow_private = match env("WEBHOOK_ALLOW_PRIVATE").as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(v) => bail!("WEBHOOK_ALLOW_PRIVATE must be 1 or 0, got {v:?}"),
        };
        let concurrency: usize = env_num("WEBHOOK_CONCURRENCY", 16)?;
        if concurrency == 0 {
            bail!("WEBHOOK_CONCURRENCY must be at least 1");
        }
        let retry_base_ms: u64 = env_num("WEBHOOK_RETRY_BASE_MS", 1000)?;
        let timeout_ms: u64 = env_num("WEBHOOK_TIMEOUT_MS", 10_000)?;
        if retry_base_ms == 0 || timeout_ms == 0 {
            bail!("WEBHOOK_RETRY_BASE_MS and WEBHOOK_TIMEOUT_MS must be at least 1");
        }
        Ok(WebhookSettings {
            allow_private,
            retry_base: Duration::from_millis(retry_base_ms),
            timeout: Duration::from_millis(timeout_ms),
            poll: Duration::from_millis(env_num("WEBHOOK_POLL_MS", 1000)?),
            concurrency,
        })
    }
}

/// Key material used when none is configured outside production: fine for a demo, never for real data.
const DEV_JWT_SECRET: &str = "zhucan-development-secret-do-not-use-in-production";
const DEV_PII_KEY: [u8; 32] = *b"zhucan-dev-pii-key-not-for-prod!";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a number, got {v:?}")),
    }
}

/// Decodes a base64 `PII_KEY` into exactly 32 bytes.
pub fn decode_pii_key(raw: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .context("PII_KEY must be base64")?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("PII_KEY must decode to exactly 32 bytes"))?;
    Ok(key)
}

/// Parses `PUBLIC_URL`: an absolute http or https URL.
pub fn parse_public_url(raw: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(raw.trim())
        .map_err(|_| anyhow::anyhow!("PUBLIC_URL must be an absolute URL, got {raw:?}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("PUBLIC_URL must start with http:// or https://, got {raw:?}");
    }
    Ok(url)
}

/// `CONSOLE_IDLE_MINUTES`: 1 to 1440, default 30.
fn console_idle_minutes() -> anyhow::Result<u64> {
    let minutes: u64 = env_num("CONSOLE_IDLE_MINUTES", 30)?;
    if !(1..=1440).contains(&minutes) {
        bail!("CONSOLE_IDLE_MINUTES must be between 1 and 1440, got {minutes}");
    }
    Ok(minutes)
}

/// Parses `TRUSTED_PROXIES`: comma-separated CIDRs (a bare address is taken as itself alone).
pub fn parse_trusted_proxies(raw: &str) -> anyhow::Result<Vec<IpNet>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    anyhow::anyhow!(
                        "TRUSTED_PROXIES: {s:?} is not a CIDR (such as 10.0.0.0/8 or 2001:db8::/32) or an address"
                    )
                })
        })
        .collect()
}

impl Config {
    /// Reads the environment. In production, refuses to start without real secrets.
    pub fn from_env() -> anyhow::Result<Config> {
        let production = env("APP_ENV").is_some_and(|v| v.eq_ignore_ascii_case("production"));
        let jwt_secret = match env("JWT_SECRET") {
            Some(s) => {
                if s.len() < 32 {
                    bail!("JWT_SECRET must be at least 32 characters");
                }
                s
            }
            None if production => bail!("APP_ENV=production requires JWT_SECRET"),
            None => DEV_JWT_SECRET.to_string(),
        };
        let pii_key = match env("PII_KEY") {
            Some(raw) => decode_pii_key(&raw)?,
            None if production => bail!("APP_ENV=production requires PII_KEY (32 bytes, base64)"),
            None => DEV_PII_KEY,
        };
        let pii_key_previous = match env("PII_KEY_PREVIOUS") {
            Some(raw) => Some(SecretBox::new(Box::new(decode_pii_key(&raw)?))),
            None => None,
        };
        let access_secs: u64 = env_num("ACCESS_TOKEN_TTL_SECS", 900)?;
        if access_secs == 0 || access_secs > 900 {
            bail!("ACCESS_TOKEN_TTL_SECS must be between 1 and 900");
        }
        let data_dir = env("DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let attachments = crate::db::objects::Settings {
            dir: env("ATTACHMENTS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("attachments")),
            url: env("ATTACHMENTS_URL"),
            grace: Duration::from_secs(env_num("ATTACHMENTS_ORPHAN_GRACE_SECS", 3600)?),
        };
        Ok(Config {
            database_url: env("DATABASE_URL"),
            bind_addr: env("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            data_dir,
            jwt_secret: SecretString::from(jwt_secret),
            pii_key: SecretBox::new(Box::new(pii_key)),
            pii_key_previous,
            production,
            log_json: env("LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json")),
            pool_size: env_num("DB_POOL_SIZE", 16)?,
            pool_wait: Duration::from_millis(env_num("DB_POOL_WAIT_MS", 3000)?),
            pool_recycle: match env("DB_POOL_RECYCLE").as_deref() {
                None | Some("idle") => crate::db::Recycle::Idle,
                Some("verified") => crate::db::Recycle::Verified,
                Some("fast") => crate::db::Recycle::Fast,
                Some(v) => bail!("DB_POOL_RECYCLE must be idle, verified or fast, got {v:?}"),
            },
            statement_timeout_ms: env_num("DB_STATEMENT_TIMEOUT_MS", 10_000)?,
            access_ttl: Duration::from_secs(access_secs),
            refresh_ttl: Duration::from_secs(env_num("REFRESH_TOKEN_TTL_SECS", 14 * 24 * 3600)?),
            sweep_interval: Duration::from_secs(env_num("SWEEP_INTERVAL_SECS", 60)?),
            trusted_proxies: parse_trusted_proxies(&env("TRUSTED_PROXIES").unwrap_or_default())?,
            webhooks: WebhookSettings::from_env()?,
            public_url: match env("PUBLIC_URL") {
                None => None,
                Some(raw) => Some(parse_public_url(&raw)?),
            },
            console_idle: Duration::from_secs(60 * console_idle_minutes()?),
            attachments,
        })
    }

    /// A configuration for tests: development keys, the given database.
    pub fn for_tests(database_url: String) -> Config {
        Config {
            database_url: Some(database_url),
            bind_addr: "127.0.0.1:0".into(),
            data_dir: PathBuf::from("./data"),
            jwt_secret: SecretString::from(DEV_JWT_SECRET.to_string()),
            pii_key: SecretBox::new(Box::new(DEV_PII_KEY)),
            pii_key_previous: None,
            production: false,
            log_json: false,
            pool_size: 4,
            pool_wait: Duration::from_secs(5),
            pool_recycle: crate::db::Recycle::Idle,
            statement_timeout_ms: 10_000,
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
            sweep_interval: Duration::from_secs(0),
            trusted_proxies: Vec::new(),
            webhooks: WebhookSettings::default(),
            public_url: None,
            console_idle: Duration::from_secs(30 * 60),
            // each test app its own local store
            attachments: crate::db::objects::Settings {
                dir: std::env::temp_dir()
                    .join(format!("zhucan-attachments-{}", uuid::Uuid::new_v4())),
                url: None,
                grace: Duration::from_secs(3600),
            },
        }
    }

    /// Whether the console's cookie is `Secure`: `PUBLIC_URL` is https.
    pub fn secure_cookie(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
    }

    /// The PII key bytes.
    pub fn pii_key_bytes(&self) -> [u8; 32] {
        *self.pii_key.expose_secret()
    }

    /// The cipher for personal data (reading the previous key too during a rotation).
    pub fn pii_cipher(&self) -> crate::domain::pii::PiiCipher {
        match &self.pii_key_previous {
            Some(prev) => crate::domain::pii::PiiCipher::with_previous(
                self.pii_key.expose_secret(),
                prev.expose_secret(),
            ),
            None => crate::domain::pii::PiiCipher::new(self.pii_key.expose_secret()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_parse_as_cidrs_or_addresses() {
        let parsed =
            parse_trusted_proxies(" 10.0.0.0/8 ,192.168.1.7,, 2001:db8::/32,127.0.0.1/32 ");
        assert_eq!(
            parsed
                .ok()
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>()),
            Some(vec![
                "10.0.0.0/8".to_string(),
                "192.168.1.7/32".to_string(),
                "2001:db8::/32".to_string(),
                "127.0.0.1/32".to_string(),
            ])
        );
        assert_eq!(parse_trusted_proxies("").ok(), Some(vec![]));
        assert_eq!(
            parse_trusted_proxies("10.0.0.1/8")
                .ok()
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>()),
            Some(vec!["10.0.0.0/8".to_string()])
        );
        for bad in ["10.0.0.0/33", "proxy.example", "10.0.0.0/8;1.2.3.4", "*"] {
            let err = parse_trusted_proxies(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("TRUSTED_PROXIES"), "{bad}: {err}");
        }
    }
}
