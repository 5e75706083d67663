/* vaultsync._cscan: the index's scanner fast path, in C.
 *
 * scan_index(text, start) reads a note body once and returns what vaultsync.indexing stores for
 * it, exactly as vaultsync.scan.scan_body + indexing.note_rows would compute it, or None when the
 * body holds anything beyond the common shapes (code, math, escapes, other HTML, markdown links,
 * tags, block ids, indented code, a BOM): the Python scanner then does the whole note. Every
 * check here errs towards None; tests compare both paths on generated and real notes.
 *
 * The scanner itself lives in _cscan_scan.h, compiled once per string width (1, 2, 4 bytes).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *parse_inner_cb = NULL; /* scan.parse_wikilink_inner */
static PyObject *parse_clock_cb = NULL; /* scan.parse_clock */
/* for index_text: parse._digit_plain, names.clean_string and str.strip */
static PyObject *digit_plain_cb = NULL, *clean_string_cb = NULL, *strip_cb = NULL;
static PyObject *s_wiki, *s_embed, *s_empty;
/* for scan_objects: model.Link, model.Timestamp, model.Heading and the enum members it uses */
static PyObject *t_link, *t_timestamp, *t_heading, *k_wiki, *k_embed, *k_html, *k_markdown;

/* A new instance of a NamedTuple class, as tuple.__new__ makes it; steals the item references
 * and fails (releasing them) when one is NULL. */
static PyObject *record(PyObject *type, Py_ssize_t n, PyObject **items) {
    PyObject *r = NULL;
    for (Py_ssize_t k = 0; k < n; k++)
        if (items[k] == NULL)
            goto fail;
    r = ((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, n);
    if (r == NULL)
        goto fail;
    for (Py_ssize_t k = 0; k < n; k++)
        PyTuple_SET_ITEM(r, k, items[k]);
    return r;
fail:
    for (Py_ssize_t k = 0; k < n; k++)
        Py_XDECREF(items[k]);
    return NULL;
}

static PyObject *span(Py_ssize_t a, Py_ssize_t b) { return Py_BuildValue("(nn)", a, b); }

/* -- growable arrays -------------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t s, e;   /* span */
    Py_ssize_t a0, a1; /* anchor: data-t; stamp: label; wikilink: inner text */
    Py_ssize_t b0, b1; /* anchor: label; stamp: video id */
    long long t;       /* stamp: seconds; wikilink: 1 when an embed; heading: level */
} Item;

typedef struct {
    Item *v;
    Py_ssize_t n, cap;
} Items;

/* What one pass over a body found. */
typedef struct {
    Items anchors, stamps, wikis, heads;
} Found;

static void found_free(Found *f) {
    PyMem_Free(f->anchors.v);
    PyMem_Free(f->stamps.v);
    PyMem_Free(f->wikis.v);
    PyMem_Free(f->heads.v);
}

static int grow_to(void **v, Py_ssize_t *cap, Py_ssize_t need, Py_ssize_t first, size_t size);

/* Make room for `need` elements of `size` bytes in *v (capacity *cap, doubling from `first`). */
static inline int grow(void **v, Py_ssize_t *cap, Py_ssize_t need, Py_ssize_t first, size_t size) {
    return need <= *cap ? 0 : grow_to(v, cap, need, first, size);
}

