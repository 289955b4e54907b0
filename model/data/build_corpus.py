#!/usr/bin/env python3
"""Build the reference model's text corpus from free English text in Debian 12 packages.

Steps (each one re-runnable; outputs live under --cache, never in the repository):
  1. `apt-get download` every package of SOURCES into CACHE/debs   (needs network + apt lists)
  2. `dpkg-deb -x` each .deb into CACHE/extract/<package>
  3. convert each source to plain-text documents (HTML -> text, man -> groff -Tutf8, POD -> pod2text,
     dictd databases, WordNet glosses, the KJV through the package's own `bible` program,
     Jane Austen's novels out of the R package's serialized data)
  4. clean (UTF-8, no control characters, no trailing blanks, at most one blank line in a row),
     cut large documents into parts of at most ~64 KB at paragraph boundaries,
     drop exact duplicate documents and repeated long paragraphs (boilerplate)
  5. split BY DOCUMENT with a deterministic hash: 3% held out (never seen in training), the rest train
  6. write CACHE/corpus/{train,heldout}.txt (documents separated by two blank lines, i.e. "\n\n\n";
     no document contains "\n\n\n") and CACHE/corpus/manifest.json (per-source sizes, licences)

Usage:  python3 -m model.data.build_corpus [--cache model/runs/data] [--skip-download] [--jobs N]
Runs on any Debian 12 (bookworm) machine with python3, dpkg, apt, groff and perl (pod2text).
"""
import argparse
import glob
import gzip
import hashlib
import html
import html.parser
import json
import multiprocessing
import os
import re
import struct
import subprocess
import sys
import unicodedata
import zlib

from .. import paths

# --------------------------------------------------------------------------------------------
# Sources: name -> (debian packages, licence of the text, converter name)
# --------------------------------------------------------------------------------------------
SOURCES = {
    "linux-doc": (["linux-doc-6.1"], "GPL-2", "linux_doc"),
    "python-doc": (["python3.11-doc"], "PSF-2.0 (Python Software Foundation licence)", "python_doc"),
    "perl-doc": (["perl-doc"], "GPL-1+ or Artistic", "perl_doc"),
    "debian-reference": (["debian-reference-en"], "GPL-2+", "debian_reference"),
    "debian-handbook": (["debian-handbook"], "GPL-2+ or CC-BY-SA-3.0", "debian_handbook"),
    "debian-policy": (["debian-policy"], "GPL-2+", "debian_policy"),
    "developers-reference": (["developers-reference"], "GPL-2", "developers_reference"),
    "postgresql-doc": (["postgresql-doc-15"], "PostgreSQL licence (BSD-style)", "postgresql_doc"),
    "django-doc": (["python-django-doc"], "BSD-3-Clause", "django_doc"),
    "sqlite-doc": (["sqlite3-doc"], "public domain", "sqlite_doc"),
    "rust-doc": (["rust-doc"], "MIT or Apache-2.0", "rust_doc"),
    "git-doc": (["git-doc"], "GPL-2", "git_doc"),
    "manpages": (["manpages", "manpages-dev"], "various free licences (GPL-2+, BSD, 'verbatim')", "manpages"),
    "gcide": (["dict-gcide"], "GPL-2+ (GCIDE, from Webster's 1913 and WordNet)", "gcide"),
    "devil": (["dict-devil"], "public domain", "devil"),
    "wordnet": (["wordnet-base"], "WordNet 3.0 licence (BSD-style)", "wordnet"),
    "jargon": (["jargon-text"], "public domain", "jargon"),
    "kjv": (["bible-kjv-text", "bible-kjv"], "public domain text (package: GPL-2+)", "kjv"),
    "austen": (["r-cran-janeaustenr"], "public domain novels (package: MIT)", "austen"),
}
# documentation of Python libraries (Sphinx HTML), each under a permissive licence
PY_LIB_DOCS = {
    "python-scipy-doc": "BSD-3-Clause", "python-pandas-doc": "BSD-3-Clause", "python-sklearn-doc": "BSD-3-Clause",
    "python-sqlalchemy-doc": "MIT", "sphinx-doc": "BSD-2-Clause", "python-sympy-doc": "BSD-3-Clause",
    "python-statsmodels-doc": "BSD-3-Clause", "python-dask-doc": "BSD-3-Clause", "python-pytest-doc": "MIT",
    "python-flask-doc": "BSD-3-Clause", "python-werkzeug-doc": "BSD-3-Clause", "python-jinja2-doc": "BSD-3-Clause",
    "python-lxml-doc": "BSD-3-Clause", "python-mpmath-doc": "BSD-3-Clause", "python-pygments-doc": "BSD-2-Clause",
    "python-babel-doc": "BSD-3-Clause", "python-attr-doc": "MIT", "python-h5py-doc": "BSD-3-Clause",
}
for _pkg, _lic in PY_LIB_DOCS.items():
    SOURCES[_pkg.replace("python-", "").replace("-doc", "") + "-doc"] = ([_pkg], _lic, "pylib:" + _pkg)

