//! The installation secret for pseudonymous codes: generated at first start, kept in a file
//! outside the database so that a database dump alone cannot re-identify anyone.
//!
//! The key and the database belong together: the database records a fingerprint of the key
//! (never the key), and a missing or different key on a database that holds data is refused.
//! A silently regenerated key would give the same person a new code, split their record in
//! two and break "già noto".

use percorsi_store::{Store, StoreError};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the key file {0} is missing, but this database already holds data created with a key. \
         Restore the key file from its backup (or point --secret-file / PERCORSI_SECRET_FILE at it); \
         a new key would give every person a new pseudonymous code"
    )]
    Missing(PathBuf),
    #[error(
        "the key file {0} does not belong to this database (its fingerprint differs from the one the \
         database was created with). Use the key file made for this database"
    )]
    Different(PathBuf),
    #[error("the key file {0} is missing; only `percorsi serve`, `migrate`, `demo` and `init` create one")]
    NotCreated(PathBuf),
    #[error("{0} is not a valid key file (expected at least 32 bytes as hexadecimal text)")]
    Invalid(PathBuf),
    #[error("cannot use the key file {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a database records about its key: a one-way digest, safe to store beside the data.
pub fn fingerprint(key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"percorsi installation key fingerprint v1\0");
    h.update(key);
    hex::encode(h.finalize())
}

/// Loads the key at `path` and checks it against the database, recording its fingerprint the
/// first time. Creates a key only when `may_create` and the database holds nothing yet.
pub async fn bind(store: &Store, path: &Path, may_create: bool) -> Result<Vec<u8>, KeyError> {
    let mut tx = store.read().await?;
    let recorded = tx.installation_fingerprint().await?;
    let holds_data = tx.holds_data().await?;
    tx.commit().await?;
    let key = match load(path)? {
        Some(key) => key,
        None if recorded.is_some() || holds_data => return Err(KeyError::Missing(path.to_path_buf())),
        None if !may_create => return Err(KeyError::NotCreated(path.to_path_buf())),
        None => create(path).map_err(|e| KeyError::Io(path.to_path_buf(), e))?,
    };
    let mine = fingerprint(&key);
    match recorded {
        Some(f) if f == mine => {}
        Some(_) => return Err(KeyError::Different(path.to_path_buf())),
        None => {
            let mut tx = store.write().await?;
            // Another process may have recorded it meanwhile: the check is repeated under the lock.
            match tx.installation_fingerprint().await? {
                Some(f) if f != mine => return Err(KeyError::Different(path.to_path_buf())),
                Some(_) => {}
                None => tx.set_installation_fingerprint(&mine).await?,
            }
            tx.commit().await?;
        }
    }
    Ok(key)
}

fn parse(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.trim()).ok().filter(|k| k.len() >= 32)
}

/// The key in a key file (hexadecimal, at least 32 bytes); `None` when there is no file.
pub fn load(path: &Path) -> Result<Option<Vec<u8>>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).map(Some).ok_or_else(|| KeyError::Invalid(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::Io(path.to_path_buf(), e)),
    }
}

fn create(path: &Path) -> std::io::Result<Vec<u8>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    writeln!(f, "{}", hex::encode(&key))?;
    f.sync_all()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprint_is_stable_and_reveals_nothing_of_the_key() {
        let key = [7u8; 32];
        let f = super::fingerprint(&key);
        assert_eq!(f, super::fingerprint(&key));
        assert_ne!(f, super::fingerprint(&[8u8; 32]));
        assert!(!f.contains(&hex::encode(key)));
    }

    #[test]
    fn a_bad_key_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("percorsi-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.key");
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(super::load(&path), Err(super::KeyError::Invalid(_))));
        assert!(matches!(super::load(&dir.join("none")), Ok(None)));
        let made = super::create(&dir.join("new.key")).unwrap();
        assert_eq!(super::load(&dir.join("new.key")).unwrap(), Some(made));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
