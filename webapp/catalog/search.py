"""Finding products by part of their name, under row-level security.

PostgreSQL uses an index under row-level security only for leakproof
operators; LIKE, ILIKE and pg_trgm's are not, so `name ILIKE '%noo%'` reads
every product of the organization. Instead, `product_search` holds, for each
product, the pieces of its name that a search can start with, and is read
with equality and `starts_with` (both leakproof) on a btree index:

- every *suffix of three characters or more* of every word of the lower-cased
  name (`noodles` → `noodles`, `oodles`, …, `les`), keyed by its first three
  characters: a fragment of three characters or more is part of a word exactly
  when it starts one of these;
- every *word start*: the word with a leading space (`" noodles"`), keyed by
  the space and its first letter, for words of one or two characters typed
  (`"mi"` finds `Mi Power Bank`, not `Vitamin`).

A row also carries the product's name and whether it is active, so the index
`(org_id, key, name, product_id)` hands over the matches of one key already
in the lookup's order (by name): the first ten are found without reading or
sorting the others. Words are split on whitespace (`str.split`) and
lower-cased with `fold`, which matches PostgreSQL's `lower()` (what ILIKE
compares): a single word of three characters or more finds exactly the
products whose name contains it, as `name ILIKE '%word%'` did. A query of
several words finds the products with every word (in any order). Accents are
kept (`cafe` does not find `Café`), as ILIKE did.

The rows of a product are rewritten, in the same transaction, whenever it is
created or its name or active flag changes (`reindex`, called by the catalog
services).
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from webapp.extensions import db, on_postgres

#: Query words beyond this many are ignored (each one is a join).
MAX_WORDS = 6
#: Characters the old ILIKE search dropped from what was typed (LIKE wildcards and escape).
_DROPPED = str.maketrans("", "", "\\%_")


def fold(text: str) -> str:
    """Lower case as PostgreSQL's lower() does it character by character (Python's lower() turns
    the one exception, dotted capital I, into two characters)."""
    return text.replace("\u0130", "i").lower()


def fold_chars(text: str) -> str:
    """Lower case character by character, as PostgreSQL's lower() folds on a UTF-8 locale: unlike
    `fold` (Python's str.lower), a capital sigma at the end of a word becomes σ, not ς. For text
    compared with what lower() wrote in the database (party_search, migration 0017)."""
    return "".join("i" if c == "\u0130" else c.lower() for c in text)


def range_of(prefix: str) -> tuple[str, str | None]:
    """The strings that start with `prefix`, compared byte by byte (collation "C"): [prefix, upper),
    upper being the prefix with its last character made the next one (None when there is none)."""
    code = ord(prefix[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:      # no such characters in UTF-8 text: the next one after them
        code = 0xE000
    return prefix, (prefix[:-1] + chr(code)) if code <= 0x10FFFF else None


def tokens(name: str) -> set[tuple[str, str]]:
    """(key, token) rows of a name: word suffixes of 3+ characters and word starts."""
    out = set()
    for word in fold(name).split():
        out.add((" " + word[0], " " + word))
        for i in range(len(word) - 2):
            suffix = word[i:]
            out.add((suffix[:3], suffix))
    return out


def query_words(q: str) -> list[str]:
    """The words of a search, folded, without the characters the old search ignored, longest first
    (the longest is usually the rarest: it drives the search, the others are checked against it)."""
    seen: list[str] = []
    for word in fold((q or "").translate(_DROPPED)).split():
        if word not in seen:
            seen.append(word)
    return sorted(seen, key=len, reverse=True)[:MAX_WORDS]


def key_and_prefix(word: str) -> tuple[str, str]:
    """What a query word looks for: (key, token prefix)."""
    if len(word) >= 3:
        return word[:3], word
    return " " + word[0], " " + word


def rows_for(product) -> list[dict]:
    return [{"org_id": product.org_id, "product_id": product.id, "key": key, "token": token,
             "name": product.name, "active": product.active} for key, token in sorted(tokens(product.name))]


def reindex(products: Iterable, *, new: bool = False) -> None:
    """Rewrite the search rows of `products` (flushed: they have ids) in the current transaction."""
    from webapp.catalog.models import ProductSearch
    products = list(products)
    if not products:
        return
    if not new:
        ids = [p.id for p in products]
        for i in range(0, len(ids), 1000):
            db.session.execute(sa.delete(ProductSearch).where(ProductSearch.product_id.in_(ids[i:i + 1000]))
                               .execution_options(synchronize_session=False))
    rows = [row for p in products for row in rows_for(p)]
    for i in range(0, len(rows), 5000):
        db.session.execute(sa.insert(ProductSearch.__table__), rows[i:i + 5000])


def starts(column, prefix):
    """`column` starts with `prefix`: `starts_with` on PostgreSQL (leakproof, so an index range under
    row-level security); on SQLite a comparison of the first characters."""
    if on_postgres():
        return sa.func.starts_with(column, prefix)
    return sa.func.substr(column, 1, sa.func.length(prefix)) == prefix
