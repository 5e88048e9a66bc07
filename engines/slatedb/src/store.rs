//! Where a database lives: the object store under SlateDB, chosen by the options profile, and
//! the wrapper every request goes through (request and byte counters, fault injection).
//!
//! - Profile `default` (or none): `object_store`'s `LocalFileSystem` rooted at the engine's
//!   directory, **with fsync on** (`with_fsync(true)`): a PUT returns only after the file and
//!   its directory entry are durable, as an S3 PUT is. It is off by default in
//!   `object_store`, and without it a synced write would sit in the page cache.
//! - Profile `s3`: an S3-compatible endpoint from the environment (see [`S3Config`]). The
//!   database's objects live under `<SLATEDB_S3_PREFIX>/<engine path>/slatedb/` in the bucket,
//!   so every engine directory is a prefix of its own.
//!
//! [`InstrumentedStore`] wraps either: it counts PUT, GET, HEAD, LIST, DELETE and COPY
//! requests and the bytes PUT (the engine's bytes written, for write amplification), and with
//! feature `failpoints` it carries the site `slatedb::store::put`.

use std::fmt;
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use engine_traits::{Error, Result};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, UploadPart,
};

/// The environment variables of profile `s3`.
pub const S3_ENV: [(&str, &str); 5] = [
    ("SLATEDB_S3_BUCKET", "bucket name (required)"),
    (
        "SLATEDB_S3_ENDPOINT",
        "endpoint URL, e.g. http://127.0.0.1:5000 (default: AWS)",
    ),
    ("SLATEDB_S3_REGION", "region (default us-east-1)"),
    (
        "SLATEDB_S3_PREFIX",
        "key prefix for every database (default none)",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY",
        "credentials, read by object_store",
    ),
];

/// The S3 endpoint of profile `s3`, read from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// `SLATEDB_S3_BUCKET`.
    pub bucket: String,
    /// `SLATEDB_S3_ENDPOINT`, when not AWS itself.
    pub endpoint: Option<String>,
    /// `SLATEDB_S3_REGION`, default `us-east-1`.
    pub region: String,
    /// `SLATEDB_S3_PREFIX`, default empty.
    pub prefix: String,
}

impl S3Config {
    /// From the environment; `InvalidArgument` naming the variable when the bucket is missing.
    pub fn from_env() -> Result<S3Config> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let bucket = var("SLATEDB_S3_BUCKET").ok_or_else(|| {
            Error::invalid(
                "profile s3 needs SLATEDB_S3_BUCKET (and SLATEDB_S3_ENDPOINT for a server other \
                 than AWS, credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)",
            )
        })?;
        Ok(S3Config {
            bucket,
            endpoint: var("SLATEDB_S3_ENDPOINT"),
            region: var("SLATEDB_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            prefix: var("SLATEDB_S3_PREFIX")
                .unwrap_or_default()
                .trim_matches('/')
                .to_owned(),
        })
    }

    fn build(&self) -> Result<Arc<dyn ObjectStore>> {
        install_tls_provider();
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            // SlateDB retries on top of this (see `OBJECT_STORE_RETRIES`), so the client's own
            // retries stay short: its default is ten retries within three minutes.
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(30),
                ..object_store::RetryConfig::default()
            });
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| {
            Error::invalid(format!(
                "profile s3: cannot build the S3 client for bucket {:?}: {e}",
                self.bucket
            ))
        })?;
        Ok(Arc::new(store))
    }
}

/// reqwest is built without a TLS crypto provider of its own (its default is aws-lc-rs, a C
/// build needing cmake); rustls's ring provider is installed for the process instead.
fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The options profile an engine is opened with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The local file system under the engine's directory.
    Local,
    /// An S3-compatible object store.
    S3(S3Config),
}

impl Profile {
    /// `None` or `"default"`: local; `"s3"`: S3 from the environment.
    pub fn from_config(profile: Option<&str>) -> Result<Profile> {
        match profile {
            None | Some("default") => Ok(Profile::Local),
            Some("s3") => Ok(Profile::S3(S3Config::from_env()?)),
            Some(other) => Err(Error::invalid(format!(
                "engine slatedb has no options profile {other:?} (it knows \"default\", the \
                 local file system, and \"s3\")"
            ))),
        }
    }
}

