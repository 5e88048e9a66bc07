//! How redb's open fails, mapped onto the trait layer's error kinds.

use engine_redb::{DATA_FILE, RedbEngine};
use engine_traits::{CF_DEFAULT, EngineConfig, ErrorKind, KvEngine, Readable};

#[test]
fn a_second_open_of_the_same_database_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let first = RedbEngine::open(&config).unwrap();
    let err = RedbEngine::open(&config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert!(
        err.to_string().contains(DATA_FILE),
        "the error names the file: {err}"
    );
    drop(first);
    RedbEngine::open(&config).expect("the lock goes with the first handle");
}

#[test]
fn a_path_that_is_a_file_is_io_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain-file");
    std::fs::write(&path, b"x").unwrap();
    let err = RedbEngine::open(&EngineConfig::new(&path)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains("plain-file"), "{err}");
}

#[test]
fn a_file_that_is_not_redb_is_corruption_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join(DATA_FILE), vec![0x5a; 64 << 10]).unwrap();
    let err = RedbEngine::open(&EngineConfig::new(&db)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    assert!(err.to_string().contains(DATA_FILE), "{err}");
}

#[test]
fn tables_of_cfs_not_listed_stay_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let wide = RedbEngine::open(&EngineConfig::new(&path).with_cf("extra")).unwrap();
    wide.put("extra", b"k", b"kept").unwrap();
    drop(wide);
    let narrow = RedbEngine::open(&EngineConfig::new(&path)).unwrap();
    assert_eq!(
        narrow.get("extra", b"k").unwrap_err().kind(),
        ErrorKind::UnknownCf
    );
    drop(narrow);
    let wide = RedbEngine::open(&EngineConfig::new(&path).with_cf("extra")).unwrap();
    assert_eq!(
        wide.get("extra", b"k").unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(wide.get(CF_DEFAULT, b"k").unwrap(), None);
}