HELDOUT_PERMILLE = 30          # 3.0% of documents held out
MAX_DOC_CHARS = 64_000         # larger documents are cut into parts at paragraph boundaries
MIN_DOC_CHARS = 200            # shorter documents are dropped (navigation stubs, empty pages)
DEDUP_PARA_CHARS = 120         # paragraphs at least this long are kept only at their first occurrence
SEP = "\n\n\n"                 # document separator in the output files


# --------------------------------------------------------------------------------------------
# HTML -> text
# --------------------------------------------------------------------------------------------
BLOCK_PARA = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "ul", "ol", "dl", "blockquote",
              "section", "article", "figure", "hr", "div.section", "main"}
BLOCK_LINE = {"li", "tr", "dt", "dd", "div", "br", "caption", "figcaption", "center"}
VOID = {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "param", "source",
        "track", "wbr"}
SKIP_TAGS = {"script", "style", "head", "nav", "footer", "header", "noscript", "svg", "button", "form",
             "select", "textarea", "title"}
SKIP_CLASS = re.compile(r"\b(sphinxsidebar|related|footer|headerlink|navheader|navfooter|navigation|"
                        r"breadcrumbs?|searchbox|sidebar|toc-backref|rst-versions|wy-nav-side|"
                        r"sidebar-elems|nav-chapters|menu-bar|mobile-nav-chapters|srclink|"
                        r"rightside|out-of-band|copyright|fancytoc|sectiontoc|nosearch|docnav|mainmenu|submenu|searchmenu|"
                        r"tagline|bd-sidebar-primary|bd-sidebar-secondary|bd-toc|prev-next-area|bd-header|"
                        r"bd-footer|bd-header-article|header-article|sphx-glr-download|sphx-glr-thumbcontainer|"
                        r"sphx-glr-footer|headerbtn|copybtn|toctree-wrapper|d-print-none|sphx-glr-signature)\b")
SKIP_ID = re.compile(r"^(sidebar|searchbox|menu-bar|toc|navbar|header|footer|mobile-nav|banner|title$)")


class _Html2Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []           # list of text fragments; "\n" and "\n\n" are break markers
        self.skip_tag = None    # tag name of the outermost skipped element
        self.skip_depth = 0
        self.pre = 0
        self.list_depth = 0

    def _brk(self, n):
        self.out.append("\n" * n)

    def handle_starttag(self, tag, attrs):
        if self.skip_tag is not None:
            if tag == self.skip_tag and tag not in VOID:
                self.skip_depth += 1
            return
        a = dict(attrs)
        cls = a.get("class") or ""
        ident = a.get("id") or ""
        if tag in SKIP_TAGS or (cls and SKIP_CLASS.search(cls)) or (ident and SKIP_ID.match(ident)) \
                or a.get("role") == "navigation" or a.get("aria-hidden") == "true":
            if tag not in VOID:
                self.skip_tag, self.skip_depth = tag, 1
            return
        if tag == "pre":
            self.pre += 1
            self._brk(2)
        elif tag in BLOCK_PARA:
            self._brk(2)
        elif tag in BLOCK_LINE:
            self._brk(1)
            if tag == "li":
                self.out.append("- ")
        elif tag in ("td", "th"):
            self.out.append(" | ")
        if tag in ("ul", "ol"):
            self.list_depth += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
            self._brk(2)
        elif tag in BLOCK_PARA:
            self._brk(2)
        elif tag in BLOCK_LINE:
            self._brk(1)
        if tag in ("ul", "ol"):
            self.list_depth = max(0, self.list_depth - 1)

    def handle_data(self, data):
        if self.skip_tag is not None:
            return
        if self.pre:
            self.out.append(data.replace("\r\n", "\n").replace("\t", "    "))
        else:
            s = re.sub(r"\s+", " ", data)
            if not self.out or self.out[-1].endswith("\n") or self.out[-1].endswith("- "):
                s = s.lstrip(" ")
            if s:
                self.out.append(s)

    def text(self):
        return "".join(self.out)


