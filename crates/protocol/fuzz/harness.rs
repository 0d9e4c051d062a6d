//! A small fuzzing harness on stable Rust, shared by the `fuzz` examples of
//! `federation-protocol` and `federation-config` (each includes this file with `#[path]`).
//!
//! It runs a target on N generated inputs and reports inputs, inputs per second, panics, the
//! slowest input and the process's memory (VmRSS and VmHWM from `/proc/self/status`). Inputs mix
//! mutations of a committed seed corpus, splices of two seeds, random bytes and the caller's
//! grammar-aware generator. Input `i` is generated from `(seed, i)` alone, so any input can be
//! written out again (`--dump INDEX`) and replayed (`--replay FILE`). Every panic is caught with
//! `catch_unwind`, counted, and its input saved under the crash directory.
//!
//! Options: `--inputs N` (default 1,000,000), `--seed S` (default 1), `--max-len BYTES`,
//! `--corpus DIR`, `--crashes DIR`, `--target NAME` (when an example has several),
//! `--replay FILE`, `--dump INDEX`, `--from INDEX` (first input: to resume a run, or to bisect
//! one that a stack overflow aborted, which `catch_unwind` cannot catch).

#![allow(dead_code)] // each example uses a different part of the harness

use std::cell::RefCell;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// SplitMix64: fast, deterministic, good enough to drive mutations.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for input `index` of a run seeded with `seed`.
    pub(crate) fn for_input(seed: u64, index: u64) -> Self {
        let mut rng = Self(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A number in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True once in `n` times.
    pub(crate) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A small number, usually tiny: lengths and counts skewed towards 0.
    pub(crate) fn small(&mut self, max: usize) -> usize {
        let bits = self.below(usize::BITS as usize - max.leading_zeros() as usize + 1);
        self.below((1usize << bits).min(max + 1))
    }

    /// One of `items` (which must not be empty).
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `len` random bytes.
    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// The command line.
pub(crate) struct Options {
    /// Number of inputs to run.
    pub inputs: u64,
    /// Run seed.
    pub seed: u64,
    /// Longest input, in bytes.
    pub max_len: usize,
    /// Seed corpus directory.
    pub corpus: PathBuf,
    /// Where failing inputs are written.
    pub crashes: PathBuf,
    /// Which target, for examples with several.
    pub target: Option<String>,
    /// Run this one file instead of generating inputs.
    pub replay: Option<PathBuf>,
    /// Write input INDEX to stdout instead of running.
    pub dump: Option<u64>,
    /// Index of the first input (to resume a run, or to find an input that aborted it).
    pub from: u64,
}

impl Options {
    /// Parses `std::env::args`, with the example's default corpus and crash directories.
    pub(crate) fn from_args(corpus: PathBuf, crashes: PathBuf, max_len: usize) -> Self {
        let mut options = Self {
            inputs: 1_000_000,
            seed: 1,
            max_len,
            corpus,
            crashes,
            target: None,
            replay: None,
            dump: None,
            from: 0,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
            };
            let number = |text: String| -> u64 {
                text.replace('_', "")
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("{flag}: not a number: {text}")))
            };
            match flag.as_str() {
                "--inputs" => options.inputs = number(value()),
                "--seed" => options.seed = number(value()),
                "--max-len" => options.max_len = number(value()) as usize,
                "--corpus" => options.corpus = value().into(),
                "--crashes" => options.crashes = value().into(),
                "--target" => options.target = Some(value()),
                "--replay" => options.replay = Some(value().into()),
                "--dump" => options.dump = Some(number(value())),
                "--from" => options.from = number(value()),
                other => fail(&format!(
                    "unknown option {other}; options: --inputs N --seed S --max-len BYTES \
                     --corpus DIR --crashes DIR --target NAME --replay FILE --dump INDEX --from INDEX"
                )),
            }
        }
        options
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// Every file under `dir` (recursively), sorted by path, as bytes.
pub(crate) fn load_corpus(dir: &Path) -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    paths.sort();
    let corpus: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    if corpus.is_empty() {
        fail(&format!("no seed files under {}", dir.display()));
    }
    corpus
}