static int grow_to(void **v, Py_ssize_t *cap, Py_ssize_t need, Py_ssize_t first, size_t size) {
    Py_ssize_t n = *cap ? *cap : first;
    while (n < need)
        n *= 2;
    void *p = PyMem_Realloc(*v, (size_t)n * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *v = p;
    *cap = n;
    return 0;
}

static inline int items_push(Items *it, Item x) {
    if (grow((void **)&it->v, &it->cap, it->n + 1, 64, sizeof(Item)) < 0)
        return -1;
    it->v[it->n++] = x;
    return 0;
}

/* -- a text buffer for the JSON we write ------------------------------------------------------
 * One byte per character until a character above U+00FF must go in (a link or heading in such a
 * script), then four: most JSON here is ASCII, and its str is then one copy of the bytes. */

typedef struct {
    void *v;           /* Py_UCS1 units, or Py_UCS4 units once wide */
    Py_ssize_t n, cap; /* in units */
    int wide;
} Buf;

#define BUF_INIT {NULL, 0, 0, 0}

static inline int buf_reserve(Buf *b, Py_ssize_t extra) {
    return grow(&b->v, &b->cap, b->n + extra, 1024, b->wide ? sizeof(Py_UCS4) : sizeof(Py_UCS1));
}

/* Switch to four bytes a character, keeping the text and the capacity. */
static int buf_widen(Buf *b) {
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    Py_UCS4 *w = PyMem_Malloc((size_t)cap * sizeof(Py_UCS4));
    if (w == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    const Py_UCS1 *v = b->v;
    for (Py_ssize_t i = 0; i < b->n; i++)
        w[i] = v[i];
    PyMem_Free(b->v);
    b->v = w;
    b->cap = cap;
    b->wide = 1;
    return 0;
}

/* One character; the caller has reserved room, and widened the buffer for one above U+00FF. */
static inline void buf_unit(Buf *b, Py_UCS4 c) {
    if (b->wide)
        ((Py_UCS4 *)b->v)[b->n++] = c;
    else
        ((Py_UCS1 *)b->v)[b->n++] = (Py_UCS1)c;
}

static inline int buf_chars(Buf *b, const char *s, Py_ssize_t len) {
    if (buf_reserve(b, len) < 0)
        return -1;
    if (!b->wide) {
        memcpy((Py_UCS1 *)b->v + b->n, s, (size_t)len);
        b->n += len;
        return 0;
    }
    for (Py_ssize_t i = 0; i < len; i++)
        buf_unit(b, (unsigned char)s[i]);
    return 0;
}

#define buf_ascii(b, lit) buf_chars((b), (lit), (Py_ssize_t)sizeof(lit) - 1)

/* x in decimal at out (room for 20 characters); returns the length. */
static inline int decimal(char *out, long long x) {
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0)
        *--p = '-';
    memcpy(out, p, (size_t)(e - p));
    return (int)(e - p);
}

static inline int buf_int(Buf *b, long long x) {
    if (b->wide) {
        char tmp[24];
        return buf_chars(b, tmp, decimal(tmp, x));
    }
    if (buf_reserve(b, 24) < 0)
        return -1;
    b->n += decimal((char *)b->v + b->n, x); /* straight into the byte buffer */
    return 0;
}

/* One character of a JSON string, escaped as json.dumps(ensure_ascii=False) does; the caller
 * has reserved 6 slots (and widened the buffer for a character above U+00FF). */
static inline void buf_json_char(Buf *b, Py_UCS4 c) {
    const char *esc = NULL;
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
        if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            buf_unit(b, '\\');
            buf_unit(b, 'u');
            buf_unit(b, '0');
            buf_unit(b, '0');
            buf_unit(b, (Py_UCS4)hex[c >> 4]);
            buf_unit(b, (Py_UCS4)hex[c & 15]);
            return;
        }
        buf_unit(b, c);
        return;
    }
    buf_unit(b, (Py_UCS4)esc[0]);
    buf_unit(b, (Py_UCS4)esc[1]);
}

/* Room for a JSON string of n characters of at most `max`: reserved, and widened if needed. */
static int buf_room(Buf *b, Py_ssize_t n, Py_UCS4 max) {
    if (max > 0xFF && !b->wide && buf_widen(b) < 0)
        return -1;
    return buf_reserve(b, 2 + 6 * n);
}

/* The buffer's text as a str, or NULL when writing it failed (ok < 0); frees the buffer. */
static PyObject *buf_take(Buf *b, int ok) {
    PyObject *r = NULL;
    if (ok >= 0)
        r = PyUnicode_FromKindAndData(b->wide ? PyUnicode_4BYTE_KIND : PyUnicode_1BYTE_KIND, b->v, b->n);
    PyMem_Free(b->v);
    b->v = NULL;
    return r;
}

