/* The scanner of _cscan.c, included once per character width with CH (the code unit type) and
 * FN (a name suffixer) defined. Each function mirrors one regex or helper of vaultsync/scan.py;
 * the comments name it. */

/* The literal lit (len characters) at s[i:], within n; see AT. */
static inline int FN(at)(const CH *s, Py_ssize_t n, Py_ssize_t i, const char *lit, Py_ssize_t len) {
    if (len > n - i)
        return 0;
    for (Py_ssize_t k = 0; k < len; k++)
        if (s[i + k] != (CH)(unsigned char)lit[k])
            return 0;
    return 1;
}

static int FN(json_range)(Buf *b, const CH *s, Py_ssize_t a, Py_ssize_t z) {
    Py_UCS4 max = 0;
    if (sizeof(CH) > 1 && !b->wide)
        for (Py_ssize_t i = a; i < z; i++)
            max |= s[i];
    if (buf_room(b, z - a, max) < 0)
        return -1;
    buf_unit(b, '"');
    for (Py_ssize_t i = a; i < z; i++)
        buf_json_char(b, s[i]);
    buf_unit(b, '"');
    return 0;
}

/* _MAYBE_INDENTED_CODE / _FIRST_LINE_INDENTED at r: `(?: {4}|[ ]{0,3}\t)[^\n]*\S`. */
static int FN(indented_at)(const CH *s, Py_ssize_t n, Py_ssize_t r) {
    Py_ssize_t k;
    if (AT(s, n, r, "    ")) {
        k = r + 4;
    } else {
        k = r;
        while (k < n && k - r < 3 && s[k] == ' ')
            k++;
        if (k >= n || s[k] != '\t')
            return 0;
        k++;
    }
    for (; k < n && s[k] != '\n'; k++)
        if (!Py_UNICODE_ISSPACE(s[k]))
            return 1;
    return 0;
}

/* _MAYBE_INDENTED_CODE from the newline at p: `\n[ \t]*\r?\n` then an indented line. */
static int FN(indented_after_blank)(const CH *s, Py_ssize_t n, Py_ssize_t p) {
    Py_ssize_t q = p + 1;
    while (q < n && (s[q] == ' ' || s[q] == '\t'))
        q++;
    if (q < n && s[q] == '\r')
        q++;
    if (q >= n || s[q] != '\n')
        return 0;
    return FN(indented_at)(s, n, q + 1);
}

/* _HEADING / _HEADING_FIRST at line start p: `[ ]{0,3}(#{1,6})(?=[ \t\r\n]|\Z)([^\n]*)`. */
static int FN(heading_at)(Items *heads, const CH *s, Py_ssize_t n, Py_ssize_t p) {
    Py_ssize_t j = p;
    while (j < n && j - p < 3 && s[j] == ' ')
        j++;
    Py_ssize_t h = j;
    while (j < n && s[j] == '#')
        j++;
    Py_ssize_t level = j - h;
    if (level < 1 || level > 6)
        return 0;
    if (j < n && !(s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
        return 0;
    Py_ssize_t eol = j;
    while (eol < n && s[eol] != '\n')
        eol++;
    Py_ssize_t end = eol;
    while (end > j && s[end - 1] == '\r')
        end--;
    Item x = {p, end, j, end, 0, 0, level};
    return items_push(heads, x);
}

/* _heading_text: the heading's text, stripped, without a closing run of '#'. */
static void FN(heading_text)(const CH *s, Py_ssize_t *pa, Py_ssize_t *pz) {
    Py_ssize_t a = *pa, z = *pz;
    while (a < z && Py_UNICODE_ISSPACE(s[a]))
        a++;
    while (z > a && Py_UNICODE_ISSPACE(s[z - 1]))
        z--;
    if (z > a && s[z - 1] == '#') {
        Py_ssize_t h = z;
        while (h > a && s[h - 1] == '#')
            h--;
        if (h == a) {
            z = a;
        } else if (s[h - 1] == ' ' || s[h - 1] == '\t') {
            z = h;
            while (z > a && Py_UNICODE_ISSPACE(s[z - 1]))
                z--;
        }
    }
    *pa = a;
    *pz = z;
}

static int FN(json_heading_text)(Buf *b, const CH *s, Py_ssize_t a, Py_ssize_t z) {
    FN(heading_text)(s, &a, &z);
    return FN(json_range)(b, s, a, z);
}

/* _ANCHOR_FAST at i (the prefix is known to match):
 * `<a class="yt-timestamp" data-t="([^"<>]*)">(\[?[^<\[]*)</a>`. Returns 1 and fills x on a match. */
static int FN(anchor_at)(const CH *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t prefix, Item *x) {
    Py_ssize_t j = i + prefix;
    Py_ssize_t a0 = j;
    while (j < n && s[j] != '"' && s[j] != '<' && s[j] != '>')
        j++;
    if (!AT(s, n, j, "\">"))
        return 0;
    Py_ssize_t a1 = j;
    j += 2;
    Py_ssize_t b0 = j;
    if (j < n && s[j] == '[')
        j++;
    while (j < n && s[j] != '<' && s[j] != '[')
        j++;
    if (!AT(s, n, j, "</a>"))
        return 0;
    Item it = {i, j + 4, a0, a1, b0, j, 0};
    *x = it;
    return 1;
}

/* _WIKI at i (s[i:i+2] == "[["). Returns the end of the match, or -1. */
static Py_ssize_t FN(wiki_end)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    for (Py_ssize_t j = i + 2; j < n; j++) {
        CH c = s[j];
        if (c == '\n')
            return -1;
        if (c == ']') {
            if (j + 1 < n && s[j + 1] == ']')
                return j + 2;
        } else if (c == '[') {
            if (j + 1 < n && s[j + 1] == '[')
                return -1;
        }
    }
    return -1;
}

static inline int FN(digits)(const CH *s, Py_ssize_t n, Py_ssize_t j) {
    Py_ssize_t k = j;
    while (k < n && s[k] >= '0' && s[k] <= '9')
        k++;
    return (int)(k - j);
}

/* _MD_STAMP at i (s[i] == '['), ASCII digits only (a stamp with other decimal digits is left to
 * Python: its "](" then outnumbers the stamps found here, and the note goes to Python).
 * Returns 1 on a match, -1 when the seconds do not fit, 0 otherwise. */
static int FN(stamp_at)(const CH *s, Py_ssize_t n, Py_ssize_t i, Item *x) {
    Py_ssize_t j = i + 1, a0 = j;
    int d = FN(digits)(s, n, j);
    if (d < 1 || d > 3 || j + d >= n || s[j + d] != ':')
        return 0;
    j += d + 1;
    if (FN(digits)(s, n, j) < 2)
        return 0;
    j += 2;
    if (j + 3 < n && s[j] == ':' && FN(digits)(s, n, j + 1) >= 2 && s[j + 3] == ']')
        j += 3;
    Py_ssize_t a1 = j;
    if (!AT(s, n, j, "](https://www.youtube.com/watch?v="))
        return 0;
    j += 34;
    Py_ssize_t b0 = j;
    while (j < n && ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z') ||
                     (s[j] >= '0' && s[j] <= '9') || s[j] == '_' || s[j] == '-'))
        j++;
    if (j == b0 || !AT(s, n, j, "&t="))
        return 0;
    Py_ssize_t b1 = j;
    j += 3;
    d = FN(digits)(s, n, j);
    if (d < 1 || !AT(s, n, j + d, "s)"))
        return 0;
    if (d > 15)
        return -1;
    long long t = 0;
    for (int k = 0; k < d; k++)
        t = t * 10 + (s[j + k] - '0');
    Item it = {i, j + d + 2, a0, a1, b0, b1, t};
    *x = it;
    return 1;
}

