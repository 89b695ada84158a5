//! Import progress: two bars (rows submitted, rows processed) with rate and ETA on a terminal; a plain line every few seconds otherwise; nothing with `--quiet`.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    submitted: ProgressBar,
    processed: ProgressBar,
    /// `Some` when printing plain lines: when the last one was printed.
    plain: Option<Mutex<Instant>>,
    quiet: bool,
    started: Instant,
}

impl Progress {
    /// `estimated_rows` sizes the first bar (refined as the file is read).
    pub fn new(quiet: bool, estimated_rows: u64) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let style = |what: &str| {
            ProgressStyle::with_template(&format!(
                "{{prefix:>10}} [{{bar:30}}] {{human_pos}}/{{human_len}} {what} {{rate}} ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            )
            .progress_chars("=> ")
        };
        let multi = MultiProgress::with_draw_target(if tty && !quiet {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let submitted = multi.add(ProgressBar::new(estimated_rows.max(1)));
        submitted.set_style(style("rows"));
        submitted.set_prefix("submitted");
        let processed = multi.add(ProgressBar::new(0));
        processed.set_style(style("rows"));
        processed.set_prefix("processed");
        Progress {
            submitted,
            processed,
            plain: (!tty && !quiet).then(|| Mutex::new(Instant::now())),
            quiet,
            started: Instant::now(),
        }
    }

    /// `rows` more were read (valid or not); `estimate` is the refined total.
    pub fn read(&self, rows: u64, estimate: u64) {
        self.submitted
            .set_length(estimate.max(self.submitted.position() + rows));
        self.processed
            .set_length(self.processed.length().unwrap_or(0).max(estimate));
    }

    pub fn submitted(&self, rows: u64) {
        self.submitted.inc(rows);
        self.tick();
    }

    pub fn processed(&self, rows: u64) {
        self.processed.inc(rows);
        self.tick();
    }

    /// Every row is known: the bars' lengths become exact.
    pub fn total(&self, rows: u64) {
        self.submitted.set_length(rows);
        self.processed.set_length(rows);
    }

    fn tick(&self) {
        let Some(last) = &self.plain else { return };
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= PLAIN_EVERY {
            *last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "submitted {} rows, processed {} rows ({:.0} rows/s)",
                self.submitted.position(),
                self.processed.position(),
                self.processed.position() as f64 / secs
            );
        }
    }

    pub fn finish(&self) {
        if !self.quiet {
            self.submitted.finish();
            self.processed.finish();
        }
    }
}
