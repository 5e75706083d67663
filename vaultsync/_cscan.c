/* vaultsync._cscan: the C tokenizer of a note body, imported only by vaultsync/text/_native.py.
 *
 * One entry point, tokenize(text, start), gives the spans of what vaultsync/text/tokens.py's
 * tokenize_python gives (the reference; tests/test_cscan.py holds the two to the same output):
 * the constructs of the body after the first-starts-wins sweep, as positions only. It reads no
 * time, splits no link, resolves nothing and writes no JSON: vaultsync.text.scan does all that.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_ssize_t s, e, a, b;
    int kind;
} Item;

typedef struct {
    Item *v;
    Py_ssize_t n, cap;
} Vec;

static int vec_push(Vec *v, Item x) {
    if (v->n == v->cap) {
        Py_ssize_t cap = v->cap ? v->cap * 2 : 16;
        Item *grown = realloc(v->v, (size_t)cap * sizeof(Item));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        v->v = grown;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return 0;
}

static int by_start(const void *a, const void *b) {
    Py_ssize_t x = ((const Item *)a)->s, y = ((const Item *)b)->s;
    return (x > y) - (x < y);
}

/* The lists of the result, in tokens.TOKEN_KINDS order, and the sweep's ranks (tokens._R_*). */
enum { K_WIKI, K_ANCHOR, K_MDSTAMP, K_MD, K_TAG, K_BLOCK, K_HEAD, K_SKIP, K_HTML, K_COUNT };
enum { RANK_SKIP, RANK_HEAD, RANK_ANCHOR, RANK_HTML, RANK_WIKI, RANK_MD, RANK_TAG, RANK_BLOCK, RANK_MDSTAMP };
static const int rank_of[K_COUNT] = {RANK_WIKI, RANK_ANCHOR, RANK_MDSTAMP, RANK_MD, RANK_TAG,
                                     RANK_BLOCK, RANK_HEAD, RANK_SKIP, RANK_HTML};
/* Kinds of skipped regions, in tokens.REGION_KINDS order; R_ESC is a region but never reported. */
enum { R_FENCE, R_MBLOCK, R_HBLOCK, R_CODE, R_COMMENT, R_DMATH, R_MATH, R_INDENTED, R_ESC, R_HEAD };

/* re.IGNORECASE's folding of a character onto ASCII (Python's re folds these four too). */
static inline int fold(Py_UCS4 c) {
    if (c >= 'A' && c <= 'Z')
        return (int)(c + 32);
    if (c < 128)
        return (int)c;
    if (c == 0x130 || c == 0x131)
        return 'i';
    if (c == 0x17F)
        return 's';
    if (c == 0x212A)
        return 'k';
    return 0;
}

static const char *const BLOCK6[] = {
    "address", "article", "aside", "base", "basefont", "blockquote", "body", "caption", "center", "col",
    "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr",
    "html", "iframe", "legend", "li", "link", "main", "menu", "menuitem", "nav", "noframes", "ol",
    "optgroup", "option", "p", "param", "search", "section", "summary", "table", "tbody", "td", "tfoot",
    "th", "thead", "title", "tr", "track", "ul", NULL};
static const char *const RAW_TAGS[] = {"script", "pre", "style", "textarea", NULL};

static int in_list(const char *name, const char *const *list) {
    if (!name[0])
        return 0;
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}
static int is_block6(const char *name) { return in_list(name, BLOCK6); }
static int is_raw_tag(const char *name) { return in_list(name, RAW_TAGS); }

