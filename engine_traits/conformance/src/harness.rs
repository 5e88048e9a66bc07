//! What every case runs in: a fresh directory, an open engine, and checks that say which
//! behaviour broke.

use std::fmt;
use std::path::{Path, PathBuf};

use engine_traits::{
    EngineConfig, EngineIterator, Error, ErrorKind, IterOptions, KvEngine, Readable, display_key,
};

/// Why a case failed: a sentence naming the behaviour, and what was seen.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(format!("unexpected engine error: {e}"))
    }
}

/// The result of a case.
pub type CaseResult = Result<(), Failure>;

/// Fails the case with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::Failure(format!($($fmt)+)));
        }
    };
}

/// A case's world: a temporary directory, the config it opens engines with, and the engine.
pub struct Ctx<E: KvEngine> {
    dir: tempfile::TempDir,
    config: EngineConfig,
    engine: Option<E>,
}

impl<E: KvEngine> Ctx<E> {
    /// Opens an engine under a fresh temporary directory with `config`'s settings (its path
    /// is replaced).
    pub fn open(mut config: EngineConfig) -> Result<Self, Failure> {
        let dir = tempfile::Builder::new()
            .prefix("conformance-")
            .tempdir()
            .map_err(|e| Failure(format!("cannot create a temporary directory: {e}")))?;
        config.path = dir.path().join("db");
        let engine =
            E::open(&config).map_err(|e| Failure(format!("opening the engine failed: {e}")))?;
        Ok(Ctx {
            dir,
            config,
            engine: Some(engine),
        })
    }

    /// The open engine.
    pub fn engine(&self) -> &E {
        self.engine
            .as_ref()
            .expect("engine is open between cases' reopen calls")
    }

    /// The config the engine was opened with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// A fresh path inside the case's directory, for checkpoints or second engines.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Drops the engine (a clean close) and opens it again at the same path.
    pub fn reopen(&mut self) -> Result<&E, Failure> {
        self.close();
        let engine = E::open(&self.config).map_err(|e| Failure(format!("reopen failed: {e}")))?;
        self.engine = Some(engine);
        Ok(self.engine())
    }

    /// Drops the engine; `reopen` or `open_at` brings one back.
    pub fn close(&mut self) {
        self.engine = None;
    }

    /// Opens a second engine with `config`'s settings at `path`.
    pub fn open_at(
        &self,
        path: &Path,
        f: impl FnOnce(EngineConfig) -> EngineConfig,
    ) -> engine_traits::Result<E> {
        let mut config = f(self.config.clone());
        config.path = path.to_path_buf();
        E::open(&config)
    }
}

/// A value as a readable string for messages.
pub fn show(v: Option<&[u8]>) -> String {
    match v {
        Some(v) => display_key(v),
        None => "None".to_owned(),
    }
}

/// Checks `get(cf, key) == expected`, naming `behaviour` when it is not.
pub fn expect_get<R: Readable>(
    r: &R,
    cf: &str,
    key: &[u8],
    expected: Option<&[u8]>,
    behaviour: &str,
) -> CaseResult {
    let got = r.get(cf, key).map_err(|e| {
        Failure(format!(
            "{behaviour}: get({cf:?}, {}) failed: {e}",
            display_key(key)
        ))
    })?;
    ensure!(
        got.as_deref() == expected,
        "{behaviour}: get({cf:?}, {}) returned {}, expected {}",
        display_key(key),
        show(got.as_deref()),
        show(expected)
    );
    Ok(())
}

/// A key-value pair as the scans return it.
pub type Kv = (Vec<u8>, Vec<u8>);

/// All entries of a forward scan with `opts`.
pub fn scan<R: Readable>(r: &R, cf: &str, opts: IterOptions) -> engine_traits::Result<Vec<Kv>> {
    let mut it = r.iterator_opt(cf, opts)?;
    let mut out = Vec::new();
    let mut ok = it.seek_to_first()?;
    while ok {
        out.push((it.key().to_vec(), it.value()?.into_owned()));
        ok = it.next()?;
    }
    Ok(out)
}

