//! A `type = "snowflake"` target: dbt-snowflake's profile keys, read here and only here.
//! Core passes a target's keys through unread (its `AdapterTarget`), string values
//! already `{{ env_var() }}` rendered and empty ones left out; this module names the
//! keys, checks each one, and makes the client's connection options from them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pitwall_snowflake_client::{Auth, ConnectOptions, Secret};
use serde::Deserialize;

/// The keys a snowflake target takes besides pitwall's own (`type`, `schema`,
/// `local-warehouse`, ...), for messages.
pub const KEYS: &str = "account, user, password, private_key_path, private_key_passphrase, role, database, \
                        warehouse, host, port, protocol";

/// A snowflake target's connection: where it delivers and how it logs in. Its `Debug`
/// leaves the secrets out ([`Secret`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub account: String,
    pub user: String,
    pub password: Option<Secret>,
    /// Relative to the project when written relative.
    pub private_key_path: Option<PathBuf>,
    pub private_key_passphrase: Option<Secret>,
    pub role: Option<String>,
    pub database: String,
    /// The virtual warehouse statements run on.
    pub warehouse: Option<String>,
    /// The target's schema (pitwall's key): where the models go, and the stage.
    pub schema: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub protocol: Option<String>,
}

/// A key of a snowflake target that is missing, unknown or not a value it takes. `at`
/// says where the target is written (`pitwall.toml: [targets.sf]`).
#[derive(Debug, thiserror::Error)]
#[error("{at} {problem}")]
pub struct TargetError {
    at: String,
    problem: String,
}

/// The keys as written, before they are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    account: Option<String>,
    user: Option<String>,
    password: Option<String>,
    private_key_path: Option<String>,
    private_key_passphrase: Option<String>,
    role: Option<String>,
    database: Option<String>,
    warehouse: Option<String>,
    host: Option<String>,
    /// A number, or a string (so it may be `{{ env_var('PORT') }}`).
    port: Option<toml::Value>,
    protocol: Option<String>,
}

impl Target {
    /// Reads a snowflake target's keys: `options` as core passes them, `schema` the
    /// target's, `root` the project folder a relative key path is under.
    pub fn read(
        at: &str,
        options: &BTreeMap<String, toml::Value>,
        schema: &str,
        root: &Path,
    ) -> Result<Target, TargetError> {
        let error = |problem: String| TargetError { at: at.to_owned(), problem };
        let table: toml::Table = options.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let keys: Keys = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            error(format!("{} (a snowflake target takes {KEYS})", e.message().trim_end()))
        })?;
        let required = |key: &str, value: Option<String>| {
            value.ok_or_else(|| error(format!("{key} is required on a type = \"snowflake\" target ({KEYS})")))
        };
        if keys.password.is_none() && keys.private_key_path.is_none() {
            return Err(error("needs password or private_key_path to log in to Snowflake".to_owned()));
        }
        Ok(Target {
            port: keys.port.as_ref().map(port).transpose().map_err(error)?,
            protocol: keys.protocol.map(protocol).transpose().map_err(error)?,
            account: required("account", keys.account)?,
            user: required("user", keys.user)?,
            database: required("database", keys.database)?,
            password: keys.password.map(Secret::new),
            private_key_path: keys.private_key_path.map(|p| root.join(p)),
            private_key_passphrase: keys.private_key_passphrase.map(Secret::new),
            role: keys.role,
            warehouse: keys.warehouse,
            schema: schema.to_owned(),
            host: keys.host,
        })
    }

    /// The endpoint's base URL, as the client will reach it (no credentials in it).
    pub fn endpoint(&self) -> String {
        let protocol = self.protocol.as_deref().unwrap_or("https");
        let host = self.host.clone().unwrap_or_else(|| format!("{}.snowflakecomputing.com", self.account));
        let port = self.port.unwrap_or(if protocol == "http" { 80 } else { 443 });
        format!("{protocol}://{host}:{port}")
    }

    /// The client's options: the key file read when the target logs in with a key pair.
    pub fn connect_options(&self) -> Result<ConnectOptions, std::io::Error> {
        let auth = match (&self.private_key_path, &self.password) {
            (Some(path), _) => Auth::KeyPair {
                private_key_pem: Secret::new(std::fs::read_to_string(path).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("reading private_key_path {}: {e}", path.display()))
                })?),
                passphrase: self.private_key_passphrase.clone(),
            },
            (None, Some(password)) => Auth::Password(password.clone()),
            // `read` refuses a target with neither; one built by hand is refused here.
            (None, None) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a snowflake target needs password or private_key_path to log in",
                ));
            }
        };
        Ok(ConnectOptions {
            role: self.role.clone(),
            database: Some(self.database.clone()),
            schema: Some(self.schema.clone()),
            warehouse: self.warehouse.clone(),
            host: self.host.clone(),
            port: self.port,
            protocol: self.protocol.clone(),
            ..ConnectOptions::new(&self.account, &self.user, auth)
        })
    }
}