/* `[!-/:-@\[-`{-~]`: what a backslash escapes. */
static inline int is_punct(int c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

/* What the tag pattern's [^...] excludes: ASCII punctuation but - / _, whitespace, U+2000-U+206F,
 * U+2E00-U+2E7F. */
static inline int tag_excluded(Py_UCS4 c) {
    if (c < 128)
        return c != '-' && c != '/' && c != '_' && (Py_UNICODE_ISSPACE(c) || is_punct((int)c));
    return Py_UNICODE_ISSPACE(c) || (c >= 0x2000 && c <= 0x206F) || (c >= 0x2E00 && c <= 0x2E7F);
}

static char skip_trigger[128], any_trigger[128];

/* The characters tokenize stops at: those of the skip pass and those of the finders. */
#define SKIP_CHARS "`$\\~<"
#define TRIGGER_CHARS SKIP_CHARS "\n[]#^"
#define EACH_TRIGGER(X) X('`') X('$') X('\\') X('~') X('<') X('\n') X('[') X(']') X('#') X('^')

/* Which of the next 16 characters are triggers, a bit each: the main loop skips whole blocks
 * without any (most of a note's text). */
#if defined(__SSE2__)
#include <emmintrin.h>
static inline unsigned block_mask_1(const Py_UCS1 *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p), m = _mm_setzero_si128();
#define CMP(ch) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(ch)));
    EACH_TRIGGER(CMP)
#undef CMP
    return (unsigned)_mm_movemask_epi8(m);
}
/* 16 characters of 2 bytes, packed to bytes first: one above 255 becomes 255 (or 0 above 0x7FFF),
 * neither of them a trigger. */
static inline unsigned block_mask_2(const Py_UCS2 *p) {
    __m128i v = _mm_packus_epi16(_mm_loadu_si128((const __m128i *)p), _mm_loadu_si128((const __m128i *)(p + 8)));
    __m128i m = _mm_setzero_si128();
#define CMP(ch) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(ch)));
    EACH_TRIGGER(CMP)
#undef CMP
    return (unsigned)_mm_movemask_epi8(m);
}
enum { LANES_1 = 16, LANES_2 = 16 };
#else
static inline unsigned block_mask_1(const Py_UCS1 *p) { (void)p; return 0; }
static inline unsigned block_mask_2(const Py_UCS2 *p) { (void)p; return 0; }
enum { LANES_1 = 0, LANES_2 = 0 };
#endif
static inline unsigned block_mask_4(const Py_UCS4 *p) { (void)p; return 0; }
enum { LANES_4 = 0 };

static const char ANCHOR_PREFIX[] = "<a class=\"yt-timestamp\" data-t=\"";
enum { ANCHOR_PREFIX_LEN = sizeof ANCHOR_PREFIX - 1 };

/* The first-starts-wins sweep (tokens._sweep): drops every item that starts inside a kept one. */
typedef struct {
    Py_ssize_t s, e;
    int rank, list;
    Py_ssize_t index;
} Cand;

static int by_cand(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->s != y->s)
        return (x->s > y->s) - (x->s < y->s);
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return (x->e > y->e) - (x->e < y->e);
}

static int sweep_all(Vec *v, Py_ssize_t start) {
    Py_ssize_t total = 0;
    for (int k = 0; k < K_COUNT; k++)
        total += v[k].n;
    Cand *c = malloc((size_t)(total ? total : 1) * sizeof(Cand));
    if (c == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t m = 0;
    for (int k = 0; k < K_COUNT; k++)
        for (Py_ssize_t i = 0; i < v[k].n; i++) {
            Item *x = &v[k].v[i];
            c[m++] = (Cand){x->s, x->e, rank_of[k], k, i};
            if (k != K_SKIP)
                x->kind = -1; /* dropped unless the sweep keeps it */
        }
    qsort(c, (size_t)m, sizeof(Cand), by_cand);
    Py_ssize_t cursor = start;
    for (Py_ssize_t i = 0; i < m; i++) {
        if (c[i].s >= cursor) {
            cursor = c[i].e;
            if (c[i].list != K_SKIP)
                v[c[i].list].v[c[i].index].kind = 0;
        }
    }
    free(c);
    for (int k = 0; k < K_COUNT; k++) {
        if (k == K_SKIP)
            continue;
        Py_ssize_t w = 0;
        for (Py_ssize_t i = 0; i < v[k].n; i++)
            if (v[k].v[i].kind != -1)
                v[k].v[w++] = v[k].v[i];
        v[k].n = w;
    }
    return 0;
}

/* A tuple of n ints (PyTuple_Pack and Py_BuildValue cost more: a format to parse, a call each). */
static PyObject *ints(int n, Py_ssize_t x0, Py_ssize_t x1, Py_ssize_t x2, Py_ssize_t x3) {
    PyObject *t = PyTuple_New(n);
    if (t == NULL)
        return NULL;
    Py_ssize_t xs[4] = {x0, x1, x2, x3};
    for (int k = 0; k < n; k++) {
        PyObject *v = PyLong_FromSsize_t(xs[k]);
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, k, v);
    }
    return t;
}

