//! The embedded default keeps generated development secrets under the data directory, mode 0600, and
//! reuses them on restart so tokens and stored ciphertexts stay valid.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Reads `path`, or creates it with `generate()` (mode 0600, never overwriting a file that appeared
/// meanwhile).
pub fn load_or_generate(path: &Path, generate: impl FnOnce() -> String) -> io::Result<String> {
    match fs::read_to_string(path) {
        Ok(s) => return Ok(s.trim().to_owned()),
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let value = generate();
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(value.as_bytes())?;
            f.sync_all()?;
            Ok(value)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(fs::read_to_string(path)?.trim().to_owned()),
        Err(e) => Err(e),
    }
}

/// Reads a secret from a file (a mounted Secret), trimming the trailing newline editors add.
pub fn read_secret_file(path: &Path) -> io::Result<String> {
    Ok(fs::read_to_string(path)?.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        let first = load_or_generate(&p, || "one".into()).unwrap();
        let second = load_or_generate(&p, || "two".into()).unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
