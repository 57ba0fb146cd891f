//! Files to upload: the redacted sample exports, generated exports, and zips made from their
//! files.

use std::io::Write;
use std::path::{Path, PathBuf};

/// `testdata/samples` of the workspace.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples")
}

/// The build's profile folder (`target/debug`), found from the running test executable
/// (`target/debug/deps/<test>-<hash>`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not inside target/<profile>/deps", exe.display()))
        .to_path_buf()
}

/// A generated export (G5, files of at most `max_file_bytes`), in memory.
pub fn export(plays: usize, seed: u64, max_file_bytes: usize) -> synth::Export {
    synth::generate(&synth::Options {
        plays,
        seed,
        max_file_bytes,
        ..synth::Options::default()
    })
}

/// Writes `files` (path inside the zip, bytes) as a zip without compression: reading it costs
/// no inflating, so a test's time goes to the ingest itself.
pub fn write_zip(files: &[(String, Vec<u8>)], path: &Path) {
    let out = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        z.start_file(name.as_str(), options).expect("zip entry");
        z.write_all(bytes).expect("zip write");
    }
    z.finish().expect("zip finish").flush().expect("zip flush");
}

/// `my_spotify_data.zip` of a generated export of `plays` streams, made once and kept under
/// `target/<profile>/e2e-fixtures/` (generating a large export in a debug build takes seconds).
pub fn large_export_zip(plays: usize, seed: u64) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = profile_dir()
        .join("e2e-fixtures")
        .join(format!("export-{plays}-{seed}"));
    let zip = dir.join("my_spotify_data.zip");
    if zip.is_file() {
        return zip;
    }
    std::fs::create_dir_all(&dir).expect("fixtures folder");
    let export = export(plays, seed, 12_000_000);
    // Written beside and renamed into place, so a run killed halfway leaves no torn zip.
    let partial = dir.join(format!("partial-{}.zip", std::process::id()));
    write_zip(&export.files, &partial);
    std::fs::rename(&partial, &zip).expect("fixture rename");
    zip
}

/// Writes `dir/my_spotify_data.zip` of a generated export of `plays` streams and returns its
/// path with the export (for its facts and files).
pub fn export_zip(dir: &Path, plays: usize, seed: u64) -> (PathBuf, synth::Export) {
    let export = export(plays, seed, 12_000_000);
    let path = dir.join("my_spotify_data.zip");
    write_zip(&export.files, &path);
    (path, export)
}
