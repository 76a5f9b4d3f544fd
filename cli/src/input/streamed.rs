//! `loyalty summary` of a plain CSV without holding its transactions: each core reads one
//! stretch of the file straight into the library's [`SummaryStream`], and the stretches'
//! streams are appended in file order.
//!
//! A stream keeps each customer's running totals only (tens of bytes a customer, against
//! 40 bytes a transaction for the log the other commands hold), so the memory no longer grows
//! with the file. It needs each customer's purchases in time order, which an append-only log
//! in the order it was written, and a log grouped by customer and dated within, have; a file
//! without that order (a customer's purchase in an earlier day than one already read, in one
//! stretch or across two) is declined and read whole, as are the files the parallel pass of
//! [`chunked`](super::chunked) declines (quotes, text ids, any value it cannot read) and any
//! log the library refuses, so that every error is reported by the same pass, with its line.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDateTime;
use loyalty::rfm::{Summary, SummaryOptions, SummaryStream, Transaction};
use rayon::prelude::*;

use super::chunked::{each_row, field, header, strip_cr, Declined, Plan};
use super::ReadOptions;
use crate::ids::{Id, IdBook, Ids};
use crate::progress::Progress;

/// Bytes read, parsed and pushed at a time: the block (and its 10,000 or so transactions, 40
/// bytes each) stays in the core's cache from the copy out of the kernel to the push. Blocks
/// of 4 MB, parsed a piece of this size at a time, were copied to memory first and read back
/// from it.
const BLOCK: usize = 256 << 10;

/// Transactions between a customer's prefetch and its push: about the memory's latency over
/// the time a push takes.
const AHEAD: usize = 32;

/// What the streamed read makes of a file.
pub(crate) struct Streamed {
    /// The summary of every row.
    pub(crate) summary: Summary<Id>,
    /// How the keys are written back.
    pub(crate) ids: IdBook,
    /// The earliest purchase.
    pub(crate) first: NaiveDateTime,
}

/// The summary at `as_of` (the latest purchase for `None`) of the CSV (or TSV) at `path`.
///
/// # Errors
///
/// [`Declined`] for a file this pass does not read (see the module docs); the caller reads it
/// whole.
pub(super) fn summary(
    path: &str,
    read: &ReadOptions,
    delimiter: u8,
    (as_of, options): (Option<NaiveDateTime>, SummaryOptions),
    progress: &Progress,
) -> Result<Streamed, Declined> {
    let mut file = File::open(path).map_err(|_| Declined)?;
    let size = file.metadata().map_err(|_| Declined)?.len();
    // The header and the first row, to learn the columns and the ids' style.
    let mut head = Vec::new();
    (&mut file).take(1 << 16).read_to_end(&mut head).map_err(|_| Declined)?;
    let header_end = memchr::memchr(b'\n', &head).ok_or(Declined)? + 1;
    let (columns, width) = header(read, &head[..header_end], delimiter)?;
    let first = head[header_end..].split(|&c| c == b'\n').next().unwrap_or_default();
    let first = field(strip_cr(first), delimiter, columns[0]).ok_or(Declined)?.trim_ascii();
    let mut ids = Ids::default();
    ids.key(first, &mut []).ok_or(Declined)?;
    let plan = Plan {
        delimiter,
        columns,
        need: columns.iter().max().copied().unwrap_or(0) + 1,
        width,
        ids: &ids,
        date_format: read.date_format.as_deref(),
    };
    let threads = rayon::current_num_threads().max(1);
    let bounds = stretches(&mut file, header_end as u64, size, threads)?;
    let done = AtomicU64::new(0);
    let runs: Vec<Run> = bounds
        .par_windows(2)
        .map(|w| stretch(path, &plan, (w[0], w[1]), (as_of, options), (&done, progress)))
        .collect::<Result<_, Declined>>()?;
    join(runs, ids.finish(&mut []))
}

/// One stretch of a file (or run of row groups) read into a stream, with what the whole
/// needs of it besides: its earliest purchase and its amounts (for [`Amounts::small`]).
pub(super) struct Run {
    stream: SummaryStream<Id>,
    first: Option<NaiveDateTime>,
    amounts: Amounts,
}

impl Run {
    pub(super) fn new(as_of: Option<NaiveDateTime>, options: SummaryOptions) -> Run {
        Run { stream: SummaryStream::new(as_of, options), first: None, amounts: Amounts::default() }
    }

