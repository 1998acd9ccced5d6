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

#[test]
fn broken_json_inside_the_decoder_is_an_error_not_a_panic() {
    // tokenizers 0.23 panicked on this (found by the fuzz test).
    let path = protocol::repo_root().join("static/tokenizers/gpt2.json");
    let text = std::fs::read_to_string(path).unwrap();
    let broken = text.replacen("\"decoder\":{", "\"decoder\":{\"x\":tru,", 1);
    assert_ne!(broken, text, "the decoder was found");
    let message = match tokenizer_from_bytes(broken.as_bytes()) {
        Ok(_) => panic!("a broken tokenizer.json was accepted"),
        Err(e) => worker::plain_error(&e),
    };
    assert!(message.contains("not a tokenizer.json"), "{message}");
}

#[test]
fn a_template_naming_an_undefined_special_token_is_refused() {
    // tokenizers 0.23 panicked at encode time on this (found by the fuzz test).
    let path = protocol::repo_root().join("static/tokenizers/t5.json");
    let text = std::fs::read_to_string(path).unwrap();
    let broken = text.replacen(
        "\"special_tokens\":{\"</s>\"",
        "\"special_tokens\":{\"</x>\"",
        1,
    );
    assert_ne!(broken, text, "the template's special tokens were found");
    let message = match tokenizer_from_bytes(broken.as_bytes()) {
        Ok(_) => panic!("a template with an undefined token was accepted"),
        Err(e) => worker::plain_error(&e),
    };
    assert!(message.contains("does not define"), "{message}");
    // Bytes that are not UTF-8 are refused, not read.
    let mut not_text = text.into_bytes();
    not_text[10] = 0xdc;
    assert!(tokenizer_from_bytes(&not_text).is_err());
}