def html_to_text(raw):
    p = _Html2Text()
    try:
        p.feed(raw)
        p.close()
    except Exception:        # malformed HTML: keep what was parsed
        pass
    return p.text()


def read_html(path, main_selector=None):
    with open(path, "rb") as f:
        b = f.read()
    if path.endswith(".gz"):
        b = gzip.decompress(b)
    raw = b.decode("utf-8", errors="replace")
    if main_selector:        # keep only the main content region when the page marks it
        m = re.search(main_selector, raw)
        if m:
            raw = raw[m.start():]
    return html_to_text(raw)


# --------------------------------------------------------------------------------------------
# cleaning
# --------------------------------------------------------------------------------------------
_CTRL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff\ufffd]")


def clean(text):
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ").replace("\u00a0", " ")
    text = text.replace("\u2581", "_")       # the tokenizer's space marker never appears in the text
    text = _CTRL.sub("", text)
    lines = [ln.rstrip() for ln in text.split("\n")]
    # lines of one or two characters of punctuation only (leftover separators) go
    lines = [ln for ln in lines if not re.fullmatch(r"\s*[|¶#*=\-_~^.]{1,3}\s*", ln)]
    text = "\n".join(lines)
    text = re.sub(r"[ ]*\|[ ]*\n", "\n", text)       # trailing table-cell separators
    text = re.sub(r"\n[ ]*\|[ ]*", "\n", text)        # leading table-cell separators
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def english_enough(text):
    if not text:
        return False
    ascii_letters = sum(1 for c in text if "a" <= c <= "z" or "A" <= c <= "Z")
    letters = sum(1 for c in text if c.isalpha())
    return letters > 0 and ascii_letters / letters > 0.97 and letters / len(text) > 0.35


# --------------------------------------------------------------------------------------------
# converters: each yields (doc_key, text)
# --------------------------------------------------------------------------------------------
def _files(root, pattern, exclude=()):
    out = sorted(glob.glob(os.path.join(root, pattern), recursive=True))
    return [f for f in out if os.path.isfile(f) and not any(x in f for x in exclude)]


SPHINX_MAIN = r'<div[^>]*role="main"|<div class="body"|<main'


def _html_docs(paths, root, main=None):
    for p in paths:
        yield os.path.relpath(p, root), ("html", p, main)


def conv_linux_doc(ex):
    root = f"{ex}/linux-doc-6.1/usr/share/doc/linux-doc-6.1/html"
    return _html_docs(_files(root, "**/*.html", ("/_sources/", "/translations/", "genindex", "search.html",
                                                 "/_static/")), root, SPHINX_MAIN)


def conv_python_doc(ex):
    root = f"{ex}/python3.11-doc/usr/share/doc/python3.11/html"
    return _html_docs(_files(root, "**/*.html", ("/_sources/", "genindex", "search.html", "modindex",
                                                 "/_static/", "/whatsnew/changelog")), root, SPHINX_MAIN)


def conv_django_doc(ex):
    root = f"{ex}/python-django-doc/usr/share/doc/python-django-doc/html"
    return _html_docs(_files(root, "**/*.html", ("/_sources/", "genindex", "search.html", "modindex",
                                                 "/_static/", "/releases/", "/_modules/")), root, SPHINX_MAIN)


def conv_debian_reference(ex):
    root = f"{ex}/debian-reference-en"
    return _html_docs(_files(root, "**/*.en.html") or _files(root, "**/*.html"), root)