/* JSON for a Python int, or null for None; consumes the reference. */
static int buf_pyint(Buf *b, PyObject *v) {
    if (v == Py_None) {
        Py_DECREF(v);
        return buf_ascii(b, "null");
    }
    long long x = PyLong_AsLongLong(v);
    Py_DECREF(v);
    if (x == -1 && PyErr_Occurred())
        return -1;
    return buf_int(b, x);
}

/* A Python str as a JSON string, escaped as json.dumps(ensure_ascii=False) does. */
static int buf_json_str(Buf *b, PyObject *str) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(str);
    int kind = PyUnicode_KIND(str);
    const void *d = PyUnicode_DATA(str);
    if (buf_room(b, n, kind == PyUnicode_1BYTE_KIND ? 0xFF : 0x10FFFF) < 0)
        return -1;
    buf_unit(b, '"');
    for (Py_ssize_t i = 0; i < n; i++)
        buf_json_char(b, PyUnicode_READ(kind, d, i));
    buf_unit(b, '"');
    return 0;
}

/* -- link resolution, for index_note ------------------------------------------------------------ */

static PyObject *one; /* the int 1 */

/* Where a note's links are resolved: indexing.LinkResolver's memos and its miss(). */
typedef struct {
    PyObject *src_id, *memo, *shared, *miss, *uri, *folder;
} Resolve;

/* (dest id or None, candidates, link key) for a link target, as a new reference: the empty
 * target is the note itself; else the folder's memo, the shared memo, or miss(target, uri, folder). */
static PyObject *resolve_target(Resolve *r, PyObject *target) {
    if (PyUnicode_GET_LENGTH(target) == 0)
        return PyTuple_Pack(3, r->src_id, one, s_empty);
    PyObject *got = PyDict_GetItemWithError(r->memo, target);
    if (got == NULL && !PyErr_Occurred())
        got = PyDict_GetItemWithError(r->shared, target);
    if (got != NULL) {
        Py_INCREF(got);
    } else {
        if (PyErr_Occurred())
            return NULL;
        got = PyObject_CallFunctionObjArgs(r->miss, target, r->uri, r->folder, NULL);
        if (got == NULL)
            return NULL;
    }
    if (!PyTuple_Check(got) || PyTuple_GET_SIZE(got) != 3) {
        Py_DECREF(got);
        PyErr_SetString(PyExc_TypeError, "a resolution must be a (dest, candidates, key) tuple");
        return NULL;
    }
    return got;
}

/* What an entry point returns when collect() found nothing to answer with: None when the fast
 * path declined the body (found == 0), NULL when an error is set (found < 0). */