/// `port`: a TOML integer or a string of one, 1-65535.
fn port(value: &toml::Value) -> Result<u16, String> {
    let number = match value {
        toml::Value::Integer(n) => i128::from(*n),
        toml::Value::String(text) => {
            text.trim().parse::<i128>().map_err(|_| format!("port = '{text}' is not a port number"))?
        }
        other => return Err(format!("port: a {} is not a port number", other.type_str())),
    };
    u16::try_from(number)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("port = {number} is not a port number (1-65535)"))
}

/// `protocol`: `https` or `http`.
fn protocol(value: String) -> Result<String, String> {
    match value.as_str() {
        "https" | "http" => Ok(value),
        other => Err(format!("protocol = '{other}' is not a protocol (accepted: https, http)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "pitwall.toml: [targets.sf]";

    fn options(pairs: &[(&str, toml::Value)]) -> BTreeMap<String, toml::Value> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn text(value: &str) -> toml::Value {
        toml::Value::String(value.to_owned())
    }

    fn complete() -> BTreeMap<String, toml::Value> {
        options(&[
            ("account", text("pitwall")),
            ("user", text("ci")),
            ("password", text("hunter2")),
            ("database", text("PC_DBT_DB")),
            ("warehouse", text("COMPUTE_WH")),
            ("host", text("127.0.0.1")),
            ("port", toml::Value::Integer(8123)),
            ("protocol", text("http")),
        ])
    }

    fn read(options: &BTreeMap<String, toml::Value>) -> Result<Target, String> {
        Target::read(AT, options, "production", Path::new("/p")).map_err(|e| e.to_string())
    }

    #[test]
    fn dbts_keys_make_the_connection_and_the_secrets_never_print() {
        let target = read(&complete()).unwrap();
        assert_eq!((target.account.as_str(), target.user.as_str()), ("pitwall", "ci"));
        assert_eq!((target.database.as_str(), target.schema.as_str()), ("PC_DBT_DB", "production"));
        assert_eq!(target.warehouse.as_deref(), Some("COMPUTE_WH"));
        assert_eq!(target.endpoint(), "http://127.0.0.1:8123");
        assert!(!format!("{target:?}").contains("hunter2"));
        let options = target.connect_options().unwrap();
        assert!(matches!(&options.auth, Auth::Password(p) if p.expose() == "hunter2"));
        assert_eq!((options.port, options.schema.as_deref()), (Some(8123), Some("production")));
    }

    #[test]
    fn a_key_path_is_under_the_project_and_a_port_may_be_text() {
        let mut keys = complete();
        keys.remove("password");
        keys.insert("private_key_path".into(), text("keys/rsa.p8"));
        keys.insert("port".into(), text(" 8443 "));
        let target = read(&keys).unwrap();
        assert_eq!(target.private_key_path.as_deref(), Some(Path::new("/p/keys/rsa.p8")));
        assert_eq!(target.port, Some(8443));
        let error = target.connect_options().unwrap_err().to_string();
        assert!(error.contains("reading private_key_path /p/keys/rsa.p8"), "{error}");
        let keyless = Target { private_key_path: None, ..target };
        let error = keyless.connect_options().unwrap_err().to_string();
        assert!(error.contains("needs password or private_key_path"), "{error}");
    }

    #[test]
    fn a_missing_unknown_or_bad_key_is_named_with_the_target() {
        let without = |key: &str| {
            let mut keys = complete();
            keys.remove(key);
            read(&keys).unwrap_err()
        };
        assert_eq!(without("account"), format!("{AT} account is required on a type = \"snowflake\" target ({KEYS})"));
        assert_eq!(without("password"), format!("{AT} needs password or private_key_path to log in to Snowflake"));
        let with = |key: &str, value: toml::Value| {
            let mut keys = complete();
            keys.insert(key.into(), value);
            read(&keys).unwrap_err()
        };
        assert_eq!(
            with("port", toml::Value::Integer(70000)),
            format!("{AT} port = 70000 is not a port number (1-65535)")
        );
        assert_eq!(with("port", text("http")), format!("{AT} port = 'http' is not a port number"));
        assert_eq!(with("port", toml::Value::Boolean(true)), format!("{AT} port: a boolean is not a port number"));
        assert_eq!(
            with("protocol", text("ftp")),
            format!("{AT} protocol = 'ftp' is not a protocol (accepted: https, http)")
        );
        let unknown = with("acount", text("x"));
        assert!(unknown.starts_with(&format!("{AT} unknown field `acount`")), "{unknown}");
        assert!(unknown.ends_with(&format!("(a snowflake target takes {KEYS})")), "{unknown}");
    }
}
