"""SentencePiece-style BPE for the reference model: training and exact encoding.

Vocabulary layout (ids):
    0 <unk> (type 2, unknown)   1 <s> BOS (type 3, control)   2 </s> EOS (type 3, control)
    3..258   <0x00>..<0xFF> byte pieces (type 6, byte): fallback for characters outside the vocabulary
    259..    single characters (the alphabet: every character seen at least MIN_CHAR_COUNT times
             in the training text, newline excluded), then merged pieces in merge order (type 1, normal)

Text conventions (the same as llama.cpp's SentencePiece tokenizer, `tokenizer.ggml.model = llama`):
    - one space is prepended to the text, every space becomes U+2581 ('▁')
    - newline is never part of a piece: "\n" is always the byte piece <0x0A> (id 13)
    - digits are never part of a multi-character piece (numbers are split into single digits)
    - '▁' only ever appears as the FIRST character of a piece; letters, digits and punctuation never
      share a piece (so 'the.' is 'the' + '.'), which mirrors SentencePiece's script splitting

Encoding algorithm (exactly what llama.cpp and the Java engine do with `tokenizer.ggml.model = llama`):
    start from the UTF-8 characters; repeatedly merge the adjacent pair of symbols whose concatenation
    is a vocabulary piece with the HIGHEST score, ties broken by the leftmost pair; then every symbol
    that is a piece becomes its id, every other one becomes one <0xNN> piece per UTF-8 byte.
Scores: the i-th merged piece has score -i (earlier merges win); alphabet characters get scores below
all merged pieces (they are never the result of a merge, so their scores do not affect encoding).

Because no piece contains '▁' except at its start, and no piece contains '\n' at all, a merge can never
span a position just before a '▁' or around a '\n'; the text is therefore cut there and each cut is
encoded on its own (with a cache), which gives the same ids as encoding the text as a whole.
"""
import collections
import heapq
import json
import re

SPACE = "\u2581"
UNK, BOS, EOS = 0, 1, 2
N_SPECIAL = 3
BYTE0 = 3                      # id of <0x00>
FIRST_PIECE = BYTE0 + 256      # id of the first alphabet character
MIN_CHAR_COUNT = 100

# training units: letters (optionally after '▁'), one digit, a run of punctuation/symbols (optionally
# after '▁'), a lone '▁', a newline, any other single character
_UNIT = re.compile(SPACE + r"?[^\W\d_]+|\d|" + SPACE + r"?(?:[^\w\s" + SPACE + r"]|_)+|" + SPACE + r"|\n|.",
                   re.S)
# encoding cuts: before every '▁' and around every '\n'
_CUT = re.compile(SPACE + r"[^" + SPACE + r"\n]*|[^" + SPACE + r"\n]+|\n")


def _class(ch):
    if ch == SPACE:
        return 0
    if ch.isdigit():
        return 1
    if ch.isalpha():
        return 2
    return 3


