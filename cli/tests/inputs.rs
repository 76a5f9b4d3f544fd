//! What the command reads: Arrow and Parquet columns as pandas and pyarrow write them
//! (compressed IPC, dictionary-encoded text, small integers), ids with spaces around them,
//! JSON lines with a byte-order mark, and summaries in every input format.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use common::{dir, fails, file, ok, run, write_parquet};

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

/// Ids, dates and amounts in the other types pandas and pyarrow write: dictionary-encoded
/// text (pandas' Categorical, `dictionary_encode()`) and 8-, 16- and 32-bit integers, in
/// Parquet (both readers) and Arrow IPC. Before, each was refused ("column `amount` has
/// type Int16: expected decimals, numbers or text").
#[test]
fn dictionary_and_small_integer_columns_are_read() {
    use arrow_array::types::{Int32Type, Int8Type, UInt16Type};
    use arrow_array::{
        DictionaryArray, Int16Array, Int8Array, StringArray, UInt16Array, UInt32Array, UInt8Array,
    };
    let d = dir("column_types");
    let texts: Vec<String> = IDS.iter().map(i64::to_string).collect();
    let dict_ids: ArrayRef =
        Arc::new(texts.iter().map(String::as_str).collect::<DictionaryArray<Int32Type>>());
    let dict_dates: ArrayRef =
        Arc::new(DATES.iter().copied().collect::<DictionaryArray<Int8Type>>());
    // A dictionary of integers, keyed by u16.
    let dict_int_ids: ArrayRef = Arc::new(
        DictionaryArray::<UInt16Type>::try_new(
            UInt16Array::from(vec![0, 0, 1, 2, 2, 2]),
            Arc::new(Int16Array::from(vec![1, 2, 3])),
        )
        .unwrap(),
    );
    let small = |f: fn(&[i64]) -> ArrayRef| f(&IDS);
    let ids: Vec<(&str, ArrayRef)> = vec![
        ("dictionary text", dict_ids.clone()),
        ("dictionary int16", dict_int_ids),
        ("int8", small(|v| Arc::new(Int8Array::from_iter_values(v.iter().map(|&x| x as i8))))),
        ("int16", small(|v| Arc::new(Int16Array::from_iter_values(v.iter().map(|&x| x as i16))))),
        ("uint8", small(|v| Arc::new(UInt8Array::from_iter_values(v.iter().map(|&x| x as u8))))),
        ("uint16", small(|v| Arc::new(UInt16Array::from_iter_values(v.iter().map(|&x| x as u16))))),
        ("uint32", small(|v| Arc::new(UInt32Array::from_iter_values(v.iter().map(|&x| x as u32))))),
    ];
    let amounts: Vec<(&str, ArrayRef)> = vec![
        ("int8", Arc::new(Int8Array::from(vec![1; 6]))),
        ("int16", Arc::new(Int16Array::from(vec![1; 6]))),
        ("uint8", Arc::new(UInt8Array::from(vec![1; 6]))),
        ("uint16", Arc::new(UInt16Array::from(vec![1; 6]))),
        ("uint32", Arc::new(UInt32Array::from(vec![1; 6]))),
        ("dictionary text", Arc::new(["1"; 6].into_iter().collect::<DictionaryArray<Int8Type>>())),
    ];
    let mut cases = Vec::new();
    for (what, a) in &ids {
        cases.push((format!("ids {what}"), batch(a.clone(), text_dates(), float_amounts())));
    }
    for (what, a) in &amounts {
        cases.push((format!("amounts {what}"), batch(dict_ids.clone(), text_dates(), a.clone())));
    }
    cases.push(("dates dictionary".into(), batch(dict_ids.clone(), dict_dates, float_amounts())));
    for (i, (what, b)) in cases.iter().enumerate() {
        let pq = d.join(format!("case{i}.parquet"));
        write_parquet(&pq, b);
        let ipc = d.join(format!("case{i}.arrow"));
        write_ipc(&ipc, b, None, false);
        for p in [pq, ipc] {
            let o = run(&["summary", p.to_str().unwrap()]);
            assert_eq!(ok(&o), SUMMARY, "{what}: {}", p.display());
        }
    }
    // A null in a dictionary column is a missing value at its row; a type that is still not
    // an amount is refused with the type the file declares.
    let with_null: ArrayRef = Arc::new(
        [Some("1"), Some("1"), None, Some("3"), Some("3"), Some("3")]
            .into_iter()
            .collect::<DictionaryArray<Int32Type>>(),
    );
    let p = d.join("null.parquet");
    write_parquet(&p, &batch(with_null, text_dates(), float_amounts()));
    fails(
        &run(&["summary", p.to_str().unwrap()]),
        &format!("{}:3: customer_id: null: missing value", p.display()),
    );
    let flags: ArrayRef = Arc::new(arrow_array::BooleanArray::from(vec![true; 6]));
    let p = d.join("bool.parquet");
    write_parquet(&p, &batch(Arc::new(StringArray::from(texts.clone())), text_dates(), flags));
    fails(
        &run(&["summary", p.to_str().unwrap()]),
        &format!(
            "{}: column `amount` has type Boolean: expected decimals, numbers or text",
            p.display()
        ),
    );
}