def conv_debian_handbook(ex):
    root = f"{ex}/debian-handbook"
    return _html_docs(_files(root, "**/en-US/**/*.html"), root)


def conv_debian_policy(ex):
    root = f"{ex}/debian-policy"
    return _html_docs(_files(root, "**/policy/*.html", ("genindex", "search.html")) or
                      _files(root, "**/*.html", ("genindex", "search.html", "/_static/")), root, SPHINX_MAIN)


def conv_developers_reference(ex):
    root = f"{ex}/developers-reference"
    return _html_docs(_files(root, "**/*.html", ("genindex", "search.html", "/_static/", "/de/", "/fr/",
                                                 "/it/", "/ja/", "/ru/")), root, SPHINX_MAIN)


def conv_postgresql_doc(ex):
    root = f"{ex}/postgresql-doc-15"
    return _html_docs(_files(root, "**/*.html", ("/release-", "bookindex")), root)


def conv_sqlite_doc(ex):
    root = f"{ex}/sqlite3-doc"
    return _html_docs(_files(root, "**/*.html", ("/releaselog/", "changes.html", "chronology", "/c3ref/",
                                                 "doclist.html", "sitemap")), root)


RUST_BOOKS = ("book", "rust-by-example", "reference", "nomicon", "embedded-book", "edition-guide", "rustc",
              "rustdoc", "std")


def conv_rust_doc(ex):
    root = f"{ex}/rust-doc/usr/share/doc/rust-doc/html"
    paths = []
    for b in RUST_BOOKS:
        paths += _files(root, f"{b}/**/*.html", ("print.html", "/toc.html", "all.html", "index.html",
                                                 "/FontAwesome/", "sidebar-items", "/searchindex"))
    # rustdoc API pages: only the module, struct, trait, enum and macro pages, main section only
    return _html_docs(paths, root, r'<main|<section id="main-content"|<div id="content"')


def conv_git_doc(ex):
    root = f"{ex}/git-doc/usr/share/doc/git/html"
    if not os.path.isdir(root):
        root = f"{ex}/git-doc"
    return _html_docs(_files(root, "**/*.html", ("RelNotes",)), root)


def conv_bash_doc(ex):
    root = f"{ex}/bash-doc"
    return _html_docs(_files(root, "**/bashref.html") + _files(root, "**/bash.html"), root)


def conv_pylib(ex, pkg):
    root = f"{ex}/{pkg}"
    return _html_docs(_files(root, "**/*.html", ("/_sources/", "/_static/", "genindex", "search.html", "modindex",
                                                 "/_modules/", "/_images/", "/_downloads/", "/whatsnew/",
                                                 "/release", "/changelog", "/changes.html")), root, SPHINX_MAIN)


def conv_jargon(ex):
    root = f"{ex}/jargon-text"
    return [("jargon.txt", ("gztext", f"{root}/usr/share/doc/jargon-text/jargon.txt.gz", None))]


def conv_perl_doc(ex):
    root = f"{ex}/perl-doc"
    return [(os.path.relpath(p, root), ("pod", p, None)) for p in _files(root, "**/*.pod") +
            _files(root, "**/*.pod.gz")]


def _copyright_files_with_licence(path, licence):
    """Paths listed in the Files: fields of the machine-readable copyright stanzas whose License: names
    the given licence."""
    out = set()
    for stanza in re.split(r"\n\s*\n", open(path, encoding="utf-8", errors="replace").read()):
        m = re.search(r"^Files:(.*?)(?=^\S)", stanza + "\nX", re.M | re.S)
        lic = re.search(r"^License:\s*(.*)$", stanza, re.M)
        if m and lic and licence in lic.group(1):
            out.update(m.group(1).split())
    return out


def conv_manpages(ex):
    """Man pages of the Linux man-pages project, except those under the 4-clause BSD licence (its
    advertising clause is incompatible with the GPL-2 that the model's weights are released under)."""
    out = []
    # manpages-dev's doc folder is a link to manpages': one copyright file for both
    excluded = _copyright_files_with_licence(f"{ex}/manpages/usr/share/doc/manpages/copyright", "BSD-4-clause")
    for pkg in ("manpages", "manpages-dev"):
        root = f"{ex}/{pkg}"
        for p in _files(root, "usr/share/man/man*/*.gz"):
            rel = "/".join(p.split("/")[-2:])[:-3]            # man2/accept.2
            if rel not in excluded:
                out.append((os.path.relpath(p, ex), ("man", p, None)))
    return out


