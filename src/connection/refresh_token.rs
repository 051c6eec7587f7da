//! A connection's rolling refresh token, kept in a file the gateway rewrites on every exchange.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A connection's refresh token: the one in memory is always the newest, and is on disk before it is used.
pub struct RefreshTokenStore {
    pub(crate) path: PathBuf,
    pub(crate) current: tokio::sync::Mutex<SecretString>,
    /// The SHA-256 of what the gateway last read from or wrote to the file, to tell a token it wrote itself from
    /// one another process put there (a new sign-in) when the configuration is reloaded.
    on_disk: std::sync::Mutex<[u8; 32]>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl RefreshTokenStore {
    /// Reads the file, or creates it from `seed` on first start.
    pub fn open(path: &Path, seed: Option<&SecretString>) -> Result<Self, String> {
        let token = match read(path) {
            Ok(token) => token,
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
            on_disk: std::sync::Mutex::new(digest(&token)),
            current: tokio::sync::Mutex::new(token.into()),
        })
    }

    /// Reads the file again (a reload): the token in it, if it is one the gateway neither read nor wrote, which
    /// means someone signed the connection in again. While an exchange is under way the file is the gateway's
    /// own to write, and is not looked at.
    pub fn signed_in_again(&self) -> Result<Option<SecretString>, String> {
        let Ok(_current) = self.current.try_lock() else {
            return Ok(None);
        };
        let token = read(&self.path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{} does not exist", self.path.display()),
            _ => format!("cannot read {}: {e}", self.path.display()),
        })?;
        if token.is_empty() {
            return Err(format!("{} is empty", self.path.display()));
        }
        let on_disk = *self.on_disk.lock().unwrap_or_else(|p| p.into_inner());
        Ok((on_disk != digest(&token)).then(|| token.into()))
    }

    /// Takes a token [`RefreshTokenStore::signed_in_again`] found, from now on. Should an exchange have started
    /// since, it has rolled the old token and is writing its successor over the file: that one stays.
    pub fn adopt(&self, token: SecretString) {
        if let Ok(mut current) = self.current.try_lock() {
            self.written(token.expose_secret());
            *current = token;
        }
    }

    /// The gateway wrote `token` to the file.
    pub(crate) fn written(&self, token: &str) {
        *self.on_disk.lock().unwrap_or_else(|p| p.into_inner()) = digest(token);
    }
}

fn read(path: &Path) -> std::io::Result<String> {
    Ok(std::fs::read_to_string(path)?.trim().to_owned())
}

/// A file's path as the file system resolves it, for telling two spellings of one file apart: `..` resolved,
/// and symlinks followed where the directory exists already (the file itself may not, on a first start).
pub fn file_identity(path: &Path) -> PathBuf {
    FileIdentities::default().of(path)
}

/// [`file_identity`] for many files, each directory resolved once: a hundred thousand refresh token files in one
/// directory would otherwise cost a hundred thousand `realpath`s.
#[derive(Default)]
pub struct FileIdentities {
    dirs: HashMap<PathBuf, Option<PathBuf>>,
}

impl FileIdentities {
    pub fn of(&mut self, path: &Path) -> PathBuf {
        let mut absolute = PathBuf::new();
        for part in std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .components()
        {
            match part {
                std::path::Component::ParentDir => {
                    absolute.pop();
                }
                std::path::Component::CurDir => {}
                part => absolute.push(part),
            }
        }
        let (Some(dir), Some(name)) = (absolute.parent(), absolute.file_name()) else {
            return absolute;
        };
        let resolved = match self.dirs.get(dir) {
            Some(resolved) => resolved.clone(),
            None => {
                let resolved = std::fs::canonicalize(dir).ok();
                self.dirs.insert(dir.to_owned(), resolved.clone());
                resolved
            }
        };
        match resolved {
            Some(dir) => dir.join(name),
            None => absolute,
        }
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

    #[test]
    fn a_token_someone_else_wrote_is_a_new_sign_in_and_the_gateways_own_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conn.refresh-token");
        let store = RefreshTokenStore::open(&path, Some(&SecretString::from("first"))).unwrap();
        assert!(
            store.signed_in_again().unwrap().is_none(),
            "nothing changed"
        );
        // The gateway rolled the token: its own write is not a new sign-in.
        write_atomically(&path, "rolled").unwrap();
        store.written("rolled");
        assert!(store.signed_in_again().unwrap().is_none());
        // Another process signed the connection in again.
        write_atomically(&path, "signed-in-again").unwrap();
        let token = store.signed_in_again().unwrap().unwrap();
        assert_eq!(token.expose_secret(), "signed-in-again");
        store.adopt(token);
        assert_eq!(
            store.current.try_lock().unwrap().expose_secret(),
            "signed-in-again"
        );
        assert!(store.signed_in_again().unwrap().is_none(), "taken once");
        std::fs::remove_file(&path).unwrap();
        assert!(
            store
                .signed_in_again()
                .unwrap_err()
                .contains("does not exist")
        );
    }
}
