//! Writing files so that a failed run never leaves a half-written output behind: data goes to a
//! temporary file beside the target, which is renamed over the target only once complete.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files and folders being written, so an interrupted run can remove them.
static PENDING: Mutex<Pending> = Mutex::new(Pending {
    paths: Vec::new(),
    closed: false,
});

struct Pending {
    paths: Vec<PathBuf>,
    /// Set by [`remove_pending`]: the run is being interrupted, nothing more is created.
    closed: bool,
}

/// Records a temporary file or folder as unfinished.
pub fn track(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.paths.push(path.to_path_buf());
    }
}

/// Creates `path` with `create` and records it as unfinished, in one step with respect to
/// [`remove_pending`]: a path created before it ran is removed by it, and once it ran (the
/// process is being interrupted, other threads still writing) nothing more is created: the
/// error is [`io::ErrorKind::Interrupted`].
pub fn create_tracked<T>(
    path: &Path,
    create: impl FnOnce(&Path) -> io::Result<T>,
) -> io::Result<T> {
    let mut p = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    if p.closed {
        return Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "the run is being interrupted",
        ));
    }
    let made = create(path)?;
    p.paths.push(path.to_path_buf());
    Ok(made)
}

/// Forgets a temporary path (it was renamed into place or removed).
pub fn untrack(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.paths.retain(|x| x != path);
    }
}

/// Removes every unfinished temporary file and folder (on SIGINT/SIGTERM) and refuses any
/// later [`create_tracked`]; returns how many.
pub fn remove_pending() -> usize {
    remove_where(&|_| true, true)
}

/// [`remove_pending`] for the paths below `root` only (the others stay tracked, and later
/// creations are allowed): what a test uses, so it never removes another test's file in
/// flight.
pub fn remove_pending_under(root: &Path) -> usize {
    remove_where(&|x| x.starts_with(root), false)
}

/// Removes (and forgets) the tracked paths `pick` chooses; returns how many. `close`: refuse
/// later creations.
fn remove_where(pick: &dyn Fn(&Path) -> bool, close: bool) -> usize {
    let paths: Vec<PathBuf> = {
        let mut p = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        p.closed |= close;
        let (mine, others): (Vec<PathBuf>, Vec<PathBuf>) = std::mem::take(&mut p.paths)
            .into_iter()
            .partition(|x| pick(x));
        p.paths = others;
        mine
    };
    for p in &paths {
        if p.is_dir() {
            // A file another thread had open in it may still be flushed while this runs.
            for _ in 0..3 {
                if fs::remove_dir_all(p).is_ok() || !p.exists() {
                    break;
                }
            }
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
    let file = create_tracked(&tmp, |t| File::create(t))?;
    let result = (|| {
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

    /// A file and a folder made by `create_tracked` are tracked from their creation (an
    /// interruption right after removes them); an error leaves nothing tracked.
    #[test]
    fn created_paths_are_tracked_from_their_creation() {
        let dir = tempfile::tempdir().unwrap();
        let (f, d) = (dir.path().join(".b.tmp-1"), dir.path().join(".o.partial-1"));
        create_tracked(&f, |p| File::create(p)).unwrap();
        create_tracked(&d, |p| fs::create_dir(p)).unwrap();
        assert!(create_tracked(&d, |p| fs::create_dir(p)).is_err());
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
