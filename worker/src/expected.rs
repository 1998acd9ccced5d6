//! A downloaded (or cached) weights file checked against what the catalog
//! says it is, before a byte of it is parsed: a broken mirror, a partial
//! copy or a stale cache entry is refused with a sentence, never loaded as
//! some other model.

use sha2::{Digest, Sha256};

/// `Err` with a sentence when `bytes` is not the size or the sha256 given.
pub fn check_expected(
    url: &str,
    bytes: &[u8],
    size: Option<u64>,
    sha256: Option<&str>,
) -> Result<(), String> {
    let name = url.rsplit('/').next().unwrap_or(url);
    if let Some(size) = size.filter(|&s| s != bytes.len() as u64) {
        return Err(format!(
            "{name} is {} bytes, but the catalog says {size}: it is not the file the catalog \
             names (a broken mirror or a partial copy), so it was not loaded.",
            bytes.len()
        ));
    }
    if let Some(want) = sha256 {
        let got: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !got.eq_ignore_ascii_case(want.trim()) {
            return Err(format!(
                "{name} has the right size but not the catalog's sha256: its bytes were changed \
                 on the way or on the server, so it was not loaded."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_digest_are_checked() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(check_expected("m/a.gguf", b"abc", Some(3), Some(abc)).is_ok());
        assert!(check_expected("m/a.gguf", b"abc", None, None).is_ok());
        let short = check_expected("m/a.gguf", b"ab", Some(3), None).unwrap_err();
        assert!(
            short.starts_with("a.gguf is 2 bytes, but the catalog says 3"),
            "{short}"
        );
        let changed = check_expected("m/a.gguf", b"abd", Some(3), Some(abc)).unwrap_err();
        assert!(changed.contains("not the catalog's sha256"), "{changed}");
    }
}
