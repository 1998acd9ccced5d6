//! GGUF headers that lie: the reader refuses them with a sentence before
//! candle's reader (or an allocation) trusts them.

use worker::weights::TensorStore;

/// A GGUF v3 header with one metadata entry of type u32 and no tensors.
fn gguf_with_u32(key: &str, value: u32) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes()); // version
    b.extend(0u64.to_le_bytes()); // tensors
    b.extend(1u64.to_le_bytes()); // metadata entries
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key.as_bytes());
    b.extend(4u32.to_le_bytes()); // GGUF_TYPE_UINT32
    b.extend(value.to_le_bytes());
    b
}

fn refusal(bytes: &[u8]) -> String {
    match TensorStore::from_bytes(bytes, None) {
        Ok(_) => panic!("a hostile file was accepted"),
        Err(e) => worker::plain_error(&e),
    }
}

#[test]
fn an_alignment_of_zero_is_refused_not_divided_by() {
    let message = refusal(&gguf_with_u32("general.alignment", 0));
    assert!(message.contains("alignment"), "{message}");
    // A sane alignment with no tensors reads.
    assert!(TensorStore::from_bytes(&gguf_with_u32("general.alignment", 32), None).is_ok());
}

#[test]
fn a_header_claiming_more_entries_than_bytes_is_refused() {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(u64::MAX.to_le_bytes()); // tensors
    b.extend(u64::MAX.to_le_bytes()); // metadata entries
    let message = refusal(&b);
    assert!(message.contains("damaged"), "{message}");
}
