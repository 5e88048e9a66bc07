//! Upstream behaviour the wrapper works around, pinned against heed 0.23.1 with its bundled
//! LMDB (lmdb-master-sys 0.2.6, LMDB 0.9.70 of mdb.master). No suite found an upstream bug that
//! corrupts or loses data; these tests say what the wrapper must not rely on, so a heed or
//! LMDB upgrade that changes them shows up here first.

use std::panic::{AssertUnwindSafe, catch_unwind};

use heed::types::Bytes;
use heed::{CommitOrAbort, Database, EnvOpenOptions, MdbError};

fn env(dir: &std::path::Path) -> heed::Env {
    // SAFETY: a fresh temporary directory that nothing else opens.
    unsafe { EnvOpenOptions::new().max_dbs(4).open(dir) }.unwrap()
}

fn unnamed(env: &heed::Env) -> Database<'static, Bytes, Bytes> {
    let wtxn = env.write_txn().unwrap();
    env.create_databases_and_commit(wtxn, |opener, wtxn| {
        opener
            .create_database::<Bytes, Bytes>(wtxn, None)
            .map(CommitOrAbort::<_, ()>::Commit)
    })
    .unwrap()
    .unwrap_commit()
}

/// Why every LMDB key starts with a tag byte (`src/layout.rs`): LMDB refuses the empty key,
/// which the trait layer must store.
#[test]
fn lmdb_refuses_the_empty_key() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let db = unnamed(&env);
    let mut wtxn = env.write_txn().unwrap();
    let err = db.put(&mut wtxn, b"", b"v").unwrap_err();
    assert!(
        matches!(err, heed::Error::Mdb(MdbError::BadValSize)),
        "{err:?}"
    );
}

/// Why long keys live in group entries: the bundled LMDB is compiled with its default
/// `MDB_MAXKEYSIZE` of 511 bytes (heed's `longer-keys` would raise it to about 1,982 bytes on
/// 4 KiB pages, still short of the 16 KiB the suite stores).
#[test]
fn lmdb_refuses_keys_over_511_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    assert_eq!(env.max_key_size(), 511);
    let db = unnamed(&env);
    let mut wtxn = env.write_txn().unwrap();
    db.put(&mut wtxn, &[b'k'; 511], b"v").unwrap();
    let err = db.put(&mut wtxn, &[b'k'; 512], b"v").unwrap_err();
    assert!(
        matches!(err, heed::Error::Mdb(MdbError::BadValSize)),
        "{err:?}"
    );
}

/// heed turns a database name into a `CString` with `unwrap()`, so a name holding a NUL byte
/// panics instead of returning an error. The wrapper refuses such CF names with
/// `InvalidArgument` before they reach heed (`cf_db_name`).
#[test]
fn heed_panics_on_a_database_name_holding_nul() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let wtxn = env.write_txn().unwrap();
        env.create_databases_and_commit(wtxn, |opener, wtxn| {
            opener
                .create_database::<Bytes, Bytes>(wtxn, Some("a\0b"))
                .map(CommitOrAbort::<_, ()>::Commit)
        })
    }));
    assert!(outcome.is_err(), "heed 0.23.1 panics on a NUL in a name");
}

/// The wrapper's answer to the same input: a clear error naming the CF.
#[test]
fn the_wrapper_refuses_a_cf_name_holding_nul() {
    use engine_traits::{EngineConfig, ErrorKind, KvEngine};
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db")).with_cf("a\0b");
    let err = engine_lmdb::LmdbEngine::open(&config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("NUL"), "{err}");
}

/// Why the wrapper fsyncs the directory after creating an environment (`LmdbEngine::open`):
/// LMDB creates `data.mdb` and never fsyncs its directory, so under a power loss with strict
/// POSIX semantics (a new name is durable only after an fsync of its directory) the whole
/// file goes, with every commit LMDB reported durable. Found by the powerloss suite; shown
/// here on the powerloss file system with LMDB alone. When this starts failing, LMDB makes the
/// name durable itself and the wrapper's fsync can go.
#[test]
fn lmdb_loses_a_new_environment_with_its_synced_commits_at_a_power_loss() {
    if let Err(why) = powerloss::available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have FUSE: {why}"
        );
        eprintln!("skipped: needs FUSE: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (backing, mnt) = (tmp.path().join("backing"), tmp.path().join("mnt"));
    // The environment's directory exists, durable, before the mount (as the harness does).
    std::fs::create_dir_all(backing.join("db")).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    let mount = powerloss::Mount::new(&backing, &mnt).unwrap();
    let env = env(&mnt.join("db"));
    let db = unnamed(&env);
    let mut wtxn = env.write_txn().unwrap();
    db.put(&mut wtxn, b"k", b"v").unwrap();
    wtxn.commit().unwrap(); // durable by LMDB's account: fdatasync of data.mdb
    mount.cut(powerloss::CutMode::DropUnsynced).unwrap();
    drop(env);
    mount.unmount().unwrap();
    assert!(
        !backing.join("db/data.mdb").exists(),
        "data.mdb survived the power cut: LMDB now makes its name durable"
    );
}
