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

/// A GGUF v3 file with one tensor of `dims` and GGUF type `type_id`,
/// followed by `data` bytes of tensor data.
fn gguf_with_tensor(dims: &[u64], type_id: u32, data: usize) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(1u64.to_le_bytes()); // tensors
    b.extend(0u64.to_le_bytes()); // metadata entries
    let name = b"token_embd.weight";
    b.extend((name.len() as u64).to_le_bytes());
    b.extend(name);
    b.extend((dims.len() as u32).to_le_bytes());
    for d in dims {
        b.extend(d.to_le_bytes());
    }
    b.extend(type_id.to_le_bytes());
    b.extend(0u64.to_le_bytes()); // offset
    b.resize(b.len().div_ceil(32) * 32 + data, 0);
    b
}

// Each of these was found by the fuzz test (`tests/fuzz/`) before its guard.

#[test]
fn a_shape_whose_size_overflows_is_refused() {
    // 2³² × 2³² × 2 values: candle's product overflowed (a panic in debug,
    // a wrapped size in release).
    let message = refusal(&gguf_with_tensor(&[1 << 32, 1 << 32, 2], 0, 64));
    assert!(message.contains("impossible shape"), "{message}");
}

#[test]
fn a_tensor_with_no_values_is_refused() {
    // candle read it through an unaligned empty slice: undefined behaviour.
    let message = refusal(&gguf_with_tensor(&[0, 4], 0, 64));
    assert!(message.contains("no values"), "{message}");
}

#[test]
fn a_100_gb_tensor_is_refused_before_any_allocation() {
    worker::memory::reset_largest();
    // 25 × 10⁹ f32 values claimed, 64 bytes there.
    let message = refusal(&gguf_with_tensor(&[25_000_000, 1000], 0, 64));
    assert!(message.contains("past the end of the file"), "{message}");
    let largest = worker::memory::largest_allocation();
    assert!(largest < 1 << 20, "{largest} bytes allocated for a lie");
}

#[test]
fn a_tensor_type_candle_cannot_read_is_named() {
    let message = refusal(&gguf_with_tensor(&[32, 4], 16, 4096));
    assert!(
        message.contains("IQ2_XXS") && message.contains("cannot read"),
        "{message}"
    );
    // The same file with a type it reads, and its bytes there, loads.
    assert!(TensorStore::from_bytes(&gguf_with_tensor(&[32, 4], 0, 512), None).is_ok());
}