/* parse_clock for a data-t of ASCII digits and colons; anything else goes to Python.
 * Returns seconds, -1 for "no time", -2 for "ask Python". */
static long long FN(clock)(const CH *s, Py_ssize_t a, Py_ssize_t z) {
    if (z == a)
        return -1; /* "" is no time */
    if (z - a > 12)
        return -2;
    long long parts[3] = {0, 0, 0};
    int lens[3] = {0, 0, 0}, np = 0;
    for (Py_ssize_t i = a; i < z; i++) {
        CH c = s[i];
        if (c == ':') {
            if (++np > 2)
                return -2; /* frames and the other forms: vaultsync.timestamps decides */
        } else if (c >= '0' && c <= '9') {
            parts[np] = parts[np] * 10 + (c - '0');
            lens[np]++;
        } else {
            return -2;
        }
    }
    if (np == 0)
        return parts[0]; /* text.isdigit(): int(text) */
    long long h = 0, m, sec;
    /* only the plain forms are read here; anything else is vaultsync.timestamps' to read */
    if (np == 2) {
        if (lens[0] < 1 || lens[0] > 3)
            return -2;
        h = parts[0];
    }
    if (lens[np - 1] < 1 || lens[np - 1] > 2 || lens[np] != 2)
        return -2;
    m = parts[np - 1];
    sec = parts[np];
    if (sec >= 60 || (np == 2 && m >= 60))
        return -2;
    return h * 3600 + m * 60 + sec;
}

/* seconds of an anchor: parse_clock(data_t), else parse_clock(label); a new reference. */
static PyObject *FN(seconds)(PyObject *text, const CH *s, const Item *a) {
    long long v = FN(clock)(s, a->a0, a->a1);
    if (v >= 0)
        return PyLong_FromLongLong(v);
    if (v == -2) {
        PyObject *dt = PyUnicode_Substring(text, a->a0, a->a1);
        if (dt == NULL)
            return NULL;
        PyObject *r = PyObject_CallOneArg(parse_clock_cb, dt);
        Py_DECREF(dt);
        if (r == NULL || r != Py_None)
            return r;
        Py_DECREF(r);
    }
    PyObject *label = PyUnicode_Substring(text, a->b0, a->b1);
    if (label == NULL)
        return NULL;
    PyObject *r = PyObject_CallOneArg(parse_clock_cb, label);
    Py_DECREF(label);
    return r;
}

static int FN(json_seconds)(Buf *b, PyObject *text, const CH *s, const Item *a) {
    long long v = FN(clock)(s, a->a0, a->a1);
    if (v >= 0)
        return buf_int(b, v);
    PyObject *r = FN(seconds)(text, s, a);
    return r == NULL ? -1 : buf_pyint(b, r);
}

/* parse_wikilink_inner for ASCII text, as ranges: the path [*t0, *cut), the subpath [*cut, *t1)
 * and the display [*d0, *d1), or *d0 = -1 without one; 0 when the inner text is blank (no link). */