/// Bytes that often matter to parsers.
const INTERESTING_BYTES: &[u8] = b"\0\x7f\x80\xff\xc3\xe2\"'{}[]:;,\\\n\r\t -0.9_&*#!|>%@`~=$?<";

/// Texts that make numbers overflow or parse oddly.
pub(crate) const ODD_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "007",
    "1e999",
    "-1e999",
    "1.7976931348623157e309",
    "4.9e-325",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999999",
    "0x1F",
    "0o17",
    "1_000",
    ".5",
    "5.",
    "NaN",
    ".nan",
    ".inf",
    "-.inf",
    "+1",
    "1e",
    "--1",
];

/// Applies 1 to 8 random mutations to `data`, keeping it at most `max_len` bytes.
pub(crate) fn mutate(
    rng: &mut Rng,
    data: &mut Vec<u8>,
    dictionary: &[&str],
    corpus: &[Vec<u8>],
    max_len: usize,
) {
    let rounds = 1 + rng.small(7);
    for _ in 0..rounds {
        let len = data.len();
        let at = rng.below(len + 1);
        match rng.below(13) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next_u64() as u8;
            }
            2 if len > 0 => {
                let i = rng.below(len);
                data[i] = *rng.pick(INTERESTING_BYTES);
            }
            3 if len > 0 => {
                let end = (at + 1 + rng.small(32)).min(len);
                data.drain(at.min(len - 1)..end);
            }
            4 => {
                let n = 1 + rng.small(16);
                let bytes = rng.bytes(n);
                data.splice(at..at, bytes);
            }
            5 | 6 => {
                let token = rng.pick(dictionary).as_bytes().to_vec();
                if rng.one_in(2) && at < len {
                    let end = (at + 1 + rng.small(16)).min(len);
                    data.splice(at..end, token);
                } else {
                    data.splice(at..at, token);
                }
            }
            7 if len > 0 => {
                // Duplicate a chunk in place.
                let start = rng.below(len);
                let end = (start + 1 + rng.small(64)).min(len);
                let chunk = data[start..end].to_vec();
                data.splice(at..at, chunk);
            }
            8 => {
                // Splice in a chunk of another seed.
                let other = rng.pick(corpus);
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.small(256)).min(other.len());
                    data.splice(at..at, other[start..end].iter().copied());
                }
            }
            9 if len > 0 => data.truncate(rng.below(len)),
            10 if len > 0 => {
                // Repeat a short chunk many times: deep nesting, long runs, huge numbers.
                let start = rng.below(len);
                let end = (start + 1 + rng.small(8)).min(len);
                let chunk = data[start..end].to_vec();
                let times = 2 + rng.small(4096);
                let repeated: Vec<u8> = chunk
                    .iter()
                    .copied()
                    .cycle()
                    .take(chunk.len() * times)
                    .collect();
                data.splice(at..at, repeated);
            }
            11 => {
                let number = rng.pick(ODD_NUMBERS).as_bytes().to_vec();
                data.splice(at..at, number);
            }
            12 if len > 1 => {
                // Swap two bytes.
                let (i, j) = (rng.below(len), rng.below(len));
                data.swap(i, j);
            }
            _ => {}
        }
        data.truncate(max_len);
    }
}