/// Spaces around an id are trimmed as around the header names, dates and amounts: the
/// review's `1 , 2024-01-01 , 10.5` and `1,2024-01-09,20` are one customer, in the parallel
/// CSV pass, the `csv` crate's pass (a quoted field sends the file there), JSON lines and
/// Parquet. Before, they were two customers, `1` and `1 `.
#[test]
fn spaces_around_ids_are_trimmed() {
    let d = dir("trimmed_ids");
    let one = "customer_id,frequency,recency,T,monetary_value\n1,1,8,8,20\n";
    let plain = "customer_id , date , amount\n1 , 2024-01-01 , 10.5\n1,2024-01-09,20\n";
    assert_eq!(ok(&run(&["summary", &file(&d, "plain.csv", plain)])), one);
    let quoted = "customer_id , date , amount\n\"1 \" , 2024-01-01 , 10.5\n\t1,2024-01-09,\"20\"\n";
    assert_eq!(ok(&run(&["summary", &file(&d, "quoted.csv", quoted)])), one);
    let tsv = "customer_id\tdate\tamount\n 1 \t2024-01-01\t10.5\n1\t2024-01-09\t20\n";
    assert_eq!(ok(&run(&["summary", &file(&d, "log.tsv", tsv)])), one);
    let jsonl = "{\"customer_id\":\" 1 \",\"date\":\"2024-01-01\",\"amount\":10.5}\n\
                 {\"customer_id\":1,\"date\":\"2024-01-09\",\"amount\":20}\n";
    assert_eq!(ok(&run(&["summary", &file(&d, "log.jsonl", jsonl)])), one);
    // Text ids too, and a Parquet column of them.
    let text = "customer_id,date,amount\n ann ,2024-01-01,10.5\nann,2024-01-09,20\n";
    let ann = "customer_id,frequency,recency,T,monetary_value\nann,1,8,8,20\n";
    assert_eq!(ok(&run(&["summary", &file(&d, "text.csv", text)])), ann);
    let b = batch(
        Arc::new(arrow_array::StringArray::from(vec!["1 ", " 1"])),
        Arc::new(arrow_array::StringArray::from(vec!["2024-01-01", "2024-01-09"])),
        Arc::new(arrow_array::Float64Array::from(vec![10.5, 20.0])),
    );
    let p = d.join("log.parquet");
    write_parquet(&p, &b);
    assert_eq!(ok(&run(&["summary", p.to_str().unwrap()])), one);
    // An id of spaces only is empty.
    let blank = file(&d, "blank.csv", "customer_id,date,amount\n1,2024-01-01,1\n  ,2024-01-02,1\n");
    fails(
        &run(&["summary", &blank]),
        &format!("{blank}:3: customer_id: (empty): empty customer id"),
    );
}