static int FN(inner_split)(const CH *s, Py_ssize_t a, Py_ssize_t z, Py_ssize_t *t0, Py_ssize_t *cut, Py_ssize_t *t1,
                           Py_ssize_t *d0, Py_ssize_t *d1) {
    while (a < z && js_space(s[a]))
        a++;
    while (z > a && js_space(s[z - 1]))
        z--;
    if (z == a)
        return 0;
    *t0 = a, *t1 = z, *d0 = -1, *d1 = -1;
    for (Py_ssize_t i = a; i < z; i++) {
        if (s[i] == '|') {
            if (i > a) { /* cut > 0 */
                *t1 = i;
                *d0 = i + 1;
                *d1 = z;
            }
            break;
        }
    }
    while (*t0 < *t1 && js_space(s[*t0]))
        (*t0)++;
    while (*t1 > *t0 && js_space(s[*t1 - 1]))
        (*t1)--;
    if (*d0 >= 0) {
        while (*d0 < *d1 && js_space(s[*d0]))
            (*d0)++;
        while (*d1 > *d0 && js_space(s[*d1 - 1]))
            (*d1)--;
    }
    *cut = *t1;
    for (Py_ssize_t i = *t0; i < *t1; i++)
        if (s[i] == '#') {
            *cut = i;
            break;
        }
    return 1;
}

static int FN(is_ascii)(const CH *s, Py_ssize_t a, Py_ssize_t z) {
    for (Py_ssize_t i = a; i < z; i++)
        if (s[i] >= 128)
            return 0;
    return 1;
}

/* parse_wikilink_inner for ASCII text: (path, subpath, display) or None. */
static PyObject *FN(inner_ascii)(PyObject *text, const CH *s, Py_ssize_t a, Py_ssize_t z) {
    Py_ssize_t t0, cut, t1, d0, d1;
    if (!FN(inner_split)(s, a, z, &t0, &cut, &t1, &d0, &d1))
        Py_RETURN_NONE;
    PyObject *path = PyUnicode_Substring(text, t0, cut);
    PyObject *sub = cut < t1 ? PyUnicode_Substring(text, cut, t1) : (Py_INCREF(s_empty), s_empty);
    PyObject *disp = d0 >= 0 ? PyUnicode_Substring(text, d0, d1) : (Py_INCREF(Py_None), Py_None);
    if (path == NULL || sub == NULL || disp == NULL) {
        Py_XDECREF(path);
        Py_XDECREF(sub);
        Py_XDECREF(disp);
        return NULL;
    }
    PyObject *r = PyTuple_Pack(3, path, sub, disp);
    Py_DECREF(path);
    Py_DECREF(sub);
    Py_DECREF(disp);
    return r;
}

