//! HTTP load on loopback: the five applications of `secure_endpoint_benches` served one
//! at a time on one core, `wrk` on the other, run after run, alternating.
//!
//! `benches/load` installs wrk and runs `load-bench run`; see BENCHMARKS.md.
//!
//! - `load-bench run [--rounds N] [--seconds S] [--warmup S] [--connections C]
//!   [--server-core K] [--load-core K] [--report FILE]`
//! - `load-bench serve VARIANT` (started by `run`): serves on a free loopback port, prints
//!   `listening ADDR`, and answers each `allocs` line on stdin with the allocations so far.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use secure_endpoint_benches as fixtures;

/// Counts every allocation of the process (the server's, in `serve`).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(args.get(1).map(String::as_str).unwrap_or("")),
        Some("run") => Settings::parse(&args[1..]).and_then(|settings| run(&settings)),
        _ => Err(
            "usage: load-bench run [--rounds N] [--seconds S] [--warmup S] [--connections C] \
             [--server-core K] [--load-core K] [--report FILE]"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("load-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// The server.

fn serve(variant: &str) -> Result<(), String> {
    let app = fixtures::app(variant).ok_or_else(|| {
        format!(
            "unknown variant {variant:?}; one of {:?}",
            fixtures::VARIANTS
        )
    })?;
    // One thread: the server's whole cost lands on the core it is pinned to.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("bind: {e}"))?;
        println!("listening {addr}");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        // The controller asks for the counter between runs; its end of stdin closing
        // ends the server.
        std::thread::spawn(|| {
            for line in std::io::stdin().lock().lines() {
                match line.as_deref() {
                    Ok("allocs") => {
                        println!("allocs {}", ALLOCATIONS.load(Ordering::Relaxed));
                        let _ = std::io::stdout().flush();
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            std::process::exit(0);
        });
        fixtures::serve(listener, app)
            .await
            .map_err(|e| format!("serve: {e}"))
    })
}

/// A server started for one run, pinned to its core.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    addr: String,
}

impl Server {
    fn start(variant: &str, core: usize) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new("taskset")
            .args(["-c", &core.to_string()])
            .arg(exe)
            .args(["serve", variant])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting the {variant} server under taskset: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .map_err(|e| format!("the {variant} server: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("the {variant} server did not start: {line:?}"))?
            .to_owned();
        Ok(Server {
            child,
            stdin,
            stdout,
            addr,
        })
    }

    /// The CPU time the server has used so far, all its threads, in nanoseconds.
    fn cpu_ns(&self) -> Result<u64, String> {
        let tasks = format!("/proc/{}/task", self.child.id());
        let mut total = 0;
        for task in std::fs::read_dir(&tasks).map_err(|e| format!("{tasks}: {e}"))? {
            let path = task.map_err(|e| e.to_string())?.path().join("schedstat");
            // "<ns on the CPU> <ns waiting> <slices>"
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            total += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
        Ok(total)
    }

    fn allocations(&mut self) -> Result<u64, String> {
        writeln!(self.stdin, "allocs").map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim()
            .strip_prefix("allocs ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("unexpected answer from the server: {line:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The controller.

struct Settings {
    rounds: usize,
    seconds: u32,
    warmup: u32,
    connections: u32,
    server_core: usize,
    load_core: usize,
    report: PathBuf,
}

impl Settings {
    fn parse(args: &[String]) -> Result<Settings, String> {
        let mut settings = Settings {
            rounds: 5,
            seconds: 5,
            warmup: 1,
            connections: 16,
            server_core: 1,
            load_core: 0,
            report: PathBuf::from("target/load-bench.md"),
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0 || flag.ends_with("-core"))
                    .ok_or_else(|| format!("{flag} {value:?}: expected a positive number"))
            };
            match flag.as_str() {
                "--rounds" => settings.rounds = number()?,
                "--seconds" => settings.seconds = number()? as u32,
                "--warmup" => settings.warmup = number()? as u32,
                "--connections" => settings.connections = number()? as u32,
                "--server-core" => settings.server_core = number()?,
                "--load-core" => settings.load_core = number()?,
                "--report" => settings.report = PathBuf::from(value),
                _ => return Err(format!("unknown setting {flag}")),
            }
        }
        if settings.server_core == settings.load_core {
            return Err("--server-core and --load-core must differ".into());
        }
        Ok(settings)
    }
}

/// The variants whose refusals are measured: the three that check in different ways.
const REFUSING: [&str; 3] = ["hand-written", "#[secure]", "assembled"];

/// What one run sends.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Scenario {
    Success,
    BadSignature,
    OverLimit,
    InvalidBody,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Success => "success (201)",
            Scenario::BadSignature => "bad signature (401)",
            Scenario::OverLimit => "over the limit (429)",
            Scenario::InvalidBody => "invalid body (400)",
        }
    }

    fn expected_status(self) -> u16 {
        match self {
            Scenario::Success => 201,
            Scenario::BadSignature => 401,
            Scenario::OverLimit => 429,
            Scenario::InvalidBody => 400,
        }
    }

    /// The wrk script: method, headers and body of every request.
    fn script(self) -> String {
        let (path, token, body) = match self {
            Scenario::Success => ("/posts", fixtures::token(), fixtures::body()),
            Scenario::BadSignature => ("/posts", fixtures::forged_token(), fixtures::body()),
            Scenario::OverLimit => ("/limited", fixtures::token(), fixtures::body()),
            Scenario::InvalidBody => ("/posts", fixtures::token(), fixtures::invalid_body()),
        };
        format!(
            "wrk.method = \"POST\"\n\
             wrk.path = \"{path}\"\n\
             wrk.body = [==[{body}]==]\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"
        )
    }
}

/// What wrk reported for one run.
#[derive(Clone, Copy, Debug)]
struct Measured {
    requests: u64,
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    non_2xx: u64,
    /// Bytes wrk read per response, headers included.
    bytes_per_response: f64,
    allocations_per_request: f64,
    /// The server's CPU time per request, kernel included: throughput without the noise
    /// of whatever else shares the machine.
    cpu_us_per_request: f64,
}

fn run(settings: &Settings) -> Result<(), String> {
    for tool in ["wrk", "taskset"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Err(format!(
                "{tool} is not installed; `benches/load` installs it (apt-get install wrk util-linux)"
            ));
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if settings.server_core.max(settings.load_core) >= cores {
        return Err(format!(
            "cores {} and {} asked for, {cores} available",
            settings.server_core, settings.load_core
        ));
    }
    let scripts = std::env::temp_dir().join(format!("load-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scripts).map_err(|e| e.to_string())?;
    let scenarios = [
        Scenario::Success,
        Scenario::BadSignature,
        Scenario::OverLimit,
        Scenario::InvalidBody,
    ];
    for scenario in scenarios {
        std::fs::write(scripts.join(format!("{scenario:?}.lua")), scenario.script())
            .map_err(|e| e.to_string())?;
    }

    let mut results: Results<'_> = BTreeMap::new();
    let checked = REFUSING;
    for round in 0..settings.rounds {
        eprintln!("round {} of {}", round + 1, settings.rounds);
        // The success path of every variant, the order rotated each round.
        let mut order = fixtures::VARIANTS.to_vec();
        let turn = round % order.len();
        order.rotate_left(turn);
        for variant in order {
            let measured = measure(settings, &scripts, variant, Scenario::Success)?;
            results
                .entry((variant, Scenario::Success))
                .or_default()
                .push(measured);
        }
        // The refusals of the variants that check.
        for scenario in &scenarios[1..] {
            let mut order = checked.to_vec();
            let turn = round % order.len();
            order.rotate_left(turn);
            for variant in order {
                let measured = measure(settings, &scripts, variant, *scenario)?;
                results
                    .entry((variant, *scenario))
                    .or_default()
                    .push(measured);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scripts);

    let report = report(settings, &results);
    print!("{report}");
    if let Some(parent) = settings.report.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(&settings.report, &report).map_err(|e| e.to_string())?;
    eprintln!("report written to {}", settings.report.display());
    Ok(())
}

/// One run: a fresh server, a warm-up, then the measured load.
fn measure(
    settings: &Settings,
    scripts: &Path,
    variant: &str,
    scenario: Scenario,
) -> Result<Measured, String> {
    let mut server = Server::start(variant, settings.server_core)?;
    let script = scripts.join(format!("{scenario:?}.lua"));
    let url = format!("http://{}", server.addr);
    wrk(settings, &script, &url, settings.warmup)?;
    let before = server.allocations()?;
    let cpu_before = server.cpu_ns()?;
    let output = wrk(settings, &script, &url, settings.seconds)?;
    let cpu_after = server.cpu_ns()?;
    let after = server.allocations()?;
    drop(server);
    let mut measured =
        parse_wrk(&output).ok_or_else(|| format!("could not read wrk's report:\n{output}"))?;
    let expected = scenario.expected_status();
    let all_refused = measured.non_2xx == measured.requests;
    let wrong = if expected < 300 {
        measured.non_2xx > 0
    } else {
        !all_refused
    };
    if wrong || measured.requests == 0 {
        return Err(format!(
            "{variant}, {}: expected every answer to be {expected}, wrk saw {} of {} \
             outside 2xx:\n{output}",
            scenario.name(),
            measured.non_2xx,
            measured.requests
        ));
    }
    measured.allocations_per_request = (after - before) as f64 / measured.requests as f64;
    measured.cpu_us_per_request =
        (cpu_after - cpu_before) as f64 / 1_000.0 / measured.requests as f64;
    eprintln!(
        "  {variant:<28} {:<22} {:>9.0} req/s  p99 {:>7.0} µs  server {:>5.2} µs CPU/req  \
         {:>4.0} B/resp  {:.1} allocs/req",
        scenario.name(),
        measured.per_second,
        measured.p99_us,
        measured.cpu_us_per_request,
        measured.bytes_per_response,
        measured.allocations_per_request
    );
    Ok(measured)
}

fn wrk(settings: &Settings, script: &Path, url: &str, seconds: u32) -> Result<String, String> {
    let output = Command::new("taskset")
        .args(["-c", &settings.load_core.to_string()])
        .arg("wrk")
        .args(["-t1", "--latency"])
        .arg(format!("-c{}", settings.connections))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| format!("running wrk: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {}\n{text}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(text)
}

fn parse_wrk(output: &str) -> Option<Measured> {
    let mut requests = None;
    let mut per_second = None;
    let mut p50_us = None;
    let mut p99_us = None;
    let mut non_2xx = 0;
    let mut read_bytes = None;
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            per_second = rest.trim().parse().ok();
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50_us = duration_us(rest.trim());
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99_us = duration_us(rest.trim());
        } else if line.contains(" requests in ") {
            // "183011 requests in 3.10s, 58.46MB read"
            let words: Vec<&str> = line.split_whitespace().collect();
            requests = words.first()?.parse().ok();
            read_bytes = words.iter().rev().nth(1).and_then(|w| size_bytes(w));
        }
    }
    let requests: u64 = requests?;
    Some(Measured {
        requests,
        bytes_per_response: read_bytes? / requests.max(1) as f64,
        cpu_us_per_request: 0.0,
        per_second: per_second?,
        p50_us: p50_us?,
        p99_us: p99_us?,
        non_2xx,
        allocations_per_request: 0.0,
    })
}

/// wrk's `58.46MB`, `812.00KB`, `900B` in bytes.
fn size_bytes(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number * scale)
}

/// wrk's `512.00us`, `1.23ms`, `2.00s` in microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1_000.0,
        "s" => 1_000_000.0,
        _ => return None,
    };
    Some(number * scale)
}

// ---------------------------------------------------------------------------------------
// The report.

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Median, min and max of `values`.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    let m = median(&mut values);
    (m, values[0], values[values.len() - 1])
}

/// The median of one measure over the runs.
fn median_of(runs: &[Measured], measure: impl Fn(&Measured) -> f64) -> f64 {
    spread(runs.iter().map(measure).collect()).0
}

/// A measure of `ours` against `theirs`, round by round, as "median (min–max)".
fn paired(
    ours: &[Measured],
    theirs: &[Measured],
    ratio: impl Fn(&Measured, &Measured) -> f64,
    digits: usize,
) -> String {
    let (m, low, high) = spread(ours.iter().zip(theirs).map(|(a, b)| ratio(a, b)).collect());
    format!("{m:.digits$} ({low:.digits$}–{high:.digits$})")
}

type Results<'a> = BTreeMap<(&'a str, Scenario), Vec<Measured>>;

fn report(settings: &Settings, results: &Results<'_>) -> String {
    let get = |variant: &'static str, scenario: Scenario| &results[&(variant, scenario)];
    let mut out = String::new();
    let _ = writeln!(out, "## Load benchmark\n");
    let _ = writeln!(
        out,
        "{} rounds; each run {} s of load after {} s of warm-up, {} connections, wrk with one \
         thread on core {}, the server on one thread on core {}. {}.\n",
        settings.rounds,
        settings.seconds,
        settings.warmup,
        settings.connections,
        settings.load_core,
        settings.server_core,
        machine()
    );

    let _ = writeln!(out, "### Success path, `POST /posts` → 201\n");
    let _ = writeln!(
        out,
        "| variant | requests/s, median (min–max) | p50 µs | p99 µs | server CPU µs / request | bytes / response | allocations / request |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
    for variant in fixtures::VARIANTS {
        let runs = get(variant, Scenario::Success);
        let (rps, low, high) = spread(runs.iter().map(|m| m.per_second).collect());
        let _ = writeln!(
            out,
            "| {variant} | {rps:.0} ({low:.0}–{high:.0}) | {:.0} | {:.0} | {:.2} | {:.0} | {:.1} |",
            median_of(runs, |m| m.p50_us),
            median_of(runs, |m| m.p99_us),
            median_of(runs, |m| m.cpu_us_per_request),
            median_of(runs, |m| m.bytes_per_response),
            median_of(runs, |m| m.allocations_per_request),
        );
    }

    let _ = writeln!(
        out,
        "\n### Ratios, per round (same round, side by side), median (min–max)\n"
    );
    let _ = writeln!(
        out,
        "| ratio | throughput | p99 latency | requests per server CPU second | goal |\n| --- | --- | --- | --- | --- |"
    );
    for (other, goal) in [
        ("hand-written", "throughput ≥ 0.95"),
        ("hand-written + same response", "throughput ≥ 1.15"),
        ("assembled", "throughput ≥ 1.10"),
        ("assembled + same response", "throughput ≥ 1.2"),
        ("no checks", "—"),
    ] {
        let ours = get("#[secure]", Scenario::Success);
        let theirs = get(other, Scenario::Success);
        let _ = writeln!(
            out,
            "| `#[secure]` ÷ {other} | {} | {} | {} | {goal} |",
            paired(ours, theirs, |a, b| a.per_second / b.per_second, 3),
            paired(ours, theirs, |a, b| a.p99_us / b.p99_us, 3),
            paired(
                ours,
                theirs,
                |a, b| b.cpu_us_per_request / a.cpu_us_per_request,
                3
            ),
        );
    }

    // Shared limits: the same route with its limit counted in Redis, beside memory.
    let redis = get("#[secure] + Redis", Scenario::Success);
    let memory = get("#[secure]", Scenario::Success);
    let _ = writeln!(
        out,
        "| `#[secure]` + Redis ÷ `#[secure]` (memory) | {} | {} | {} | throughput ≥ 0.8 |",
        paired(redis, memory, |a, b| a.per_second / b.per_second, 3),
        paired(redis, memory, |a, b| a.p99_us / b.p99_us, 3),
        paired(
            redis,
            memory,
            |a, b| b.cpu_us_per_request / a.cpu_us_per_request,
            3
        ),
    );

    let _ = writeln!(
        out,
        "\n### Refusals under load: throughput ÷ the same variant's success path\n"
    );
    let _ = writeln!(
        out,
        "| variant | refusal | requests/s, median (min–max) | ÷ success | server CPU ÷ success's | p99 µs | allocations / request |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
    for variant in REFUSING {
        let success = get(variant, Scenario::Success);
        for scenario in [
            Scenario::BadSignature,
            Scenario::OverLimit,
            Scenario::InvalidBody,
        ] {
            let runs = get(variant, scenario);
            let (rps, low, high) = spread(runs.iter().map(|m| m.per_second).collect());
            let _ = writeln!(
                out,
                "| {variant} | {} | {rps:.0} ({low:.0}–{high:.0}) | {} | {} | {:.0} | {:.1} |",
                scenario.name(),
                paired(runs, success, |r, s| r.per_second / s.per_second, 2),
                paired(
                    runs,
                    success,
                    |r, s| r.cpu_us_per_request / s.cpu_us_per_request,
                    2
                ),
                median_of(runs, |m| m.p99_us),
                median_of(runs, |m| m.allocations_per_request),
            );
        }
    }
    out
}

/// The CPU, the kernel and the tools, as one sentence.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let command = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr);
                text.lines().next().unwrap_or("").trim().to_owned()
            })
            .unwrap_or_default()
    };
    format!(
        "Machine: {cpu}, {cores} cores, Linux {}; {}; {}",
        command("uname", &["-r"]),
        command("wrk", &["--version"])
            .split(" [")
            .next()
            .unwrap_or(""),
        command("rustc", &["--version"])
    )
}