/// All entries of a backward scan with `opts`, in the order visited (descending).
pub fn scan_back<R: Readable>(
    r: &R,
    cf: &str,
    opts: IterOptions,
) -> engine_traits::Result<Vec<Kv>> {
    let mut it = r.iterator_opt(cf, opts)?;
    let mut out = Vec::new();
    let mut ok = it.seek_to_last()?;
    while ok {
        out.push((it.key().to_vec(), it.value()?.into_owned()));
        ok = it.prev()?;
    }
    Ok(out)
}

/// Renders scan results for a message.
pub fn show_kvs(kvs: &[Kv]) -> String {
    let items: Vec<String> = kvs
        .iter()
        .map(|(k, v)| format!("{}={}", display_key(k), display_key(v)))
        .collect();
    format!("[{}]", items.join(", "))
}

/// Builds an expected scan from string pairs.
pub fn kvs(pairs: &[(&str, &str)]) -> Vec<Kv> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

/// Checks that a forward scan with `opts` returns `expected`, naming `behaviour`.
pub fn expect_scan<R: Readable>(
    r: &R,
    cf: &str,
    opts: IterOptions,
    expected: &[Kv],
    behaviour: &str,
) -> CaseResult {
    let got =
        scan(r, cf, opts.clone()).map_err(|e| Failure(format!("{behaviour}: scan failed: {e}")))?;
    ensure!(
        got == expected,
        "{behaviour}: forward scan of {cf:?} with {} returned {}, expected {}",
        show_bounds(&opts),
        show_kvs(&got),
        show_kvs(expected)
    );
    let mut back = scan_back(r, cf, opts.clone())
        .map_err(|e| Failure(format!("{behaviour}: backward scan failed: {e}")))?;
    back.reverse();
    ensure!(
        back == expected,
        "{behaviour}: backward scan of {cf:?} with {} returned (reversed) {}, expected {}",
        show_bounds(&opts),
        show_kvs(&back),
        show_kvs(expected)
    );
    Ok(())
}

/// Renders iterator bounds for a message.
pub fn show_bounds(opts: &IterOptions) -> String {
    format!(
        "bounds [{}, {})",
        opts.lower_bound
            .as_deref()
            .map_or("-inf".to_owned(), display_key),
        opts.upper_bound
            .as_deref()
            .map_or("+inf".to_owned(), display_key)
    )
}

/// Checks that `result` is an error of `kind`, naming `behaviour`.
pub fn expect_err<T: fmt::Debug>(
    result: engine_traits::Result<T>,
    kind: ErrorKind,
    behaviour: &str,
) -> CaseResult {
    match result {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(Failure(format!(
            "{behaviour}: expected a {kind} error, got {} error: {e}",
            e.kind()
        ))),
        Ok(v) => Err(Failure(format!(
            "{behaviour}: expected a {kind} error, got Ok({v:?})"
        ))),
    }
}

/// The iterator's position as `Some((key, value))`, or `None` when invalid.
pub fn at<I: EngineIterator>(it: &I) -> engine_traits::Result<Option<Kv>> {
    if !it.valid() {
        return Ok(None);
    }
    Ok(Some((it.key().to_vec(), it.value()?.into_owned())))
}

/// Checks that the iterator is on `key` (or invalid for `None`), naming `behaviour`.
pub fn expect_at<I: EngineIterator>(it: &I, key: Option<&str>, behaviour: &str) -> CaseResult {
    let got = at(it)?.map(|(k, _)| k);
    let want = key.map(|k| k.as_bytes().to_vec());
    ensure!(
        got == want,
        "{behaviour}: iterator is at {}, expected {}",
        show(got.as_deref()),
        show(want.as_deref())
    );
    Ok(())
}