class Tokenizer:
    def __init__(self, pieces, scores, types):
        self.pieces, self.scores, self.types = pieces, scores, types
        self.id_of = {p: i for i, p in enumerate(pieces) if types[i] == 1}
        self.score_of = {p: scores[i] for p, i in self.id_of.items()}
        self.cache = {}

    # ---------------- persistence ----------------
    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"model": "llama (SentencePiece-style BPE, byte fallback)", "pieces": self.pieces,
                       "scores": self.scores, "types": self.types}, f, ensure_ascii=False, indent=0)

    @staticmethod
    def load(path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return Tokenizer(d["pieces"], d["scores"], d["types"])

    # ---------------- encoding ----------------
    def _encode_cut(self, s):
        """One cut (no '\n', '▁' only first): llama.cpp's merge loop, with a heap of candidate pairs."""
        n = len(s)
        if n == 1:
            i = self.id_of.get(s)
            return [i] if i is not None else [BYTE0 + b for b in s.encode("utf-8")]
        sym = list(s)                       # symbol text, '' once merged away
        nxt = list(range(1, n + 1))
        prv = list(range(-1, n - 1))
        score_of = self.score_of
        heap = []
        for i in range(n - 1):
            sc = score_of.get(s[i] + s[i + 1])
            if sc is not None:
                heap.append((-sc, i, s[i] + s[i + 1]))
        heapq.heapify(heap)
        while heap:
            _, i, text = heapq.heappop(heap)
            j = nxt[i]
            if j >= n or not sym[i] or sym[i] + sym[j] != text:
                continue                     # stale candidate
            sym[i] = text
            sym[j] = ""
            nxt[i] = nxt[j]
            if nxt[j] < n:
                prv[nxt[j]] = i
            p = prv[i]
            if p >= 0:
                t = sym[p] + text
                sc = score_of.get(t)
                if sc is not None:
                    heapq.heappush(heap, (-sc, p, t))
            k = nxt[i]
            if k < n:
                t = text + sym[k]
                sc = score_of.get(t)
                if sc is not None:
                    heapq.heappush(heap, (-sc, i, t))
        out = []
        i = 0
        while i < n:
            t = sym[i]
            pid = self.id_of.get(t)
            if pid is not None:
                out.append(pid)
            else:
                out.extend(BYTE0 + b for b in t.encode("utf-8"))
            i = nxt[i]
        return out

    def encode(self, text, bos=True, add_space_prefix=True):
        """Ids of text as llama.cpp tokenizes it (BOS first when bos, one space prepended)."""
        if add_space_prefix:
            text = " " + text
        text = text.replace(" ", SPACE)
        out = [BOS] if bos else []
        cache = self.cache
        for cut in _CUT.findall(text):
            ids = cache.get(cut)
            if ids is None:
                ids = self._encode_cut(cut)
                if len(cache) < 4_000_000:
                    cache[cut] = ids
            out.extend(ids)
        return out

    def encode_naive(self, text, bos=True):
        """Reference implementation: the merge loop over the whole text, O(n^2); for tests only."""
        text = (" " + text).replace(" ", SPACE)
        sym = list(text)
        while True:
            best, best_i = None, -1
            for i in range(len(sym) - 1):
                sc = self.score_of.get(sym[i] + sym[i + 1])
                if sc is not None and (best is None or sc > best):
                    best, best_i = sc, i
            if best is None:
                break
            sym[best_i:best_i + 2] = [sym[best_i] + sym[best_i + 1]]
        out = [BOS] if bos else []
        for t in sym:
            pid = self.id_of.get(t)
            out.extend([pid] if pid is not None else [BYTE0 + b for b in t.encode("utf-8")])
        return out

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            if i < N_SPECIAL:
                continue
            if i < FIRST_PIECE:
                bs.append(i - BYTE0)
            else:
                bs.extend(self.pieces[i].replace(SPACE, " ").encode("utf-8"))
        return bs.decode("utf-8", errors="replace")


# ---------------- training ----------------

def train(text_iter, vocab_size=8192, min_char_count=MIN_CHAR_COUNT, log=print):
    """Byte-fallback BPE over training units (see _UNIT). text_iter yields documents."""
    units = collections.Counter()
    chars = collections.Counter()
    for doc in text_iter:
        t = (" " + doc).replace(" ", SPACE)
        units.update(_UNIT.findall(t))
    for u, c in units.items():
        for ch in u:
            chars[ch] += c
    alphabet = sorted((ch for ch, c in chars.items() if c >= min_char_count and ch != "\n"),
                      key=lambda ch: (-chars[ch], ch))
    if SPACE not in alphabet:
        alphabet.insert(0, SPACE)
    alpha = set(alphabet)
    log(f"{sum(units.values())} units, {len(units)} distinct, alphabet {len(alphabet)} characters")

    # words: only units that can take part in a merge (>= 2 characters, no digit, all in the alphabet
    # for the merged span). Characters outside the alphabet split a unit into independent parts.
    words, counts = [], []
    for u, c in units.items():
        if len(u) < 2 or u[0].isdigit() or u == "\n":
            continue
        part = []
        for ch in u + "\0":
            if ch in alpha:
                part.append(ch)
            else:
                if len(part) >= 2:
                    words.append(part)
                    counts.append(c)
                part = []
    log(f"{len(words)} mergeable words")

    pair_count = collections.defaultdict(int)
    pair_where = collections.defaultdict(set)
    for wi, w in enumerate(words):
        c = counts[wi]
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += c
            pair_where[(a, b)].add(wi)

    def ok(a, b):          # never '▁' inside a piece (only first), never letters with punctuation
        if b[0] == SPACE:
            return False
        ca = _class(a[-1])
        cb = _class(b[0])
        if ca == 1 or cb == 1:
            return False
        return ca == cb or (ca == 0 and cb in (2, 3))

    heap = [(-c, p) for p, c in pair_count.items() if ok(*p)]
    heapq.heapify(heap)
    pieces = list(alphabet)
    have = set(pieces)
    n_merges_wanted = vocab_size - FIRST_PIECE - len(alphabet)
    merges = []
    while len(merges) < n_merges_wanted and heap:
        negc, pair = heapq.heappop(heap)
        c = pair_count.get(pair, 0)
        if c <= 0:
            continue
        if -negc != c:                      # stale: push the current count back
            heapq.heappush(heap, (-c, pair))
            continue
        a, b = pair
        new = a + b
        if new not in have:
            have.add(new)
            pieces.append(new)
            merges.append(new)
            if len(merges) % 1000 == 0:
                log(f"  {len(merges)} merges, last {new!r} count {c}")
        # apply the merge in every word that holds the pair
        changed = collections.defaultdict(int)
        for wi in list(pair_where[pair]):
            w = words[wi]
            cnt = counts[wi]
            i, out = 0, []
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            if len(out) == len(w):
                continue
            for x, y in zip(w, w[1:]):
                changed[(x, y)] -= cnt
            for x, y in zip(out, out[1:]):
                changed[(x, y)] += cnt
                pair_where[(x, y)].add(wi)
            words[wi] = out
        for p, d in changed.items():
            if d == 0:
                continue
            pair_count[p] += d
            if d > 0 and ok(*p):
                heapq.heappush(heap, (-pair_count[p], p))
        pair_count.pop(pair, None)
        pair_where.pop(pair, None)

    vocab = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + pieces
    types = [2, 3, 3] + [6] * 256 + [1] * len(pieces)
    n_alpha, n_merge = len(alphabet), len(merges)
    scores = [0.0] * FIRST_PIECE + [float(-n_merge - i) for i in range(n_alpha)] + \
             [float(-i) for i in range(n_merge)]
    assert len(vocab) == len(set(vocab)) == len(scores) == len(types)
    for p in pieces:                       # the structural rules the fast encoder relies on
        assert "\n" not in p and SPACE not in p[1:], p
        assert len(p) == 1 or not any(ch.isdigit() for ch in p), p
    return Tokenizer(vocab, scores, types)