/// A database's place: a store and the SlateDB path in it.
#[derive(Clone)]
pub(crate) struct Location {
    /// The store (not instrumented).
    pub(crate) store: Arc<dyn ObjectStore>,
    /// The SlateDB database path inside the store.
    pub(crate) root: Path,
    /// How messages name the database (a directory or an `s3://` URL).
    pub(crate) display: String,
    /// The engine's directory, for the local profile.
    pub(crate) local_dir: Option<PathBuf>,
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// The directory of SlateDB's objects inside an engine directory or prefix.
const DB_DIR: &str = "slatedb";

impl Location {
    /// The local location at `dir`; the directory is created when `create` (and its parent
    /// fsynced, so the new entry is durable).
    pub(crate) fn local(dir: &FsPath, create: bool) -> Result<Location> {
        if !dir.exists() {
            if !create {
                return Err(Error::invalid(format!(
                    "no SlateDB database at {} and create_if_missing is false",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(dir).map_err(|e| Error::io(e, dir))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::File::open(parent)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| Error::io(e, parent))?;
            }
        } else if !dir.is_dir() {
            return Err(Error::io(
                std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "the engine path is not a directory",
                ),
                dir,
            ));
        }
        let canonical = dir.canonicalize().map_err(|e| Error::io(e, dir))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&canonical)
            .map_err(|e| error_at(e, dir))?
            .with_fsync(true);
        Ok(Location {
            store: Arc::new(store),
            root: Path::from(DB_DIR),
            display: canonical.display().to_string(),
            local_dir: Some(canonical),
        })
    }

    /// The S3 location of the engine directory `dir` (only its name is used, as a prefix).
    pub(crate) fn s3(config: &S3Config, dir: &FsPath) -> Result<Location> {
        Self::s3_with(config, config.build()?, dir)
    }

    /// Like [`Location::s3`], on an existing client (checkpoints copy inside one bucket).
    pub(crate) fn s3_with(
        config: &S3Config,
        store: Arc<dyn ObjectStore>,
        dir: &FsPath,
    ) -> Result<Location> {
        let absolute = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io(e, dir))?
                .join(dir)
        };
        let mut parts: Vec<String> = Vec::new();
        if !config.prefix.is_empty() {
            parts.push(config.prefix.clone());
        }
        for c in absolute.components() {
            if let std::path::Component::Normal(s) = c {
                parts.push(s.to_string_lossy().into_owned());
            }
        }
        parts.push(DB_DIR.to_owned());
        let root = Path::from_iter(parts.iter().map(String::as_str));
        Ok(Location {
            display: format!("s3://{}/{root}", config.bucket),
            store,
            root,
            local_dir: None,
        })
    }

    /// The path of `rel` (relative to the database root) in the store.
    pub(crate) fn object(&self, rel: &str) -> Path {
        Path::from(format!("{}/{rel}", self.root))
    }
}

/// An object-store error at local directory `dir`.
fn error_at(e: object_store::Error, dir: &FsPath) -> Error {
    Error::Io {
        message: format!("opening the local object store: {e}"),
        path: Some(dir.to_path_buf()),
        source: None,
    }
}

/// Requests and bytes seen by an [`InstrumentedStore`] since the engine opened.
#[derive(Debug, Default)]
pub struct RequestCounters {
    puts: AtomicU64,
    gets: AtomicU64,
    heads: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
    copies: AtomicU64,
    bytes_put: AtomicU64,
}

/// A copy of the [`RequestCounters`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// PUT requests (single uploads, multipart parts and completions).
    pub puts: u64,
    /// GET requests (whole objects and ranges).
    pub gets: u64,
    /// HEAD requests.
    pub heads: u64,
    /// LIST requests (each page of a listing stream counts once per stream).
    pub lists: u64,
    /// Objects deleted.
    pub deletes: u64,
    /// COPY and RENAME requests.
    pub copies: u64,
    /// Payload bytes PUT: every byte the engine wrote to the store.
    pub bytes_put: u64,
}

impl RequestCounts {
    /// Every request of any kind.
    pub fn total(&self) -> u64 {
        self.puts + self.gets + self.heads + self.lists + self.deletes + self.copies
    }
}

