#!/usr/bin/env python3
"""Build the lab models' out-of-distribution held-out set: what a class types, not what they trained on.

    python3 ood.py --words DATA/tasks/words.txt --out static/models/lab-ood.jsonl

Needs `wordfreq` (PyPI; code Apache-2.0, word-frequency data CC-BY-SA 4.0: the word lists below that
come from it are shared under CC-BY-SA 4.0). Writes {"task","prefix","input","target","set"} per line,
the format of lab-sample.jsonl plus where the example comes from:

- reverse / sort on word lists (set "common-words"): 1-10 words drawn from the common words held
  out of training (common_words.held_out: ranks 300-3,000 of wordfreq's list, one in five), checked
  against the training word list (DATA/tasks/words.txt), a third of the lists with one word repeated;
- reverse on everyday sentences written for this set (set "sentences");
- spam or ham on short, modern messages written for this set (set "messages").

A pure function of the word list, wordfreq's data and SEED: re-running gives identical bytes.
"""
import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common_words  # noqa: E402

SEED = "2026:ood"
LISTS_PER_TASK = 100

# Written for this set: the kind of sentence a teacher types in front of a class.
SENTENCES = [
    "the cat sat on the mat",
    "i love my dog",
    "we went to the beach on sunday",
    "she reads a book every night",
    "my brother plays the guitar",
    "it is raining again today",
    "can you help me with my homework",
    "the bus was late this morning",
    "he likes pizza more than pasta",
    "our teacher is very kind",
    "the sun is bright and warm",
    "they are watching a movie",
    "i need a cup of coffee",
    "the kids played in the park",
    "this song makes me happy",
    "we have a test on friday",
    "my phone battery is low",
    "the dog chased the ball",
    "please close the door",
    "she is learning to swim",
    "the train leaves at noon",
    "i forgot my keys at home",
    "a bird is singing outside",
    "dinner is ready",
    "the game starts in ten minutes",
    "he fixed the old bike",
    "we baked a chocolate cake",
    "the library opens at nine",
    "my favorite color is blue",
    "the baby is sleeping",
]