static PyObject *FN(links)(PyObject *text, const CH *s, const Items *wikis, int objects) {
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < wikis->n; k++) {
        const Item *w = &wikis->v[k];
        PyObject *parsed;
        parsed = FN(is_ascii)(s, w->a0, w->a1) ? FN(inner_ascii)(text, s, w->a0, w->a1) : parsed_inner(text, w->a0, w->a1);
        if (parsed == NULL)
            goto fail;
        if (parsed == Py_None) {
            Py_DECREF(parsed);
            continue;
        }
        PyObject *link;
        if (objects) {
            PyObject *items[5] = {w->t ? k_embed : k_wiki, span(w->t ? w->s - 1 : w->s, w->e),
                                  PyTuple_GET_ITEM(parsed, 0), PyTuple_GET_ITEM(parsed, 1), PyTuple_GET_ITEM(parsed, 2)};
            Py_INCREF(items[0]);
            Py_INCREF(items[2]);
            Py_INCREF(items[3]);
            Py_INCREF(items[4]);
            link = record(t_link, 5, items);
        } else {
            link = Py_BuildValue("(OnnOOO)", w->t ? s_embed : s_wiki, w->t ? w->s - 1 : w->s, w->e,
                                 PyTuple_GET_ITEM(parsed, 0), PyTuple_GET_ITEM(parsed, 1), PyTuple_GET_ITEM(parsed, 2));
        }
        Py_DECREF(parsed);
        if (link == NULL || PyList_Append(out, link) < 0) {
            Py_XDECREF(link);
            goto fail;
        }
        Py_DECREF(link);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyObject *FN(timestamps_json)(PyObject *text, const CH *s, const Items *anchors, const Items *stamps) {
    Buf b = BUF_INIT;
    Py_ssize_t i = 0, j = 0;
    if (buf_ascii(&b, "[") < 0)
        goto fail;
    while (i < anchors->n || j < stamps->n) {
        if (i + j > 0 && buf_ascii(&b, ", ") < 0)
            goto fail;
        if (j >= stamps->n || (i < anchors->n && anchors->v[i].s < stamps->v[j].s)) {
            const Item *a = &anchors->v[i++];
            long long v = FN(clock)(s, a->a0, a->a1);
            if (v >= 0 && !b.wide) { /* the common anchor, written in one go: "[start, end, seconds]" */
                if (buf_reserve(&b, 80) < 0)
                    goto fail;
                char *w = (char *)b.v + b.n;
                *w++ = '[';
                w += decimal(w, a->s);
                *w++ = ',', *w++ = ' ';
                w += decimal(w, a->e);
                *w++ = ',', *w++ = ' ';
                w += decimal(w, v);
                *w++ = ']';
                b.n = w - (char *)b.v;
            } else if (buf_ascii(&b, "[") < 0 || buf_int(&b, a->s) < 0 || buf_ascii(&b, ", ") < 0 ||
                       buf_int(&b, a->e) < 0 || buf_ascii(&b, ", ") < 0 || FN(json_seconds)(&b, text, s, a) < 0 ||
                       buf_ascii(&b, "]") < 0) {
                goto fail;
            }
        } else {
            const Item *m = &stamps->v[j++];
            if (buf_ascii(&b, "[") < 0 || buf_int(&b, m->s) < 0 || buf_ascii(&b, ", ") < 0 || buf_int(&b, m->e) < 0 ||
                buf_ascii(&b, ", ") < 0 || buf_int(&b, m->t) < 0 || buf_ascii(&b, ", \"markdown\", ") < 0 ||
                FN(json_range)(&b, s, m->b0, m->b1) < 0 || buf_ascii(&b, "]") < 0)
                goto fail;
        }
    }
    return buf_take(&b, buf_ascii(&b, "]"));
fail:
    return buf_take(&b, -1);
}

static PyObject *FN(headings_json)(const CH *s, const Items *heads) {
    Buf b = BUF_INIT;
    if (buf_ascii(&b, "[") < 0)
        goto fail;
    for (Py_ssize_t k = 0; k < heads->n; k++) {
        const Item *h = &heads->v[k];
        if ((k && buf_ascii(&b, ", ") < 0) || buf_ascii(&b, "[") < 0 || buf_int(&b, h->t) < 0 ||
            buf_ascii(&b, ", ") < 0 || FN(json_heading_text)(&b, s, h->a0, h->a1) < 0 || buf_ascii(&b, ", [") < 0 ||
            buf_int(&b, h->s) < 0 || buf_ascii(&b, ", ") < 0 || buf_int(&b, h->e) < 0 || buf_ascii(&b, "]]") < 0)
            goto fail;
    }
    return buf_take(&b, buf_ascii(&b, "]"));
fail:
    return buf_take(&b, -1);
}

/* ANCHOR_PREFIX in code units of this width, for memcmp; filled by PyInit. */
static CH FN(anchor_units)[ANCHOR_PREFIX_LEN];

static void FN(init_units)(void) {
    for (int k = 0; k < ANCHOR_PREFIX_LEN; k++)
        FN(anchor_units)[k] = (CH)(unsigned char)ANCHOR_PREFIX[k];
}

/* What collect's pass carries from one special character to the next. */
typedef struct {
    Py_ssize_t start, wiki_next, stamp_next, parens;
    Items *anchors, *stamps, *wikis, *heads;
} FN(Pass);

/* One of the special characters, at s[i]: 1 to go on, 0 to decline the body, -1 on an error. */
static inline int FN(visit)(const CH *s, Py_ssize_t n, Py_ssize_t i, FN(Pass) *ps) {
    const Py_ssize_t start = ps->start, prefix = ANCHOR_PREFIX_LEN;
    switch (s[i]) {
    case '\n':
        if (FN(indented_after_blank)(s, n, i))
            return 0;
        if (FN(heading_at)(ps->heads, s, n, i + 1) < 0)
            return -1;
        break;
    case '<': {
        /* an HTML block start (_FIRST_LINE_HTML, _HTML_BLOCK_START) */
        Py_ssize_t j = i;
        while (j > start && i - j < 3 && s[j - 1] == ' ')
            j--;
        if (j == start || s[j - 1] == '\n')
            return 0;
        if (prefix <= n - i && memcmp(s + i, FN(anchor_units), sizeof FN(anchor_units)) == 0) {
            Item x;
            if (!FN(anchor_at)(s, n, i, prefix, &x))
                return 0; /* a generic anchor: the Python scanner's slower path */
            if (items_push(ps->anchors, x) < 0)
                return -1;
        } else if (!(AT(s, n, i + 1, "/a>") || AT(s, n, i + 1, "br>") || AT(s, n, i + 1, "br/>") ||
                     AT(s, n, i + 1, "br >") || AT(s, n, i + 1, "br />"))) {
            return 0; /* other HTML (_OTHER_HTML) */
        }
        break;
    }
    case '[':
        if (i >= ps->wiki_next && i + 1 < n && s[i + 1] == '[') {
            Py_ssize_t e = FN(wiki_end)(s, n, i);
            if (e > 0) {
                Item x = {i, e, i + 2, e - 2, 0, 0, i > 0 && s[i - 1] == '!'};
                if (items_push(ps->wikis, x) < 0)
                    return -1;
                ps->wiki_next = e;
            }
        }
        if (i >= ps->stamp_next) {
            Item x;
            int found = FN(stamp_at)(s, n, i, &x);
            if (found < 0)
                return 0;
            if (found) {
                ps->stamp_next = x.e;
                if (!(i > 0 && s[i - 1] == '!') && items_push(ps->stamps, x) < 0)
                    return -1;
            }
        }
        break;
    case ']':
        if (i + 1 < n && s[i + 1] == '(')
            ps->parens++;
        break;
    case '#':
        if ((i == 0 || Py_UNICODE_ISSPACE(s[i - 1])) && i + 1 < n && !tag_excluded(s[i + 1]))
            return 0; /* a tag */
        break;
    case '~':
        if (AT(s, n, i, "~~~"))
            return 0;
        break;
    case '`':
    case '$':
    case '\\':
    case '^':
        return 0; /* code, math, escapes, block ids */
    default:
        break;
    }
    return 1;
}

/* Run every finder over the body; 1 when the fast path can answer, 0 when it declines, -1 on an
 * error. Blocks of LANES characters are tested at once; each special character in one is visited. */
static int FN(collect)(const CH *s, Py_ssize_t n, Py_ssize_t start, Items *anchors, Items *stamps, Items *wikis,
                       Items *heads) {
    FN(Pass) ps = {start, start, start, 0, anchors, stamps, wikis, heads};

    if (start == 0 && n > 0 && s[0] == 0xFEFF)
        return 0;
    /* the first line: _HEADING_FIRST and _FIRST_LINE_INDENTED; or the newline before it */
    if (FN(indented_at)(s, n, start))
        return 0;
    if (start > 0 && s[start - 1] == '\n') {
        if (FN(indented_after_blank)(s, n, start - 1))
            return 0;
    }
    if (FN(heading_at)(heads, s, n, start) < 0)
        return -1;

    Py_ssize_t i = start;
    if (FN(LANES)) {
        for (; i + FN(LANES) <= n; i += FN(LANES)) {
            for (unsigned m = FN(block_mask)(s + i); m; m &= m - 1) {
                int r = FN(visit)(s, n, i + __builtin_ctz(m), &ps);
                if (r <= 0)
                    return r;
            }
        }
    }
    for (; i < n; i++) {
        if (s[i] < 128 && special[s[i]]) {
            int r = FN(visit)(s, n, i, &ps);
            if (r <= 0)
                return r;
        }
    }
    if (ps.parens > stamps->n)
        return 0; /* markdown links */

    return 1;
}

/* The timestamps and headings JSON of what collect found (None for none); -1 on an error. */
static int FN(stamps_heads)(PyObject *text, const CH *s, const Found *f, PyObject **ts, PyObject **hs) {
    *ts = f->anchors.n + f->stamps.n ? FN(timestamps_json)(text, s, &f->anchors, &f->stamps) : (Py_INCREF(Py_None), Py_None);
    *hs = f->heads.n ? FN(headings_json)(s, &f->heads) : (Py_INCREF(Py_None), Py_None);
    return *ts == NULL || *hs == NULL ? -1 : 0;
}

static PyObject *FN(scan)(PyObject *text, const CH *s, Py_ssize_t n, Py_ssize_t start) {
    Found f = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}};
    PyObject *links = NULL, *ts = NULL, *hs = NULL, *result = NULL;
    int found = FN(collect)(s, n, start, &f.anchors, &f.stamps, &f.wikis, &f.heads);
    if (found <= 0) {
        result = declined(found);
        goto done;
    }
    if ((links = FN(links)(text, s, &f.wikis, 0)) != NULL && FN(stamps_heads)(text, s, &f, &ts, &hs) == 0)
        result = Py_BuildValue("(OnOO)", links, f.anchors.n + f.stamps.n, ts, hs);
