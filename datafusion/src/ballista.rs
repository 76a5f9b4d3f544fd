//! Distributed execution on [Ballista]: the session state and the function registry that carry
//! this crate's functions to a scheduler, its executors and their clients.
//!
//! Ballista sends plans between processes as protobuf, and its codecs name a user-defined
//! function by its name alone; each process then looks the name up in its own registry. So the
//! functions must be registered in three places: the client's session (to plan the query), the
//! scheduler's session builder (to plan its stages) and every executor's function registry (to
//! run them). The binaries `loyalty-scheduler` and `loyalty-executor` do the last two with
//! [`session_state`] and [`function_registry`]; a client connects with
//!
//! ```no_run
//! use ballista::prelude::{SessionConfigExt, SessionContextExt};
//! use datafusion::prelude::{SessionConfig, SessionContext};
//!
//! # async fn run() -> datafusion::error::Result<()> {
//! let state = loyalty_datafusion::ballista::session_state(SessionConfig::new_with_ballista())?;
//! let ctx = SessionContext::remote_with_state("df://127.0.0.1:50050", state).await?;
//! // Ballista's `remote_with_state` resets the state's functions to its own defaults.
//! loyalty_datafusion::register(&ctx);
//! ctx.sql("SELECT 1").await?.show().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every function's state is plain Arrow data and every constant argument travels in the plan,
//! so no custom plan codec is needed.
//!
//! [Ballista]: https://datafusion.apache.org/ballista/

use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::common::Result;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::prelude::SessionConfig;

/// Ballista's default session state for `config` with this crate's functions registered: the
/// session builder of a scheduler, and the state a client connects with.
///
/// # Errors
///
/// When Ballista cannot build its default state (its runtime environment).
pub fn session_state(config: SessionConfig) -> Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    register_state(&mut state)?;
    Ok(state)
}

/// Registers this crate's functions on a session state.
///
/// # Errors
///
/// Never in practice: DataFusion's registry returns a `Result` for registries that can fail.
pub fn register_state(state: &mut SessionState) -> Result<()> {
    for f in crate::aggregate_functions() {
        state.register_udaf(Arc::new(f))?;
    }
    for f in crate::scalar_functions() {
        state.register_udf(Arc::new(f))?;
    }
    Ok(())
}

/// An executor's function registry: Ballista's defaults and this crate's functions.
///
/// # Errors
///
/// As [`session_state`].
pub fn function_registry() -> Result<BallistaFunctionRegistry> {
    let state = session_state(SessionConfig::new_with_ballista())?;
    Ok(BallistaFunctionRegistry::from(&state))
}
