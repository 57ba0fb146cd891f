//! Turning the paths a user gives into the files to read.

use std::io;
use std::path::{Path, PathBuf};

/// Files of a path: itself when named, or the JSON files and zips below a folder in name
/// order (other files there are listed in `skipped`).
pub fn collect(
    path: &Path,
    named: bool,
    out: &mut Vec<PathBuf>,
    skipped: &mut Vec<PathBuf>,
) -> io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        entries.sort();
        for e in entries {
            collect(&e, false, out, skipped)?;
        }
    } else if !named
        && !path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json") || x.eq_ignore_ascii_case("zip"))
    {
        skipped.push(path.to_path_buf());
    } else {
        // Let a missing file surface here with its name rather than later.
        std::fs::metadata(path)?;
        out.push(path.to_path_buf());
    }
    Ok(())
}
