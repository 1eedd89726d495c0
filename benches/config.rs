//! `make bench-config`: configuration as code at scale. The gateway `bench-authz` (100,000
//! consumers, 100,000 bound keys, 1,000,000 rules; built once in the benchmark database) is
//! exported by the CLI three times, each in a new process whose peak memory (max RSS) is
//! read from the kernel; targets ≤ 30 s and ≤ 1 GiB. The exports must be byte-identical.
//! Then the export is imported back with `--dry-run` (no change; targets ≤ 30 s, ≤ 1 GiB),
//! a file that disables 10,000 consumers is applied (10,000 changes; target ≤ 30 s), and the
//! export applied again puts them back.

mod common;

use common::{bench_db, gateway_100k};
use std::process::Command;
use std::time::Instant;

/// Runs the CLI in a new process; its wall time, peak RSS (MiB), standard output and error.
fn cli(url: &str, args: &[&str]) -> (f64, f64, String, String) {
    let started = Instant::now();
    // Python's resource module reads the child's peak RSS (getrusage, RUSAGE_CHILDREN).
    let script = "import resource, subprocess, sys\n\
                  r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n\
                  sys.stderr.write(r.stderr)\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
                  print(r.stdout, end='')\n\
                  sys.exit(r.returncode)";
    let mut all = vec!["-c", script, env!("CARGO_BIN_EXE_gateway-console")];
    all.extend_from_slice(args);
    let out = Command::new("python3")
        .args(all)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (peak, rest) = stdout.split_once('\n').unwrap();
    let peak_mib = peak.trim().parse::<f64>().unwrap() / 1024.0;
    (elapsed, peak_mib, rest.to_owned(), stderr)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (url, gateway) = runtime.block_on(async {
        let db = bench_db().await;
        let gateway = gateway_100k(&db).await;
        (db.url().to_owned(), gateway)
    });
    drop(runtime);
    let dir = tempfile::tempdir().unwrap();
    let mut first: Option<Vec<u8>> = None;
    for round in 1..=3 {
        let file = dir.path().join(format!("export-{round}.yaml"));
        let started = Instant::now();
        // Python's resource module reads the child's peak RSS (getrusage, RUSAGE_CHILDREN).
        let out = Command::new("python3")
            .args([
                "-c",
                "import resource, subprocess, sys\n\
                 subprocess.run(sys.argv[1:], check=True)\n\
                 print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                env!("CARGO_BIN_EXE_gateway-console"),
                "export",
                "--gateway",
                &gateway,
                "--output",
                &file.display().to_string(),
            ])
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let peak_kib: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let bytes = std::fs::read(&file).unwrap();
        println!(
            "export {round}/3 (100,000 consumers, 100,000 keys, 1,000,000 rules): {:.2} s, peak RSS {:.0} MiB, {:.1} MB of YAML (targets ≤ 30 s, ≤ 1 GiB)",
            elapsed.as_secs_f64(),
            peak_kib as f64 / 1024.0,
            bytes.len() as f64 / 1e6
        );
        match &first {
            None => first = Some(bytes),
            Some(f) => assert!(f == &bytes, "two exports of the same state differ"),
        }
    }

    // Import: the export itself (nothing to change), then 10,000 changes and back.
    let file = dir.path().join("export-1.yaml");
    let file = file.display().to_string();
    let (secs, peak, out, err) = cli(&url, &["import", &file, "--gateway", &gateway, "--dry-run"]);
    assert!(out.is_empty() && err.contains("nothing to change"), "{err}");
    println!(
        "import --dry-run of the export (no change): {secs:.2} s, peak RSS {peak:.0} MiB (targets ≤ 30 s, ≤ 1 GiB)"
    );
    let mut doc =
        gateway_console::service::config::from_yaml(&std::fs::read_to_string(&file).unwrap())
            .unwrap();
    for c in doc.consumers.iter_mut().take(10_000) {
        c.enabled = !c.enabled;
    }
    let changed = dir.path().join("changed.yaml");
    std::fs::write(
        &changed,
        gateway_console::service::config::to_yaml(&doc).unwrap(),
    )
    .unwrap();
    drop(doc);
    let changed = changed.display().to_string();
    let (secs, peak, out, err) = cli(
        &url,
        &["import", &changed, "--gateway", &gateway, "--dry-run"],
    );
    assert_eq!(out.lines().count(), 10_000, "{err}");
    println!("import --dry-run of 10,000 changes: {secs:.2} s, peak RSS {peak:.0} MiB (targets ≤ 30 s, ≤ 1 GiB)");
    let (secs, peak, out, err) = cli(&url, &["import", &changed, "--gateway", &gateway]);
    assert_eq!(out.lines().count(), 10_000, "{err}");
    println!("import (apply) of 10,000 changes in one transaction: {secs:.2} s, peak RSS {peak:.0} MiB (target ≤ 30 s)");
    let (secs, _, out, err) = cli(&url, &["import", &file, "--gateway", &gateway]);
    assert_eq!(out.lines().count(), 10_000, "{err}");
    println!("import (apply) of the export, 10,000 changes back: {secs:.2} s");
}