def conv_gcide(ex):
    return [("gcide", ("dictd", f"{ex}/dict-gcide/usr/share/dictd/gcide", None))]


def conv_devil(ex):
    return [("devil", ("dictd", f"{ex}/dict-devil/usr/share/dictd/devil", None))]


def conv_wordnet(ex):
    return [("wordnet", ("wordnet", f"{ex}/wordnet-base/usr/share/wordnet", None))]


def conv_kjv(ex):
    return [("kjv", ("kjv", ex, None))]


def conv_austen(ex):
    return [("austen", ("austen", f"{ex}/r-cran-janeaustenr/usr/lib/R/site-library/janeaustenr/data", None))]


# ---- converters that produce several documents from one input ----

def man_to_text(path):
    # no hyphenation, left-adjusted, very long lines (paragraphs stay on one line)
    r = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-P-cbou", "-rHY=0", "-dAD=l", "-rLL=3000n",
                        "-rcR=1"], input=gzip.decompress(open(path, "rb").read()),
                       capture_output=True, timeout=60)
    text = r.stdout.decode("utf-8", errors="replace")
    lines = text.split("\n")
    # drop the running header/footer lines ("LS(1)   User Commands   LS(1)")
    lines = [ln for ln in lines if not re.match(r"^\S+\(\d\w*\)\s{3,}.*\s{3,}\S+\(\d\w*\)\s*$", ln)
             and not re.match(r"^(Linux man-pages|GNU|Linux)\s.*\s{3,}\S+\(\d\w*\)\s*$", ln)]
    out = []
    for ln in lines:
        n = len(ln) - len(ln.lstrip(" "))
        out.append(" " * min(max(0, n - 7), 8) + ln.lstrip(" "))   # base indent of 7 removed, deeper capped
    text = "\n".join(out)
    # the colophon every page of the Linux man-pages project ends with
    text = re.sub(r"\nCOLOPHON\n.*", "", text, flags=re.S)
    return re.sub(r"([.!?:;,])  +(?=\S)", r"\1 ", text)       # groff's two spaces after a sentence


def pod_to_text(path):
    data = open(path, "rb").read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    r = subprocess.run(["pod2text", "--utf8", "-w", "3000", "-i", "0"], input=data, capture_output=True,
                       timeout=60)
    return r.stdout.decode("utf-8", errors="replace")