/// `--summary-input` reads a summary in the formats a log is read in, by extension or
/// `--input-format`: the command's own Parquet and JSON-lines summaries give the fits and
/// scores its CSV summary gives (before, every file was read as CSV: "not UTF-8 text").
#[test]
fn summary_input_in_every_format() {
    let d = dir("summary_formats");
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/cdnow_transactions.csv");
    let log = log.to_str().unwrap();
    let mut files = Vec::new();
    for ext in ["csv", "parquet"] {
        let p = d.join(format!("summary.{ext}"));
        ok(&run(&["summary", "--quiet", log, "-o", p.to_str().unwrap()]));
        files.push((p.to_str().unwrap().to_string(), None));
    }
    // The CSV's rows as JSON lines (numbers with every digit the CSV has, ids as strings),
    // and the same under another extension, named by --input-format.
    let csv = std::fs::read_to_string(&files[0].0).unwrap();
    let mut jsonl = String::new();
    for l in csv.lines().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        jsonl.push_str(&format!(
            "{{\"customer_id\":\"{}\",\"frequency\":{},\"recency\":{},\"T\":{},\"monetary_value\":{}}}\n",
            c[0], c[1], c[2], c[3], c[4]
        ));
    }
    files.push((file(&d, "summary.jsonl", &jsonl), None));
    files.push((file(&d, "summary.txt", &jsonl), Some("jsonl")));
    let without_seconds = |o: &std::process::Output| {
        let mut v: serde_json::Value = serde_json::from_str(&ok(o)).unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    let mut fits = Vec::new();
    let mut scores = Vec::new();
    for (p, format) in &files {
        let mut args = vec!["--summary-input", p.as_str()];
        if let Some(f) = format {
            args.extend(["--input-format", f]);
        }
        fn with<'a>(head: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
            [head, args].concat()
        }
        fits.push((
            without_seconds(&run(&with(&["fit", "--model", "bgnbd"], &args))),
            without_seconds(&run(&with(&["fit", "--model", "gamma-gamma"], &args))),
        ));
        scores.push(ok(&run(&with(&["score"], &args))));
    }
    assert_eq!(fits[0].0["customers"], 23570);
    assert_eq!(fits[0].1["customers"], 11515);
    for (i, (fit, score)) in fits.iter().zip(&scores).enumerate().skip(1) {
        assert_eq!(fit, &fits[0], "{}", files[i].0);
        assert_eq!(score, &scores[0], "{}", files[i].0);
    }
}

/// A summary row that only the models refuse is reported at its line (or row), as the
/// reader's own errors are (before: "record 0: invalid recency `5`: must be 0 when frequency
/// is 0", with no file or line).
#[test]
fn summary_rows_refused_by_the_models_name_their_line() {
    use arrow_array::Float64Array;
    let d = dir("summary_rows");
    let csv = file(&d, "badsum.csv", "frequency,recency,T\n2,3,6\n0,5,6\n");
    let want =
        |p: &str, line: u64| format!("{p}:{line}: recency: 5: must be 0 when frequency is 0");
    for cmd in [&["fit", "--model", "bgnbd"][..], &["fit", "--model", "pareto-nbd"], &["score"]] {
        let args = [cmd, &["--summary-input", &csv]].concat();
        fails(&run(&args), &want(&csv, 3));
    }
    let jsonl = file(
        &d,
        "badsum.jsonl",
        "{\"frequency\":2,\"recency\":3,\"T\":6}\n\n{\"frequency\":0,\"recency\":5,\"T\":6}\n",
    );
    fails(&run(&["fit", "--model", "bgnbd", "--summary-input", &jsonl]), &want(&jsonl, 3));
    let b = RecordBatch::try_from_iter([
        ("frequency", Arc::new(Float64Array::from(vec![2.0, 0.0])) as ArrayRef),
        ("recency", Arc::new(Float64Array::from(vec![3.0, 5.0])) as ArrayRef),
        ("T", Arc::new(Float64Array::from(vec![6.0, 6.0])) as ArrayRef),
    ])
    .unwrap();
    let pq = d.join("badsum.parquet");
    write_parquet(&pq, &b);
    let pq = pq.to_str().unwrap();
    fails(&run(&["fit", "--model", "bgnbd", "--summary-input", pq]), &want(pq, 2));
}

/// JSON lines with a UTF-8 byte-order mark before the first object are read (before: "line
/// 1: not a JSON object: expected value").
#[test]
fn json_lines_with_a_byte_order_mark() {
    let d = dir("jsonl_bom");
    let mut text = String::from("\u{feff}");
    for (id, date) in IDS.iter().zip(DATES) {
        text.push_str(&format!("{{\"customer_id\":{id},\"date\":\"{date}\",\"amount\":1}}\r\n"));
    }
    assert_eq!(ok(&run(&["summary", &file(&d, "bom.jsonl", &text)])), SUMMARY);
    // A mark anywhere else is still an error at its line.
    let lines: Vec<&str> = text["\u{feff}".len()..].split_inclusive('\n').collect();
    let later = format!("{}\u{feff}{}", lines[0], lines[1..].concat());
    let p = file(&d, "later.jsonl", &later);
    let e = common::stderr(&run(&["summary", &p]));
    assert!(e.starts_with(&format!("{p}:2: not a JSON object")), "{e}");
}

