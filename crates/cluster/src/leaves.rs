//! A physical optimizer rule for the scheduler: every constant leaf becomes an in-memory
//! source, so each task of a stage reports the same operators.
//!
//! Why: Ballista 55 restricts a stage's plan to each task's partitions, and a
//! `PlaceholderRowExec` or `EmptyExec` (the leaf of `select 0.25 as q`, a one-row
//! source, and of an empty relation) that a task does not read becomes an in-memory
//! source (`MemorySourceConfig`) there. The two report metrics differently (the
//! placeholder none, the source a set), so tasks covering different partitions of a
//! `UNION ALL` of such selects report operator lists of different lengths. The
//! scheduler rejects a task status whose list differs from the stage's, logs
//! "task metrics array size 7 does not equal with the stage metrics array size 6",
//! and drops the status, so the job waits forever for a task that has finished: the
//! hang of about one `--engine ballista` build in 15 (`fastest_pit_stops_by_constructor`,
//! whose quantiles are a union of three such selects). With every constant leaf an
//! in-memory source from the start, restricting keeps each leaf's kind.

use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, RecordBatchOptions, new_null_array};
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::placeholder_row::PlaceholderRowExec;

/// See the module: constant leaves as in-memory sources.
#[derive(Debug, Default)]
pub(crate) struct ConstantLeavesAsMemory;

/// An in-memory source with `rows` all-null rows per partition of `leaf`, in its schema
/// (a placeholder's may have no columns, so the row count is given, not read off them).
fn memory_source(leaf: &Arc<dyn ExecutionPlan>, rows: usize) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = leaf.schema();
    let partitions = leaf.properties().output_partitioning().partition_count();
    let batches = if rows == 0 {
        vec![]
    } else {
        let columns = schema.fields().iter().map(|field| new_null_array(field.data_type(), rows)).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        vec![RecordBatch::try_new_with_options(schema.clone(), columns, &options)?]
    };
    Ok(MemorySourceConfig::try_new_exec(&vec![batches; partitions], schema, None)?)
}

impl PhysicalOptimizerRule for ConstantLeavesAsMemory {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let rows = if node.is::<PlaceholderRowExec>() {
                1
            } else if node.is::<EmptyExec>() {
                0
            } else {
                return Ok(Transformed::no(node));
            };
            match memory_source(&node, rows) {
                Ok(source) => Ok(Transformed::yes(source)),
                // A schema the rows cannot be made for (a non-nullable column): the leaf
                // stays as DataFusion planned it.
                Err(_) => Ok(Transformed::no(node)),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "pitwall_constant_leaves_as_memory"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballista_scheduler::state::task_builder::restrict_plan_to_partitions;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn constant_selects_keep_their_rows_as_memory_sources() {
        let session = SessionContext::new();
        let sql = "select q from (select 0.25 as q union all select 0.5 union all select 0.75) order by q";
        let plan = session.sql(sql).await.unwrap().create_physical_plan().await.unwrap();
        let rewritten = ConstantLeavesAsMemory.optimize(plan, &ConfigOptions::default()).unwrap();
        let shown = datafusion::physical_plan::displayable(rewritten.as_ref()).indent(true).to_string();
        assert!(!shown.contains("PlaceholderRowExec"), "{shown}");
        let batches = collect(rewritten, session.task_ctx()).await.unwrap();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 3, "{shown}");
    }

    #[tokio::test]
    async fn an_empty_relation_with_columns_stays_empty_with_its_columns() {
        let session = SessionContext::new();
        let plan =
            session.sql("select 1 as a, 'x' as b where false").await.unwrap().create_physical_plan().await.unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string();
        assert!(shown.contains("EmptyExec"), "the planner's empty leaf: {shown}");
        let rewritten = ConstantLeavesAsMemory.optimize(plan.clone(), &ConfigOptions::default()).unwrap();
        assert_eq!(rewritten.schema(), plan.schema());
        let batches = collect(rewritten, session.task_ctx()).await.unwrap();
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    }

    /// The operators a task restricted to `partitions` reports, as an executor counts them.
    fn reported_operators(plan: &Arc<dyn ExecutionPlan>, partitions: &[usize]) -> usize {
        let restricted = restrict_plan_to_partitions(plan.clone(), partitions).unwrap();
        ballista_core::utils::collect_plan_metrics(restricted.as_ref()).len()
    }

    #[tokio::test]
    async fn every_task_of_a_union_of_constant_selects_reports_the_same_operators() {
        let session = SessionContext::new();
        let sql = "select 0.25 as q union all select 0.5 union all select 0.75";
        let plan = session.sql(sql).await.unwrap().create_physical_plan().await.unwrap();
        assert_eq!(plan.properties().output_partitioning().partition_count(), 3);
        let slices: [&[usize]; 4] = [&[0], &[2], &[0, 1], &[0, 1, 2]];
        let counts = |plan: &Arc<dyn ExecutionPlan>| slices.map(|slice| reported_operators(plan, slice));
        // Ballista's own restriction, on DataFusion's plan: the tasks disagree, which made
        // the scheduler drop their statuses.
        let before = counts(&plan);
        assert!(before.iter().any(|&n| n != before[0]), "{before:?}");
        let rewritten = ConstantLeavesAsMemory.optimize(plan, &ConfigOptions::default()).unwrap();
        let after = counts(&rewritten);
        assert!(after.iter().all(|&n| n == after[0]), "{after:?}");
    }
}
