//! Profile `s3` against a real S3 API over HTTP: a `moto` server (`pip install
//! 'moto[server]'`) started on 127.0.0.1 by this test, so requests, listings, conditional
//! PUTs and errors take the same path as against AWS. The whole conformance suite runs on it,
//! then a few S3-specific checks.
//!
//! When the server cannot be started, the binary prints `skipped: <why>` and passes, except
//! under `CI=true`, where it fails. The server is killed at the end either way.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine_slatedb::SlatedbEngine;
use engine_traits::{CF_DEFAULT, EngineConfig, ErrorKind, KvEngine, Readable, WriteOptions};
use libtest_mimic::{Arguments, Failed, Trial};

const BUCKET: &str = "engine-slatedb-test";

/// The moto server, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One plain HTTP/1.1 request; moto does not check signatures, so creating the bucket needs
/// no S3 client. Returns the status line.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.lines().next().unwrap_or_default().to_owned())
}

fn start_moto() -> Result<Moto, String> {
    let port = free_port().map_err(|e| format!("no free port: {e}"))?;
    let spawn = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    let port_s = port.to_string();
    let child = spawn("moto_server", &["-H", "127.0.0.1", "-p", &port_s])
        .or_else(|_| {
            spawn(
                "python3",
                &["-m", "moto.server", "-H", "127.0.0.1", "-p", &port_s],
            )
        })
        .map_err(|e| {
            format!("cannot run moto_server or python3 -m moto.server ({e}); install it with pip install 'moto[server]'")
        })?;
    let mut moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = moto.child.try_wait() {
            return Err(format!(
                "moto exited with {status} before listening (is moto[server] installed? pip install 'moto[server]')"
            ));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err("moto did not listen within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = http(moto.port, "PUT", &format!("/{BUCKET}"))
        .map_err(|e| format!("creating bucket {BUCKET}: {e}"))?;
    if !status.contains(" 200") {
        return Err(format!("creating bucket {BUCKET}: {status}"));
    }
    Ok(moto)
}

fn s3_config(dir: &std::path::Path) -> EngineConfig {
    EngineConfig::new(dir).with_profile("s3")
}

fn roundtrip_reopen_and_checkpoint() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = s3_config(&dir.path().join("db"));
    let e = SlatedbEngine::open(&config)?;
    assert!(e.location().starts_with("s3://"), "{}", e.location());
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"k", b"over http")?;
    let err = SlatedbEngine::open(&config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    let requests = e.object_store_requests();
    assert!(requests.puts > 0 && requests.lists > 0, "{requests:?}");
    let cp = dir.path().join("checkpoint");
    e.as_checkpoint().expect("declared").checkpoint(&cp)?;
    e.put(CF_DEFAULT, b"later", b"x")?;
    drop(e);
    let e = SlatedbEngine::open(&config)?;
    assert_eq!(e.get(CF_DEFAULT, b"k")?.as_deref(), Some(&b"over http"[..]));
    assert_eq!(e.get(CF_DEFAULT, b"later")?.as_deref(), Some(&b"x"[..]));
    let copy = SlatedbEngine::open(&s3_config(&cp))?;
    assert_eq!(
        copy.get(CF_DEFAULT, b"k")?.as_deref(),
        Some(&b"over http"[..])
    );
    assert_eq!(copy.get(CF_DEFAULT, b"later")?, None);
    Ok(())
}

fn an_unreachable_endpoint_fails_the_open_with_io() -> Result<(), Failed> {
    let port = free_port().map_err(|e| e.to_string())?;
    let mut s3 = engine_slatedb::S3Config::from_env()?;
    s3.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let err = SlatedbEngine::open_with_profile(
        &EngineConfig::new(dir.path().join("db")),
        engine_slatedb::Profile::S3(s3),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    eprintln!(
        "open against a closed port failed after {:.1}s: {err}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Requests per 1000 operations against the S3 API (the figure the bench harness lacks),
/// printed for the docs page; background polls included.
fn requests_per_thousand_operations() -> Result<(), Failed> {
    use engine_traits::EngineIterator;
    const KEYS: u64 = 5_000;
    let key = |i: u64| format!("{:016}", (i * 7919) % KEYS).into_bytes();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = s3_config(&dir.path().join("db"));
    let e = SlatedbEngine::open(&config)?;
    let value = vec![7u8; 100];
    let row =
        |name: &str, a: engine_slatedb::RequestCounts, b: engine_slatedb::RequestCounts, n: u64| {
            let f = |x: u64, y: u64| (y - x) as f64 * 1000.0 / n as f64;
            format!(
                "{name:<36} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                f(a.total(), b.total()),
                f(a.puts, b.puts),
                f(a.gets, b.gets),
                f(a.lists, b.lists),
                f(a.deletes, b.deletes)
            )
        };
    let mut lines = vec![format!(
        "{:<36} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "S3, per 1000 operations", "requests", "PUT", "GET", "LIST", "DELETE"
    )];
    let a = e.object_store_requests();
    for i in 0..KEYS {
        e.put(CF_DEFAULT, &key(i), &value)?;
    }
    e.sync()?;
    let b = e.object_store_requests();
    lines.push(row("fillrandom, unsynced (then sync)", a, b, KEYS));
    let a = e.object_store_requests();
    for i in 0..200 {
        e.put_opt(&WriteOptions::sync(), CF_DEFAULT, &key(i), &value)?;
    }
    let b = e.object_store_requests();
    lines.push(row("overwrite, synced", a, b, 200));
    drop(e);
    let e = SlatedbEngine::open(&config)?;
    let a = e.object_store_requests();
    for i in 0..KEYS {
        assert!(e.get(CF_DEFAULT, &key((i * 13 + 1) % KEYS))?.is_some());
    }
    let b = e.object_store_requests();
    lines.push(row("readrandom, cold cache", a, b, KEYS));
    drop(e);
    let e = SlatedbEngine::open(&config)?;
    let a = e.object_store_requests();
    let mut it = e.iterator(CF_DEFAULT)?;
    let mut n = 0;
    let mut ok = it.seek_to_first()?;
    while ok {
        n += 1;
        ok = it.next()?;
    }
    let b = e.object_store_requests();
    lines.push(row("readseq, cold cache (per 1000 keys)", a, b, n));
    drop(it);
    let a = e.object_store_requests();
    std::thread::sleep(Duration::from_secs(5));
    let b = e.object_store_requests();
    lines.push(format!(
        "idle: {:.1} requests a second",
        (b.total() - a.total()) as f64 / 5.0
    ));
    eprintln!("{}", lines.join("\n"));
    Ok(())
}

fn set_env(key: &str, value: &str) {
    // SAFETY: called only at the start of `main`, before any other thread exists.
    unsafe { std::env::set_var(key, value) };
}

fn main() {
    let args = Arguments::from_args();
    let moto = match start_moto() {
        Ok(m) => m,
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                eprintln!("s3: the moto server is required under CI: {why}");
                std::process::exit(1);
            }
            println!("skipped: {why}");
            return;
        }
    };
    set_env("SLATEDB_S3_BUCKET", BUCKET);
    set_env(
        "SLATEDB_S3_ENDPOINT",
        &format!("http://127.0.0.1:{}", moto.port),
    );
    set_env("SLATEDB_S3_REGION", "us-east-1");
    set_env("SLATEDB_S3_PREFIX", "suite");
    set_env("AWS_ACCESS_KEY_ID", "testing");
    set_env("AWS_SECRET_ACCESS_KEY", "testing");
    let mut trials = engine_conformance::Suite::<SlatedbEngine>::new("slatedb_s3")
        .configure(|c| c.with_profile("s3"))
        .trials();
    trials.push(Trial::test(
        "s3::roundtrip_reopen_and_checkpoint",
        roundtrip_reopen_and_checkpoint,
    ));
    trials.push(Trial::test(
        "s3::requests_per_thousand_operations",
        requests_per_thousand_operations,
    ));
    trials.push(Trial::test(
        "s3::an_unreachable_endpoint_fails_the_open_with_io",
        an_unreachable_endpoint_fails_the_open_with_io,
    ));
    let conclusion = libtest_mimic::run(&args, trials);
    drop(moto);
    conclusion.exit()
}