/// The usual mix of inputs: mutated seeds (35 %), the target's grammar-aware generator (45 %,
/// a third of them mutated further as bytes), random bytes (10 %) and two seeds spliced (10 %).
pub(crate) fn mixed_input(
    rng: &mut Rng,
    corpus: &[Vec<u8>],
    dictionary: &[&str],
    max_len: usize,
    grammar: impl FnOnce(&mut Rng) -> Vec<u8>,
) -> Vec<u8> {
    let mut input = match rng.below(20) {
        0..=6 => {
            let mut data = rng.pick(corpus).clone();
            mutate(rng, &mut data, dictionary, corpus, max_len);
            data
        }
        7..=15 => {
            let mut data = grammar(rng);
            if rng.one_in(3) {
                mutate(rng, &mut data, dictionary, corpus, max_len);
            }
            data
        }
        16 | 17 => {
            let len = rng.small(512);
            rng.bytes(len)
        }
        _ => {
            let a = rng.pick(corpus);
            let b = rng.pick(corpus);
            let mut data = a[..rng.below(a.len() + 1)].to_vec();
            data.extend_from_slice(&b[rng.below(b.len() + 1)..]);
            mutate(rng, &mut data, dictionary, corpus, max_len);
            data
        }
    };
    input.truncate(max_len);
    input
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Memory figures of this process, in KiB: (VmRSS, VmHWM).
pub(crate) fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs `target` on the inputs `generate` makes (or on `--replay FILE`), prints progress and a
/// summary, and exits with 1 if any input panicked. `target` returns a label for the outcome
/// (`"decoded"`, `"invalid JSON"`, …); the summary counts them, to show what the inputs reach.
pub(crate) fn run(
    name: &str,
    options: &Options,
    mut generate: impl FnMut(&mut Rng) -> Vec<u8>,
    mut target: impl FnMut(&[u8]) -> &'static str,
) {
    if let Some(index) = options.dump {
        let input = generate(&mut Rng::for_input(options.seed, index));
        let _ = std::io::stdout().write_all(&input);
        return;
    }
    panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{payload}{location}")));
    }));
    if let Some(file) = &options.replay {
        let input =
            std::fs::read(file).unwrap_or_else(|e| fail(&format!("{}: {e}", file.display())));
        let started = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| target(&input)));
        let message = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_default();
        match outcome {
            Ok(label) => println!("{name}: no panic: {label} ({:?})", started.elapsed()),
            Err(_) => {
                println!("{name}: PANIC: {message}");
                std::process::exit(1);
            }
        }
        return;
    }

    let started = Instant::now();
    let mut last_report = started;
    let mut panics = 0u64;
    let mut bytes = 0u64;
    let mut slowest = (Duration::ZERO, 0u64, 0usize);
    let mut rss_after_warmup = None;
    let mut outcomes: std::collections::BTreeMap<&'static str, u64> = Default::default();
    println!(
        "{name}: {} inputs, seed {}, max {} bytes per input, corpus {}",
        options.inputs,
        options.seed,
        options.max_len,
        options.corpus.display()
    );
    for index in options.from..options.from + options.inputs {
        let input = generate(&mut Rng::for_input(options.seed, index));
        bytes += input.len() as u64;
        let one = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| target(&input)));
        let took = one.elapsed();
        if took > slowest.0 {
            slowest = (took, index, input.len());
        }
        if let Ok(label) = outcome {
            *outcomes.entry(label).or_default() += 1;
        } else {
            panics += 1;
            let message = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            let file = options.crashes.join(format!("{name}-{index}.bin"));
            let _ = std::fs::create_dir_all(&options.crashes);
            let _ = std::fs::write(&file, &input);
            if panics <= 20 {
                println!("PANIC on input {index} ({}): {message}", file.display());
            }
        }
        if index + 1 - options.from == (options.inputs / 100).max(1) {
            rss_after_warmup = Some(memory_kib().0);
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            last_report = Instant::now();
            let (rss, hwm) = memory_kib();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "  {} inputs, {:.0}/s, {panics} panics, rss {rss} KiB, peak {hwm} KiB",
                index + 1 - options.from,
                (index + 1 - options.from) as f64 / secs
            );
        }
    }
    let elapsed = started.elapsed();
    let (rss, hwm) = memory_kib();
    println!(
        "{name} done: {} inputs ({:.1} MiB) in {:.1} s ({:.0} inputs/s); panics: {panics}; \
         slowest input: #{} ({} bytes, {:.1} ms); memory: rss after 1% {} KiB, rss at end \
         {rss} KiB, peak (VmHWM) {hwm} KiB",
        options.inputs,
        bytes as f64 / (1024.0 * 1024.0),
        elapsed.as_secs_f64(),
        options.inputs as f64 / elapsed.as_secs_f64(),
        slowest.1,
        slowest.2,
        slowest.0.as_secs_f64() * 1000.0,
        rss_after_warmup.unwrap_or(rss),
    );
    let outcomes: Vec<String> = outcomes
        .iter()
        .map(|(label, n)| format!("{label} {:.1}%", *n as f64 * 100.0 / options.inputs as f64))
        .collect();
    println!("outcomes: {}", outcomes.join(", "));
    if panics > 0 {
        println!(
            "{panics} inputs panicked; they are in {}",
            options.crashes.display()
        );
        std::process::exit(1);
    }
}
