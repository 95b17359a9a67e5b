//! Targets (dbt's profiles): which one a run uses, its object-store options, and the
//! keys an adapter's target (`type = "snowflake"`) passes to its adapter unread.

use std::collections::BTreeMap;

use super::Overrides;
use super::env::render_env_vars;
use super::file::{FileSchema, TARGET_KEYS, TargetSection};
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

/// A target whose `type` names an adapter (anything but `local`): the type and every key
/// core does not read, for that adapter to read (core knows none of them). String values
/// are `{{ env_var() }}` rendered, and an empty one is left out, so
/// `{{ env_var('X', '') }}` can unset a key. Its `Debug` names the keys, never a value: a
/// value may be a secret.
#[derive(Clone, PartialEq)]
pub struct AdapterTarget {
    /// The target's `type`, as written (`snowflake`).
    pub kind: String,
    /// Where the target is written (`pitwall.toml: [targets.sf]`), for an adapter's
    /// messages about one of its keys.
    pub at: String,
    /// The adapter's keys and their values.
    pub options: BTreeMap<String, toml::Value>,
}

impl std::fmt::Debug for AdapterTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterTarget")
            .field("kind", &self.kind)
            .field("at", &self.at)
            .field("keys", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TargetSection {
    /// `None` for a local target, which takes no adapter key; else the adapter's target,
    /// its string values rendered with `setting`. On an adapter's target `warehouse` is
    /// the adapter's key (dbt-snowflake's virtual warehouse), so it joins the options.
    pub(super) fn adapter(
        &self,
        location: &str,
        target: &str,
        setting: &impl Fn(&str, Option<&String>) -> Result<Option<String>>,
    ) -> Result<Option<AdapterTarget>> {
        let kind = match setting("type", self.kind.as_ref())? {
            None => None,
            Some(kind) if kind == "local" => None,
            Some(kind) => Some(kind),
        };
        let Some(kind) = kind else {
            return self.check_local(location, target).map(|()| None);
        };
        let mut options = BTreeMap::new();
        let warehouse = self.warehouse.as_ref().map(|w| ("warehouse".to_owned(), toml::Value::String(w.clone())));
        for (key, value) in self.adapter.iter().map(|(k, v)| (k.clone(), v.clone())).chain(warehouse) {
            let value = match value {
                toml::Value::String(text) => match setting(&key, Some(&text))? {
                    Some(text) if !text.is_empty() => toml::Value::String(text),
                    _ => continue,
                },
                other => other,
            };
            options.insert(key, value);
        }
        Ok(Some(AdapterTarget { kind, at: format!("{location}: [targets.{target}]"), options }))
    }

    /// A local target takes no adapter key, and no `local-warehouse` (its `warehouse` is
    /// the location).
    fn check_local(&self, location: &str, target: &str) -> Result<()> {
        if self.local_warehouse.is_some() {
            return Err(Error::config(
                location,
                format!(
                    "[targets.{target}] local-warehouse: only an adapter's target takes it (a local target's \
                     location is `warehouse`)"
                ),
            ));
        }
        match self.adapter.keys().next() {
            Some(key) => Err(Error::config(
                location,
                format!(
                    "[targets.{target}] {key}: not a key of a local target ({TARGET_KEYS}); an adapter's keys \
                     need its type (type = \"snowflake\")"
                ),
            )),
            None => Ok(()),
        }
    }
}
