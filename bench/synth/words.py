"""Word lists for the synthetic set: signage-like words, numbers, punctuation.

Mostly printable ASCII; a separate short list of Latin-1 words (``NON_ASCII``) is
drawn on purpose in a few images so the protocol's non-ASCII rules (the evaluator
deletes characters >= 128 from predictions; TAIR's loader drops such words) are
exercised by the quickstart set.
"""

from __future__ import annotations

import numpy as np

WORDS: tuple[str, ...] = (
    "Main", "Street", "Open", "Bakery", "Exit", "Hotel", "Pizza", "Coffee", "Sale",
    "Parking", "Station", "Market", "Books", "Pharmacy", "Museum", "Avenue", "Garden",
    "Fresh", "Daily", "Welcome", "Library", "City", "Park", "Road", "North", "West",
    "Bank", "Cinema", "Taxi", "Stop", "Ticket", "Gate", "Menu", "Wine", "Bistro",
    "Florist", "Repair", "Closed", "Tickets", "Theatre", "Harbor", "Bridge", "Police",
    "School", "Dental", "Laundry", "Grocery", "Bicycle", "Salon", "Studio",
)

NUMBERS: tuple[str, ...] = ("1492", "24", "2025", "300", "7", "18", "99", "1850")

PUNCTUATED: tuple[str, ...] = (
    "Hello!", "24/7", "$9.99", "50%", "No.7", "A-1", "Jo's", "(free)", "OPEN:",
    "Eat.", "Tel:", "#12",
)

NON_ASCII: tuple[str, ...] = ("Café", "Zürich", "Crème", "Señor")

#: Relative frequency of each category when a word is drawn.
_CATEGORY_WEIGHTS = {"word": 0.7, "number": 0.15, "punct": 0.15}


def _case(rng: np.random.Generator, word: str) -> str:
    """Random casing: as listed (Title), UPPER or lower."""
    r = rng.random()
    if r < 0.45:
        return word
    if r < 0.8:
        return word.upper()
    return word.lower()


def draw_word(rng: np.random.Generator, non_ascii: bool = False) -> str:
    """Draw one transcription; ``non_ascii=True`` forces a Latin-1 word."""
    if non_ascii:
        return _case(rng, NON_ASCII[int(rng.integers(0, len(NON_ASCII)))])
    cats = list(_CATEGORY_WEIGHTS)
    probs = np.array([_CATEGORY_WEIGHTS[c] for c in cats])
    cat = cats[int(rng.choice(len(cats), p=probs / probs.sum()))]
    if cat == "number":
        return NUMBERS[int(rng.integers(0, len(NUMBERS)))]
    if cat == "punct":
        return PUNCTUATED[int(rng.integers(0, len(PUNCTUATED)))]
    return _case(rng, WORDS[int(rng.integers(0, len(WORDS)))])


def draw_small_text(rng: np.random.Generator) -> str:
    """Random short string for tiny, illegible don't-care text."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    n = int(rng.integers(4, 10))
    return "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), n))