    /// Pushes the transactions of `batch`, each customer's totals asked for [`AHEAD`]
    /// transactions before its push.
    pub(super) fn push(&mut self, batch: &[Transaction<Id>]) -> Result<(), Declined> {
        for (i, tx) in batch.iter().enumerate() {
            if let Some(ahead) = batch.get(i + AHEAD) {
                self.stream.prefetch(&ahead.customer);
            }
            self.first = Some(self.first.map_or(tx.at, |f| f.min(tx.at)));
            self.amounts.add(tx.amount);
            self.stream.push(tx).map_err(|_| Declined)?;
        }
        Ok(())
    }
}

/// The summary of a file's `runs`, in file order, its ids written back by `ids`.
///
/// # Errors
///
/// [`Declined`] when a customer's purchases are out of time order across two runs, the file
/// had no row, its sums may leave an `i64` ([`Amounts::small`]) or the library refuses it.
pub(super) fn join(runs: Vec<Run>, ids: IdBook) -> Result<Streamed, Declined> {
    let mut whole: Option<SummaryStream<Id>> = None;
    let mut first: Option<NaiveDateTime> = None;
    let mut amounts = Amounts::default();
    for run in runs {
        if run.first.is_none() {
            // No row in this run.
            continue;
        }
        amounts.join(&run.amounts);
        first = sooner(first, run.first);
        match &mut whole {
            Some(w) => w.append_par(run.stream).map_err(|_| Declined)?,
            None => whole = Some(run.stream),
        }
    }
    let (Some(whole), Some(first)) = (whole, first) else { return Err(Declined) };
    if !amounts.small() {
        return Err(Declined);
    }
    let summary = whole.finish_par().map_err(|_| Declined)?;
    Ok(Streamed { summary, ids, first })
}

