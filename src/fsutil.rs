//! File-system helpers that keep the "nothing is lost" promise: outputs are written to a temp
//! file and renamed into place, and run folders are never reused.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A path as voiceperf shows and records it: '/'-separated whatever the platform.
pub fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// `path` relative to `base`, '/'-separated (as dataset files are named in manifests and
/// results); `path` itself when it is not under `base`.
pub fn relative_slash(base: &Path, path: &Path) -> String {
    slash(path.strip_prefix(base).unwrap_or(path))
}

/// Prefix of temp files; a crash can leave one behind, never a half-written output.
pub const TEMP_PREFIX: &str = ".voiceperf-tmp-";

/// Writes a file through `write`, into a temp file in the destination folder that is flushed,
/// synced and renamed over `path` only when `write` succeeded.
pub fn write_atomic_with<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> Result<()>,
{
    replace_with(path, true, write)
}

fn replace_with<F>(path: &Path, sync: bool, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> Result<()>,
{
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    // Temp files are created owner-only; the output is an ordinary file (0644 less umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut temp = builder
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file in {}", dir.display()))?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        write(&mut writer).with_context(|| format!("writing {}", path.display()))?;
        writer
            .flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if sync {
        temp.as_file()
            .sync_all()
            .with_context(|| format!("syncing {}", path.display()))?;
    }
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming temp file to {}", path.display()))?;
    Ok(())
}

/// Removes the temp files ([`TEMP_PREFIX`]…) anywhere under `dir` last modified more than
/// `age` ago: left by a run killed between creating and renaming them, which no process is
/// writing any more. Links are not followed. Returns how many went.
pub fn remove_stale_temp_files(dir: &Path, age: std::time::Duration) -> usize {
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        let stale = entry.file_type().is_file()
            && entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            && entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|d| d > age);
        if stale && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Writes `bytes` to `path` atomically (temp file + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| Ok(w.write_all(bytes)?))
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json_atomic<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_atomic_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")?;
        Ok(())
    })
}

/// Writes `value` as pretty JSON to `path` by temp file + rename, without waiting for the
/// disk: for files rewritten again and again as a run goes (a reader never sees half a
/// file; a power cut may lose the latest version), whose final version is written synced.
pub fn write_json_replace<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    replace_with(path, false, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")?;
        Ok(())
    })
}

/// Creates and returns a new folder `base/name`, or `base/name-2`, `base/name-3`, … when the
/// name is taken: an existing folder is never reused, so earlier results are never overwritten.
pub fn create_unique_dir(base: &Path, name: &str) -> Result<PathBuf> {
    fs::create_dir_all(base).with_context(|| format!("creating folder {}", base.display()))?;
    for attempt in 1u32.. {
        let candidate = if attempt == 1 {
            base.join(name)
        } else {
            base.join(format!("{name}-{attempt}"))
        };
        match fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("creating folder {}", candidate.display()));
            }
        }
    }
    unreachable!("u32 attempts exhausted")
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of a regular file's contents, read in blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let (mut file, _) =
        open_regular(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of `bytes` (a digest).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// What a path is when it is not a regular file, in words.
fn kind_of(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

fn not_regular(file_type: &fs::FileType) -> std::io::Error {
    let kind = kind_of(file_type);
    let message = if kind.starts_with("not") {
        kind.to_string()
    } else {
        format!("not a regular file: it is {kind}")
    };
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// Opens `path` for reading only if it is a regular file (after following links), and returns
/// it with its length. A pipe, device or socket is refused before it can block the caller or
/// stream without end (it is opened non-blocking, then checked on the open handle).
pub fn open_regular(path: &Path) -> std::io::Result<(File, u64)> {
    let metadata = fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata.file_type()));
    }
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    // The path may have been swapped for something else since the first look.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata.file_type()));
    }
    Ok((file, metadata.len()))
}

/// Reads a whole regular file (see [`open_regular`]) of at most `limit` bytes; a larger file
/// is an error, and no more than `limit` bytes are ever read (a file growing while read
/// included).
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(too_large(len, limit));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

fn too_large(len: u64, limit: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "too large: {} bytes, more than the {} this file can be",
            len,
            bytes_text(limit)
        ),
    )
}

/// `512 MiB`, `64 KiB`, `100 bytes`: a size in binary units when it is a whole number of them.
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size && bytes % size == 0 {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// Raises the soft limit on open files towards `wanted` (capped by the hard limit) so a
/// thousand sockets fit in one process; returns the limit now in force.
pub fn raise_open_files_limit(wanted: u64) -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_world_readable_like_ordinary_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        write_atomic(&path, b"<html>").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // The process umask still applies, as for any file it creates.
        let umask = fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022);
        assert_eq!(mode, 0o644 & !umask, "{mode:o}");
    }

    #[test]
    fn failed_write_keeps_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"kept").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"partial")?;
            anyhow::bail!("disk on fire")
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"kept");
    }

    #[test]
    fn unique_dirs_never_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let a = create_unique_dir(dir.path(), "run").unwrap();
        let b = create_unique_dir(dir.path(), "run").unwrap();
        assert_ne!(a, b);
        assert!(b.ends_with("run-2"));
    }

    #[test]
    fn open_files_limit_can_be_raised() {
        let limit = raise_open_files_limit(4096).unwrap();
        assert!(limit >= 256, "{limit}");
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        fs::write(&path, b"abc").unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(b"abc"));
    }
}
