//! `loyalty sql` in a build without the feature `sql`: listed in --help, and one line saying
//! the command was built without `sql`, exit status 2, like a usage error.

#![cfg(not(feature = "sql"))]

use std::process::{Command, Stdio};

#[test]
fn sql_without_the_feature_says_so_in_one_line_and_exits_2() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_loyalty"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs")
    };
    let o = run(&["sql", "--table", "tx=orders.csv", "SELECT 1"]);
    let e = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(
        e,
        "loyalty sql: this loyalty was built without the `sql` feature (rebuild with `cargo \
         install --path cli --features sql`)\n"
    );
    assert!(o.stdout.is_empty());
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    assert!(help.contains("\n  sql "), "{help}");
}