done:
    Py_XDECREF(links);
    Py_XDECREF(ts);
    Py_XDECREF(hs);
    found_free(&f);
    return result;
}


/* A link part as a JSON string: the Python str `obj`, or s[a:z] when obj is NULL. */
static int FN(json_part)(Buf *b, const CH *s, Py_ssize_t a, Py_ssize_t z, PyObject *obj) {
    return obj != NULL ? buf_json_str(b, obj) : FN(json_range)(b, s, a, z);
}

/* The links part of indexing._rows for a body the fast path answers: (links JSON as stored in
 * files.links, link counts, destinations, keys, keys of the unresolved); NULL on an error. An
 * ASCII link is written from the text itself; only its path becomes a str (to look it up). */
static PyObject *FN(index_links)(PyObject *text, const CH *s, const Items *wikis, Resolve *r) {
    Buf b = BUF_INIT;
    PyObject *dests = PyList_New(0), *keys = PyList_New(0), *unresolved = PyList_New(0), *json = NULL;
    PyObject *result = NULL;
    Py_ssize_t count = 0, resolved = 0, ambiguous = 0, embeds = 0;
    if (dests == NULL || keys == NULL || unresolved == NULL || buf_ascii(&b, "[") < 0)
        goto done;
    for (Py_ssize_t k = 0; k < wikis->n; k++) {
        const Item *w = &wikis->v[k];
        Py_ssize_t t0 = 0, cut = 0, t1 = 0, d0 = -1, d1 = -1;
        PyObject *parsed = NULL, *path, *sub = NULL, *disp = NULL;
        if (FN(is_ascii)(s, w->a0, w->a1)) {
            if (!FN(inner_split)(s, w->a0, w->a1, &t0, &cut, &t1, &d0, &d1))
                continue;
            path = PyUnicode_Substring(text, t0, cut);
        } else {
            if ((parsed = parsed_inner(text, w->a0, w->a1)) == NULL)
                goto done;
            if (parsed == Py_None) {
                Py_DECREF(parsed);
                continue;
            }
            path = PyTuple_GET_ITEM(parsed, 0);
            Py_INCREF(path);
            sub = PyTuple_GET_ITEM(parsed, 1);
            disp = PyTuple_GET_ITEM(parsed, 2);
        }
        PyObject *res = path == NULL ? NULL : resolve_target(r, path);
        int bad = res == NULL;
        if (!bad) {
            PyObject *dest = PyTuple_GET_ITEM(res, 0), *key = PyTuple_GET_ITEM(res, 2);
            long long cands = PyLong_AsLongLong(PyTuple_GET_ITEM(res, 1)), d = 0;
            if (dest != Py_None)
                d = PyLong_AsLongLong(dest);
            int no_display = parsed != NULL ? disp == Py_None : d0 < 0;
            bad = PyErr_Occurred() != NULL || (count && buf_ascii(&b, ", ") < 0) ||
                  (w->t ? buf_ascii(&b, "[\"embed\", ") : buf_ascii(&b, "[\"wiki\", ")) < 0 || buf_int(&b, w->t ? w->s - 1 : w->s) < 0 ||
                  buf_ascii(&b, ", ") < 0 || buf_int(&b, w->e) < 0 || buf_ascii(&b, ", ") < 0 ||
                  buf_json_str(&b, path) < 0 || buf_ascii(&b, ", ") < 0 || FN(json_part)(&b, s, cut, t1, sub) < 0 ||
                  buf_ascii(&b, ", ") < 0 || (no_display ? buf_ascii(&b, "null") : FN(json_part)(&b, s, d0, d1, disp)) < 0 ||
                  buf_ascii(&b, ", ") < 0 || (dest == Py_None ? buf_ascii(&b, "null") : buf_int(&b, d)) < 0 ||
                  buf_ascii(&b, ", ") < 0 || buf_int(&b, cands) < 0 || buf_ascii(&b, "]") < 0 ||
                  PyList_Append(keys, key) < 0 || PyList_Append(dest == Py_None ? unresolved : dests, dest == Py_None ? key : dest) < 0;
            count++;
            resolved += dest != Py_None;
            ambiguous += cands > 1;
            embeds += w->t != 0;
        }
        Py_XDECREF(res);
        Py_XDECREF(path);
        Py_XDECREF(parsed);
        if (bad)
            goto done;
    }
    if (count) {
        json = buf_take(&b, buf_ascii(&b, "]"));
        b.v = NULL;
        if (json == NULL)
            goto done;
    } else {
        json = Py_None;
        Py_INCREF(json);
    }
    result = Py_BuildValue("(O(nnnnn)OOO)", json, count, resolved, ambiguous, embeds, (Py_ssize_t)0, dests, keys, unresolved);
done:
    PyMem_Free(b.v);
    Py_XDECREF(json);
    Py_XDECREF(dests);
    Py_XDECREF(keys);
    Py_XDECREF(unresolved);
    return result;
}

