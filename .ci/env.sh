# Shared by .ci/run and developers (`source .ci/env.sh`): one warm target directory outside the
# clone, and ccache in front of the C/C++ compiler. RocksDB's C++ takes 12-13 minutes cold on
# 2 cores, and cargo re-runs librocksdb-sys's build script whenever the resolved host
# dependency graph changes (a Cargo.lock update is enough); with ccache that re-run is cache
# hits instead of a full rebuild.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/engine-sig-workbench/target}"
if command -v ccache >/dev/null 2>&1; then
    export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
    export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
    export CC="ccache cc" CXX="ccache c++"
fi