/// The earlier of two optional times.
fn sooner(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The amounts of a stretch, for the bound on every sum ([`Amounts::small`]).
#[derive(Default)]
pub(super) struct Amounts {
    /// The sum of the amounts' mantissas, without their signs.
    weight: u128,
    /// The coarsest and finest scale; `None` before the first amount.
    scales: Option<(u32, u32)>,
}

impl Amounts {
    pub(super) fn add(&mut self, amount: rust_decimal::Decimal) {
        let s = amount.scale();
        self.weight = self.weight.saturating_add(amount.mantissa().unsigned_abs());
        self.scales = Some(self.scales.map_or((s, s), |(lo, hi)| (lo.min(s), hi.max(s))));
    }

    pub(super) fn join(&mut self, o: &Amounts) {
        self.weight = self.weight.saturating_add(o.weight);
        self.scales = match (self.scales, o.scales) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
    }

    /// Whether every amount and every running sum, at any scale up to the finest, fits an
    /// `i64`. The library's passes then agree with the stream's sums; beyond that they may
    /// not (the partitioned passes move each amount to the finest scale in 128 bits, and
    /// refuse a purchase and its refund in whole units beside an amount with 28 decimals,
    /// whose running sum the stream keeps at zero), so the file is read whole.
    pub(super) fn small(&self) -> bool {
        let spread = self.scales.map_or(0, |(lo, hi)| hi - lo);
        let bound = 10u128.checked_pow(spread).and_then(|f| self.weight.checked_mul(f));
        bound.is_some_and(|b| b <= i64::MAX as u128)
    }
}

/// The byte offsets that cut the body of the file (from `start` to `size`) into `n`
/// stretches of whole lines, each cut just after a newline.
fn stretches(file: &mut File, start: u64, size: u64, n: usize) -> Result<Vec<u64>, Declined> {
    let mut bounds = vec![start];
    let mut window = vec![0u8; 1 << 16];
    for k in 1..n as u64 {
        let mut at = (start + (size - start) * k / n as u64).max(start).saturating_sub(1);
        let cut = loop {
            file.seek(SeekFrom::Start(at)).map_err(|_| Declined)?;
            let got = file.read(&mut window).map_err(|_| Declined)?;
            if got == 0 {
                break size;
            }
            if let Some(i) = memchr::memchr(b'\n', &window[..got]) {
                break at + i as u64 + 1;
            }
            at += got as u64;
        };
        let last = bounds.last().copied().unwrap_or(start);
        bounds.push(cut.max(last));
    }
    bounds.push(size);
    Ok(bounds)
}

/// The run of the rows between the offsets `from` and `to`.
fn stretch(
    path: &str,
    plan: &Plan<'_>,
    (from, to): (u64, u64),
    (as_of, options): (Option<NaiveDateTime>, SummaryOptions),
    (done, progress): (&AtomicU64, &Progress),
) -> Result<Run, Declined> {
    let mut file = File::open(path).map_err(|_| Declined)?;
    file.seek(SeekFrom::Start(from)).map_err(|_| Declined)?;
    let mut rest = (&mut file).take(to - from);
    let mut run = Run::new(as_of, options);
    let mut buf = Vec::with_capacity(BLOCK + (64 << 10));
    let mut batch = Vec::new();
    loop {
        let want = BLOCK.saturating_sub(buf.len()).max(1 << 16);
        let got = (&mut rest).take(want as u64).read_to_end(&mut buf).map_err(|_| Declined)?;
        let eof = got < want;
        let end = if eof { buf.len() } else { memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1) };
        batch.clear();
        each_row(plan, &buf[..end], |tx| {
            batch.push(tx);
            Ok(())
        })?;
        run.push(&batch)?;
        let total = done.fetch_add(end as u64, Ordering::Relaxed) + end as u64;
        progress.set(total);
        if eof {
            return Ok(run);
        }
        buf.drain(..end);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use loyalty::rfm::{summarize, Period};

    use super::*;
    use crate::input::read as read_whole;

    fn options() -> ReadOptions {
        ReadOptions { quiet: true, ..ReadOptions::default() }
    }

    fn csv(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    /// A log in time order (LCG draws: 300 customers, 4,000 rows, amounts at mixed scales),
    /// with an extra column, CRLF line ends, blank lines and no newline at the end.
    fn ordered_log() -> String {
        ordered_log_of(4000, None)
    }

    /// [`ordered_log`] of `rows` rows, the note of row `long` (if any) 300 KB long: longer
    /// than a block of the streamed read.
    fn ordered_log_of(rows: u64, long: Option<u64>) -> String {
        let mut out = String::from("amount,customer_id,note,date\r\n");
        let mut x = 12345u64;
        let mut draw = |n: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        for i in 0..rows {
            let day = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()
                + chrono::Duration::days((i / 12) as i64);
            let (id, cents, scale) = (draw(300), draw(50_000), draw(3));
            let amount = match scale {
                0 => format!("{}", cents / 100),
                1 => format!("{}.{}", cents / 100, cents % 10),
                _ => format!("{}.{:02}", cents / 100, cents % 100),
            };
            let note = if Some(i) == long { "n".repeat(300 << 10) } else { "x".into() };
            out.push_str(&format!("{amount},{:05},{note},{day}\r\n", id + 7));
            if i % 997 == 0 {
                out.push_str("\r\n");
            }
        }
        out.truncate(out.len() - 2);
        out
    }

    fn streamed(path: &str, as_of: Option<NaiveDateTime>, threads: usize) -> Option<Streamed> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let o = (as_of, SummaryOptions::default().period(Period::WEEK));
        let progress = Progress::new(0, true);
        pool.install(|| summary(path, &options(), b',', o, &progress)).ok()
    }

    #[test]
    fn an_ordered_log_on_any_number_of_threads_is_the_whole_log_s_summary() {
        let f = csv(&ordered_log());
        let path = f.path().to_str().unwrap();
        let log = read_whole(path, &options()).unwrap();
        let weekly = SummaryOptions::default().period(Period::WEEK);
        let first = log.first().unwrap();
        for as_of in [None, Some(first + chrono::Duration::days(200))] {
            let whole =
                summarize(&log.transactions, as_of.unwrap_or(log.last().unwrap()), weekly).unwrap();
            for threads in [1, 2, 3, 7] {
                let s = streamed(path, as_of, threads).expect("streamed");
                // `Debug` shows every amount's scale, which `==` on `Decimal` ignores.
                assert_eq!(format!("{:?}", s.summary), format!("{whole:?}"), "{threads}");
                assert_eq!((s.first, &s.ids), (first, &IdBook::Padded(5)));
            }
        }
        // Rows after as-of's week were left out and counted: day 200 is a Thursday
        // (2023-07-20), its week ends on day 203, and the log has 12 rows a day.
        let s = streamed(path, Some(first + chrono::Duration::days(200)), 2).unwrap();
        assert_eq!(s.summary.excluded_after_as_of(), 4000 - 204 * 12);
    }

    /// A log of many blocks (CRLF line ends, so a block could end between the two), one
    /// row longer than a block: every stretch and block boundary reads as the whole read.
    #[test]
    fn a_log_of_many_blocks_and_a_row_longer_than_one_is_the_whole_log_s_summary() {
        let text = ordered_log_of(60_000, Some(31_000));
        assert!(text.len() > 6 * BLOCK);
        let f = csv(&text);
        let path = f.path().to_str().unwrap();
        let log = read_whole(path, &options()).unwrap();
        let weekly = SummaryOptions::default().period(Period::WEEK);
        let whole = summarize(&log.transactions, log.last().unwrap(), weekly).unwrap();
        assert_eq!(whole.transactions(), 60_000);
        for threads in [1, 2, 3, 5] {
            let s = streamed(path, None, threads).expect("streamed");
            assert_eq!(format!("{:?}", s.summary), format!("{whole:?}"), "{threads}");
        }
    }

    #[test]
    fn logs_the_stream_cannot_take_are_declined() {
        let head = "customer_id,date,amount\n";
        for body in [
            // A customer's purchase on an earlier day than one already read.
            // (Weekly periods: the same week would be no disorder.)
            "1,2024-01-20,1\n2,2024-01-21,1\n1,2024-01-04,1\n",
            // A quoted field, text ids, a bad amount, a row with too many fields.
            "1,2024-01-05,\"1\"\n",
            "a1,2024-01-05,1\n",
            "1,2024-01-05,ten\n",
            "1,2024-01-05,1,2\n",
            // No rows.
            "",
        ] {
            let f = csv(&format!("{head}{body}"));
            assert!(streamed(f.path().to_str().unwrap(), None, 2).is_none(), "{body}");
        }
        let f = csv(&format!("{head}1,2024-01-05,1\n"));
        assert!(streamed(f.path().to_str().unwrap(), None, 2).is_some());
    }

    /// A purchase and its refund in whole units beside an amount with 28 decimals: the
    /// stream's running sum stays at zero, but the whole read moves each amount to scale 28
    /// in 128 bits and reports an overflow, so the file must be read whole. Likewise a
    /// customer's sum beyond `Decimal` at a finer scale a later customer brings, taken back
    /// by a refund: the whole read's grouped pass refused it.
    #[test]
    fn amounts_whose_sums_leave_an_i64_are_read_whole() {
        let head = "customer_id,date,amount\n";
        for body in [
            "1,2024-01-01,1000000000000000000\n1,2024-01-01,-1000000000000000000\n\
             2,2024-01-02,0.0000000000000000000000000001\n",
            "1,2024-01-01,-7922816251426433759354395033.5\n0,2024-01-01,0.00\n\
             1,2024-01-01,7922816251426433759354395033.5\n",
        ] {
            let f = csv(&format!("{head}{body}"));
            let path = f.path().to_str().unwrap();
            assert!(read_whole(path, &options()).is_ok(), "{body}");
            for threads in [1, 2, 3] {
                assert!(streamed(path, None, threads).is_none(), "{body}");
            }
        }
        // Cents of an ordinary log, or amounts of 18 digits at one scale, are streamed.
        let f = csv(&format!("{head}1,2024-01-01,999999999999999999\n2,2024-01-02,1.25\n"));
        assert!(streamed(f.path().to_str().unwrap(), None, 2).is_none());
        let f = csv(&format!("{head}1,2024-01-01,99999999999999999\n2,2024-01-02,1\n"));
        assert!(streamed(f.path().to_str().unwrap(), None, 2).is_some());
    }

    #[test]
    fn stretches_cut_just_after_newlines_and_cover_the_body() {
        let text = ordered_log();
        let f = csv(&text);
        let bytes = text.as_bytes();
        let start = text.find('\n').unwrap() as u64 + 1;
        for n in 1..=9 {
            let mut file = File::open(f.path()).unwrap();
            let b = stretches(&mut file, start, bytes.len() as u64, n).unwrap();
            assert_eq!((b.len(), b[0], b[n]), (n + 1, start, bytes.len() as u64));
            for w in b.windows(2) {
                assert!(w[0] <= w[1]);
            }
            for &cut in &b[1..n] {
                assert_eq!(bytes[cut as usize - 1], b'\n', "{n}: {cut}");
            }
        }
    }
}