/* index_note: collect as FN(scan) does, then the links resolved and laid out for the index; the
 * tuple of index_links's five, the timestamp count and the timestamps and headings JSON. */
static PyObject *FN(index_note)(PyObject *text, const CH *s, Py_ssize_t n, Py_ssize_t start, Resolve *r) {
    Found f = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}};
    PyObject *links = NULL, *ts = NULL, *hs = NULL, *result = NULL;
    int found = FN(collect)(s, n, start, &f.anchors, &f.stamps, &f.wikis, &f.heads);
    if (found <= 0) {
        result = declined(found);
        goto done;
    }
    if ((links = FN(index_links)(text, s, &f.wikis, r)) != NULL && FN(stamps_heads)(text, s, &f, &ts, &hs) == 0)
        result = Py_BuildValue("(OOOOOnOO)", PyTuple_GET_ITEM(links, 0), PyTuple_GET_ITEM(links, 1), PyTuple_GET_ITEM(links, 2),
                               PyTuple_GET_ITEM(links, 3), PyTuple_GET_ITEM(links, 4), f.anchors.n + f.stamps.n, ts, hs);
done:
    Py_XDECREF(links);
    Py_XDECREF(ts);
    Py_XDECREF(hs);
    found_free(&f);
    return result;
}

/* Timestamp and Heading records, for scan_body. */
/* Whether markdown stamp m is written exactly as normalize.canonical_timestamp would write it:
 * its label is clock(t, hours) and its t= has no leading zero (stamp_at fixes the rest). */
static int FN(canonical_stamp)(const CH *s, const Item *m, int hours) {
    char want[64];
    long long t = m->t, h = t / 3600, mi = t % 3600 / 60, sec = t % 60;
    int len = hours ? snprintf(want, sizeof want, "%02lld:%02lld:%02lld", h, mi, sec)
                    : snprintf(want, sizeof want, "%02lld:%02lld", h * 60 + mi, sec);
    char digits[24];
    return len == m->a1 - m->a0 && FN(at)(s, m->a1, m->a0, want, len) && (m->e - 2) - (m->b1 + 3) == decimal(digits, t);
}

/* Timestamp records in text order; with hours >= 0, markdown ones already canonical for it
 * (FN(canonical_stamp)) are left out. */
