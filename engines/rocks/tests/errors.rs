//! Bad input and damaged files give error kinds, never a panic and never a wrong value.

use std::path::{Path, PathBuf};

use engine_rocks::RocksEngine;
use engine_traits::{
    CF_DEFAULT, EngineConfig, EngineIterator, ErrorKind, IterOptions, KvEngine, Readable,
};

fn value_of(i: u32) -> Vec<u8> {
    format!("value-{i:06}-").repeat(20).into_bytes()
}

/// A database with 2000 keys flushed to SSTs, closed; returns its directory.
fn flushed_db(root: &Path) -> PathBuf {
    let path = root.join("db");
    let e = RocksEngine::open(&EngineConfig::new(&path)).unwrap();
    for i in 0..2000u32 {
        e.put(CF_DEFAULT, format!("key{i:06}").as_bytes(), &value_of(i))
            .unwrap();
    }
    e.flush().unwrap();
    path
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn flip_bytes(file: &Path, at: usize, n: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    for b in &mut bytes[at..at + n] {
        *b ^= 0xff;
    }
    std::fs::write(file, bytes).unwrap();
}

fn files_with(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| pred(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn opening_a_path_that_is_a_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"hello").unwrap();
    let err = RocksEngine::open(&EngineConfig::new(&file)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        err.to_string().contains("not-a-dir"),
        "the error names the path: {err}"
    );
}

#[test]
fn opening_read_only_a_missing_database_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        RocksEngine::open_read_only(&EngineConfig::new(dir.path().join("missing"))).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Io | ErrorKind::InvalidArgument),
        "{err}"
    );
    assert!(
        err.to_string().contains("missing"),
        "the error names the path: {err}"
    );
}

#[test]
fn read_only_engine_rejects_writes_and_reads_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = flushed_db(dir.path());
    let e = RocksEngine::open_read_only(&EngineConfig::new(&path)).unwrap();
    assert_eq!(e.get(CF_DEFAULT, b"key000007").unwrap(), Some(value_of(7)));
    assert!(e.put(CF_DEFAULT, b"k", b"v").is_err());
}

#[test]
fn a_second_handle_on_the_same_directory_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let _first = RocksEngine::open(&EngineConfig::new(dir.path())).unwrap();
    let err = RocksEngine::open(&EngineConfig::new(dir.path())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
}

#[test]
fn flipped_bytes_in_an_sst_are_corruption_not_wrong_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = flushed_db(dir.path());
    let copy = dir.path().join("copy");
    copy_dir(&path, &copy);
    let ssts = files_with(&copy, |n| n.ends_with(".sst"));
    assert!(!ssts.is_empty(), "the flush wrote an SST");
    let len = std::fs::metadata(&ssts[0]).unwrap().len() as usize;
    flip_bytes(&ssts[0], len / 3, 16);

    let result = RocksEngine::open(&EngineConfig::new(&copy));
    let e = match result {
        Err(err) => {
            assert!(
                matches!(err.kind(), ErrorKind::Corruption | ErrorKind::Io),
                "{err}"
            );
            return;
        }
        Ok(e) => e,
    };
    let mut corruption = None;
    for i in 0..2000u32 {
        match e.get(CF_DEFAULT, format!("key{i:06}").as_bytes()) {
            Ok(Some(v)) => assert_eq!(v, value_of(i), "key{i:06} read back a wrong value"),
            Ok(None) => panic!("key{i:06} vanished instead of reporting corruption"),
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
                corruption = Some(err);
            }
        }
    }
    let err = corruption.expect("a flipped data block is reported as corruption");
    match &err {
        engine_traits::Error::Corruption { file: Some(f), .. } => {
            assert!(f.to_string_lossy().ends_with(".sst"), "{err}")
        }
        other => panic!("corruption names the SST file: {other}"),
    }
    // A scan over the damaged block stops with an error, not with a short, silent result.
    let mut it = e.iterator_opt(CF_DEFAULT, IterOptions::default()).unwrap();
    let mut ok = it.seek_to_first();
    let mut n = 0;
    while let Ok(true) = ok {
        n += 1;
        ok = it.next();
    }
    assert!(
        ok.is_err() || n == 2000,
        "a scan ends in an error or sees everything, saw {n} and {ok:?}"
    );
}

#[test]
fn flipped_bytes_in_the_manifest_fail_open_with_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = flushed_db(dir.path());
    let copy = dir.path().join("copy");
    copy_dir(&path, &copy);
    let manifests = files_with(&copy, |n| n.starts_with("MANIFEST-"));
    let manifest = manifests.last().expect("a MANIFEST exists");
    let len = std::fs::metadata(manifest).unwrap().len() as usize;
    flip_bytes(manifest, 10.min(len - 1), (len - 10).min(32));
    let err = RocksEngine::open(&EngineConfig::new(&copy)).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Corruption | ErrorKind::Io),
        "{err}"
    );
}

#[test]
fn unknown_profile_and_bad_profile_file_are_invalid_argument_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let err = RocksEngine::open(&EngineConfig::new(dir.path().join("a")).with_profile("turbo"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("turbo"), "{err}");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "write_buffer_size: 4MiB\nmax_background_jobs: many\n",
    )
    .unwrap();
    let err = RocksEngine::open(
        &EngineConfig::new(dir.path().join("b")).with_profile(file.to_str().unwrap()),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let msg = err.to_string();
    assert!(
        msg.contains("bad.yaml:2:") && msg.contains("max_background_jobs"),
        "{msg}"
    );
}
