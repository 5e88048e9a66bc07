//! Options profiles: RocksDB options as YAML, by name or by file.
//!
//! Built-in profiles live in `rust-rocksdb/profiles/*.yaml` and are compiled in. A profile is
//! flat: every key applies to the DB and to every column family. Sizes take a number of
//! bytes or a string with a unit (`64MiB`, `16KiB`, `1GiB`, `512B`). An unknown key or a
//! wrong type is an error naming the file, line, column and key.

use std::fmt;
use std::path::{Path, PathBuf};

use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, Options};
use serde::Deserialize;

/// The built-in profiles: (name, file name, YAML text).
pub const BUILT_IN: [(&str, &str, &str); 3] = [
    (
        "default",
        "profiles/default.yaml",
        include_str!("../profiles/default.yaml"),
    ),
    (
        "write-heavy",
        "profiles/write-heavy.yaml",
        include_str!("../profiles/write-heavy.yaml"),
    ),
    (
        "blobdb",
        "profiles/blobdb.yaml",
        include_str!("../profiles/blobdb.yaml"),
    ),
];

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Neither a built-in name nor an existing file.
    #[error("unknown options profile {name:?}: not a built-in profile ({known}) nor a YAML file")]
    Unknown {
        /// What the caller asked for.
        name: String,
        /// The built-in names, comma-separated.
        known: String,
    },
    /// The file could not be read.
    #[error("cannot read options profile {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// The YAML is malformed, has an unknown key, or a value of the wrong type.
    #[error("{file}:{line}:{column}: {}{message}", key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Invalid {
        /// The file (or built-in file name).
        file: String,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// 1-based column, 0 when unknown.
        column: usize,
        /// The key whose value was wrong, when the error is about one key.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// A size in bytes, written as a number or as a string with a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a number of bytes or a string such as \"64MiB\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("a size cannot be negative: {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_size(v).map(ByteSize).ok_or_else(|| {
                    E::custom(format!(
                        "invalid size {v:?}: use a number with B, KiB, MiB or GiB"
                    ))
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A compression codec available in this build (see the build policy in README.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression.
    None,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl From<Compression> for DBCompressionType {
    fn from(c: Compression) -> Self {
        match c {
            Compression::None => DBCompressionType::None,
            Compression::Lz4 => DBCompressionType::Lz4,
            Compression::Zstd => DBCompressionType::Zstd,
        }
    }
}

/// A RocksDB options profile. Every key is optional; an absent key keeps RocksDB's default.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Each field is the RocksDB option of the same name.
pub struct OptionsProfile {
    pub write_buffer_size: Option<ByteSize>,
    pub max_write_buffer_number: Option<i32>,
    pub min_write_buffer_number_to_merge: Option<i32>,
    pub level0_file_num_compaction_trigger: Option<i32>,
    pub level0_slowdown_writes_trigger: Option<i32>,
    pub level0_stop_writes_trigger: Option<i32>,
    pub target_file_size_base: Option<ByteSize>,
    pub max_bytes_for_level_base: Option<ByteSize>,
    pub max_background_jobs: Option<i32>,
    pub bytes_per_sync: Option<ByteSize>,
    pub wal_bytes_per_sync: Option<ByteSize>,
    pub compression: Option<Compression>,
    pub bottommost_compression: Option<Compression>,
    pub block_size: Option<ByteSize>,
    pub block_cache_size: Option<ByteSize>,
    pub bloom_bits_per_key: Option<f64>,
    pub enable_pipelined_write: Option<bool>,
    pub level_compaction_dynamic_level_bytes: Option<bool>,
    pub enable_blob_files: Option<bool>,
    pub min_blob_size: Option<ByteSize>,
    pub blob_file_size: Option<ByteSize>,
    pub blob_compression: Option<Compression>,
    pub enable_blob_gc: Option<bool>,
    pub blob_gc_age_cutoff: Option<f64>,
    pub blob_gc_force_threshold: Option<f64>,
    /// Titan's own settings (engine `titan`; RocksDB itself has no such options, and the
    /// other engines ignore the section).
    pub titan: Option<TitanProfile>,
}

/// The `titan:` section of a profile: the key-value separation and GC settings of engine
/// `titan` (the `titan` crate's `TitanOptions`). An absent key keeps Titan's default.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitanProfile {
    /// Values of this size and more go to blob files.
    pub min_blob_size: Option<ByteSize>,
    /// Blob files are sealed at this size.
    pub blob_file_size: Option<ByteSize>,
    /// The blob space amplification background GC keeps to.
    pub target_space_amp: Option<f64>,
    /// Background GC leaves files with less garbage than this fraction.
    pub gc_min_garbage_ratio: Option<f64>,
    /// The GC thread wakes at least this often (milliseconds); 0 disables background GC.
    pub gc_interval_ms: Option<u64>,
}

