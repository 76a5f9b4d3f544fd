//! What the command reads: Arrow and Parquet columns as pandas and pyarrow write them
//! (compressed IPC, dictionary-encoded text, small integers), ids with spaces around them,
//! JSON lines with a byte-order mark, and summaries in every input format.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use common::{dir, ok, run};

/// lifetimes' first pinned case (tests of `summary_data_from_transaction_data`).
const IDS: [i64; 6] = [1, 1, 2, 3, 3, 3];
const DATES: [&str; 6] =
    ["2015-02-01", "2015-02-06", "2015-01-01", "2015-01-01", "2015-01-02", "2015-01-05"];
const SUMMARY: &str =
    "customer_id,frequency,recency,T,monetary_value\n1,1,5,5,1\n2,0,0,36,0\n3,2,4,36,1\n";

fn batch(ids: ArrayRef, dates: ArrayRef, amounts: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([("customer_id", ids), ("date", dates), ("amount", amounts)])
        .unwrap()
}

fn text_dates() -> ArrayRef {
    Arc::new(arrow_array::StringArray::from(DATES.to_vec()))
}

fn float_amounts() -> ArrayRef {
    Arc::new(arrow_array::Float64Array::from(vec![1.0; 6]))
}

/// Writes `batch` as an Arrow IPC file or stream with the body compression `compression`.
fn write_ipc(
    path: &Path,
    batch: &RecordBatch,
    compression: Option<arrow_ipc::CompressionType>,
    stream: bool,
) {
    use arrow_ipc::writer::{FileWriter, IpcWriteOptions, StreamWriter};
    let options = IpcWriteOptions::default().try_with_compression(compression).unwrap();
    let f = std::fs::File::create(path).unwrap();
    if stream {
        let mut w = StreamWriter::try_new_with_options(f, &batch.schema(), options).unwrap();
        w.write(batch).unwrap();
        w.finish().unwrap();
    } else {
        let mut w = FileWriter::try_new_with_options(f, &batch.schema(), options).unwrap();
        w.write(batch).unwrap();
        w.finish().unwrap();
    }
}

/// Feather as pandas' `to_feather()` writes it (LZ4 by default) and zstd, as IPC files and
/// streams. Before arrow-ipc's `lz4` and `zstd` features: "lz4 IPC decompression requires
/// the lz4 feature".
#[test]
fn compressed_arrow_ipc_is_read() {
    use arrow_ipc::CompressionType;
    let d = dir("ipc_compressed");
    let ids: ArrayRef = Arc::new(arrow_array::Int64Array::from(IDS.to_vec()));
    let b = batch(ids, text_dates(), float_amounts());
    for (name, compression) in
        [("lz4", CompressionType::LZ4_FRAME), ("zstd", CompressionType::ZSTD)]
    {
        for (stream, ext) in [(false, "feather"), (true, "arrows")] {
            let p = d.join(format!("log_{name}.{ext}"));
            write_ipc(&p, &b, Some(compression), stream);
            let o = run(&["summary", p.to_str().unwrap()]);
            assert_eq!(ok(&o), SUMMARY, "{name} {ext}");
        }
    }
}
