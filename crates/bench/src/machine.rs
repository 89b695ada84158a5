//! What the figures were measured on: CPUs, CPU model, kernel, and the filesystem the databases live on.

use std::path::Path;

#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// Filesystem type of the temporary directory (fsync cost depends on it).
    pub temp_fs: String,
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

pub fn describe() -> Machine {
    let unknown = || "unknown".to_owned();
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model: read("/proc/cpuinfo")
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .and_then(|rest| rest.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(unknown),
        kernel: read("/proc/sys/kernel/osrelease").map_or_else(unknown, |k| k.trim().to_owned()),
        temp_fs: filesystem_of(&std::env::temp_dir()).unwrap_or_else(unknown),
    }
}

/// The type of the mount holding `path` (the longest mount point that prefixes it).
fn filesystem_of(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    read("/proc/self/mounts")?
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, mount, fs) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(mount)
                .then(|| (mount.len(), fs.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
}
