"""Task templates of the guided local-tier evaluation: each turns a seeded Random into one item.

An item is a dict: prompt, gold, how it is judged (`check`: label, exact or json) and the constraint a caller
would send (`labels`, `pattern`, `schema`, or `copy` for a span of the input). Templates are whole task types
(sentiment, e-mail, JSON from fields ...), so splitting by template keeps the test tasks unseen while tuning.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Item = dict[str, Any]
Template = Callable[[random.Random], Item]


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Alice Bruno Chen Dana Elena Farid Grace Hugo Ines Jonas Keiko Liam Maya Nadia Omar Priya Quentin "
    "Rosa Sven Tara Umar Vera Wes Yara"
)
LAST = _words(
    "Smith Garcia Nguyen Muller Rossi Kowalski Okafor Tanaka Silva Berg Dubois Novak Haddad Larsen Moreau "
    "Ivanova Costa Fischer Romero Walsh"
)
CITIES = _words(
    "Lisbon Denver Osaka Nairobi Toronto Krakow Seville Bergen Austin Lyon Porto Dublin Quito Adelaide "
    "Leipzig Madras Tampere Valencia"
)
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries", "Wayne Logistics",
             "Hooli", "Vandelay Imports", "Soylent Foods", "Pied Piper", "Tyrell Systems", "Cyberdyne"]  # fmt: skip
DOMAINS = _words("example.com acme.org mailbox.net shopnow.io northwind.co contoso.com fabrikam.net")
MONTHS = _words("January February March April May June July August September October November December")
WORDS = _words(
    "market garden yellow river silver morning planet window coffee paper little summer orange bridge "
    "forest simple castle winter rocket candle"
)


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def _email(rng: random.Random) -> str:
    first, last = _name(rng)
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}"]).lower()
    return f"{local}@{rng.choice(DOMAINS)}"


def _iso_date(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(2019, 2027), rng.randint(1, 12), rng.randint(1, 28)


def _label(task: str, prompt: str, labels: list[str], gold: str) -> Item:
    return {"template": task, "prompt": prompt, "labels": labels, "gold": gold, "check": "label"}


# ---- classification -------------------------------------------------------------------------------------------
POS = _words("wonderful excellent delightful fantastic superb reliable comfortable friendly")
NEG = _words("awful terrible broken disappointing rude useless filthy overpriced")
THINGS = ["hotel", "laptop", "restaurant", "phone", "movie", "jacket", "airline", "coffee machine", "book"]


def sentiment(rng: random.Random) -> Item:
    gold = rng.choice(["positive", "negative"])
    words = rng.sample(POS if gold == "positive" else NEG, 2)
    text = rng.choice(
        [f"The {rng.choice(THINGS)} was {words[0]} and {words[1]}.", f"Honestly a {words[0]} {rng.choice(THINGS)}."]
    )
    prompt = f"Classify the sentiment of this review as positive or negative.\nReview: {text}\nAnswer with one word."
    return _label("sentiment", prompt, ["positive", "negative"], gold)


TOPICS = {
    "sports": ["The striker scored twice in the final", "The team won the championship after extra time",
               "The tennis player lost in the third set", "The marathon record fell on Sunday"],
    "politics": ["The parliament passed the budget bill", "The senator announced a new campaign",
                 "Voters go to the polls for the election", "The minister resigned after the vote"],
    "technology": ["The company released a faster smartphone chip", "A new version of the software fixes bugs",
                   "Engineers unveiled a cloud computing service", "The startup built an app for programmers"],
    "business": ["Shares rose after strong quarterly profits", "The bank raised interest rates again",
                 "The retailer reported lower sales this quarter", "Investors bought the company's bonds"],
    "health": ["Doctors recommend more exercise and sleep", "The hospital opened a new cancer ward",
               "A vaccine trial showed strong results", "Nurses treated patients with the flu"],
}  # fmt: skip


def topic(rng: random.Random) -> Item:
    gold = rng.choice(sorted(TOPICS))
    text = f"{rng.choice(TOPICS[gold])}, {rng.choice(['officials said', 'reports say', 'according to sources'])}."
    prompt = f"What is the topic of this headline: sports, politics, technology, business or health?\nHeadline: {text}"
    return _label("topic", prompt, sorted(TOPICS), gold)


INTENTS = {
    "book_flight": ["I need a flight to {city} next week", "Book me a plane ticket to {city}"],
    "cancel_order": ["Please cancel my order {num}", "I want to cancel the order I placed, number {num}"],
    "check_balance": ["How much money is in my account?", "What is my current account balance?"],
    "reset_password": ["I forgot my password, help me reset it", "My login does not work, I need a new password"],
    "track_package": ["Where is my package {num}?", "Can you tell me when parcel {num} will arrive?"],
}


def intent(rng: random.Random) -> Item:
    gold = rng.choice(sorted(INTENTS))
    text = rng.choice(INTENTS[gold]).format(city=rng.choice(CITIES), num=rng.randint(10000, 99999))
    prompt = f"Which intent does this customer message express?\nMessage: {text}"
    return _label("intent", prompt, sorted(INTENTS), gold)


LANGS = {
    "english": ["the weather is nice today", "where is the train station", "I would like a cup of tea"],
    "french": ["il fait beau aujourd'hui", "où est la gare", "je voudrais une tasse de thé"],
    "spanish": ["hace buen tiempo hoy", "dónde está la estación de tren", "quisiera una taza de té"],
    "german": ["das Wetter ist heute schön", "wo ist der Bahnhof", "ich möchte eine Tasse Tee"],
}


def language(rng: random.Random) -> Item:
    gold = rng.choice(sorted(LANGS))
    text = rng.choice(LANGS[gold]).capitalize() + rng.choice([".", "?", "!"])
    prompt = f"Which language is this sentence written in?\nSentence: {text}"
    return _label("language", prompt, sorted(LANGS), gold)


def spam(rng: random.Random) -> Item:
    gold = rng.choice(["spam", "not_spam"])
    if gold == "spam":
        text = rng.choice(
            [
                f"CONGRATULATIONS! You won a free {rng.choice(['iPhone', 'cruise', 'gift card'])}. Click here now!",
                f"Earn ${rng.randint(2, 9)},000 a week from home, no experience needed. Reply YES!",
                "URGENT: your account is locked, send your password to unlock it today",
            ]
        )
    else:
        first, _ = _name(rng)
        text = rng.choice(
            [
                f"Hi {first}, are we still meeting for lunch on {rng.choice(['Monday', 'Friday'])}?",
                f"The minutes of yesterday's meeting are attached. Thanks, {first}",
                f"Can you pick up milk on the way home? - {first}",
            ]
        )
    prompt = f"Is this message spam or not_spam?\nMessage: {text}"
    return _label("spam", prompt, ["spam", "not_spam"], gold)


GROCERIES = _words("apples milk bread eggs rice cheese onions butter tea honey lemons")


def yes_no(rng: random.Random) -> Item:
    items = rng.sample(GROCERIES, 4)
    asked = rng.choice(GROCERIES)
    gold = "yes" if asked in items else "no"
    prompt = f"Shopping list: {', '.join(items)}.\nIs {asked} on the shopping list? Answer yes or no."
    return _label("yes_no", prompt, ["yes", "no"], gold)


def urgency(rng: random.Random) -> Item:
    gold = rng.choice(["urgent", "not_urgent"])
    urgent = [
        "The server is down and customers cannot pay",
        "Fire alarm in building B, evacuate now",
        "The patient's blood pressure is falling fast",
        "Production database deleted, need help immediately",
    ]
    calm = ["Whenever you have time, could you review my notes", "Let's plan the team lunch for next month",
            "Small typo on the about page, no rush", "Thinking about new office plants for spring"]  # fmt: skip
    text = rng.choice(urgent if gold == "urgent" else calm)
    prompt = f"Is this ticket urgent or not_urgent?\nTicket: {text}."
    return _label("urgency", prompt, ["urgent", "not_urgent"], gold)


EMOTIONS = {
    "joy": ["I just got the job, I can't stop smiling", "Our baby was born today and we are so happy"],
    "anger": ["They charged me twice and nobody answers, I am furious", "How dare he lie to my face again"],
    "sadness": ["My old dog died this morning and I miss him", "I feel so lonely since she moved away"],
    "fear": ["There is someone walking around outside my window at night", "I am terrified of tomorrow's surgery"],
}


def emotion(rng: random.Random) -> Item:
    gold = rng.choice(sorted(EMOTIONS))
    text = rng.choice(EMOTIONS[gold])
    prompt = f"Which emotion does the writer feel: joy, anger, sadness or fear?\nText: {text}."
    return _label("emotion", prompt, sorted(EMOTIONS), gold)


def question_statement(rng: random.Random) -> Item:
    gold = rng.choice(["question", "statement"])
    subject, place = rng.choice(FIRST), rng.choice(CITIES)
    text = (
        rng.choice([f"Did {subject} move to {place}?", f"When will {subject} visit {place}?", f"Is {place} far?"])
        if gold == "question"
        else rng.choice([f"{subject} moved to {place}.", f"{subject} will visit {place} soon.", f"{place} is far."])
    )
    prompt = f"Is this sentence a question or a statement?\nSentence: {text}"
    return _label("question_statement", prompt, ["question", "statement"], gold)


PARITY = _words("even odd")


def parity(rng: random.Random) -> Item:
    number = rng.randint(10, 999)
    prompt = f"Is the number {number} even or odd?"
    return _label("parity", prompt, PARITY, PARITY[number % 2])


ANIMALS = _words("horse eagle salmon rabbit tiger frog dolphin sparrow wolf camel")
PLANTS = _words("oak tulip fern cactus rose bamboo maple daisy moss pine")


def animal_plant(rng: random.Random) -> Item:
    gold = rng.choice(["animal", "plant"])
    thing = rng.choice(ANIMALS if gold == "animal" else PLANTS)
    prompt = f"Is a {thing} an animal or a plant?"
    return _label("animal_plant", prompt, ["animal", "plant"], gold)


def formality(rng: random.Random) -> Item:
    gold = rng.choice(["formal", "informal"])
    first, last = _name(rng)
    text = (
        rng.choice([f"Dear Mr {last}, I am writing to request a meeting at your earliest convenience.",
                    f"Dear Ms {last}, please find enclosed the signed agreement for your records."])
        if gold == "formal"
        else rng.choice([f"hey {first}!! wanna grab pizza later lol", f"yo {first}, cya at the gym, bring snacks"])
    )  # fmt: skip
    prompt = f"Is the tone of this message formal or informal?\nMessage: {text}"
    return _label("formality", prompt, ["formal", "informal"], gold)


CLASSIFICATION: dict[str, Template] = {
    f.__name__: f
    for f in (sentiment, topic, intent, language, spam, yes_no, urgency, emotion, question_statement, parity,
              animal_plant, formality)
}  # fmt: skip


# ---- extraction -----------------------------------------------------------------------------------------------
def _extract(task: str, prompt: str, gold: str, *, pattern: str = "", copy: bool = False) -> Item:
    item: Item = {"template": task, "prompt": prompt, "gold": gold, "check": "exact"}
    if pattern:
        item["pattern"] = pattern
    if copy:
        item["copy"] = True
    return item


def email(rng: random.Random) -> Item:
    address = _email(rng)
    first, _ = _name(rng)
    if rng.random() < 0.3:  # a second address: the model must pick the right one
        other = _email(rng)
        text = f"Replies go to {address}; please do not write to {other}, it is not monitored."
    else:
        text = rng.choice([f"Please contact me at {address} for details.", f"{first} can be reached via {address}."])
    prompt = f"Extract the e-mail address for replies. Reply with the address only.\nText: {text}"
    return _extract("email", prompt, address, pattern=r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def iso_dates(rng: random.Random) -> Item:
    y, m, d = _iso_date(rng)
    gold = f"{y}-{m:02d}-{d:02d}"
    if rng.random() < 0.4:
        y2, m2, d2 = _iso_date(rng)
        text = f"The order was placed on {y2}-{m2:02d}-{d2:02d} and delivered on {gold}."
        question = "the delivery date"
    else:
        text, question = f"The contract ends on {gold}, as agreed.", "the date"
    prompt = f"Extract {question} (YYYY-MM-DD). Reply with the date only.\nText: {text}"
    return _extract("iso_dates", prompt, gold, pattern=r"\d{4}-\d{2}-\d{2}")


def amounts(rng: random.Random) -> Item:
    total = f"{rng.randint(5, 2000)}.{rng.randint(0, 99):02d}"
    if rng.random() < 0.5:
        sub = f"{rng.randint(1, 1500)}.{rng.randint(0, 99):02d}"
        text = f"Subtotal: ${sub}. Total due: ${total}."
    else:
        text = f"Your card was charged ${total} for the {rng.choice(THINGS)}."
    prompt = f"Extract the total amount in dollars, without the $ sign. Reply with the number only.\nText: {text}"
    return _extract("amounts", prompt, total, pattern=r"\d+\.\d{2}")


def order_numbers(rng: random.Random) -> Item:
    gold = f"{rng.choice(['AB', 'QX', 'ZT', 'MN'])}-{rng.randint(10000, 99999)}"
    text = rng.choice([f"Your order {gold} has shipped.", f"Regarding order {gold}: the parcel left our depot."])
    prompt = f"Extract the order number. Reply with the order number only.\nText: {text}"
    return _extract("order_numbers", prompt, gold, pattern=r"[A-Z]{2}-\d{5}")


def person_names(rng: random.Random) -> Item:
    first, last = _name(rng)
    gold = f"{first} {last}"
    text = rng.choice([f"Yesterday {gold} signed the lease for the flat in {rng.choice(CITIES)}.",
                       f"The award went to {gold}, a nurse from {rng.choice(CITIES)}."])  # fmt: skip
    prompt = f"Extract the person's full name. Reply with the name only.\nText: {text}"
    return _extract("person_names", prompt, gold, copy=True)


def phones(rng: random.Random) -> Item:
    gold = f"{rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    text = rng.choice([f"Call us on {gold} between nine and five.", f"My mobile is {gold}, text any time."])
    prompt = f"Extract the phone number. Reply with the number only.\nText: {text}"
    return _extract("phones", prompt, gold, pattern=r"\d{3}-\d{3}-\d{4}")


def urls(rng: random.Random) -> Item:
    gold = f"https://{rng.choice(['www.', ''])}{rng.choice(DOMAINS)}/{rng.choice(WORDS)}"
    text = rng.choice([f"The slides are at {gold} if you missed the talk.", f"Read more: {gold}"])
    prompt = f"Extract the URL. Reply with the URL only.\nText: {text}"
    return _extract("urls", prompt, gold, pattern=r"https?://[\w./-]+")


def cities(rng: random.Random) -> Item:
    gold = rng.choice(CITIES)
    first, _ = _name(rng)
    text = rng.choice([f"{first} flew to {gold} for the conference.", f"Next summer {first} moves to {gold}."])
    prompt = f"Extract the city. Reply with the city only.\nText: {text}"
    return _extract("cities", prompt, gold, copy=True)


def companies(rng: random.Random) -> Item:
    gold = rng.choice(COMPANIES)
    first, last = _name(rng)
    text = rng.choice([f"{first} {last} accepted a job offer from {gold} last week.",
                       f"Shares of {gold} rose after the merger news."])  # fmt: skip
    prompt = f"Extract the company name. Reply with the company only.\nText: {text}"
    return _extract("companies", prompt, gold, copy=True)


def times(rng: random.Random) -> Item:
    gold = f"{rng.randint(0, 23):02d}:{rng.choice([0, 15, 30, 45]):02d}"
    text = rng.choice([f"The train leaves at {gold} from platform 4.", f"Meeting moved to {gold} tomorrow."])
    prompt = f"Extract the time (HH:MM). Reply with the time only.\nText: {text}"
    return _extract("times", prompt, gold, pattern=r"\d{2}:\d{2}")


def percentages(rng: random.Random) -> Item:
    gold = f"{rng.randint(1, 99)}%"
    text = rng.choice([f"Sales grew by {gold} this year.", f"Only {gold} of voters turned up."])
    prompt = f"Extract the percentage. Reply with the percentage only.\nText: {text}"
    return _extract("percentages", prompt, gold, pattern=r"\d{1,3}%")


def handles(rng: random.Random) -> Item:
    first, last = _name(rng)
    gold = f"@{first.lower()}_{last.lower()}"
    text = rng.choice([f"Follow {gold} for daily updates.", f"Thanks to {gold} for the photo!"])
    prompt = f"Extract the social media handle. Reply with the handle only.\nText: {text}"
    return _extract("handles", prompt, gold, pattern=r"@\w+")


EXTRACTION: dict[str, Template] = {
    f.__name__: f
    for f in (email, iso_dates, amounts, order_numbers, person_names, phones, urls, cities, companies, times,
              percentages, handles)
}  # fmt: skip


# ---- formatting -----------------------------------------------------------------------------------------------
def _format(task: str, prompt: str, gold: Any, *, pattern: str = "", schema: dict[str, Any] | None = None) -> Item:
    item: Item = {"template": task, "prompt": prompt, "gold": gold, "check": "json" if schema else "exact"}
    if pattern:
        item["pattern"] = pattern
    if schema is not None:
        item["schema"] = schema
    return item


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.sample(WORDS, n))


def uppercase(rng: random.Random) -> Item:
    text = _phrase(rng, rng.randint(2, 4))
    prompt = f"Convert this text to uppercase. Reply with the converted text only.\nText: {text}"
    return _format("uppercase", prompt, text.upper(), pattern=r"[A-Z]+( [A-Z]+)*")


def lowercase(rng: random.Random) -> Item:
    text = _phrase(rng, rng.randint(2, 4))
    prompt = f"Convert this text to lowercase. Reply with the converted text only.\nText: {text.upper()}"
    return _format("lowercase", prompt, text, pattern=r"[a-z]+( [a-z]+)*")


def date_reformat(rng: random.Random) -> Item:
    y, m, d = _iso_date(rng)
    prompt = f"Rewrite the date {y}-{m:02d}-{d:02d} (year-month-day) as DD/MM/YYYY. Reply with the date only."
    return _format("date_reformat", prompt, f"{d:02d}/{m:02d}/{y}", pattern=r"\d{2}/\d{2}/\d{4}")


def json_fields(rng: random.Random) -> Item:
    first, _ = _name(rng)
    age = rng.randint(18, 90)
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    prompt = f"Convert this into a JSON object with keys name and age. Reply with JSON only.\nname: {first}\nage: {age}"
    return _format("json_fields", prompt, {"name": first, "age": age}, schema=schema)


def json_list(rng: random.Random) -> Item:
    items = rng.sample(GROCERIES, rng.randint(2, 4))
    schema = {"type": "array", "items": {"type": "string"}}
    prompt = "Convert this comma-separated list into a JSON array of strings. Reply with JSON only.\nList: "
    prompt += ", ".join(items)
    return _format("json_list", prompt, items, schema=schema)


def whitespace(rng: random.Random) -> Item:
    words = rng.sample(WORDS, rng.randint(3, 5))
    messy = "".join(w + " " * rng.randint(2, 4) for w in words).strip()
    prompt = f"Collapse repeated spaces into single spaces. Reply with the text only.\nText: {messy}"
    return _format("whitespace", prompt, " ".join(words), pattern=r"\S+( \S+)*")


def name_order(rng: random.Random) -> Item:
    first, last = _name(rng)
    prompt = f"Rewrite the name '{last}, {first}' as first name then last name. Reply with the name only."
    return _format("name_order", prompt, f"{first} {last}", pattern=r"[A-Z][a-z]+ [A-Z][a-z]+")


def phone_format(rng: random.Random) -> Item:
    a, b, c = rng.randint(200, 999), rng.randint(200, 999), rng.randint(1000, 9999)
    prompt = f"Rewrite the phone number ({a}) {b} {c} as NNN-NNN-NNNN. Reply with the number only."
    return _format("phone_format", prompt, f"{a}-{b}-{c}", pattern=r"\d{3}-\d{3}-\d{4}")


def title_case(rng: random.Random) -> Item:
    text = _phrase(rng, rng.randint(2, 4))
    prompt = f"Capitalise the first letter of every word. Reply with the text only.\nText: {text}"
    return _format("title_case", prompt, text.title(), pattern=r"[A-Z][a-z]*( [A-Z][a-z]*)*")


def json_status(rng: random.Random) -> Item:
    number = rng.randint(1000, 9999)
    status = rng.choice(["open", "closed", "pending"])
    schema = {
        "type": "object",
        "properties": {"ticket": {"type": "integer"}, "status": {"enum": ["open", "closed", "pending"]}},
        "required": ["ticket", "status"],
    }
    prompt = f"Ticket {number} is {status}. Give a JSON object with keys ticket and status. Reply with JSON only."
    return _format("json_status", prompt, {"ticket": number, "status": status}, schema=schema)


def csv_row(rng: random.Random) -> Item:
    product = rng.choice(GROCERIES)
    price = round(rng.randint(50, 999) / 100, 2)
    quantity = rng.randint(1, 12)
    schema = {
        "type": "object",
        "properties": {"product": {"type": "string"}, "price": {"type": "number"}, "quantity": {"type": "integer"}},
        "required": ["product", "price", "quantity"],
    }
    prompt = (
        "Turn this CSV row (product,price,quantity) into a JSON object with those keys. Reply with JSON only.\n"
        f"Row: {product},{price},{quantity}"
    )
    return _format("csv_row", prompt, {"product": product, "price": price, "quantity": quantity}, schema=schema)


def snake_case(rng: random.Random) -> Item:
    words = rng.sample(WORDS, rng.randint(2, 3))
    prompt = f"Rewrite '{' '.join(w.title() for w in words)}' in snake_case. Reply with the result only."
    return _format("snake_case", prompt, "_".join(words), pattern=r"[a-z]+(_[a-z]+)*")


def time_24h(rng: random.Random) -> Item:
    hour, minute = rng.randint(1, 12), rng.choice([0, 10, 15, 30, 45])
    half = rng.choice(["AM", "PM"])
    gold = f"{(hour % 12) + (12 if half == 'PM' else 0):02d}:{minute:02d}"
    prompt = f"Convert {hour}:{minute:02d} {half} to 24-hour time (HH:MM). Reply with the time only."
    return _format("time_24h", prompt, gold, pattern=r"\d{2}:\d{2}")


FORMATTING: dict[str, Template] = {
    f.__name__: f
    for f in (uppercase, lowercase, date_reformat, json_fields, json_list, whitespace, name_order, phone_format,
              title_case, json_status, csv_row, snake_case, time_24h)
}  # fmt: skip

KINDS: dict[str, dict[str, Template]] = {
    "classification": CLASSIFICATION,
    "extraction": EXTRACTION,
    "formatting": FORMATTING,
}
