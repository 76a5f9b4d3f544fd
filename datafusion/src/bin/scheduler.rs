//! `loyalty-scheduler`: a Ballista scheduler whose planner knows the loyalty SQL functions.
//!
//! ```text
//! loyalty-scheduler --bind-host 0.0.0.0 --bind-port 50050
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

mod flags;

const FLAGS: [(&str, &str, &str); 3] = [
    ("bind-host", "127.0.0.1", "address to listen on"),
    ("bind-port", "50050", "port of the scheduler's gRPC service"),
    ("external-host", "localhost", "host name executors and clients reach this scheduler by"),
];

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loyalty-scheduler: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let values = flags::parse("usage: loyalty-scheduler [options]", &FLAGS)?;
    let port: u16 = flags::number(&values, "bind-port")?;
    let host = values["bind-host"].clone();
    let config = SchedulerConfig {
        bind_host: host.clone(),
        bind_port: port,
        external_host: values["external-host"].clone(),
        override_session_builder: Some(Arc::new(loyalty_datafusion::ballista::session_state)),
        ..SchedulerConfig::default()
    };
    let addr = format!("{host}:{port}")
        .parse()
        .map_err(|e| format!("--bind-host {host:?} --bind-port {port}: {e}"))?;
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| e.to_string())?;
    start_server(cluster, addr, Arc::new(config)).await.map_err(|e| e.to_string())
}
