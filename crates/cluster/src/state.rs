//! The session state a scheduler plans in and an executor runs tasks with: DataFusion's
//! and Ballista's defaults, pitwall's SQL functions, [`EnvironmentStores`], and the
//! physical rule that keeps a stage's tasks reporting alike ([`crate::leaves`]).

use std::path::Path;
use std::sync::Arc;

use ballista_core::extension::{
    SessionConfigExt, ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions,
};
use datafusion::common::Result;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;

use crate::leaves::ConstantLeavesAsMemory;
use crate::stores::EnvironmentStores;

/// A session's configuration before the client's settings arrive.
pub(crate) fn config() -> SessionConfig {
    SessionConfig::new_with_ballista()
}

/// The runtime: the object stores, and spill files under `work_dir` when given.
pub(crate) fn runtime(work_dir: Option<&Path>) -> Result<Arc<RuntimeEnv>> {
    let mut builder = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(EnvironmentStores::default()));
    if let Some(dir) = work_dir {
        builder = builder.with_temp_file_path(dir);
    }
    builder.build_arc()
}

/// A session state for `config`, on `runtime`, knowing pitwall's functions.
pub(crate) fn session_state(config: SessionConfig, runtime: Arc<RuntimeEnv>) -> SessionState {
    let mut scalars = ballista_scalar_functions();
    scalars.extend(pitwall_core::functions::udfs().into_iter().map(Arc::new));
    SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .with_physical_optimizer_rule(Arc::new(ConstantLeavesAsMemory))
        .with_scalar_functions(scalars)
        .with_aggregate_functions(ballista_aggregate_functions())
        .with_window_functions(ballista_window_functions())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_knows_pitwalls_functions_and_the_defaults() {
        let state = session_state(config(), runtime(None).unwrap());
        assert!(state.scalar_functions().contains_key("round_half_even"));
        assert!(state.scalar_functions().contains_key("upper"));
        assert!(state.window_functions().contains_key("row_number"));
    }
}
