#!/usr/bin/env python3
"""Short everyday messages for spam or ham, written for training.

    python messages.py --data DIR --out OUT --count 6000 [--templates 2]

The archive's short messages are subjects and first sentences of 2002 mailing-list mail; a class
types today's texts ("running late, sorry", "your parcel is held, pay the fee"). This writes
OUT/tasks: DIR's train.jsonl plus COUNT messages, half spam and half ham, each drawn from a
template whose slots are filled at random, then cased and punctuated at random. A message that
shares four words in a row with a message of the out-of-distribution set (--ood) is redrawn, so
that set stays unseen. A pure function of the inputs and --seed. --templates 2 draws from these
templates and those of more_messages.py (session 19: many more situations of both kinds); 1, the
default, from these alone, as the recipes before session 19 did.
"""
import argparse
import json
import random
import re
from pathlib import Path

from extend import extend
from more_messages import HAM2, SLOTS2, SPAM2

SLOTS = {
    "person": ["mum", "dad", "grandma", "grandpa", "your sister", "your brother", "the kids", "Sam",
               "Alex", "Maria", "Tom", "Priya", "Jordan", "Lee", "the neighbours", "auntie"],
    "errand": ["grab some bread", "get eggs", "buy coffee", "pick up the kids", "bring my charger",
               "feed the cat", "walk the dog", "water the plants", "take the bins out",
               "return my book", "get some bananas", "fill up the car", "post the letter"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
            "tomorrow", "tonight", "this weekend", "next week"],
    "time": ["6", "7", "8", "half past five", "noon", "9am", "4pm", "ten"],
    "subject": ["maths", "history", "biology", "chemistry", "physics", "english", "french",
                "geography", "art", "music", "computing"],
    "place": ["the library", "the cafe", "the station", "the park", "room 12", "the gym",
              "the front gate", "the cinema", "my place", "the bus stop"],
    "activity": ["get pizza", "play football", "watch a film", "go swimming", "study together",
                 "go to the market", "get lunch", "go for a run", "play cards"],
    "thing": ["the slides", "my notes", "the photos", "the report", "the recipe", "the tickets",
              "the address", "the homework", "the plan", "the link to the meeting"],
    "feeling": ["great", "so proud of you", "really happy for you", "thinking of you", "lucky"],
    "prize": ["an iPhone", "a $500 gift card", "a free cruise", "1000 pounds", "a new laptop",
              "a luxury holiday", "$2,000 cash", "a brand new car", "free tickets"],
    "product": ["watches", "sunglasses", "diet pills", "designer bags", "phones", "weight loss tea",
                "vitamins", "sneakers", "perfume", "followers"],
    "percent": ["50%", "70%", "80%", "90%", "half price", "75%"],
    "account": ["bank account", "PayPal account", "Netflix account", "Apple ID", "email account",
                "card", "Amazon account"],
    "problem": ["suspended", "locked", "limited", "on hold", "compromised", "blocked"],
    "link": ["the link below", "bit.ly/claim-now", "www.secure-verify.net", "this link",
             "our secure site", "the link"],
    "money": ["$300", "$500", "$1,000", "5000 dollars", "200 pounds", "$250"],
    "code": ["WIN", "YES", "CLAIM", "GO", "PRIZE", "FREE"],
    "number": ["80088", "61200", "87121", "0900 555 123", "69669"],
}

HAM = [
    "can you {errand} on your way back",
    "could you {errand} later",
    "please {errand} before you go",
    "running late, be there at {time}",
    "stuck in traffic, see you at {place} soon",
    "are we still meeting {day}",
    "what time is dinner {day}",
    "dinner is at {time}, don't be late",
    "i'm at {place}, where are you",
    "meet me at {place} at {time}",
    "want to {activity} {day}",
    "shall we {activity} after school",
    "did you finish the {subject} homework",
    "the {subject} test is on {day}",
    "can i borrow your {subject} notes",
    "our group meets at {place} at {time}",
    "i sent you {thing}, have a look when you can",
    "can you send me {thing} please",
    "thanks for {thing}, that really helped",
    "the meeting moved to {time} {day}",
    "don't forget {person} is coming {day}",
    "call {person} when you get a chance",
    "{person} says hi",
    "congrats on the new job, {feeling}",
    "well done today, {feeling}",
    "thank you for dinner, it was lovely",
    "hope you feel better soon",
    "sorry i missed your call, ring me back",
    "home in ten minutes, put the kettle on",
    "good night, see you {day}",
    "love you, see you {day}",
    "the train is delayed, i'll be home at {time}",
    "just landed, see you soon",
    "who is picking up {person} {day}",
]

