//! `[jobs.<name>]`: deployment jobs, checked against the file's targets.

use std::collections::BTreeMap;

use super::file::FileSchema;
use crate::error::{Error, Result};

/// `[jobs.<name>]`: a production job, as dbt Cloud's deployment jobs: pitwall commands run
/// in order against one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobConfig {
    pub name: String,
    /// The target its steps run against [default: the project's default target].
    pub target: String,
    /// Each step a pitwall command line without `pitwall`: `build`, `test -s marts`.
    pub steps: Vec<String>,
    pub description: Option<String>,
}

/// `[jobs.<name>]`, each with its target checked (a job names a target the file defines).
pub(super) fn jobs(location: &str, parsed: &FileSchema, default_target: &str) -> Result<BTreeMap<String, JobConfig>> {
    let default_target = parsed.project.default_target.as_deref().unwrap_or(default_target);
    let mut jobs = BTreeMap::new();
    for (name, job) in &parsed.jobs {
        let target = job.target.clone().unwrap_or_else(|| default_target.to_owned());
        if !parsed.targets.is_empty() && !parsed.targets.contains_key(&target) {
            return Err(Error::config(
                location,
                format!(
                    "[jobs.{name}] target = '{target}' is not a target of this file (defined: {})",
                    parsed.targets.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if job.steps.is_empty() || job.steps.iter().any(|s| s.trim().is_empty()) {
            return Err(Error::config(
                location,
                format!("[jobs.{name}] steps: give at least one pitwall command, e.g. [\"build\"]"),
            ));
        }
        jobs.insert(
            name.clone(),
            JobConfig { name: name.clone(), target, steps: job.steps.clone(), description: job.description.clone() },
        );
    }
    Ok(jobs)
}
