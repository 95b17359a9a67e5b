//! How much memory a session's queries may hold together, and where what does not fit
//! is spilled: DataFusion's memory pool and disk manager, one [`RuntimeEnv`] per session.
//!
//! With a limit, operators that can spill (sorts, grouped aggregates, sort-merge joins,
//! window partitions through their sorts) write sorted runs to the spill folder instead
//! of growing past it, and read them back merged; one that cannot (a hash join's build
//! side) fails with DataFusion's `Resources exhausted` error, which names the pool's size,
//! rather than the process being killed for running out of memory. Memory outside query
//! operators (loaded raw tables, Parquet writers' buffers) is not counted.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::error::Result;

/// The memory limit and spill folder of the sessions a process makes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Bytes the query operators of a session may hold together; `None`: no limit.
    pub memory_limit: Option<usize>,
    /// Where spill files go (in a `datafusion-*` folder made per session, removed with it);
    /// `None`: the OS temp folder, used only when something spills.
    pub spill_dir: Option<PathBuf>,
}

impl Resources {
    /// The runtime a session runs in. The pool is DataFusion's greedy one (first come,
    /// first served; an operator spills when the pool is full), not its fair one: with
    /// concurrent models and DataFusion 55 counting each repartition channel as a spilling
    /// consumer, the fair pool's equal shares were too small for one sort's first batch
    /// (`pitwall build` on the real data failed at a 64 MiB limit with it, and succeeds
    /// at 32 MiB with the greedy pool). A `Resources exhausted` error lists the five
    /// largest consumers and the pool's size.
    pub fn runtime_env(&self) -> Result<Arc<RuntimeEnv>> {
        let mut builder = RuntimeEnvBuilder::new();
        if let Some(limit) = self.memory_limit {
            let top = NonZeroUsize::new(5).expect("5 is not zero");
            builder = builder.with_memory_pool(Arc::new(TrackConsumersPool::new(GreedyMemoryPool::new(limit), top)));
        }
        if let Some(dir) = &self.spill_dir {
            builder = builder.with_temp_file_path(dir.clone());
        }
        Ok(builder.build_arc()?)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::{ExecutionPlan, collect};
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::relations::Relations;
    use crate::warehouse::project_session_with;

    const LIMIT: usize = 4 * 1024 * 1024;

    /// A session under a 4 MiB limit holding a table of about 16 MB: 400,000 rows of a
    /// shuffled number and a 24-character text.
    async fn session(spill_dir: &std::path::Path) -> SessionContext {
        let resources = Resources { memory_limit: Some(LIMIT), spill_dir: Some(spill_dir.to_owned()) };
        let relations = Relations { target_schema: "s".into(), source_schemas: Default::default() };
        let session = project_session_with(&relations, &resources).unwrap();
        // The sort's merge reservation (10 MB by default) would not fit the tiny limit, nor
        // would one sort per core, each merging its spilled runs, in 4 MiB.
        {
            let state = session.state_ref();
            let mut state = state.write();
            let options = state.config_mut().options_mut();
            options.execution.sort_spill_reservation_bytes = 256 * 1024;
            options.execution.target_partitions = 1;
        }
        let n = 400_000i64;
        // In batches of 8,000 rows, about what a scan yields.
        let batches: Vec<RecordBatch> = (0..50)
            .map(|part| {
                let ids = (part * n / 50..(part + 1) * n / 50).map(|i| (i * 7_919) % n);
                let x: ArrayRef = Arc::new(Int64Array::from_iter_values(ids.clone()));
                let text: ArrayRef = Arc::new(StringArray::from_iter_values(ids.map(|i| format!("row {i:>20}"))));
                RecordBatch::try_from_iter([("x", x), ("text", text)]).unwrap()
            })
            .collect();
        let table = MemTable::try_new(batches[0].schema(), vec![batches]).unwrap();
        session.register_table("s.big", Arc::new(table)).unwrap();
        session
    }

    fn spills(plan: &Arc<dyn ExecutionPlan>) -> usize {
        let own = plan.metrics().and_then(|m| m.spill_count()).unwrap_or(0);
        own + plan.children().into_iter().map(spills).sum::<usize>()
    }

    #[tokio::test]
    async fn a_sort_larger_than_the_memory_limit_spills_and_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let session = session(dir.path()).await;
        let frame = session.sql("select x, text from s.big order by text desc").await.unwrap();
        let plan = frame.create_physical_plan().await.unwrap();
        let batches = collect(plan.clone(), session.task_ctx()).await.unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 400_000);
        let first = batches.iter().find(|b| b.num_rows() > 0).unwrap();
        let x = first.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(x.value(0), 399_999, "sorted by text, descending");
        let spill_folders = std::fs::read_dir(dir.path()).unwrap().flatten();
        assert!(spill_folders.map(|e| e.file_name()).any(|n| n.to_string_lossy().starts_with("datafusion-")));
        assert!(
            spills(&plan) > 0,
            "the sort did not spill:\n{}",
            datafusion::physical_plan::displayable(plan.as_ref()).indent(true)
        );
    }

    #[tokio::test]
    async fn what_cannot_spill_fails_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let session = session(dir.path()).await;
        // A hash join's build side is held in memory whole: it cannot spill.
        let sql = "select count(*) from s.big a join s.big b on a.text = b.text";
        let error = session.sql(sql).await.unwrap().collect().await.unwrap_err().to_string();
        assert!(error.contains("Resources exhausted"), "{error}");
        assert!(error.contains("pool_size: 4.0 MB"), "{error}");
    }
}
