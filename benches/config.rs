//! `make bench-config`: configuration as code at scale. The gateway `bench-authz` (100,000
//! consumers, 100,000 bound keys, 1,000,000 rules; built once in the benchmark database) is
//! exported by the CLI three times, each in a new process whose peak memory (max RSS) is
//! read from the kernel; targets ≤ 30 s and ≤ 1 GiB. The exports must be byte-identical.

mod common;

use common::{bench_db, gateway_100k};
use std::process::Command;
use std::time::Instant;

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
}