def dictd_docs(base):
    """dictd database: entries in the .dict.dz (a gzip file) addressed by the .index; consecutive entries
    grouped into documents of about 8 KB."""
    data = gzip.open(base + ".dict.dz").read()
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    dec = lambda s: sum(b64.index(c) * 64 ** i for i, c in enumerate(reversed(s)))
    seen, entries = set(), []
    for line in open(base + ".index", encoding="utf-8", errors="replace"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
            continue
        off, ln = dec(parts[1]), dec(parts[2])
        if (off, ln) in seen:
            continue
        seen.add((off, ln))
        entries.append((off, ln))
    entries.sort()
    docs, cur, size = [], [], 0
    for off, ln in entries:
        t = data[off:off + ln].decode("utf-8", errors="replace")
        t = re.sub(r"(?m)^\s*\[[^\]\n]{1,40}\]\s*$", "", t)          # [1913 Webster], [PJC], [WordNet 1.5]
        t = t.replace("{", "").replace("}", "")
        t = "\n".join(ln2.strip() for ln2 in t.split("\n"))
        t = re.sub(r" {2,}", " ", t)
        t = re.sub(r"\n{3,}", "\n\n", t).strip()
        if not t:
            continue
        cur.append(t)
        size += len(t)
        if size >= 8000:
            docs.append("\n\n".join(cur))
            cur, size = [], 0
    if cur:
        docs.append("\n\n".join(cur))
    return docs


def wordnet_docs(root):
    docs = []
    for pos, name in (("noun", "noun"), ("verb", "verb"), ("adj", "adjective"), ("adv", "adverb")):
        cur, size = [], 0
        for line in open(f"{root}/data.{pos}", encoding="utf-8", errors="replace"):
            if line.startswith("  ") or "|" not in line:
                continue
            head, gloss = line.split("|", 1)
            f = head.split()
            n = int(f[3], 16)
            words = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
            words = [re.sub(r"\([a-z]+\)$", "", w) for w in words]
            cur.append(f"{', '.join(words)} ({name}): {gloss.strip()}")
            size += len(cur[-1])
            if size >= 8000:
                docs.append("\n".join(cur))
                cur, size = [], 0
        if cur:
            docs.append("\n".join(cur))
    return docs


def kjv_docs(ex):
    prog = f"{ex}/bible-kjv/usr/bin/bible"
    r = subprocess.run([prog, "-l", "100000", "-p", f"{ex}/bible-kjv-text/usr/lib", "gen1:1-rev22:21"],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
    text = r.stdout.decode("utf-8", errors="replace")
    docs, cur = [], []
    for ln in text.split("\n"):
        if re.match(r"^[1-3]?\s?[A-Z][A-Za-z ]+ \d+$", ln.strip()) and not ln.startswith(" "):
            if cur:
                docs.append("\n".join(cur).strip())
            cur = [ln.strip(), ""]
        elif ln.strip():
            cur.append(ln.strip())
    if cur:
        docs.append("\n".join(cur).strip())
    return docs


# ---- R serialization (for the Jane Austen novels, stored as R character vectors) ----

class _RReader:
    """Minimal reader of R's XDR serialization format (versions 2 and 3): enough for character vectors,
    lists and their attributes."""

    def __init__(self, b):
        self.b, self.i, self.refs = b, 0, []

    def int(self):
        v = struct.unpack(">i", self.b[self.i:self.i + 4])[0]
        self.i += 4
        return v

    def header(self):
        assert self.b[:2] == b"X\n", "not an XDR R serialization"
        self.i = 2
        version = self.int()
        self.int()
        self.int()
        if version == 3:
            n = self.int()
            self.i += n

    def obj(self):
        flags = self.int()
        typ = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if typ == 254:                      # NILVALUE
            return None
        if typ in (242, 251, 253):          # EMPTYENV, BASEENV, GLOBALENV... as markers
            return None
        if typ == 255:                      # REFSXP
            return self.refs[(flags >> 8) - 1]
        if typ == 1:                        # SYMSXP
            s = self.obj()
            self.refs.append(s)
            return s
        if typ == 9:                        # CHARSXP
            n = self.int()
            if n == -1:
                return None
            s = self.b[self.i:self.i + n].decode("utf-8", errors="replace")
            self.i += n
            return s
        if typ in (2, 6):                   # LISTSXP / LANGSXP: attr?, tag?, car, cdr
            attr = self.obj() if has_attr else None
            tag = self.obj() if has_tag else None
            car = self.obj()
            cdr = self.obj()
            return [(tag, car)] + (cdr if isinstance(cdr, list) else [])
        if typ == 16:                       # STRSXP
            n = self.int()
            v = [self.obj() for _ in range(n)]
        elif typ == 19:                     # VECSXP
            n = self.int()
            v = [self.obj() for _ in range(n)]
        elif typ in (10, 13):               # LGLSXP, INTSXP
            n = self.int()
            v = list(struct.unpack(f">{n}i", self.b[self.i:self.i + 4 * n]))
            self.i += 4 * n
        elif typ == 14:                     # REALSXP
            n = self.int()
            v = list(struct.unpack(f">{n}d", self.b[self.i:self.i + 8 * n]))
            self.i += 8 * n
        else:
            raise ValueError(f"unsupported R type {typ}")
        if has_attr:
            attrs = self.obj()
            return {"value": v, "attributes": dict(attrs or [])}
        return v


def _r_unserialize(b):
    r = _RReader(b)
    r.header()
    return r.obj()


def austen_docs(datadir):
    """The package's lazy-load database: Rdata.rdx (an index: compressed serialized list of
    variables -> [offset, length]) and Rdata.rdb (records: 4-byte length + zlib stream)."""
    rdx_raw = open(f"{datadir}/Rdata.rdx", "rb").read()
    idx = _r_unserialize(gzip.decompress(rdx_raw) if rdx_raw[:2] == b"\x1f\x8b" else
                         zlib.decompress(rdx_raw[4:]))
    idx = idx["value"] if isinstance(idx, dict) else idx
    names = None
    # idx is a named list (variables, references, compressed); the first element maps names -> offsets
    variables = idx[0]
    if isinstance(variables, dict):
        names = variables["attributes"].get("names")
        variables = variables["value"]
    rdb = open(f"{datadir}/Rdata.rdb", "rb").read()
    docs = []
    for name, loc in zip(names, variables):
        off, ln = int(loc[0]), int(loc[1])
        rec = rdb[off:off + ln]
        obj = _r_unserialize(zlib.decompress(rec[4:]))
        vals = obj["value"] if isinstance(obj, dict) else obj
        if not vals or not all(isinstance(x, str) or x is None for x in vals):
            continue
        lines = [x or "" for x in vals]
        # one string per printed line; blank strings separate paragraphs: unwrap paragraphs
        paras, cur = [], []
        for ln2 in lines:
            if ln2.strip():
                cur.append(ln2.strip())
            elif cur:
                paras.append(" ".join(cur))
                cur = []
        if cur:
            paras.append(" ".join(cur))
        # cut into chapters
        chap = []
        for p in paras:
            if re.match(r"^(CHAPTER|Chapter)\s+[0-9IVXLC]+\b", p) and chap:
                docs.append((name, "\n\n".join(chap)))
                chap = []
            chap.append(p)
        if chap:
            docs.append((name, "\n\n".join(chap)))
    return docs


def run_job(job):
    """job = (source, key, (kind, path, extra)) -> list of (source, key, text)"""
    source, key, (kind, path, extra) = job
    try:
        if kind == "html":
            texts = [read_html(path, extra)]
        elif kind == "gztext":
            texts = [gzip.open(path).read().decode("utf-8", errors="replace")]
        elif kind == "man":
            texts = [man_to_text(path)]
        elif kind == "pod":
            texts = [pod_to_text(path)]
        elif kind == "dictd":
            texts = dictd_docs(path)
        elif kind == "wordnet":
            texts = wordnet_docs(path)
        elif kind == "kjv":
            texts = kjv_docs(path)
        elif kind == "austen":
            return [(source, f"{key}/{n}/{i}", clean(t)) for i, (n, t) in enumerate(austen_docs(path))]
        else:
            raise ValueError(kind)
    except Exception as e:       # a broken input file is reported and skipped, never silently kept
        print(f"  skipped {source}:{key}: {e}", file=sys.stderr)
        return []
    if len(texts) == 1:
        return [(source, key, clean(texts[0]))]
    return [(source, f"{key}/{i}", clean(t)) for i, t in enumerate(texts)]


def cut(text, limit=MAX_DOC_CHARS):
    """Cut a long document into parts of at most ~limit characters at paragraph boundaries."""
    if len(text) <= limit:
        return [text]
    parts, cur, size = [], [], 0
    for p in text.split("\n\n"):
        if size + len(p) > limit and cur:
            parts.append("\n\n".join(cur))
            cur, size = [], 0
        cur.append(p)
        size += len(p) + 2
    if cur:
        parts.append("\n\n".join(cur))
    return parts


def is_heldout(source, key):
    h = hashlib.sha256(f"{source}\0{key}".encode()).digest()
    return int.from_bytes(h[:8], "little") % 1000 < HELDOUT_PERMILLE


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=str(paths.DATA_DIR))
    ap.add_argument("--skip-download", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    debs, ex, outdir = f"{args.cache}/debs", f"{args.cache}/extract", f"{args.cache}/corpus"
    for d in (debs, ex, outdir):
        os.makedirs(d, exist_ok=True)

    packages = sorted({p for pk, _, _ in SOURCES.values() for p in pk})
    if not args.skip_download:
        subprocess.run(["apt-get", "download"] + packages, cwd=debs, check=True)
    versions = {}
    for p in packages:
        files = sorted(glob.glob(f"{debs}/{p}_*.deb"))
        if not files:
            sys.exit(f"missing {p}_*.deb in {debs}: run without --skip-download")
        versions[p] = os.path.basename(files[-1])
        if not os.path.isdir(f"{ex}/{p}"):
            subprocess.run(["dpkg-deb", "-x", files[-1], f"{ex}/{p}"], check=True)

    jobs = []
    for source, (_, _, conv) in SOURCES.items():
        it = conv_pylib(ex, conv.split(":", 1)[1]) if conv.startswith("pylib:") else globals()["conv_" + conv](ex)
        for key, spec in it:
            jobs.append((source, key, spec))
    print(f"{len(jobs)} input files", file=sys.stderr)
    with multiprocessing.Pool(args.jobs) as pool:
        results = pool.map(run_job, jobs, chunksize=8)

    stats = {s: {"packages": {p: versions[p] for p in SOURCES[s][0]}, "licence": SOURCES[s][1],
                 "raw_docs": 0, "dropped_short_or_not_english": 0, "dup_docs": 0, "dup_paras": 0,
                 "train_docs": 0, "train_chars": 0, "train_bytes": 0,
                 "heldout_docs": 0, "heldout_chars": 0, "heldout_bytes": 0} for s in SOURCES}
    seen_docs, seen_paras = set(), set()
    train, heldout = [], []
    for res in results:
        for source, key, text in res:
            st = stats[source]
            for pi, part in enumerate(cut(text)):
                st["raw_docs"] += 1
                # paragraph-level dedup of long paragraphs (licence notices, repeated boilerplate)
                paras, kept = part.split("\n\n"), []
                for p in paras:
                    if len(p) >= DEDUP_PARA_CHARS:
                        h = hashlib.sha1(re.sub(r"\s+", " ", p).encode()).digest()
                        if h in seen_paras:
                            st["dup_paras"] += 1
                            continue
                        seen_paras.add(h)
                    kept.append(p)
                part = "\n\n".join(kept).strip("\n")
                if len(part) < MIN_DOC_CHARS or not english_enough(part):
                    st["dropped_short_or_not_english"] += 1
                    continue
                h = hashlib.sha1(re.sub(r"\s+", " ", part).encode()).digest()
                if h in seen_docs:
                    st["dup_docs"] += 1
                    continue
                seen_docs.add(h)
                assert SEP not in part
                k = f"{key}#{pi}"
                split = "heldout" if is_heldout(source, k) else "train"
                (heldout if split == "heldout" else train).append((source, k, part))
                st[f"{split}_docs"] += 1
                st[f"{split}_chars"] += len(part)
                st[f"{split}_bytes"] += len(part.encode("utf-8"))

    for name, docs in (("train", train), ("heldout", heldout)):
        with open(f"{outdir}/{name}.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write(SEP.join(t for _, _, t in docs))
            f.write("\n")
        with open(f"{outdir}/{name}.keys", "w", encoding="utf-8") as f:
            for s, k, t in docs:
                f.write(f"{s}\t{k}\t{len(t)}\n")
    total = {k: sum(st[k] for st in stats.values()) for k in
             ("train_docs", "train_chars", "train_bytes", "heldout_docs", "heldout_chars", "heldout_bytes")}
    manifest = {"heldout_permille": HELDOUT_PERMILLE, "separator": "two blank lines (\\n\\n\\n)",
                "sources": stats, "total": total}
    with open(f"{outdir}/manifest.json", "w") as f:
        json.dump(manifest, f, indent=1)
    for s, st in stats.items():
        print(f"{s:22s} train {st['train_docs']:6d} docs {st['train_chars']/1e6:7.2f} M chars | held out "
              f"{st['heldout_docs']:5d} docs {st['heldout_chars']/1e6:6.2f} M chars | dup docs {st['dup_docs']}"
              f" dup paras {st['dup_paras']} dropped {st['dropped_short_or_not_english']}")
    print(f"TOTAL train {total['train_docs']} docs {total['train_chars']/1e6:.2f} M chars; held out "
          f"{total['heldout_docs']} docs {total['heldout_chars']/1e6:.2f} M chars")


if __name__ == "__main__":
    main()
