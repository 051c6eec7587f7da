//! A connection's rolling refresh token, kept in a file the gateway rewrites on every exchange.

use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// A connection's refresh token: the one in memory is always the newest, and is on disk before it is used.
pub struct RefreshTokenStore {
    pub(crate) path: PathBuf,
    pub(crate) current: tokio::sync::Mutex<SecretString>,
}

impl RefreshTokenStore {
    /// Reads the file, or creates it from `seed` on first start.
    pub fn open(path: &Path, seed: Option<&SecretString>) -> Result<Self, String> {
        let token = match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match seed {
                Some(seed) => {
                    write_atomically(path, seed.expose_secret())
                        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                    seed.expose_secret().to_owned()
                }
                None => {
                    return Err(format!(
                        "{} does not exist and no refresh_token_seed is configured",
                        path.display()
                    ));
                }
            },
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        if token.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(Self {
            path: path.to_owned(),
            current: tokio::sync::Mutex::new(token.into()),
        })
    }
}

/// Replaces `path` so that a reader (or a restart after a crash) sees either the old or the new content, whole.
pub(crate) fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("refresh_token_file names no file"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    // A leftover from a crash may carry other permissions; start clean so the secret is never world-readable.
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refresh_token_file_is_seeded_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/conn.refresh-token");
        let seed = SecretString::from("seed-token");
        RefreshTokenStore::open(&path, Some(&seed)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "seed-token");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_atomically(&path, "rolled").unwrap();
        // The seed only applies to a missing file: a rolled token is never overwritten by it.
        RefreshTokenStore::open(&path, Some(&seed)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "rolled");
        assert!(RefreshTokenStore::open(&dir.path().join("missing"), None).is_err());
    }
}
