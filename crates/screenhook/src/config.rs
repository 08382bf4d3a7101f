//! The configuration: one typed struct, layered from the commented defaults in
//! `config.default.toml`, an optional file and `SCREENHOOK_<SECTION>__<KEY>` environment
//! variables, and validated once at start. Every error names the key at fault.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

/// The defaults, with a comment on every key (`screenhook config --defaults` prints them).
pub const DEFAULTS: &str = include_str!("config.default.toml");

const ENV_PREFIX: &str = "SCREENHOOK_";

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub secrets: SecretsSection,
    pub scheduler: SchedulerConfig,
    pub api: ApiSection,
    pub delivery: DeliverySection,
    pub retry: RetrySection,
    pub smtp: SmtpSection,
    pub inspector: InspectorSection,
    pub retention: RetentionSection,
    pub operator: OperatorSection,
    pub metrics: MetricsSection,
    pub log: LogConfig,
}

/// How long history is kept (`[retention]`).
#[derive(Debug, Clone, Deserialize)]
pub struct OperatorSection {
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecretsSection {
    pub key: String,
    pub key_file: PathBuf,
    pub previous_keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RetentionSection {
    /// 0: forever.
    pub days: f64,
    pub interval_secs: u64,
}

/// Prometheus metrics (`[metrics]`).
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSection {
    pub enabled: bool,
    /// The bearer token a scrape must send; empty = none needed.
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiSection {
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeliverySection {
    pub concurrency: usize,
    pub per_webhook: usize,
    pub lease_ms: u64,
    pub poll_interval_ms: u64,
    pub allow_loopback: bool,
    /// Checked by [`Config::load`]; read them with [`Config::allowed_cidrs`].
    allowed_cidrs: Vec<String>,
    pub allow_http: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RetrySection {
    pub max_attempts: u32,
    pub random_max_secs: u32,
    pub disable_after: u32,
    pub email_after: Vec<u32>,
    pub email_every_from: u32,
}

/// The webhook inspector's bounds (`[inspector]`).
#[derive(Debug, Clone, Deserialize)]
pub struct InspectorSection {
    pub bin_ttl_secs: u64,
    pub max_requests_per_bin: usize,
    pub max_body_bytes: usize,
    pub max_bins: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmtpSection {
    pub host: String,
    pub port: u16,
    pub tls: String,
    pub username: String,
    pub password: String,
    pub from: String,
}

/// What a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    All,
    Api,
    Worker,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Api => "api",
            Role::Worker => "worker",
        }
    }

    pub fn runs_api(self) -> bool {
        self != Role::Worker
    }

    pub fn runs_workers(self) -> bool {
        self != Role::Api
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerConfig {
    /// Checked by [`Config::load`]; read it with [`Config::role`].
    role: String,
    /// Parsed and checked by [`Config::load`]; read it with [`Config::listen`].
    listen: String,
    pub public_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseConfig {
    pub path: PathBuf,
    /// Checked by [`Config::load`]; read it with [`Config::postgres_url`].
    url: String,
    pub max_connections: u32,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerConfig {
    pub poll_interval_ms: u64,
    pub integrity_review_delay_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogConfig {
    /// "text" or "json", checked by [`Config::load`].
    pub format: String,
    pub filter: String,
}

/// A configuration problem, always naming the key and where its value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("unknown configuration key `{key}` (from {origin}); known keys: {known}")]
    UnknownKey { key: String, origin: String, known: String },
    #[error("configuration key `{key}` (from {origin}) {problem}")]
    BadValue { key: String, origin: String, problem: String },
}

impl Config {
    /// Defaults, then the file, then the environment.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let defaults: Table = DEFAULTS.parse().expect("the embedded defaults are valid TOML");
        let mut merged = defaults.clone();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Unreadable { path: path.to_owned(), source })?;
            let table: Table = text.parse().map_err(|err: toml::de::Error| ConfigError::Syntax {
                path: path.to_owned(),
                message: err.message().to_owned(),
            })?;
            let origin = path.display().to_string();
            for (key, value) in flatten(&table) {
                set(&mut merged, &defaults, &key, value, &origin)?;
            }
        }
        let env: BTreeMap<String, String> = env.into_iter().collect();
        for (name, raw) in &env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
            // Variables without a section separator (such as SCREENHOOK_CONFIG) are not keys.
            let Some((section, field)) = rest.split_once("__") else { continue };
            let key = format!("{}.{}", section.to_lowercase(), field.to_lowercase());
            let value = typed_from_env(&defaults, &key, raw, name)?;
            set(&mut merged, &defaults, &key, value, &format!("environment variable {name}"))?;
        }
        // Every key and type was checked against the defaults above, so this cannot fail
        // for any input; values are checked next.
        let config: Config = Value::Table(merged).try_into().expect("keys and types match the defaults");
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, problem: String| ConfigError::BadValue {
            key: key.into(),
            origin: "the configuration".into(),
            problem,
        };
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return Err(bad(
                "server.listen",
                format!("must be an address and port such as 127.0.0.1:8740, found {:?}", self.server.listen),
            ));
        }
        if !matches!(self.server.role.as_str(), "all" | "api" | "worker") {
            return Err(bad(
                "server.role",
                format!("must be \"all\", \"api\" or \"worker\", found {:?}", self.server.role),
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(bad("log.format", format!("must be \"text\" or \"json\", found {:?}", self.log.format)));
        }
        let url = &self.server.public_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len() {
            return Err(bad("server.public_url", format!("must be an http:// or https:// URL, found {url:?}")));
        }
        if self.scheduler.poll_interval_ms == 0 || self.scheduler.poll_interval_ms > 60_000 {
            return Err(bad("scheduler.poll_interval_ms", "must be between 1 and 60000".into()));
        }
        if self.database.path.as_os_str().is_empty() {
            return Err(bad("database.path", "must not be empty".into()));
        }
        let db_url = &self.database.url;
        if !(db_url.is_empty() || db_url.starts_with("postgres://") || db_url.starts_with("postgresql://")) {
            // Not echoed: a database URL usually carries a password.
            return Err(bad("database.url", "must be empty (SQLite) or a postgres:// URL".into()));
        }
        let days = self.retention.days;
        if !days.is_finite() || !(0.0..=36_500.0).contains(&days) {
            return Err(bad("retention.days", format!("must be between 0 (keep forever) and 36500, found {days}")));
        }
        if self.database.max_connections == 0 {
            return Err(bad("database.max_connections", "must be at least 1".into()));
        }
        for cidr in &self.delivery.allowed_cidrs {
            if cidr.parse::<ipnet::IpNet>().is_err() {
                return Err(bad(
                    "delivery.allowed_cidrs",
                    format!("{cidr:?} is not a CIDR range such as 127.0.0.0/8 or ::1/128"),
                ));
            }
        }
        if self.delivery.concurrency == 0 || self.delivery.per_webhook == 0 {
            return Err(bad(
                "delivery.concurrency",
                "delivery.concurrency and delivery.per_webhook must be at least 1".into(),
            ));
        }
        if self.delivery.lease_ms < 15_000 {
            return Err(bad("delivery.lease_ms", "must be at least 15000, longer than a request may take".into()));
        }
        if self.retry.max_attempts == 0 || self.retry.disable_after == 0 {
            return Err(bad(
                "retry.max_attempts",
                "retry.max_attempts and retry.disable_after must be at least 1".into(),
            ));
        }
        if !matches!(self.smtp.tls.as_str(), "starttls" | "tls" | "none") {
            return Err(bad(
                "smtp.tls",
                format!("must be \"starttls\", \"tls\" or \"none\", found {:?}", self.smtp.tls),
            ));
        }
        let inspector = &self.inspector;
        if inspector.bin_ttl_secs == 0
            || inspector.max_requests_per_bin == 0
            || inspector.max_body_bytes == 0
            || inspector.max_bins == 0
        {
            return Err(bad(
                "inspector.bin_ttl_secs",
                "inspector.bin_ttl_secs, max_requests_per_bin, max_body_bytes and max_bins must be at least 1".into(),
            ));
        }
        let operator = self.operator.token.chars().count();
        if operator > 0 && operator < 32 {
            // Not echoed: it is a credential.
            return Err(bad(
                "operator.token",
                format!("must be empty (off) or at least 32 characters, found {operator}"),
            ));
        }
        if self.api.rate_limit_per_second == 0 {
            return Err(bad("api.rate_limit_per_second", "must be at least 1".into()));
        }
        Ok(())
    }

    pub fn role(&self) -> Role {
        match self.server.role.as_str() {
            "api" => Role::Api,
            "worker" => Role::Worker,
            _ => Role::All,
        }
    }

    pub fn listen(&self) -> SocketAddr {
        self.server.listen.parse().expect("checked by Config::load")
    }

    /// Listens at `addr` (one already bound) and is reached there: `server.listen` and
    /// `server.public_url` become `addr`.
    pub fn set_address(&mut self, addr: SocketAddr) {
        self.server.listen = addr.to_string();
        self.server.public_url = format!("http://{addr}");
    }

    pub fn allowed_cidrs(&self) -> Vec<ipnet::IpNet> {
        self.delivery.allowed_cidrs.iter().map(|c| c.parse().expect("checked by Config::load")).collect()
    }

    /// The PostgreSQL database to use, if one is configured (else SQLite at `database.path`).
    pub fn postgres_url(&self) -> Option<&str> {
        Some(self.database.url.as_str()).filter(|url| !url.is_empty())
    }

    pub fn log_json(&self) -> bool {
        self.log.format == "json"
    }

    /// The configuration as `screenhook config` shows it: passwords and tokens replaced by
    /// [`REDACTED`] (a database URL keeps its user, host and database).
    pub fn redacted(&self) -> Config {
        let mut shown = self.clone();
        shown.database.url = redact_url_password(&shown.database.url);
        for secret in
            [&mut shown.smtp.password, &mut shown.metrics.token, &mut shown.operator.token, &mut shown.secrets.key]
                .into_iter()
                .chain(&mut shown.secrets.previous_keys)
        {
            if !secret.is_empty() {
                *secret = REDACTED.to_owned();
            }
        }
        shown
    }

    /// The keys webhook secrets are sealed with: `secrets.key`, else the key file (for SQLite
    /// created beside the database when none is configured). PostgreSQL does not guess, as a
    /// key made up by one machine would not open on the next: without one the keys are
    /// unset, so `serve` refuses to start and other commands fail only if they touch a secret.
    pub fn secret_keys(&self) -> anyhow::Result<screenhook_store::SecretKeys> {
        use anyhow::Context as _;
        use screenhook_store::SecretKeys;
        let previous: Vec<(&str, &str)> =
            self.secrets.previous_keys.iter().map(|key| ("secrets.previous_keys", key.as_str())).collect();
        if !self.secrets.key.is_empty() {
            return Ok(SecretKeys::parse(("secrets.key", &self.secrets.key), &previous)?);
        }
        if !self.secrets.key_file.as_os_str().is_empty() {
            return Ok(SecretKeys::from_file(&self.secrets.key_file, &previous)?);
        }
        if self.postgres_url().is_some() {
            // No key is made up here: one printed in this message would end up in logs.
            return Ok(SecretKeys::unset(
                "secrets.key: PostgreSQL needs the key webhook secrets and candidate links are sealed with, \
                 the same in every process (secrets.key, SCREENHOOK_SECRETS__KEY, or secrets.key_file); make one with \
                 `screenhook secrets generate-key`",
            ));
        }
        let path = screenhook_store_sqlite::key_file_for(&self.database.path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(SecretKeys::from_file_or_create(&path, &previous)?)
    }

    /// The public URL without a trailing slash, ready to have paths appended.
    pub fn public_url(&self) -> String {
        self.server.public_url.trim_end_matches('/').to_owned()
    }
}

/// What a redacted secret reads as.
pub const REDACTED: &str = "[redacted]";

/// `scheme://user:password@host/…` with the password replaced; anything else unchanged.
fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            // Only URLs that cannot have a password refuse one, and this one has one.
            let _ = url.set_password(Some(REDACTED));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// `[section] key = value` as `("section.key", value)`.
fn flatten(table: &Table) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (section, value) in table {
        match value {
            Value::Table(inner) => out.extend(inner.iter().map(|(k, v)| (format!("{section}.{k}"), v.clone()))),
            other => out.push((section.clone(), other.clone())),
        }
    }
    out
}

fn known_keys(defaults: &Table) -> String {
    flatten(defaults).into_iter().map(|(k, _)| k).collect::<Vec<_>>().join(", ")
}

fn default_of<'a>(defaults: &'a Table, key: &str) -> Option<&'a Value> {
    let (section, field) = key.split_once('.')?;
    defaults.get(section)?.as_table()?.get(field)
}

/// Replaces one key, refusing keys the defaults don't have and values of another type.
fn set(merged: &mut Table, defaults: &Table, key: &str, value: Value, origin: &str) -> Result<(), ConfigError> {
    let Some(default) = default_of(defaults, key) else {
        return Err(ConfigError::UnknownKey { key: key.into(), origin: origin.into(), known: known_keys(defaults) });
    };
    // A whole number is a fine value for a fractional key (`days = 30`).
    let value = match (default, value) {
        (Value::Float(_), Value::Integer(n)) => Value::Float(n as f64),
        (_, value) => value,
    };
    if default.type_str() != value.type_str() {
        return Err(ConfigError::BadValue {
            key: key.into(),
            origin: origin.into(),
            problem: format!("must be a {}, found a {}", default.type_str(), value.type_str()),
        });
    }
    if let (Value::Array(defaults), Value::Array(items)) = (default, &value) {
        // An empty default list holds strings.
        let item_type = defaults.first().map_or("string", Value::type_str);
        if let Some(odd) = items.iter().find(|item| item.type_str() != item_type) {
            return Err(ConfigError::BadValue {
                key: key.into(),
                origin: origin.into(),
                problem: format!("must be a list of {item_type}s, found a {} in it", odd.type_str()),
            });
        }
    }
    let (section, field) = key.split_once('.').expect("known keys have a section");
    merged
        .get_mut(section)
        .and_then(Value::as_table_mut)
        .expect("sections come from the defaults")
        .insert(field.to_owned(), value);
    Ok(())
}

/// Environment values are strings; read them as the type the default has.
fn typed_from_env(defaults: &Table, key: &str, raw: &str, name: &str) -> Result<Value, ConfigError> {
    let Some(default) = default_of(defaults, key) else {
        return Err(ConfigError::UnknownKey {
            key: key.into(),
            origin: format!("environment variable {name}"),
            known: known_keys(defaults),
        });
    };
    let bad = |expected: &str| ConfigError::BadValue {
        key: key.into(),
        origin: format!("environment variable {name}"),
        problem: format!("must be {expected}, found {raw:?}"),
    };
    match default {
        Value::Integer(_) => raw.trim().parse().map(Value::Integer).map_err(|_| bad("an integer")),
        Value::Float(_) => raw.trim().parse().map(Value::Float).map_err(|_| bad("a number")),
        Value::Boolean(_) => raw.trim().parse().map(Value::Boolean).map_err(|_| bad("true or false")),
        // Lists are comma-separated, typed like the default's items (strings when it is empty).
        Value::Array(items) => {
            let integers = matches!(items.first(), Some(Value::Integer(_)));
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    if integers {
                        item.parse().map(Value::Integer).map_err(|_| bad("a comma-separated list of integers"))
                    } else {
                        Ok(Value::String(item.to_owned()))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        _ => Ok(Value::String(raw.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_load() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.listen().port(), 8740);
        assert_eq!(config.database.path, PathBuf::from("screenhook.db"));
        assert!(!config.log_json());
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("screenhook.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9000\"\n[database]\npath = \"from-file.db\"\n").unwrap();
        let config =
            Config::load(Some(&file), env(&[("SCREENHOOK_DATABASE__PATH", "from-env.db"), ("SCREENHOOK_CONFIG", "x")]))
                .unwrap();
        assert_eq!(config.listen().port(), 9000);
        assert_eq!(config.database.path, PathBuf::from("from-env.db"));
    }

    #[test]
    fn a_short_operator_token_is_refused_without_being_echoed() {
        let err = Config::load(None, env(&[("SCREENHOOK_OPERATOR__TOKEN", "hunter2")])).unwrap_err().to_string();
        assert!(err.contains("operator.token") && err.contains("at least 32 characters, found 7"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn shown_configuration_hides_passwords_and_tokens() {
        let config = Config::load(
            None,
            env(&[
                ("SCREENHOOK_DATABASE__URL", "postgres://screenhook:s3cret@db.internal:5432/prod?sslmode=require"),
                ("SCREENHOOK_SMTP__PASSWORD", "smtp-pass"),
                ("SCREENHOOK_METRICS__TOKEN", "scrape-me"),
                ("SCREENHOOK_OPERATOR__TOKEN", "operator-token-of-thirty-two-chars!"),
                ("SCREENHOOK_SECRETS__KEY", "c2VhbGluZy1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE="),
                ("SCREENHOOK_SECRETS__PREVIOUS_KEYS", "b2xkLWtleS0x,b2xkLWtleS0y"),
            ]),
        )
        .unwrap();
        assert_eq!(config.secrets.previous_keys.len(), 2, "a comma-separated list");
        let shown = config.redacted();
        assert_eq!(shown.database.url, "postgres://screenhook:%5Bredacted%5D@db.internal:5432/prod?sslmode=require");
        assert_eq!((shown.smtp.password.as_str(), shown.metrics.token.as_str()), (REDACTED, REDACTED));
        let printed = format!("{shown:#?}");
        for secret in ["s3cret", "smtp-pass", "scrape-me", "operator-token", "c2VhbGluZy1r", "b2xkLWtleS0"] {
            assert!(!printed.contains(secret), "{secret} is shown");
        }
        // Nothing to hide: unchanged, and empty stays empty.
        let plain = Config::load(None, env(&[("SCREENHOOK_DATABASE__URL", "postgres://db.internal/prod")])).unwrap();
        assert_eq!(plain.redacted().database.url, "postgres://db.internal/prod");
        assert_eq!(plain.redacted().smtp.password, "");
    }

    #[test]
    fn retention_takes_whole_or_fractional_days_and_refuses_negative_ones() {
        assert_eq!(Config::load(None, env(&[])).unwrap().retention.days, 30.0);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("screenhook.toml");
        std::fs::write(&file, "[retention]\ndays = 7\n").unwrap();
        assert_eq!(Config::load(Some(&file), env(&[])).unwrap().retention.days, 7.0);
        let hours = Config::load(None, env(&[("SCREENHOOK_RETENTION__DAYS", "0.25")])).unwrap();
        assert_eq!(hours.retention.days, 0.25);
        let err = Config::load(None, env(&[("SCREENHOOK_RETENTION__DAYS", "-1")])).unwrap_err().to_string();
        assert!(err.contains("retention.days") && err.contains("between 0 (keep forever) and 36500"), "{err}");
        let err = Config::load(None, env(&[("SCREENHOOK_RETENTION__DAYS", "a week")])).unwrap_err().to_string();
        assert!(err.contains("must be a number"), "{err}");
    }

    #[test]
    fn a_database_url_selects_postgres() {
        assert_eq!(Config::load(None, env(&[])).unwrap().postgres_url(), None);
        let url = "postgres://screenhook:secret@db:5432/screenhook";
        let config = Config::load(
            None,
            env(&[("SCREENHOOK_DATABASE__URL", url), ("SCREENHOOK_DATABASE__MAX_CONNECTIONS", "4")]),
        )
        .unwrap();
        assert_eq!((config.postgres_url(), config.database.max_connections), (Some(url), 4));
        assert!(config.database.migrate_on_start);
        let err = Config::load(None, env(&[("SCREENHOOK_DATABASE__URL", "mysql://u:secret@h/db")])).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("database.url") && !err.contains("secret"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::load(None, env(&[("SCREENHOOK_SERVER__LISTN", "x")])).unwrap_err().to_string();
        assert!(
            err.contains("`server.listn`") && err.contains("SCREENHOOK_SERVER__LISTN") && err.contains("server.listen"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("screenhook.toml");
        std::fs::write(&file, "[sever]\nlisten = 1\n").unwrap();
        let err = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(err.contains("`sever.listen`"), "{err}");
    }

    #[test]
    fn lists_come_from_comma_separated_variables() {
        let config = Config::load(
            None,
            env(&[
                ("SCREENHOOK_DELIVERY__ALLOWED_CIDRS", "127.0.0.0/8, ::1/128"),
                ("SCREENHOOK_RETRY__EMAIL_AFTER", "3,9"),
            ]),
        )
        .unwrap();
        assert_eq!(config.allowed_cidrs().len(), 2);
        assert_eq!(config.retry.email_after, vec![3, 9]);
        let err =
            Config::load(None, env(&[("SCREENHOOK_DELIVERY__ALLOWED_CIDRS", "localhost")])).unwrap_err().to_string();
        assert!(err.contains("delivery.allowed_cidrs") && err.contains("localhost"), "{err}");
        let err = Config::load(None, env(&[("SCREENHOOK_RETRY__EMAIL_AFTER", "five")])).unwrap_err().to_string();
        assert!(err.contains("retry.email_after"), "{err}");
    }

    #[test]
    fn the_inspector_section_has_defaults_and_is_checked() {
        let config = Config::load(None, env(&[("SCREENHOOK_INSPECTOR__MAX_BINS", "7")])).unwrap();
        assert_eq!(config.inspector.bin_ttl_secs, 86_400);
        assert_eq!(config.inspector.max_requests_per_bin, 500);
        assert_eq!(config.inspector.max_body_bytes, 256 * 1024);
        assert_eq!(config.inspector.max_bins, 7);
        let err = Config::load(None, env(&[("SCREENHOOK_INSPECTOR__BIN_TTL_SECS", "0")])).unwrap_err().to_string();
        assert!(err.contains("inspector.bin_ttl_secs"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err =
            Config::load(None, env(&[("SCREENHOOK_SCHEDULER__POLL_INTERVAL_MS", "soon")])).unwrap_err().to_string();
        assert!(err.contains("scheduler.poll_interval_ms") && err.contains("integer"), "{err}");
        let err = Config::load(None, env(&[("SCREENHOOK_SERVER__PUBLIC_URL", "ftp://x")])).unwrap_err().to_string();
        assert!(err.contains("server.public_url"), "{err}");
        let err = Config::load(None, env(&[("SCREENHOOK_SCHEDULER__POLL_INTERVAL_MS", "0")])).unwrap_err().to_string();
        assert!(err.contains("scheduler.poll_interval_ms"), "{err}");
        let err = Config::load(None, env(&[("SCREENHOOK_LOG__FORMAT", "xml")])).unwrap_err().to_string();
        assert!(err.contains("log.format") && err.contains("xml"), "{err}");
        let err = Config::load(None, env(&[("SCREENHOOK_SERVER__LISTEN", "everywhere")])).unwrap_err().to_string();
        assert!(err.contains("server.listen") && err.contains("everywhere"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("screenhook.toml");
        std::fs::write(&file, "[server]\nlisten = 8740\n").unwrap();
        let err = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(err.contains("`server.listen`") && err.contains("must be a string"), "{err}");
    }
}