static PyObject *item_tuple(const Item *x, int k) {
    switch (k) {
    case K_ANCHOR:
        return ints(3, x->s, x->e, x->a, 0);
    case K_MDSTAMP:
        return ints(4, x->s, x->e, x->a, x->b);
    case K_HEAD:
        return ints(4, x->s, x->a, x->e, x->b);
    case K_SKIP:
        return ints(3, x->kind, x->s, x->e, 0);
    default:
        return ints(2, x->s, x->e, 0, 0);
    }
}

/* (wikis, anchors, md_stamps, md_links, tags, blocks, headings, skipped): see tokens.Tokens. */
static PyObject *build_result(Vec *v) {
    PyObject *out = PyTuple_New(K_SKIP + 1);
    if (out == NULL)
        return NULL;
    qsort(v[K_SKIP].v, (size_t)v[K_SKIP].n, sizeof(Item), by_start);
    for (int k = 0; k <= K_SKIP; k++) {
        Py_ssize_t count = 0;
        for (Py_ssize_t i = 0; i < v[k].n; i++)
            count += !(k == K_SKIP && v[k].v[i].kind == R_ESC);
        PyObject *list = PyList_New(count);
        if (list == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, k, list);
        for (Py_ssize_t i = 0, w = 0; i < v[k].n; i++) {
            if (k == K_SKIP && v[k].v[i].kind == R_ESC)
                continue;
            PyObject *t = item_tuple(&v[k].v[i], k);
            if (t == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyList_SET_ITEM(list, w++, t);
        }
    }
    return out;
}

/* The string literal lit at s[i:] (s of n code units), in the tokenizer of the width being compiled. */
#define AT(s, n, i, lit) FN(at)((s), (n), (i), (lit), (Py_ssize_t)sizeof(lit) - 1)

#define CH Py_UCS1
#define FN(name) name##_1
#include "_cscan_tokens.h"
#undef CH
#undef FN
#undef FIND

#define CH Py_UCS2
#define FN(name) name##_2
#include "_cscan_tokens.h"
#undef CH
#undef FN
#undef FIND

#define CH Py_UCS4
#define FN(name) name##_4
#include "_cscan_tokens.h"
#undef CH
#undef FN
#undef FIND

static PyObject *tokenize(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "Un:tokenize", &text, &start))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (start < 0 || start > n) {
        PyErr_SetString(PyExc_ValueError, "start out of range");
        return NULL;
    }
    const void *data = PyUnicode_DATA(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return tokenize_1(data, n, start);
    case PyUnicode_2BYTE_KIND:
        return tokenize_2(data, n, start);
    default:
        return tokenize_4(data, n, start);
    }
}

static PyMethodDef methods[] = {
    {"tokenize", tokenize, METH_VARARGS,
     "tokenize(text, start) -> (wikis, anchors, md_stamps, md_links, tags, blocks, headings, skipped); "
     "see vaultsync.text.tokens"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cscan(void) {
    for (const char *p = SKIP_CHARS; *p; p++)
        skip_trigger[(unsigned char)*p] = 1;
    for (const char *p = TRIGGER_CHARS; *p; p++)
        any_trigger[(unsigned char)*p] = 1;
    return PyModule_Create(&module);
}