impl RequestCounters {
    /// The counts now.
    pub fn snapshot(&self) -> RequestCounts {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            puts: l(&self.puts),
            gets: l(&self.gets),
            heads: l(&self.heads),
            lists: l(&self.lists),
            deletes: l(&self.deletes),
            copies: l(&self.copies),
            bytes_put: l(&self.bytes_put),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The store under SlateDB: counts every request and, with feature `failpoints`, fails PUTs
/// on demand (site `slatedb::store::put`).
#[derive(Debug)]
pub(crate) struct InstrumentedStore {
    inner: Arc<dyn ObjectStore>,
    counters: Arc<RequestCounters>,
    /// The local profile's engine directory. `LocalFileSystem` creates missing parent
    /// directories on every PUT, so a database whose directory was removed under it would
    /// quietly grow a new, partial one (a WAL object here, a manifest there); PUTs fail
    /// instead once it is gone.
    local_dir: Option<PathBuf>,
}

impl InstrumentedStore {
    pub(crate) fn new(
        inner: Arc<dyn ObjectStore>,
        counters: Arc<RequestCounters>,
        local_dir: Option<PathBuf>,
    ) -> Self {
        InstrumentedStore {
            inner,
            counters,
            local_dir,
        }
    }

    /// A failure SlateDB does not retry when the engine directory no longer exists.
    fn check_dir(&self) -> object_store::Result<()> {
        match &self.local_dir {
            Some(dir) if !dir.is_dir() => Err(object_store::Error::Generic {
                store: "engine_slatedb",
                source: Box::new(slatedb_common::retry::NonRetryable(
                    format!(
                        "the engine directory {} was removed while the database was open",
                        dir.display()
                    )
                    .into(),
                )),
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for InstrumentedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instrumented({})", self.inner)
    }
}

/// The failure the failpoint `slatedb::store::put` injects for a PUT of `location`, if armed:
/// `return(503)` is a retryable 503 (SlateDB retries it, bounded by the engine's retry
/// limit), `return(abort)` aborts the process (a crash in the middle of an upload), any other
/// `return` a failure SlateDB does not retry.
fn put_fault(location: &Path) -> Option<object_store::Error> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!("slatedb::store::put", |arg: Option<String>| {
        match arg.as_deref() {
            Some("abort") => std::process::abort(),
            Some("503") => Some(object_store::Error::Generic {
                store: "fault-injector",
                source: format!(
                    "injected 503 Service Unavailable for PUT {location} (failpoint \
                     slatedb::store::put)"
                )
                .into(),
            }),
            _ => Some(object_store::Error::Generic {
                store: "fault-injector",
                source: Box::new(slatedb_common::retry::NonRetryable(
                    format!("injected failure of PUT {location} (failpoint slatedb::store::put)")
                        .into(),
                )),
            }),
        }
    });
    let _ = location;
    None
}

#[async_trait]
impl ObjectStore for InstrumentedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if let Some(e) = put_fault(location) {
            RequestCounters::add(&self.counters.puts, 1);
            return Err(e);
        }
        self.check_dir()?;
        let len = payload.content_length() as u64;
        let result = self.inner.put_opts(location, payload, opts).await;
        // A PUT the store refuses as unimplemented never left the process: SlateDB tags
        // conditional PUTs with a metadata attribute, the local store rejects attributes up
        // front, and SlateDB then sends the PUT again without them. Only the second counts.
        if !matches!(result, Err(object_store::Error::NotImplemented { .. })) {
            RequestCounters::add(&self.counters.puts, 1);
        }
        if result.is_ok() {
            RequestCounters::add(&self.counters.bytes_put, len);
        }
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        RequestCounters::add(&self.counters.puts, 1);
        if let Some(e) = put_fault(location) {
            return Err(e);
        }
        self.check_dir()?;
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountedUpload {
            inner,
            counters: self.counters.clone(),
            location: location.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let counter = if options.head {
            &self.counters.heads
        } else {
            &self.counters.gets
        };
        RequestCounters::add(counter, 1);
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        RequestCounters::add(&self.counters.gets, ranges.len() as u64);
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let counters = self.counters.clone();
        self.inner
            .delete_stream(locations)
            .inspect(move |r| {
                if r.is_ok() {
                    RequestCounters::add(&counters.deletes, 1);
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        RequestCounters::add(&self.counters.lists, 1);
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        RequestCounters::add(&self.counters.lists, 1);
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        RequestCounters::add(&self.counters.lists, 1);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        RequestCounters::add(&self.counters.copies, 1);
        self.check_dir()?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        RequestCounters::add(&self.counters.copies, 1);
        self.check_dir()?;
        self.inner.rename_opts(from, to, options).await
    }
}

/// A multipart upload whose parts are counted (and fail with the PUT failpoint).
#[derive(Debug)]
struct CountedUpload {
    inner: Box<dyn MultipartUpload>,
    counters: Arc<RequestCounters>,
    location: Path,
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        RequestCounters::add(&self.counters.puts, 1);
        if let Some(e) = put_fault(&self.location) {
            return Box::pin(async move { Err(e) });
        }
        let len = data.content_length() as u64;
        let counters = self.counters.clone();
        let part = self.inner.put_part(data);
        Box::pin(async move {
            part.await?;
            RequestCounters::add(&counters.bytes_put, len);
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        RequestCounters::add(&self.counters.puts, 1);
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}