# Written for this set: short messages as people send them now.
MESSAGES = [
    ("spam", "Congrats! You won a $500 gift card. Click here to claim now"),
    ("spam", "URGENT: your account is locked. Verify your password at this link"),
    ("spam", "Lose 10 pounds in 7 days with this one weird trick"),
    ("spam", "FREE iPhone for the first 100 people, reply YES"),
    ("spam", "Your package could not be delivered. Pay the $2 fee here"),
    ("spam", "Make $3000 a week working from home, no experience needed"),
    ("spam", "Hot singles in your area want to meet you tonight"),
    ("spam", "You have been selected for a cash prize, send your bank details"),
    ("spam", "Limited offer: cheap meds without prescription, order today"),
    ("spam", "Act now! Your credit score can jump 100 points overnight"),
    ("spam", "Claim your free cruise vacation before it expires"),
    ("spam", "Double your bitcoin in 24 hours, guaranteed returns"),
    ("spam", "Final notice: your car warranty is about to expire"),
    ("spam", "Earn money fast!!! Click the link and sign up for free"),
    ("spam", "Dear customer, confirm your card number to avoid suspension"),
    ("spam", "WINNER!! You are our lucky visitor, collect your reward"),
    ("spam", "Get a loan approved in minutes, bad credit ok"),
    ("spam", "Best prices on watches and designer bags, 90% off"),
    ("spam", "Your Netflix payment failed, update billing info here"),
    ("spam", "Exclusive deal just for you: buy one get three free"),
    ("ham", "Hey, are we still meeting for lunch tomorrow?"),
    ("ham", "Can you pick up milk on your way home"),
    ("ham", "Thanks for the notes from class, they really helped"),
    ("ham", "The meeting moved to 3pm, same room"),
    ("ham", "Happy birthday! Hope you have a great day"),
    ("ham", "I left my charger at your place, can I grab it later"),
    ("ham", "Running ten minutes late, sorry"),
    ("ham", "Did you finish the reading for Monday?"),
    ("ham", "Mom says dinner is at 7"),
    ("ham", "Great game last night, see you at practice"),
    ("ham", "Here are the slides from today's lecture"),
    ("ham", "Can we move our call to Thursday afternoon"),
    ("ham", "The plumber is coming at 10, can you let him in"),
    ("ham", "Good luck on your exam today"),
    ("ham", "I booked the table for four on Saturday"),
    ("ham", "Don't forget to water the plants"),
    ("ham", "Your order from the bookshop is ready for pickup"),
    ("ham", "Let me know when you land"),
    ("ham", "The project draft is in the shared folder"),
    ("ham", "Want to go for a walk after work?"),
    # Written in session 19, before the models' last message phases, by a helper that saw neither
    # this list nor the training templates (but got the same list of situations as the helper
    # who wrote more_messages.py): more brands, links and prices.
    ("spam", "Congratulations! You've won a £500 Tesco voucher. Claim now at bit.ly/tsc-win"),
    ("spam", "Your bank account has been suspended. Verify your details at secure-banklogin.co/verify"),
    ("spam", "Netflix: your payment failed. Update billing within 24h to avoid cancellation: nflx-account.help"),
    ("spam", "Royal Mail: your parcel is held due to unpaid postage of £1.99. Pay at rm-redeliver.com"),
    ("spam", "HMRC: you are owed a tax refund of £286.40. Claim here: hmrc-refund-portal.uk"),
    ("spam", "Vodafone: your bill is overdue, line will be disconnected today. Pay now at vf-pay.net"),
    ("spam", "Work from home and earn $350/day! No experience needed. Reply YES to start"),
    ("spam", "Turn $100 into $5000 in one week with our crypto trading bot. Join now!"),
    ("spam", "Need cash fast? Loans up to £2000 approved in minutes, no credit checks. Text LOAN"),
    ("spam", "cheap viagra and cialis, no prescription needed, discreet delivery. order at rx-meds4u.biz"),
    ("spam", "Hey handsome, I'm Anna, lonely tonight and live nearby. See my pics: bit.ly/anna22"),
    ("spam", "RAY-BAN CLEARANCE 90% OFF TODAY ONLY!!! shop now rb-outlet-sale.shop"),
    ("spam", "Your McAfee subscription renews today for $399.99. Call 1-888-555-0142 to cancel."),
    ("spam", "Microsoft Alert: your PC is infected. Call support now on 0800 555 0199"),
    ("spam", "Complete our 2-minute survey and get a free $100 Amazon gift card: survey-rewards.co"),
    ("spam", "Hello, we noticed unusual activity on your account. Please confirm your identity: acct-verify.info"),
    ("spam", "Dear customer, you have been selected for a free iPhone 15. Reply with your address."),
    ("spam", "Hi, recruiter here. Part-time remote role paying $800 weekly, interested? WhatsApp wa.me/447700900123"),
    ("spam", "URGENT: your Apple ID has been locked. Unlock now at apple-id-support.net"),
    ("spam", "you have 1 unclaimed reward from your mobile carrier! collect before midnight: bit.ly/rwd-claim"),
    ("ham", "can you pick up Maya from swim practice at 5? I'm stuck at work"),
    ("ham", "Pizza at mine on Friday? bring drinks if you can"),
    ("ham", "Reminder: history essay is due Thursday, not Wednesday. See you in class"),
    ("ham", "Running 10 mins late for the standup, start without me"),
    ("ham", "Football training moved to 6:30 tonight because of the rain."),
    ("ham", "Your dentist appointment is confirmed for Tue 14 May at 9:15am. Reply C to cancel"),
    ("ham", "Landed in Lisbon! Taxi to the hotel now, will call later x"),
    ("ham", "Hi, it's Sarah from no. 12, your bins were left out, I brought them in"),
    ("ham", "did anyone feed the cat this morning? she's acting like she's starving"),
    ("ham", "Can you grab milk, eggs and bread on the way home?"),
    ("ham", "Happy birthday Jake!! have an amazing day, drinks on me tonight"),
    ("ham", "So sorry about your grandad. Thinking of you, here if you need anything"),
    ("ham", "I paid for the concert tickets, you owe me £45 whenever you can"),
    ("ham", "my parcel says delivered but it's not here, did a neighbour take it in?"),
    ("ham", "Uploaded the photos from Saturday's hike to the shared album, link: bit.ly/hikepics23"),
    ("ham", "Zara has 30% off this weekend, want to go shopping Saturday?"),
    ("ham", "Lecture tomorrow is cancelled, Dr Patel is ill. Lab still on at 2"),
    ("ham", "Can you cover my shift on Sunday? I'll swap you next week"),
    ("ham", "Don't forget Grandma's coming for lunch on Sunday, be home by 12"),
    ("ham", "Just won £20 on the pub quiz lol, next round's on me"),
]


def word_lists(words, rng):
    out = []
    for i in range(LISTS_PER_TASK):
        n = 1 + i % 10
        picked = rng.sample(words, n)
        if n >= 2 and i % 3 == 0:
            a, b = rng.sample(range(n), 2)
            picked[a] = picked[b]  # one word repeated
        out.append(picked)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", required=True, type=Path, help="the training word list (build.py's words.txt)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    trained = set(args.words.read_text(encoding="utf-8").split())
    sentence_words = {w for s in SENTENCES for w in s.split()}
    ranked = common_words.common(common_words.COMMON_TOP)
    held = common_words.held_out(ranked, keep=sentence_words)
    common = [w for w in ranked if w in held]
    assert common and not any(w in trained for w in common), "a held-out word is in the training list"
    rng = random.Random(SEED)
    rows = []
    for task, prefix in (("reverse", "reverse words:"), ("sort", "sort words:")):
        for words in word_lists(common, rng):
            target = " ".join(reversed(words)) if task == "reverse" else " ".join(sorted(words))
            rows.append({"task": task, "prefix": prefix, "input": " ".join(words), "target": target,
                         "set": "common-words"})
    for s in SENTENCES:
        rows.append({"task": "reverse", "prefix": "reverse words:", "input": s,
                     "target": " ".join(reversed(s.split())), "set": "sentences"})
    for label, text in MESSAGES:
        rows.append({"task": "spam", "prefix": "spam or ham:", "input": text, "target": label,
                     "set": "messages"})
    args.out.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    print(f"{len(rows)} examples ({len(common)} common words outside the training list) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