/// A customer whose spend cannot be added up in a `Decimal` is named, with the file (before:
/// "arithmetic overflow in spend sum beyond the range of Decimal", neither file nor
/// customer). Every command that summarises a log says the same.
#[test]
fn a_spend_overflow_names_the_file_and_the_customer() {
    let d = dir("spend_overflow");
    let big = "50000000000000000000000000000";
    let text = format!(
        "customer_id,date,amount\nann,2024-01-01,5\nbob,2024-01-01,{big}\nann,2024-01-02,7\n\
         bob,2024-01-02,{big}\nbob,2024-01-03,1\n"
    );
    let p = file(&d, "overflow.csv", &text);
    let want =
        format!("{p}: customer bob: arithmetic overflow in spend sum beyond the range of Decimal");
    for args in [
        &["summary", &p][..],
        &["score", "--quiet", &p],
        &["fit", "--model", "bgnbd", &p],
        &["validate", "--calibration-end", "2024-01-02", &p],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let e = common::stderr(&o);
        assert_eq!(e.trim_end(), want, "{args:?}");
    }
}

/// `loyalty summary` reads a time-ordered CSV straight into the library's stream and any
/// other order whole: the two give the same rows, to every amount's digits, with and without
/// `--as-of`, daily and weekly; and an as-of before the first purchase is the same error.
#[test]
fn a_streamed_summary_equals_the_whole_read_s() {
    let d = dir("streamed");
    let mut rows: Vec<String> = Vec::new();
    let mut x = 7u64;
    for i in 0..3000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let day = 1 + i / 20;
        let date = format!("2024-{:02}-{:02}", 1 + (day - 1) / 28, 1 + (day - 1) % 28);
        rows.push(format!("{},{date},{}.{:02}", 100 + (x >> 40) % 250, (x >> 20) % 300, x % 100));
    }
    let ordered =
        file(&d, "ordered.csv", &format!("customer_id,date,amount\n{}\n", rows.join("\n")));
    // Newest first: every customer out of time order, so the file is read whole.
    rows.reverse();
    let reversed =
        file(&d, "reversed.csv", &format!("customer_id,date,amount\n{}\n", rows.join("\n")));
    for extra in [&[][..], &["--as-of", "2024-03-10"], &["--period", "week"]] {
        let a = ok(&run(&[&["summary", ordered.as_str()][..], extra].concat()));
        let b = ok(&run(&[&["summary", reversed.as_str()][..], extra].concat()));
        assert_eq!(a, b, "{extra:?}");
        // 250 customers and the header; one has no purchase by 2024-03-10.
        let customers = if extra.first() == Some(&"--as-of") { 250 } else { 251 };
        assert_eq!(a.lines().count(), customers, "{extra:?}");
    }
    for f in [&ordered, &reversed] {
        let e = format!("--as-of 2023-12-31 is before the first transaction in {f} (2024-01-01)");
        fails(&run(&["summary", f, "--as-of", "2023-12-31"]), &e);
    }
    // The same as Parquet in row groups of 500 rows (the streamed read gives each thread a
    // run of consecutive groups): the same rows as the CSV, ordered or not.
    let whole = ok(&run(&["summary", ordered.as_str()]));
    for (name, rows) in [
        ("reversed.parquet", rows.clone()),
        ("ordered.parquet", {
            rows.reverse();
            rows
        }),
    ] {
        let fields: Vec<Vec<&str>> = rows.iter().map(|r| r.split(',').collect()).collect();
        let column = |i: usize| -> ArrayRef {
            Arc::new(arrow_array::StringArray::from(
                fields.iter().map(|f| f[i]).collect::<Vec<_>>(),
            ))
        };
        let b = batch(column(0), column(1), column(2));
        let path = d.join(name);
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(500))
            .build();
        let f = std::fs::File::create(&path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, b.schema(), Some(props)).unwrap();
        w.write(&b).unwrap();
        w.close().unwrap();
        for threads in ["1", "2", "3"] {
            let o = common::bin()
                .env("RAYON_NUM_THREADS", threads)
                .args(["summary", path.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(ok(&o), whole, "{name} on {threads} threads");
        }
    }
}