impl OptionsProfile {
    /// Loads a built-in profile by name, or a YAML file by path.
    pub fn load(name_or_path: &str) -> Result<Self, ProfileError> {
        if let Some((_, file, text)) = BUILT_IN.iter().find(|(n, _, _)| *n == name_or_path) {
            return Self::parse(text, file);
        }
        let path = Path::new(name_or_path);
        let looks_like_file = path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            || path.components().count() > 1;
        if !looks_like_file || !path.exists() {
            return Err(ProfileError::Unknown {
                name: name_or_path.to_owned(),
                known: BUILT_IN
                    .iter()
                    .map(|(n, _, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses YAML `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ProfileError> {
        // An empty document is an empty profile, not an error.
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Ok(OptionsProfile::default());
        }
        let de = serde_yaml::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = inner.location().map_or((0, 0), |l| (l.line(), l.column()));
            // serde_yaml appends " at line L column C"; the prefix already says where.
            let mut message = inner.to_string();
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            let key = (path != "." && !path.is_empty()).then_some(path);
            ProfileError::Invalid {
                file: file.to_owned(),
                line,
                column,
                key,
                message,
            }
        })
    }

    /// Applies the profile to DB/CF options; returns the block-based table options to set on
    /// every column family.
    pub fn apply(&self, opts: &mut Options) -> BlockBasedOptions {
        if let Some(v) = self.write_buffer_size {
            opts.set_write_buffer_size(v.0 as usize);
        }
        if let Some(v) = self.max_write_buffer_number {
            opts.set_max_write_buffer_number(v);
        }
        if let Some(v) = self.min_write_buffer_number_to_merge {
            opts.set_min_write_buffer_number_to_merge(v);
        }
        if let Some(v) = self.level0_file_num_compaction_trigger {
            opts.set_level_zero_file_num_compaction_trigger(v);
        }
        if let Some(v) = self.level0_slowdown_writes_trigger {
            opts.set_level_zero_slowdown_writes_trigger(v);
        }
        if let Some(v) = self.level0_stop_writes_trigger {
            opts.set_level_zero_stop_writes_trigger(v);
        }
        if let Some(v) = self.target_file_size_base {
            opts.set_target_file_size_base(v.0);
        }
        if let Some(v) = self.max_bytes_for_level_base {
            opts.set_max_bytes_for_level_base(v.0);
        }
        if let Some(v) = self.max_background_jobs {
            opts.set_max_background_jobs(v);
        }
        if let Some(v) = self.bytes_per_sync {
            opts.set_bytes_per_sync(v.0);
        }
        if let Some(v) = self.wal_bytes_per_sync {
            opts.set_wal_bytes_per_sync(v.0);
        }
        if let Some(v) = self.compression {
            opts.set_compression_type(v.into());
        }
        if let Some(v) = self.bottommost_compression {
            opts.set_bottommost_compression_type(v.into());
        }
        if let Some(v) = self.enable_pipelined_write {
            opts.set_enable_pipelined_write(v);
        }
        if let Some(v) = self.level_compaction_dynamic_level_bytes {
            opts.set_level_compaction_dynamic_level_bytes(v);
        }
        if let Some(v) = self.enable_blob_files {
            opts.set_enable_blob_files(v);
        }
        if let Some(v) = self.min_blob_size {
            opts.set_min_blob_size(v.0);
        }
        if let Some(v) = self.blob_file_size {
            opts.set_blob_file_size(v.0);
        }
        if let Some(v) = self.blob_compression {
            opts.set_blob_compression_type(v.into());
        }
        if let Some(v) = self.enable_blob_gc {
            opts.set_enable_blob_gc(v);
        }
        if let Some(v) = self.blob_gc_age_cutoff {
            opts.set_blob_gc_age_cutoff(v);
        }
        if let Some(v) = self.blob_gc_force_threshold {
            opts.set_blob_gc_force_threshold(v);
        }
        let mut table = BlockBasedOptions::default();
        if let Some(v) = self.block_size {
            table.set_block_size(v.0 as usize);
        }
        if let Some(v) = self.block_cache_size {
            table.set_block_cache(&Cache::new_lru_cache(v.0 as usize));
        }
        if let Some(v) = self.bloom_bits_per_key {
            table.set_bloom_filter(v, false);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_parses() {
        for (name, _, _) in BUILT_IN {
            let p = OptionsProfile::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                p.write_buffer_size.is_some(),
                "{name} sets write_buffer_size"
            );
        }
        assert_eq!(
            OptionsProfile::load("blobdb").unwrap().min_blob_size,
            Some(ByteSize(4096))
        );
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("3 KiB"), Some(3072));
        assert_eq!(parse_size("12MB"), None);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = OptionsProfile::parse(
            "write_buffer_size: 1MiB\nwrite_bufer_size: 2MiB\n",
            "mine.yaml",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("mine.yaml:2:"), "{msg}");
        assert!(msg.contains("write_bufer_size"), "{msg}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = OptionsProfile::parse("# comment\nmax_background_jobs: lots\n", "jobs.yaml")
            .unwrap_err();
        match &err {
            ProfileError::Invalid { line, key, .. } => {
                assert_eq!(*line, 2);
                assert_eq!(key.as_deref(), Some("max_background_jobs"));
            }
            other => panic!("expected Invalid, got {other}"),
        }
        let err = OptionsProfile::parse("block_size: 12MB\n", "size.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key `block_size`") && err.contains("12MB"),
            "{err}"
        );
    }

    #[test]
    fn unknown_name_lists_built_ins() {
        let err = OptionsProfile::load("fastest").unwrap_err().to_string();
        assert!(err.contains("default, write-heavy, blobdb"), "{err}");
    }

    #[test]
    fn profile_file_is_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(&path, "min_blob_size: 1KiB\nenable_blob_files: true\n").unwrap();
        let p = OptionsProfile::load(path.to_str().unwrap()).unwrap();
        assert_eq!(p.min_blob_size, Some(ByteSize(1024)));
    }
}
