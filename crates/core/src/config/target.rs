//! Targets (dbt's profiles): which one a run uses, its object-store options, and a
//! `type = "snowflake"` target's connection.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Overrides;
use super::env::render_env_vars;
use super::file::{FileSchema, TargetSection};
use crate::error::{Error, Result};
use crate::location::StoreOptions;

/// The target name when the file has no `[targets]`.
pub const DEFAULT_TARGET: &str = "default";

/// The target to use and its section: `--target`, else `default-target`, else the only
/// target; a file without `[targets]` has one implicit target, `default`.
pub(super) fn choose_target<'a>(
    location: &str,
    parsed: &'a FileSchema,
    overrides: &Overrides,
) -> Result<(String, std::borrow::Cow<'a, TargetSection>)> {
    use std::borrow::Cow;
    let known = || {
        if parsed.targets.is_empty() {
            "the file defines no [targets.<name>]".to_owned()
        } else {
            format!("defined: {}", parsed.targets.keys().cloned().collect::<Vec<_>>().join(", "))
        }
    };
    let name = match (overrides.target.as_deref(), parsed.project.default_target.as_deref()) {
        (Some(name), _) => name.to_owned(),
        (None, Some(name)) => name.to_owned(),
        (None, None) if parsed.targets.is_empty() => {
            return Ok((DEFAULT_TARGET.to_owned(), Cow::Owned(TargetSection::default())));
        }
        (None, None) if parsed.targets.len() == 1 => parsed.targets.keys().next().cloned().unwrap_or_default(),
        (None, None) => {
            return Err(Error::config(
                location,
                format!("several targets and no default-target under [project]: pass --target NAME ({})", known()),
            ));
        }
    };
    match parsed.targets.get(&name) {
        Some(target) => Ok((name, Cow::Borrowed(target))),
        None if parsed.targets.is_empty() && name == DEFAULT_TARGET => Ok((name, Cow::Owned(TargetSection::default()))),
        None => Err(Error::config(location, format!("unknown target `{name}` ({})", known()))),
    }
}

/// A target's `[targets.<name>.storage]` as store options, `{{ env_var() }}` rendered and
/// every key checked.
pub(super) fn target_storage(
    location: &str,
    target: &str,
    storage: &BTreeMap<String, toml::Value>,
) -> Result<StoreOptions> {
    let mut options = BTreeMap::new();
    for (key, value) in storage {
        let text = match value {
            toml::Value::String(s) => render_env_vars(s)
                .map_err(|e| Error::config(location, format!("[targets.{target}.storage] {key}: {e}")))?,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                return Err(Error::config(
                    location,
                    format!("[targets.{target}.storage] {key}: expected a string, number or boolean"),
                ));
            }
        };
        options.insert(key.clone(), text);
    }
    let options = StoreOptions::new(options);
    options.validate(&format!("{location}: [targets.{target}.storage]"))?;
    Ok(options)
}

/// A `type = "snowflake"` target's connection, dbt-snowflake's profile keys with
/// `{{ env_var() }}` rendered. Its `Debug` leaves the secrets out.
#[derive(Clone, PartialEq, Eq)]
pub struct SnowflakeTarget {
    pub account: String,
    pub user: String,
    pub password: Option<String>,
    pub private_key_path: Option<PathBuf>,
    pub private_key_passphrase: Option<String>,
    pub role: Option<String>,
    pub database: String,
    /// The virtual warehouse statements run on.
    pub warehouse: Option<String>,
    pub schema: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub protocol: Option<String>,
}

impl std::fmt::Debug for SnowflakeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("SnowflakeTarget")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("password", &set(&self.password))
            .field("private_key_path", &self.private_key_path)
            .field("private_key_passphrase", &set(&self.private_key_passphrase))
            .field("role", &self.role)
            .field("database", &self.database)
            .field("warehouse", &self.warehouse)
            .field("schema", &self.schema)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl SnowflakeTarget {
    /// The endpoint's base URL, as the connector will reach it (no credentials in it).
    pub fn endpoint(&self) -> String {
        let protocol = self.protocol.as_deref().unwrap_or("https");
        let host = self.host.clone().unwrap_or_else(|| format!("{}.snowflakecomputing.com", self.account));
        let port = self.port.unwrap_or(if protocol == "http" { 80 } else { 443 });
        format!("{protocol}://{host}:{port}")
    }
}

/// The keys only a `type = "snowflake"` target takes.
const SNOWFLAKE_KEYS: &str = "account, user, password, private_key_path, private_key_passphrase, role, database, \
     warehouse, host, port, protocol, local-warehouse";

