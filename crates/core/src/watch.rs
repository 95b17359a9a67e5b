//! [`EngineWatch`]: what a run must know of a distributed engine's health to trust what
//! it computes there.

use futures::future::BoxFuture;

/// Tells a run when its engine has lost part of itself (a cluster's executor).
///
/// A run does not rely on the engine's own recovery: Ballista 55's, after a lost
/// executor, was seen both to wait forever and to return a job's rows incomplete. So
/// once anything is lost, the run's work on the engine stops, and a result finished
/// after the loss is not committed; what was committed before stays and is reused.
pub trait EngineWatch: Send + Sync {
    /// Resolves with what was lost (a sentence naming it) once anything is; stays
    /// pending while the engine is whole.
    fn lost(&self) -> BoxFuture<'_, String>;

    /// Looks again now, just before a result is committed: `Err(what was lost)` if
    /// anything is, even if [`EngineWatch::lost`] has not seen it yet.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;

    /// The run stopped after a loss: end the work it left running on the engine, whose
    /// results would be discarded anyway. Best effort; nothing to do by default.
    fn abandon(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
