//! SQL functions of the `loyalty` library for [Apache DataFusion]: the per-customer RFM
//! summary, the CLV model fits and scoring, usable from SQL on partitioned Parquet or CSV logs,
//! on every core and (with Ballista) on a cluster.
//!
//! # Why
//!
//! A transaction log that outgrows one process is usually a directory of Parquet files queried
//! with SQL. [`register`] adds the library's functions to a DataFusion [`SessionContext`], and
//! the engine does the partitioning, the shuffle by customer and the I/O. The results are the
//! library's, to the bit: the aggregate states are the library's mergeable inputs (a
//! customer's transactions, the [`Histogram`](loyalty::clv::Histogram) of a fit), and the
//! final step calls the library's own functions on them.
//!
//! | function | kind | what |
//! |---|---|---|
//! | `rfm_summary(order_time, amount, as_of [, period [, options [, customer_id]]])` | aggregate | lifetimes' summary per `GROUP BY` customer, as a struct |
//! | `bgnbd_fit`, `mbgnbd_fit`, `pareto_nbd_fit` `(frequency, recency, t [, options])` | aggregate | model fit struct |
//! | `gamma_gamma_fit(frequency, monetary_value [, options])` | aggregate | spend model fit struct |
//! | `p_alive(model, frequency, recency, t)` | scalar | `P(alive)` |
//! | `expected_purchases(model, horizon, frequency, recency, t)` | scalar | conditional expected purchases |
//! | `expected_spend(spend_model, frequency, monetary_value)` | scalar | Gamma-Gamma expected mean spend |
//! | `clv(model, spend_model, frequency, recency, t, monetary_value [, options])` | scalar | lifetimes' CLV |
//! | `rfm_segment(r, f, m [, map])` | scalar | segment name of an R/F/M score |
//!
//! A fit struct's `status` is `converged` at an interior optimum and `boundary` when the
//! optimum lies at the boundary of the parameter space (see the library's `FitStatus`):
//! `boundary_parameters` then names the parameters the data do not identify and the
//! standard errors are null.
//!
//! The summary struct's fields are `frequency`, `recency`, `t`, `monetary_value` (lifetimes'
//! columns), `recency_periods`, `t_periods`, `periods_since_last_purchase`,
//! `purchase_periods`, `orders`, `total_spend`, `first_purchase_amount`, `first_purchase`,
//! `last_purchase`, `excluded_after_as_of`, `negative_amounts` and `skipped_nulls`. Money
//! is summed exactly as decimals and reported as `DOUBLE`: `monetary_value` is the model input
//! (`ClvInputs::monetary_value`), the two amounts are the exact decimals converted once.
//!
//! # Example
//!
//! ```
//! use datafusion::prelude::SessionContext;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> datafusion::error::Result<()> {
//! let ctx = SessionContext::new();
//! loyalty_datafusion::register(&ctx);
//! ctx.sql(
//!     "CREATE TABLE tx (customer_id INT, date DATE, amount DECIMAL(10, 2)) AS VALUES
//!      (1, DATE '2015-02-01', 1.00), (1, DATE '2015-02-06', 1.00), (2, DATE '2015-01-01', 1.00),
//!      (3, DATE '2015-01-01', 1.00), (3, DATE '2015-01-02', 1.00), (3, DATE '2015-01-05', 1.00)",
//! )
//! .await?;
//! let rows = ctx
//!     .sql(
//!         "SELECT customer_id, s['frequency'] AS x, s['recency'] AS t_x, s['t'] AS t
//!          FROM (SELECT customer_id, rfm_summary(date, amount, DATE '2015-02-07', 'day') AS s
//!                FROM tx GROUP BY customer_id)
//!          ORDER BY customer_id",
//!     )
//!     .await?
//!     .collect()
//!     .await?;
//! let text = datafusion::arrow::util::pretty::pretty_format_batches(&rows)?.to_string();
//! // lifetimes' first pinned case: (1, 1, 5, 6), (2, 0, 0, 37), (3, 2, 4, 37).
//! assert!(text.contains("| 1           | 1 | 5.0 | 6.0  |"), "{text}");
//! assert!(text.contains("| 3           | 2 | 4.0 | 37.0 |"), "{text}");
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! - `ballista` (off by default): the [`ballista`] module and the `loyalty-scheduler` and
//!   `loyalty-executor` binaries, for running the same SQL on a Ballista cluster.
//!
//! # Bad input
//!
//! Every function checks its arguments when the query is planned (types, argument counts,
//! constant options) and its values when it runs, and fails with a DataFusion error naming the
//! function, the argument and the value (`rfm_summary: argument amount = -3.5: negative amounts
//! are rejected by the option negative=reject`); nothing panics. NULL order times or amounts
//! are an error unless `rfm_summary`'s option `nulls=skip` skips and counts them (field
//! `skipped_nulls`). An aggregate never sees its `GROUP BY` key, so a NULL customer id obeys
//! the same option only when the key is passed again as `rfm_summary`'s last argument,
//! `customer_id`; without it the NULL key is one SQL group like any other (filter it out with
//! `WHERE customer_id IS NOT NULL`). The fits skip rows with a NULL argument and count them.
//!
//! # References
//!
//! - Fader, Hardie & Lee (2005), "Counting your customers the easy way", *Marketing Science*
//!   24(2); "RFM and CLV: using iso-value curves", *JMR* 42(4).
//! - The `lifetimes` 0.11.3 Python package, whose summary and fits these reproduce.
//! - Lamb et al. (2024), "Apache Arrow DataFusion: a fast, embeddable, modular analytic query
//!   engine", SIGMOD Companion '24: the engine these functions plug into.
//!
//! [Apache DataFusion]: https://datafusion.apache.org/

// The library's rules hold here too: no unsafe code, every public item documented.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
#[cfg(feature = "ballista")]
pub mod ballista;
mod fit;
mod score;
mod segment;
mod summary;
mod tables;

pub use tables::{register_table, Format};

/// The DataFusion this crate is built on, so that a host (the `loyalty sql` command) names its
/// types at exactly this version without a dependency of its own.
pub use datafusion;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

use crate::fit::{FitUdaf, Model};
use crate::score::{Kind, Score};

/// Every aggregate function of this crate, for hosts that build their own registry (a
/// Ballista executor's function registry, say).
#[must_use]
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    let mut out = vec![AggregateUDF::new_from_impl(summary::RfmSummary::new())];
    for m in [Model::BgNbd, Model::MbgNbd, Model::ParetoNbd, Model::GammaGamma] {
        out.push(AggregateUDF::new_from_impl(FitUdaf::new(m)));
    }
    out
}

/// Every scalar function of this crate.
#[must_use]
pub fn scalar_functions() -> Vec<ScalarUDF> {
    let mut out: Vec<ScalarUDF> =
        [Kind::PAlive, Kind::ExpectedPurchases, Kind::ExpectedSpend, Kind::Clv]
            .into_iter()
            .map(|k| ScalarUDF::new_from_impl(Score::new(k)))
            .collect();
    out.push(ScalarUDF::new_from_impl(segment::RfmSegment::new()));
    out
}

/// Registers every function of this crate on `ctx` (replacing functions of the same names).
pub fn register(ctx: &SessionContext) {
    for f in aggregate_functions() {
        ctx.register_udaf(f);
    }
    for f in scalar_functions() {
        ctx.register_udf(f);
    }
}