static PyObject *FN(stamp_objects)(PyObject *text, const CH *s, const Items *anchors, const Items *stamps, int hours) {
    PyObject *out = PyList_New(0);
    Py_ssize_t i = 0, j = 0;
    if (out == NULL)
        return NULL;
    while (i < anchors->n || j < stamps->n) {
        PyObject *r;
        if (j >= stamps->n || (i < anchors->n && anchors->v[i].s < stamps->v[j].s)) {
            const Item *a = &anchors->v[i++];
            PyObject *items[6] = {k_html, span(a->s, a->e), FN(seconds)(text, s, a),
                                  PyUnicode_Substring(text, a->b0, a->b1), PyUnicode_Substring(text, a->a0, a->a1),
                                  Py_None};
            Py_INCREF(k_html);
            Py_INCREF(Py_None);
            r = record(t_timestamp, 6, items);
        } else {
            const Item *m = &stamps->v[j++];
            if (hours >= 0 && FN(canonical_stamp)(s, m, hours))
                continue;
            PyObject *items[6] = {k_markdown, span(m->s, m->e), PyLong_FromLongLong(m->t),
                                  PyUnicode_Substring(text, m->a0, m->a1), Py_None,
                                  PyUnicode_Substring(text, m->b0, m->b1)};
            Py_INCREF(k_markdown);
            Py_INCREF(Py_None);
            r = record(t_timestamp, 6, items);
        }
        if (r == NULL || PyList_Append(out, r) < 0) {
            Py_XDECREF(r);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(r);
    }
    return out;
}

/* Whether any timestamp is an hour or more in: normalize_text's `hours` (with timestamp_hours
 * "auto"); 1, 0, or -1 on an error. */
static int FN(any_hour)(PyObject *text, const CH *s, const Items *anchors, const Items *stamps) {
    for (Py_ssize_t j = 0; j < stamps->n; j++)
        if (stamps->v[j].t >= 3600)
            return 1;
    for (Py_ssize_t i = 0; i < anchors->n; i++) {
        PyObject *v = FN(seconds)(text, s, &anchors->v[i]);
        if (v == NULL)
            return -1;
        long long x = v == Py_None ? 0 : PyLong_AsLongLong(v);
        Py_DECREF(v);
        if (x == -1 && PyErr_Occurred())
            return -1;
        if (x >= 3600)
            return 1;
    }
    return 0;
}

static PyObject *FN(heading_objects)(PyObject *text, const CH *s, const Items *heads) {
    PyObject *out = PyList_New(heads->n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < heads->n; k++) {
        const Item *h = &heads->v[k];
        Py_ssize_t a = h->a0, z = h->a1;
        FN(heading_text)(s, &a, &z);
        PyObject *items[3] = {PyLong_FromLongLong(h->t), PyUnicode_Substring(text, a, z), span(h->s, h->e)};
        PyObject *r = record(t_heading, 3, items);
        if (r == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, k, r);
    }
    return out;
}

/* scan_objects, and with check >= 0 (normalize --check's shortcut; check = timestamp_hours is
 * "always") the markdown stamps already canonical left out, and `hours` returned as a fourth. */
static PyObject *FN(objects)(PyObject *text, const CH *s, Py_ssize_t n, Py_ssize_t start, int check) {
    Found f = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}};
    PyObject *links = NULL, *ts = NULL, *hs = NULL, *result = NULL;
    int found = FN(collect)(s, n, start, &f.anchors, &f.stamps, &f.wikis, &f.heads), hours = -1;
    if (found <= 0) {
        result = declined(found);
        goto done;
    }
    if (check >= 0 && (hours = check ? 1 : FN(any_hour)(text, s, &f.anchors, &f.stamps)) < 0)
        goto done;
    if ((links = FN(links)(text, s, &f.wikis, 1)) != NULL &&
        (ts = FN(stamp_objects)(text, s, &f.anchors, &f.stamps, hours)) != NULL &&
        (hs = FN(heading_objects)(text, s, &f.heads)) != NULL)
        result = check >= 0 ? Py_BuildValue("(OOOO)", links, ts, hs, hours ? Py_True : Py_False)
                            : PyTuple_Pack(3, links, ts, hs);
done:
    Py_XDECREF(links);
    Py_XDECREF(ts);
    Py_XDECREF(hs);
    found_free(&f);
    return result;
}

static PyObject *FN(scan_objects)(PyObject *text, const CH *s, Py_ssize_t n, Py_ssize_t start) {
    return FN(objects)(text, s, n, start, -1);
}

/* -- the frontmatter, for index_text -------------------------------------------------------- */

/* s[a:z] equals the ASCII literal lit. */
static inline int FN(is)(const CH *s, Py_ssize_t a, Py_ssize_t z, const char *lit) {
    return (Py_ssize_t)strlen(lit) == z - a && FN(at)(s, z, a, lit, z - a);
}