static PyObject *declined(int found) {
    if (found < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* parse_wikilink_inner(text[a:z]) in Python, for a link that is not ASCII: a new reference to
 * a (path, subpath, display) tuple or to None, or NULL on an error. */
static PyObject *parsed_inner(PyObject *text, Py_ssize_t a, Py_ssize_t z) {
    PyObject *inner = PyUnicode_Substring(text, a, z);
    if (inner == NULL)
        return NULL;
    PyObject *parsed = PyObject_CallOneArg(parse_inner_cb, inner);
    Py_DECREF(inner);
    if (parsed != NULL && parsed != Py_None && (!PyTuple_Check(parsed) || PyTuple_GET_SIZE(parsed) != 3)) {
        Py_DECREF(parsed);
        PyErr_SetString(PyExc_TypeError, "parse_wikilink_inner must return a 3-tuple or None");
        return NULL;
    }
    return parsed;
}

/* Characters of JavaScript's trim() below 128: \t \n \v \f \r and space. */
static inline int js_space(Py_UCS4 c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* What the tag pattern's [^...] excludes: ASCII punctuation but - / _, whitespace, U+2000-U+206F,
 * U+2E00-U+2E7F. */
static inline int tag_excluded(Py_UCS4 c) {
    if (c < 128)
        return c != '-' && c != '/' && c != '_' && (Py_UNICODE_ISSPACE(c) || (c >= '!' && c <= '/') ||
                                                      (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
                                                      (c >= '{' && c <= '~'));
    return Py_UNICODE_ISSPACE(c) || (c >= 0x2000 && c <= 0x206F) || (c >= 0x2E00 && c <= 0x2E7F);
}

/* ASCII characters the scanner's main loop stops at. */
static char special[128];

/* Which of the next 16 characters of text are one of the special characters, a bit each. The main
 * loop skips whole blocks without any. */
#define SPECIAL_CHARS(X) X('\n') X('<') X('[') X(']') X('#') X('~') X('`') X('$') X('\\') X('^')
#if defined(__SSE2__)
#include <emmintrin.h>
static inline unsigned block_mask_1(const Py_UCS1 *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p), m = _mm_setzero_si128();
#define CMP(ch) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(ch)));
    SPECIAL_CHARS(CMP)
#undef CMP
    return (unsigned)_mm_movemask_epi8(m);
}
/* 16 characters of 2 bytes, packed to bytes first: one above 255 becomes 255 (or 0 above 0x7FFF),
 * neither of them special; a bit per character. */
static inline unsigned block_mask_2(const Py_UCS2 *p) {
    __m128i v = _mm_packus_epi16(_mm_loadu_si128((const __m128i *)p), _mm_loadu_si128((const __m128i *)(p + 8)));
    __m128i m = _mm_setzero_si128();
#define CMP(ch) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(ch)));
    SPECIAL_CHARS(CMP)
#undef CMP
    return (unsigned)_mm_movemask_epi8(m);
}
enum { LANES_1 = 16, LANES_2 = 16 };
#else
static inline unsigned block_mask_1(const Py_UCS1 *p) { (void)p; return 1; }
static inline unsigned block_mask_2(const Py_UCS2 *p) { (void)p; return 1; }
enum { LANES_1 = 0, LANES_2 = 0 };
#endif
static inline unsigned block_mask_4(const Py_UCS4 *p) { (void)p; return 1; }
enum { LANES_4 = 0 };

/* -- the frontmatter, for index_text ------------------------------------------------------------ */

/* A `key: value` line of a frontmatter: the key s[k0:k1], the value s[v0:v1]. */
typedef struct {
    Py_ssize_t k0, k1, v0, v1;
} FmLine;

enum { FM_MAX_LINES = 32 }; /* a longer frontmatter goes to the Python parser */

/* ASCII characters that may start a plain value (parse._SIMPLE_LINE), set up by PyInit. */
static char fm_first_ascii[128];

static inline int fm_first_char(Py_UCS4 c) { return c < 128 ? fm_first_ascii[c] : !Py_UNICODE_ISSPACE(c); }

/* How every timestamp anchor of the fixtures' notes starts (vaultsync.scan._ANCHOR_FAST). */
static const char ANCHOR_PREFIX[] = "<a class=\"yt-timestamp\" data-t=\"";
enum { ANCHOR_PREFIX_LEN = sizeof ANCHOR_PREFIX - 1 };

/* The string literal lit at s[i:] (s of n code units), in the scanner of the width being compiled. */
#define AT(s, n, i, lit) FN(at)((s), (n), (i), (lit), (Py_ssize_t)sizeof(lit) - 1)

#define CH Py_UCS1
#define FN(name) name##_1
#include "_cscan_scan.h"
#undef CH
#undef FN

#define CH Py_UCS2
#define FN(name) name##_2
#include "_cscan_scan.h"
#undef CH
#undef FN

#define CH Py_UCS4
#define FN(name) name##_4
#include "_cscan_scan.h"
#undef CH
#undef FN

typedef PyObject *(*scanner)(PyObject *, const void *, Py_ssize_t, Py_ssize_t);

/* The checks every entry point makes: configured, and start within the text; 0 or -1. */
static int check_text(PyObject *text, Py_ssize_t start) {
    if (t_link == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_cscan.configure() was not called");
        return -1;
    }
    if (start < 0 || start > PyUnicode_GET_LENGTH(text)) {
        PyErr_SetString(PyExc_ValueError, "start out of range");
        return -1;
    }
    return 0;
}

static PyObject *dispatch(PyObject *args, const char *fmt, scanner f1, scanner f2, scanner f4) {
    PyObject *text;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, fmt, &text, &start) || check_text(text, start) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    void *data = PyUnicode_DATA(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return f1(text, data, n, start);
    case PyUnicode_2BYTE_KIND:
        return f2(text, data, n, start);
    default:
        return f4(text, data, n, start);
    }
}

static PyObject *scan_index(PyObject *self, PyObject *args) {
    return dispatch(args, "Un:scan_index", (scanner)scan_1, (scanner)scan_2, (scanner)scan_4);
}

static PyObject *index_note(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_ssize_t start;
    Resolve r;
    if (!PyArg_ParseTuple(args, "UnO!O!O!OUU:index_note", &text, &start, &PyLong_Type, &r.src_id, &PyDict_Type, &r.memo,
                          &PyDict_Type, &r.shared, &r.miss, &r.uri, &r.folder) ||
        check_text(text, start) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    void *data = PyUnicode_DATA(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return index_note_1(text, data, n, start, &r);
    case PyUnicode_2BYTE_KIND:
        return index_note_2(text, data, n, start, &r);
    default:
        return index_note_4(text, data, n, start, &r);
    }
}

static PyObject *index_text(PyObject *self, PyObject *args) {
    PyObject *text;
    Resolve r;
    if (!PyArg_ParseTuple(args, "UO!O!O!OUU:index_text", &text, &PyLong_Type, &r.src_id, &PyDict_Type, &r.memo,
                          &PyDict_Type, &r.shared, &r.miss, &r.uri, &r.folder) ||
        check_text(text, 0) < 0)
        return NULL;
    if (digit_plain_cb == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_cscan.configure_frontmatter() was not called");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    void *data = PyUnicode_DATA(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return index_text_1(text, data, n, &r);
    case PyUnicode_2BYTE_KIND:
        return index_text_2(text, data, n, &r);
    default:
        return index_text_4(text, data, n, &r);
    }
}

static PyObject *configure_frontmatter(PyObject *self, PyObject *args) {
    PyObject *o[3];
    if (!PyArg_ParseTuple(args, "OOO:configure_frontmatter", &o[0], &o[1], &o[2]))
        return NULL;
    PyObject **slots[3] = {&digit_plain_cb, &clean_string_cb, &strip_cb};
    for (int k = 0; k < 3; k++) {
        Py_INCREF(o[k]);
        Py_XSETREF(*slots[k], o[k]);
    }
    Py_RETURN_NONE;
}

static PyObject *scan_to_normalize(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_ssize_t start;
    int always;
    if (!PyArg_ParseTuple(args, "Unp:scan_to_normalize", &text, &start, &always) || check_text(text, start) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    void *data = PyUnicode_DATA(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return objects_1(text, data, n, start, always);
    case PyUnicode_2BYTE_KIND:
        return objects_2(text, data, n, start, always);
    default:
        return objects_4(text, data, n, start, always);
    }
}

static PyObject *scan_objects(PyObject *self, PyObject *args) {
    return dispatch(args, "Un:scan_objects", (scanner)scan_objects_1, (scanner)scan_objects_2, (scanner)scan_objects_4);
}

/* group(groups, keys, value): for each key, groups.setdefault(key, []).append(value). */
static PyObject *group(PyObject *self, PyObject *args) {
    PyObject *groups, *keys, *value;
    if (!PyArg_ParseTuple(args, "O!OO:group", &PyDict_Type, &groups, &keys, &value))
        return NULL;
    PyObject *seq = PySequence_Fast(keys, "keys must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *list = PyDict_GetItemWithError(groups, items[k]);
        if (list == NULL) {
            if (PyErr_Occurred() || (list = PyList_New(0)) == NULL)
                goto fail;
            int bad = PyDict_SetItem(groups, items[k], list) < 0;
            Py_DECREF(list); /* the dict holds it */
            if (bad)
                goto fail;
        }
        if (!PyList_Check(list)) {
            PyErr_SetString(PyExc_TypeError, "group values must be lists");
            goto fail;
        }
        if (PyList_Append(list, value) < 0)
            goto fail;
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
fail:
    Py_DECREF(seq);
    return NULL;
}

/* json_ids(ints): the JSON array of a sequence of ints, as json.dumps writes it ("[1, 2]"). */
static PyObject *json_ids(PyObject *self, PyObject *ints) {
    PyObject *seq = PySequence_Fast(ints, "json_ids takes a sequence of ints");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    char *buf = PyMem_Malloc((size_t)n * 22 + 2), *w = buf;
    PyObject *result = NULL;
    if (buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    *w++ = '[';
    for (Py_ssize_t k = 0; k < n; k++) {
        long long x = PyLong_AsLongLong(items[k]);
        if (x == -1 && PyErr_Occurred())
            goto done;
        if (k) {
            *w++ = ',';
            *w++ = ' ';
        }
        w += decimal(w, x);
    }
    *w++ = ']';
    result = PyUnicode_FromStringAndSize(buf, w - buf);
done:
    PyMem_Free(buf);
    Py_DECREF(seq);
    return result;
}

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *o[9];
    if (!PyArg_ParseTuple(args, "OOOOOOOOO:configure", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8]))
        return NULL;
    for (int k = 2; k < 5; k++)
        if (!PyType_Check(o[k]) || !PyType_IsSubtype((PyTypeObject *)o[k], &PyTuple_Type)) {
            PyErr_SetString(PyExc_TypeError, "Link, Timestamp and Heading must be NamedTuple classes");
            return NULL;
        }
    PyObject **slots[9] = {&parse_inner_cb, &parse_clock_cb, &t_link, &t_timestamp, &t_heading,
                           &k_wiki, &k_embed, &k_html, &k_markdown};
    for (int k = 0; k < 9; k++) {
        Py_INCREF(o[k]);
        Py_XSETREF(*slots[k], o[k]);
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"scan_index", scan_index, METH_VARARGS,
     "scan_index(text, start) -> (links, n_timestamps, timestamps_json, headings_json) | None"},
    {"index_note", index_note, METH_VARARGS,
     "index_note(text, start, src_id, memo, shared, miss, uri, folder) -> (links_json, link_counts, dests, keys, "
     "unresolved, n_timestamps, timestamps_json, headings_json) | None"},
    {"scan_to_normalize", scan_to_normalize, METH_VARARGS,
     "scan_to_normalize(text, start, hours_always) -> (links, timestamps not yet canonical, headings, hours) | None"},
    {"index_text", index_text, METH_VARARGS,
     "index_text(text, src_id, memo, shared, miss, uri, folder) -> (title, video_id, frontmatter_json, *index_note's "
     "eight) | None (the frontmatter needs the Python parser) | False (the body does)"},
    {"configure_frontmatter", configure_frontmatter, METH_VARARGS,
     "configure_frontmatter(digit_plain, clean_string, strip): the Python helpers index_text calls"},
    {"scan_objects", scan_objects, METH_VARARGS,
     "scan_objects(text, start) -> (links, timestamps, headings) as model records | None"},
    {"group", group, METH_VARARGS, "group(groups, keys, value): groups.setdefault(key, []).append(value) for each key"},
    {"json_ids", json_ids, METH_O, "json_ids(ints) -> the JSON array of the ints, as json.dumps writes it"},
    {"configure", configure, METH_VARARGS,
     "configure(parse_wikilink_inner, parse_clock, Link, Timestamp, Heading, WIKI, EMBED, HTML, MARKDOWN)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cscan(void) {
#define SET(ch) special[(unsigned char)(ch)] = 1;
    SPECIAL_CHARS(SET)
#undef SET
    init_units_1();
    init_units_2();
    init_units_4();
    for (int c = 0x21; c < 0x7f; c++)
        fm_first_ascii[c] = strchr("-?:,[]{}#&*!|>'\"%@`+.~<=\\", c) == NULL;
    s_wiki = PyUnicode_InternFromString("wiki");
    s_embed = PyUnicode_InternFromString("embed");
    s_empty = PyUnicode_InternFromString("");
    one = PyLong_FromLong(1);
    if (s_wiki == NULL || s_embed == NULL || s_empty == NULL || one == NULL)
        return NULL;
    return PyModule_Create(&module);
}
