//! Minimal reproductions of fjall 3.1.13 behaviour the wrapper works around. Each test names
//! the upstream crate version and asserts what it does today, so an upgrade that changes it
//! shows up here first.

use fjall::{Database, KeyspaceCreateOptions};

fn open(dir: &std::path::Path) -> (Database, fjall::Keyspace) {
    let db = Database::builder(dir).open().unwrap();
    let ks = db
        .keyspace("items", KeyspaceCreateOptions::default)
        .unwrap();
    (db, ks)
}

/// fjall 3.1.13 (lsm-tree 3.1.10) does not take the empty key: a batch holding it panics
/// when the item is added (`batch::item::Item::new`), and `Keyspace::insert` panics in
/// lsm-tree ("key may not be empty") after the journal record was written, with the journal
/// lock held. Worse, that record stays in the journal: every later open replays it into the
/// memtable and panics the same way, so the database can no longer be opened at all. The
/// wrapper stores every key behind a tag byte (`keys.rs`), so the trait layer's empty key never
/// reaches fjall.
#[test]
fn fjall_3_1_13_panics_on_the_empty_key() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ks) = open(dir.path());
    let in_batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut batch = db.batch();
        batch.insert(&ks, "", "in a batch");
    }));
    assert!(in_batch.is_err(), "adding the empty key to a batch panics");
    let single = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = ks.insert("", "single insert");
    }));
    assert!(single.is_err(), "inserting the empty key panics");
    drop((ks, db));
    for attempt in 1..=2 {
        let reopened = std::panic::catch_unwind(|| drop(open(dir.path())));
        assert!(
            reopened.is_err(),
            "open #{attempt} after the panicking insert panics replaying its journal record"
        );
    }
}

/// fjall 3.1.13 documents keys of up to 65536 bytes, but stores key lengths as `u16`:
/// lsm-tree asserts `len <= 65535` ("keys can be 65535 bytes in length"), and the journal
/// truncates the length (`key.len() as u16`) before that assert is reached on the
/// single-insert path. A key of 65536 bytes panics inside `Keyspace::insert` while the
/// journal lock is held, which poisons the journal mutex: every later write of that handle
/// fails until the database is reopened. The wrapper rejects keys above 65534 bytes (65535
/// minus its tag) with `InvalidArgument` before they reach fjall.
#[test]
fn fjall_3_1_13_panics_on_a_key_of_the_documented_maximum_length() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ks) = open(dir.path());
    ks.insert(vec![b'k'; 65_535], "ok").unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = ks.insert(vec![b'k'; 65_536], "too long");
    }));
    assert!(panicked.is_err(), "a 65536-byte key panics");
    assert!(
        ks.insert("later", "write").is_err(),
        "the panic poisoned the journal: later writes fail"
    );
    drop((ks, db));
    let (_db, ks) = open(dir.path());
    assert_eq!(
        ks.get(vec![b'k'; 65_535]).unwrap().as_deref(),
        Some(&b"ok"[..]),
        "a reopen recovers the writes before the panic"
    );
}

/// Why the wrapper fsyncs `keyspaces/` and the database directory after opening its
/// keyspaces (`FjallEngine::open`): fjall 3.1.13 creates a keyspace's directory (the meta
/// keyspace's too) without an fsync of `keyspaces/`, so under a power loss with strict POSIX
/// semantics (a new name is durable only after an fsync of its directory) the keyspaces go,
/// with every write `persist(SyncAll)` reported durable. Found by the powerloss suite; shown
/// here on the powerloss file system with fjall alone. When this starts failing, fjall makes
/// the names durable itself and the wrapper's fsyncs can go.
#[test]
fn fjall_3_1_13_loses_new_keyspaces_with_their_synced_writes_at_a_power_loss() {
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
    // The database directory exists, durable, before the mount (as the harness does).
    std::fs::create_dir_all(backing.join("db")).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    let mount = powerloss::Mount::new(&backing, &mnt).unwrap();
    let (db, ks) = open(&mnt.join("db"));
    ks.insert("k", "v").unwrap();
    db.persist(fjall::PersistMode::SyncAll).unwrap();
    mount.cut(powerloss::CutMode::DropUnsynced).unwrap();
    drop((ks, db));
    mount.unmount().unwrap();
    let keyspaces: Vec<_> = std::fs::read_dir(backing.join("db/keyspaces"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        keyspaces.is_empty(),
        "keyspaces survived the power cut ({keyspaces:?}): fjall now makes their names durable"
    );
}
