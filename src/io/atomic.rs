//! Writing files so that a failed run never leaves a half-written output behind: data goes to a
//! temporary file beside the target, which is renamed over the target only once complete.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files and folders being written, so an interrupted run can remove them.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Records a temporary file or folder as unfinished.
pub fn track(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.push(path.to_path_buf());
    }
}

/// Forgets a temporary path (it was renamed into place or removed).
pub fn untrack(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.retain(|x| x != path);
    }
}

/// Removes every unfinished temporary file and folder (on SIGINT/SIGTERM); returns how many.
pub fn remove_pending() -> usize {
    remove_where(&|_| true)
}

/// [`remove_pending`] for the paths below `root` only (the others stay tracked): what a test
/// uses, so it never removes another test's file in flight.
pub fn remove_pending_under(root: &Path) -> usize {
    remove_where(&|x| x.starts_with(root))
}

/// Removes (and forgets) the tracked paths `pick` chooses; returns how many.
fn remove_where(pick: &dyn Fn(&Path) -> bool) -> usize {
    let paths: Vec<PathBuf> = match PENDING.lock() {
        Ok(mut p) => {
            let (mine, others): (Vec<PathBuf>, Vec<PathBuf>) =
                std::mem::take(&mut *p).into_iter().partition(|x| pick(x));
            *p = others;
            mine
        }
        Err(_) => return 0,
    };
    for p in &paths {
        if p.is_dir() {
            let _ = fs::remove_dir_all(p);
        } else {
            let _ = fs::remove_file(p);
        }
    }
    paths.len()
}

/// The temporary name used while `path` is being written (`.name.tmp-<pid>` in the same folder,
/// so the final rename stays on one file system).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes a file atomically: `write` gets a buffered writer on a temporary file; on success the
/// file is flushed, synced and renamed to `path`; on failure the temporary file is removed and
/// `path` is untouched.
pub fn write_atomic<F>(path: &Path, write: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    let tmp = temp_path(path);
    track(&tmp);
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    untrack(&tmp);
    result
}

/// Writes `text` to `path` atomically ([`write_atomic`]); the error names the file.
///
/// # Errors
/// The file cannot be written.
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    write_atomic(path, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_untouched_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.csv");
        fs::write(&path, "old").unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"new half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn pending_temporaries_can_be_removed_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (f, d) = (
            dir.path().join(".a.tmp-1"),
            dir.path().join(".out.partial-1"),
        );
        fs::write(&f, "x").unwrap();
        fs::create_dir(&d).unwrap();
        fs::write(d.join("t.csv"), "x").unwrap();
        track(&f);
        track(&d);
        // Only this test's paths: removing every pending path would pull other tests'
        // temporary files from under them (tests share the process).
        assert_eq!(remove_pending_under(dir.path()), 2);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_complete_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.csv");
        fs::write(&path, "old").unwrap();
        write_atomic(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
    }
}