SPAM = [
    "congratulations! you have won {prize}. click {link} to claim",
    "you have been selected for {prize}, reply {code} to claim now",
    "text {code} to {number} to win {prize}",
    "urgent: your {account} is {problem}. verify your details at {link}",
    "your {account} has been {problem}, log in at {link} within 24 hours",
    "we noticed unusual activity on your {account}. confirm your password at {link}",
    "your parcel could not be delivered. pay the $1.99 fee at {link}",
    "your package is on hold, update your address at {link}",
    "{percent} off {product} today only, shop now",
    "huge sale: {product} at {percent} off, limited stock",
    "buy {product} online at {percent} off, no questions asked",
    "earn {money} a day from home, no experience needed",
    "make {money} a week with bitcoin, reply {code} to start",
    "double your money in 7 days, invest now",
    "get a loan of {money} today, no credit check",
    "you are pre-approved for a {money} loan, call {number} now",
    "free entry to win {prize}, text {code} to {number}",
    "claim your free {prize} now before it expires",
    "hot singles near you want to chat, click {link}",
    "lose 10 kg in a week with our {product}, order now",
    "your {account} refund of {money} is waiting, claim at {link}",
    "final notice: you owe {money} in unpaid tax, pay now at {link}",
    "act now! {prize} for the first 100 people to reply",
    "winner! you are our lucky visitor, collect {prize} at {link}",
    "work from home job, {money} weekly, apply at {link}",
    "stop paying full price: {product} {percent} off, click {link}",
    "you have 1 unclaimed reward. visit {link} to get {prize}",
    "cheap {product}, free shipping, order at {link}",
]


assert not SLOTS.keys() & SLOTS2.keys(), "more_messages.py reuses a slot name"

# The out-of-distribution set had 40 messages until session 19 added 40 more.
FIRST_OOD_MESSAGES = 40


def ood_examples(path: Path, first_messages_only: bool) -> list:
    """The set's examples; first_messages_only keeps only its first 40 messages, which the data of
    the recipes before session 19 was drawn against, so that their commands give the same bytes."""
    out, messages = [], 0
    with open(path) as f:
        for ex in map(json.loads, f):
            messages += ex["task"] == "spam"
            if ex["task"] != "spam" or not first_messages_only or messages <= FIRST_OOD_MESSAGES:
                out.append(ex)
    return out


def fill(template: str, rng: random.Random) -> str:
    slots = lambda name: SLOTS[name] if name in SLOTS else SLOTS2[name]
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(slots(m.group(1))), template)


def style(text: str, rng: random.Random, spam: bool) -> str:
    """Casing and punctuation as people (and spammers) type them."""
    r = rng.random()
    if r < 0.45:
        text = text[0].upper() + text[1:]
        text = re.sub(r"([.!?:] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
        text = re.sub(r"\bi\b", "I", text)
    elif spam and r < 0.6:
        text = text.upper()
    if not text.endswith(("!", "?", ".")):
        question = text.split()[0].lower() in ("can", "could", "are", "what", "did", "who", "want",
                                              "shall", "where")
        end = "?" if question else rng.choice(["", "", ".", "!"] + (["!!"] if spam else []))
        text += end
    return text


def four_grams(text: str) -> set:
    words = re.findall(r"[a-z0-9$%']+", text.lower())
    return {tuple(words[i:i + 4]) for i in range(len(words) - 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--ood", type=Path, default=Path("static/models/lab-ood.jsonl"))
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--templates", type=int, choices=(1, 2), default=1)
    args = ap.parse_args()
    spam_templates, ham_templates = (SPAM, HAM) if args.templates == 1 else (SPAM + SPAM2, HAM + HAM2)
    ood = [ex["input"] for ex in ood_examples(args.ood, args.templates == 1) if ex["task"] == "spam"]
    unseen = set().union(*map(four_grams, ood))
    rng = random.Random(args.seed)
    added, redrawn = [], 0
    for i in range(args.count):
        spam = i % 2 == 0
        while True:
            text = style(fill(rng.choice(spam_templates if spam else ham_templates), rng), rng, spam)
            if not four_grams(text) & unseen:
                break
            redrawn += 1
        added.append({"task": "spam", "prefix": "spam or ham:", "input": text,
                      "target": "spam" if spam else "ham"})
    before = extend(args.data, args.out, added, rng)
    print(f"{args.count} messages added to {before} examples "
          f"({redrawn} redrawn for sharing four words with the out-of-distribution set)")


if __name__ == "__main__":
    main()