/* One of the YAML loader's words for true, false and null (parse._YAML_WORDS) in s[a:z]. */
static int FN(yaml_word)(const CH *s, Py_ssize_t a, Py_ssize_t z) {
    static const char *const words[] = {"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
        if (FN(is)(s, a, z, words[w]))
            return 1;
    return 0;
}

/* One frontmatter line s[p:q] (no newline) as parse._SIMPLE_LINE and parse._load_simple take it:
 * 1 with the key and the value (spaces at its end cut), 0 when only the YAML loader can say. */
static int FN(simple_line)(const CH *s, Py_ssize_t p, Py_ssize_t q, FmLine *line) {
    Py_ssize_t k = p;
    if (!(s[k] < 128 && (Py_ISALPHA(s[k]) || s[k] == '_')))
        return 0;
    for (k++; k < q && s[k] < 128 && (Py_ISALNUM(s[k]) || s[k] == '_' || s[k] == '-'); k++)
        ;
    line->k0 = p, line->k1 = k;
    if (k >= q || s[k] != ':' || k + 1 >= q || s[k + 1] != ' ')
        return 0;
    for (k++; k < q && s[k] == ' '; k++)
        ;
    if (k >= q || !fm_first_char(s[k]))
        return 0;
    Py_ssize_t v0 = k, end = s[q - 1] == '\r' ? q - 1 : q; /* a final \r is _SIMPLE_LINE's \r? */
    for (k++; k < end; k++) {
        CH c = s[k];
        if (c == ':') {
            if (k + 1 >= q || s[k + 1] == ' ')
                return 0; /* :(?! |$) */
        } else if (c == '#') {
            if (s[k - 1] == ' ')
                return 0; /* (?<! )# */
        } else if (c < 0x20 || c == 0x7f) {
            return 0;
        }
    }
    while (end > v0 && s[end - 1] == ' ')
        end--;
    if (s[end - 1] == ':' || FN(yaml_word)(s, v0, end) || FN(yaml_word)(s, p, line->k1))
        return 0;
    line->v0 = v0, line->v1 = end;
    return 1;
}

/* A value as a str: as written when it is ASCII, else through `finish` (a Python callable). */
static PyObject *FN(fm_value)(PyObject *text, const CH *s, const FmLine *line, PyObject *finish) {
    PyObject *v = PyUnicode_Substring(text, line->v0, line->v1);
    if (v == NULL || FN(is_ascii)(s, line->v0, line->v1))
        return v;
    PyObject *r = PyObject_CallOneArg(finish, v);
    Py_DECREF(v);
    return r;
}

/* split_frontmatter and note_head for a frontmatter of plain `key: text` lines (or none): 1 with
 * the body's start and out[] = the title, the video id and the JSON of the mapping (each NULL
 * where absent); 0 when the Python parser must look (any other YAML, a BOM, tags, a key twice);
 * -1 on an error. */
static int FN(frontmatter)(PyObject *text, const CH *s, Py_ssize_t n, Py_ssize_t *body, PyObject **out) {
    FmLine lines[FM_MAX_LINES];
    int count = 0;
    *body = 0;
    if (n > 0 && s[0] == 0xFEFF)
        return 0;
    if (!(AT(s, n, 0, "---\n") || AT(s, n, 0, "---\r\n")))
        return 1; /* no frontmatter */
    Py_ssize_t p = s[3] == '\n' ? 4 : 5;
    for (;;) {
        if (p >= n)
            return 1; /* never closed: no frontmatter, all body */
        Py_ssize_t eol = p;
        while (eol < n && s[eol] != '\n')
            eol++;
        if (AT(s, n, p, "---") && (p + 3 == n || s[p + 3] == '\n' || (s[p + 3] == '\r' && p + 4 < n && s[p + 4] == '\n'))) {
            *body = p + 3 == n ? n : p + (s[p + 3] == '\n' ? 4 : 5);
            break;
        }
        if (!(eol == p || (eol == p + 1 && s[p] == '\r'))) {
            if (count == FM_MAX_LINES || !FN(simple_line)(s, p, eol, &lines[count]))
                return 0;
            FmLine *l = &lines[count];
            if (l->k1 - l->k0 == 4 && (s[l->k0] | 0x20) == 't' && (s[l->k0 + 1] | 0x20) == 'a' &&
                (s[l->k0 + 2] | 0x20) == 'g' && (s[l->k0 + 3] | 0x20) == 's')
                return 0; /* tags, in any case: rows the Python parser writes */
            for (int k = 0; k < count; k++)
                if (lines[k].k1 - lines[k].k0 == l->k1 - l->k0 &&
                    memcmp(s + lines[k].k0, s + l->k0, (size_t)(l->k1 - l->k0) * sizeof(CH)) == 0)
                    return 0; /* a key twice */
            if (s[l->v0] >= '0' && s[l->v0] <= '9') {
                PyObject *v = PyUnicode_Substring(text, l->v0, l->v1);
                PyObject *plain = v == NULL ? NULL : PyObject_CallOneArg(digit_plain_cb, v);
                Py_XDECREF(v);
                if (plain == NULL)
                    return -1;
                int yes = PyObject_IsTrue(plain);
                Py_DECREF(plain);
                if (yes <= 0)
                    return yes; /* a number or a date to the loader */
            }
            count++;
        }
        p = eol + 1;
    }
    Buf b = BUF_INIT;
    int bad = buf_ascii(&b, "{") < 0;
    for (int k = 0; k < count && !bad; k++)
        bad = (k && buf_ascii(&b, ", ") < 0) || FN(json_range)(&b, s, lines[k].k0, lines[k].k1) < 0 ||
              buf_ascii(&b, ": ") < 0 || FN(json_range)(&b, s, lines[k].v0, lines[k].v1) < 0;
    if ((out[2] = buf_take(&b, bad ? -1 : buf_ascii(&b, "}"))) == NULL)
        return -1;
    for (int k = 0; k < count; k++) {
        int title = FN(is)(s, lines[k].k0, lines[k].k1, "title");
        if ((title || FN(is)(s, lines[k].k0, lines[k].k1, "videoId")) &&
            (out[!title] = FN(fm_value)(text, s, &lines[k], title ? clean_string_cb : strip_cb)) == NULL)
            return -1;
    }
    return 1;
}

/* index_text: the frontmatter as FN(frontmatter) reads it, then the body as FN(index_note) does;
 * None when the frontmatter needs the Python parser, False when only the body does. */
static PyObject *FN(index_text)(PyObject *text, const CH *s, Py_ssize_t n, Resolve *r) {
    PyObject *head[3] = {NULL, NULL, NULL}, *result = NULL;
    Py_ssize_t body;
    int ok = FN(frontmatter)(text, s, n, &body, head);
    if (ok <= 0) {
        result = ok < 0 ? NULL : (Py_INCREF(Py_None), Py_None);
        goto done;
    }
    PyObject *rows = FN(index_note)(text, s, n, body, r);
    if (rows == NULL || rows == Py_None) {
        result = rows == NULL ? NULL : (Py_DECREF(rows), Py_INCREF(Py_False), Py_False);
        goto done;
    }
    Py_ssize_t m = PyTuple_GET_SIZE(rows);
    if ((result = PyTuple_New(3 + m)) != NULL) {
        for (int k = 0; k < 3; k++) {
            PyObject *v = head[k] != NULL ? head[k] : Py_None;
            Py_INCREF(v);
            PyTuple_SET_ITEM(result, k, v);
        }
        for (Py_ssize_t k = 0; k < m; k++) {
            PyObject *v = PyTuple_GET_ITEM(rows, k);
            Py_INCREF(v);
            PyTuple_SET_ITEM(result, 3 + k, v);
        }
    }
    Py_DECREF(rows);
done:
    for (int k = 0; k < 3; k++)
        Py_XDECREF(head[k]);
    return result;
}
