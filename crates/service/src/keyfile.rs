//! The installation secret for pseudonymous codes: generated at first start, kept in a file
//! outside the database so that a database dump alone cannot re-identify anyone.

use rand::RngCore;
use std::io::Write;
use std::path::Path;

pub fn load_or_create(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.exists() {
        let text = std::fs::read_to_string(path)?;
        return hex::decode(text.trim()).ok().filter(|k| k.len() >= 32).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} is not a valid key file", path.display()))
        });
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    writeln!(f, "{}", hex::encode(&key))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    #[test]
    fn created_once_then_reused() {
        let dir = std::env::temp_dir().join(format!("percorsi-key-{}", std::process::id()));
        let path = dir.join("secret.key");
        let a = super::load_or_create(&path).unwrap();
        let b = super::load_or_create(&path).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        std::fs::write(&path, "not hex").unwrap();
        assert!(super::load_or_create(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