impl TargetSection {
    /// A local target takes none of the Snowflake keys (`warehouse` is its location).
    pub(super) fn check_local(&self, location: &str, target: &str) -> Result<()> {
        let snowflake_only = [
            ("local-warehouse", self.local_warehouse.is_some()),
            ("account", self.account.is_some()),
            ("user", self.user.is_some()),
            ("password", self.password.is_some()),
            ("private_key_path", self.private_key_path.is_some()),
            ("private_key_passphrase", self.private_key_passphrase.is_some()),
            ("role", self.role.is_some()),
            ("database", self.database.is_some()),
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("protocol", self.protocol.is_some()),
        ];
        match snowflake_only.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(Error::config(
                location,
                format!("[targets.{target}] {key}: only a target of type = \"snowflake\" takes it (add the type)"),
            )),
            None => Ok(()),
        }
    }

    /// The connection of a `type = "snowflake"` target, every required key checked.
    pub(super) fn snowflake(
        &self,
        location: &str,
        target: &str,
        schema: Option<&str>,
        setting: impl Fn(&str, Option<&String>) -> Result<Option<String>>,
    ) -> Result<SnowflakeTarget> {
        // An empty value is unset, so `{{ env_var('X', '') }}` can leave a key out.
        let optional = |key: &str, value: Option<&String>| -> Result<Option<String>> {
            Ok(setting(key, value)?.filter(|v| !v.is_empty()))
        };
        let required = |key: &str, value: Option<&String>| -> Result<String> {
            optional(key, value)?.ok_or_else(|| {
                Error::config(
                    location,
                    format!("[targets.{target}] {key} is required on a type = \"snowflake\" target ({SNOWFLAKE_KEYS})"),
                )
            })
        };
        let port = self.snowflake_port(location, target, &setting)?;
        let protocol = self.snowflake_protocol(location, target, &optional)?;
        let password = optional("password", self.password.as_ref())?;
        let private_key_path = optional("private_key_path", self.private_key_path.as_ref())?.map(PathBuf::from);
        if password.is_none() && private_key_path.is_none() {
            return Err(Error::config(
                location,
                format!("[targets.{target}] needs password or private_key_path to log in to Snowflake"),
            ));
        }
        Ok(SnowflakeTarget {
            account: required("account", self.account.as_ref())?,
            user: required("user", self.user.as_ref())?,
            password,
            private_key_path,
            private_key_passphrase: optional("private_key_passphrase", self.private_key_passphrase.as_ref())?,
            role: optional("role", self.role.as_ref())?,
            database: required("database", self.database.as_ref())?,
            warehouse: optional("warehouse", self.warehouse.as_ref())?,
            schema: schema.map(str::to_owned).ok_or_else(|| {
                Error::config(
                    location,
                    format!("[targets.{target}] schema is required on a type = \"snowflake\" target"),
                )
            })?,
            host: optional("host", self.host.as_ref())?,
            port,
            protocol,
        })
    }

    /// `port`, a TOML integer or a string (so `{{ env_var() }}` can set it), checked to be
    /// 1-65535.
    fn snowflake_port(
        &self,
        location: &str,
        target: &str,
        setting: &impl Fn(&str, Option<&String>) -> Result<Option<String>>,
    ) -> Result<Option<u16>> {
        let port = match &self.port {
            None => None,
            Some(toml::Value::Integer(n)) => Some(*n as i128),
            Some(toml::Value::String(text)) => {
                let text = setting("port", Some(text))?.unwrap_or_default();
                Some(text.trim().parse::<i128>().map_err(|_| {
                    Error::config(location, format!("[targets.{target}] port = '{text}' is not a port number"))
                })?)
            }
            Some(other) => {
                return Err(Error::config(
                    location,
                    format!("[targets.{target}] port: a {} is not a port number", other.type_str()),
                ));
            }
        };
        port.map(|n| {
            u16::try_from(n).ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::config(location, format!("[targets.{target}] port = {n} is not a port number (1-65535)"))
            })
        })
        .transpose()
    }

    /// `protocol`, `https` or `http` when set (`optional` reads a key, empty as unset).
    fn snowflake_protocol(
        &self,
        location: &str,
        target: &str,
        optional: &impl Fn(&str, Option<&String>) -> Result<Option<String>>,
    ) -> Result<Option<String>> {
        let protocol = optional("protocol", self.protocol.as_ref())?;
        if let Some(p) = protocol.as_deref().filter(|p| !matches!(*p, "http" | "https")) {
            return Err(Error::config(
                location,
                format!("[targets.{target}] protocol = '{p}' is not a protocol (accepted: https, http)"),
            ));
        }
        Ok(protocol)
    }
}
