//! A scheduler and two executors (the crate's binaries, as separate processes on loopback
//! ports) run the scoring SQL over a partitioned Parquet data set, and the results equal the
//! single-process run's, row for row.
#![cfg(feature = "ballista")]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

/// Child processes, killed when the test ends however it ends.
struct Cluster(Vec<Child>);

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loyalty-ballista-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A generated log in eight Parquet files: 2,000 customers, about 11,000 orders. Customer `c`
/// keeps about `1 / (1 + c % 7)` of 15 orders, spread over the first `(1 + c % 10) / 10` of
/// the two years: purchase rates and lifetimes differ, as BG/NBD needs to identify its
/// parameters (on equal rates and no dropout the fit rightly reports that it cannot).
async fn parquet_log() -> PathBuf {
    let dir = scratch("orders");
    let ctx = SessionContext::new();
    ctx.sql(&format!(
        "COPY (SELECT (value * 7919) % 2000 AS customer_id, \
                      to_timestamp_seconds(1577836800 + ((value * 104729) % 63072000) \
                        * (1 + (value * 7919) % 2000 % 10) / 10) AS order_time, \
                      CAST(((value * 31) % 9000) / 100.0 + 1 AS DECIMAL(10, 2)) AS amount, \
                      value % 8 AS part \
               FROM generate_series(1, 30000) \
               WHERE (value * 48271 / 2000) % 100 < 100 / (1 + (value * 7919) % 2000 % 7)) \
         TO '{}/' STORED AS PARQUET PARTITIONED BY (part)",
        dir.display()
    ))
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    dir
}

// Flat columns before the fit: Ballista 55's plan codec loses the column names DataFusion's
// optimizer gives struct fields extracted inside an aggregate's arguments.
const SCORING: &str = "\
WITH summary AS (
  SELECT customer_id, s['frequency'] AS x, s['recency'] AS t_x, s['t'] AS t,
         s['monetary_value'] AS m
  FROM (SELECT customer_id, rfm_summary(order_time, amount, DATE '2021-12-31', 'week') AS s
        FROM tx GROUP BY customer_id)
  WHERE s IS NOT NULL),
models AS (SELECT bgnbd_fit(x, t_x, t) AS bg FROM summary)
SELECT customer_id, x, t_x, t, m, p_alive(bg, x, t_x, t) AS p_alive,
       expected_purchases(bg, 26, x, t_x, t) AS purchases_26w
FROM summary CROSS JOIN models ORDER BY customer_id";

async fn scores(ctx: &SessionContext, orders: &Path) -> Vec<RecordBatch> {
    ctx.register_parquet("tx", orders.to_str().unwrap(), ParquetReadOptions::default())
        .await
        .unwrap();
    ctx.sql(SCORING).await.unwrap().collect().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executors_score_as_one_process() {
    let orders = parquet_log().await;
    let local = SessionContext::new();
    loyalty_datafusion::register(&local);
    let expected = pretty_format_batches(&scores(&local, &orders).await).unwrap().to_string();
    assert_eq!(expected.lines().count(), 2_000 + 4, "one row per customer");

    let scheduler_port = free_port();
    let mut cluster = Cluster(Vec::new());
    cluster.0.push(
        Command::new(env!("CARGO_BIN_EXE_loyalty-scheduler"))
            .args(["--bind-port", &scheduler_port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(scheduler_port);
    for i in 0..2 {
        let (port, grpc) = (free_port(), free_port());
        let work = scratch(&format!("executor-{i}"));
        cluster.0.push(
            Command::new(env!("CARGO_BIN_EXE_loyalty-executor"))
                .args(["--scheduler-port", &scheduler_port.to_string()])
                .args(["--port", &port.to_string(), "--grpc-port", &grpc.to_string()])
                .args(["--concurrent-tasks", "1", "--work-dir", work.to_str().unwrap()])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for(port);
    }

    let state = loyalty_datafusion::ballista::session_state(
        SessionConfig::new_with_ballista().with_target_partitions(4),
    )
    .unwrap();
    let url = format!("df://127.0.0.1:{scheduler_port}");
    let remote = SessionContext::remote_with_state(&url, state).await.unwrap();
    // `remote_with_state` resets the state's functions to Ballista's: register ours again.
    loyalty_datafusion::register(&remote);
    let got = pretty_format_batches(&scores(&remote, &orders).await).unwrap().to_string();
    assert_eq!(got, expected);
}
