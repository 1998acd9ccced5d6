//! The shipped tokenizer files give the ids the original tokenizers give
//! (expected ids from Hugging Face's documentation and OpenAI's GPT-2).

use worker::session::tokenizer_from_bytes;

fn encode(file: &str, text: &str) -> Vec<u32> {
    let path = protocol::repo_root().join("static/tokenizers").join(file);
    let tokenizer = tokenizer_from_bytes(&std::fs::read(path).unwrap()).unwrap();
    tokenizer.encode(text, true).unwrap().get_ids().to_vec()
}

#[test]
fn gpt2_byte_level_bpe() {
    assert_eq!(encode("gpt2.json", "Hello world"), [15496, 995]);
    assert_eq!(
        encode("gpt2.json", " Hello world<|endoftext|>"),
        [18435, 995, 50256]
    );
}

#[test]
fn t5_unigram_appends_eos() {
    assert_eq!(
        encode(
            "t5.json",
            "translate English to German: The house is wonderful."
        ),
        [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]
    );
}
