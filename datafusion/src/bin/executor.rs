//! `loyalty-executor`: a Ballista executor that runs the loyalty SQL functions.
//!
//! ```text
//! loyalty-executor --scheduler-host sched.internal --scheduler-port 50050 \
//!     --bind-host 0.0.0.0 --external-host worker1.internal --port 50051 --grpc-port 50052
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};

mod flags;

const FLAGS: [(&str, &str, &str); 8] = [
    ("bind-host", "127.0.0.1", "address to listen on"),
    ("external-host", "", "host name the scheduler and other executors reach this one by"),
    ("port", "50051", "port of the Arrow Flight service (shuffle data)"),
    ("grpc-port", "50052", "port of the executor's gRPC service"),
    ("scheduler-host", "localhost", "the scheduler's host"),
    ("scheduler-port", "50050", "the scheduler's port"),
    ("concurrent-tasks", "0", "tasks run at once (0: one per core)"),
    ("work-dir", "", "directory for shuffle files (default: a temporary directory)"),
];

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loyalty-executor: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let values = flags::parse("usage: loyalty-executor [options]", &FLAGS)?;
    let registry = loyalty_datafusion::ballista::function_registry().map_err(|e| e.to_string())?;
    let defaults = ExecutorProcessConfig::default();
    let vcores = match flags::number::<usize>(&values, "concurrent-tasks")? {
        0 => defaults.vcores,
        n => n,
    };
    let text = |name: &str| Some(values[name].clone()).filter(|v| !v.is_empty());
    let config = ExecutorProcessConfig {
        bind_host: values["bind-host"].clone(),
        external_host: text("external-host"),
        port: flags::number(&values, "port")?,
        grpc_port: flags::number(&values, "grpc-port")?,
        scheduler_host: values["scheduler-host"].clone(),
        scheduler_port: flags::number(&values, "scheduler-port")?,
        vcores,
        work_dir: text("work-dir"),
        override_function_registry: Some(Arc::new(registry)),
        ..defaults
    };
    start_executor_process(Arc::new(config)).await.map_err(|e| e.to_string())
}
