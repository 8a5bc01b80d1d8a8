//! Signed documents attached to a person's records (a consent, a project version, a referral,
//! an intervention's conclusion): what may be attached and what it is, judged by its content.

use crate::validation::{Checker, Invalid};

/// Largest file accepted (a scanned, signed form of a few pages).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// What a document is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Consent,
    Project,
    Referral,
    Intervention,
}

impl Parent {
    pub const ALL: [Parent; 4] = [Parent::Consent, Parent::Project, Parent::Referral, Parent::Intervention];

    pub fn code(self) -> &'static str {
        match self {
            Parent::Consent => "consent",
            Parent::Project => "project",
            Parent::Referral => "referral",
            Parent::Intervention => "intervention",
        }
    }

    pub fn parse(s: &str) -> Option<Parent> {
        Parent::ALL.into_iter().find(|p| p.code() == s)
    }
}

/// The kinds of file accepted, recognised by their first bytes: a browser's or a client's
/// declared type is not trusted, and nothing that a browser could run (HTML, SVG) is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Pdf,
    Png,
    Jpeg,
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Pdf => "pdf",
            MediaType::Png => "png",
            MediaType::Jpeg => "jpg",
        }
    }

    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(b"%PDF-") {
            Some(MediaType::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(MediaType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else {
            None
        }
    }
}

/// An upload that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub title: String,
    pub media_type: MediaType,
    /// The name the file is offered under: the uploaded name without any directory or control
    /// character, with the extension of what it really is.
    pub file_name: String,
}

/// Checks an upload: a title, a file that is not empty, not too large, and of an accepted kind.
pub fn check(title: &str, file_name: &str, bytes: &[u8]) -> Result<NewDocument, Invalid> {
    let mut c = Checker::new();
    let title = c.required_text("title", title, 200);
    let media_type = if bytes.is_empty() {
        c.fail("file", "err-document-empty");
        None
    } else if bytes.len() > MAX_BYTES {
        c.fail("file", "err-document-too-large");
        None
    } else {
        let kind = MediaType::sniff(bytes);
        if kind.is_none() {
            c.fail("file", "err-document-kind");
        }
        kind
    };
    let title = c.finish(|| title)?;
    let media_type = media_type.ok_or_else(|| Invalid::one("file", "err-document-kind"))?;
    Ok(NewDocument { file_name: safe_file_name(file_name, &title, media_type), title, media_type })
}

fn safe_file_name(given: &str, title: &str, kind: MediaType) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    let stem = if stem.trim().is_empty() { title } else { stem };
    let clean: String = stem
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/' | ';'))
        .take(100)
        .collect::<String>()
        .trim()
        .to_string();
    let clean = if clean.is_empty() { "documento".to_string() } else { clean };
    format!("{clean}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_recognised_by_content_not_by_name() {
        assert_eq!(check("Consenso", "x.pdf", b"%PDF-1.7 ...").map(|d| d.media_type), Ok(MediaType::Pdf));
        assert_eq!(check("Foto", "scan.pdf", b"\x89PNG\r\n\x1a\n....").map(|d| d.file_name), Ok("scan.png".into()));
        assert_eq!(check("Foto", "", &[0xFF, 0xD8, 0xFF, 0xE0]).map(|d| d.file_name), Ok("Foto.jpg".into()));
        for disguised in [&b"<html><script>"[..], b"<svg onload=x>", b"MZ\x90\x00", b"PK\x03\x04"] {
            let e = check("Consenso", "consenso.pdf", disguised).unwrap_err();
            assert!(e.has("file"), "{disguised:?}");
        }
    }

    #[test]
    fn empty_oversized_and_untitled_uploads_name_their_field() {
        assert!(check("t", "a.pdf", b"").unwrap_err().has("file"));
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_BYTES + 1, b' ');
        assert!(check("t", "a.pdf", &big).unwrap_err().has("file"));
        let e = check(" ", "a.pdf", b"%PDF-1.4").unwrap_err();
        assert!(e.has("title") && !e.has("file"));
    }

    #[test]
    fn file_names_lose_directories_and_header_breaking_characters() {
        let d = check("t", "C:\\Users\\x\\..\\consenso \"firmato\";\r\n.pdf", b"%PDF-1.4").expect("valid");
        assert_eq!(d.file_name, "consenso firmato.pdf");
        assert_eq!(check("t", "../../etc/passwd", b"%PDF-1.4").expect("valid").file_name, "passwd.pdf");
    }
}
