/* The tokenizer of _cscan.c, included once per character width with CH (the code unit type) and
 * FN (a name suffixer) defined. Each finder mirrors one regex of vaultsync/text/tokens.py (the
 * reference); the comments name it. Nothing here reads a time, splits a link or writes JSON. */

static inline int FN(at)(const CH *s, Py_ssize_t n, Py_ssize_t i, const char *lit, Py_ssize_t len) {
    if (i < 0 || len > n - i)
        return 0;
    for (Py_ssize_t k = 0; k < len; k++)
        if (s[i + k] != (CH)(unsigned char)lit[k])
            return 0;
    return 1;
}

/* _LINE_START at i: at most 3 spaces between the start of the line (or text) and i. */
static inline int FN(line_start)(const CH *s, Py_ssize_t i) {
    Py_ssize_t j = i;
    while (j > 0 && i - j < 3 && s[j - 1] == ' ')
        j--;
    return j == 0 || s[j - 1] == '\n';
}

/* A run of ASCII letters and digits (after re.IGNORECASE folding) at i, folded into buf; its end. */
static Py_ssize_t FN(name_run)(const CH *s, Py_ssize_t n, Py_ssize_t i, char *buf, int cap) {
    int k = 0;
    Py_ssize_t j = i;
    for (; j < n; j++) {
        int c = fold(s[j]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            break;
        if (k < cap - 1)
            buf[k] = (char)c;
        k++;
    }
    buf[k < cap - 1 ? k : cap - 1] = 0;
    if (k >= cap - 1)
        buf[0] = 0; /* too long for any name */
    return j;
}

/* `</?(?i:_HTML_BLOCK6)` at i (s[i] == '<'): the end of the name, or -1. */
static Py_ssize_t FN(block6_at)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t j = i + 1;
    if (j < n && s[j] == '/')
        j++;
    char buf[16];
    Py_ssize_t e = FN(name_run)(s, n, j, buf, sizeof buf);
    return e > j && is_block6(buf) ? e : -1;
}

/* _BLOCK_START after the newline at p: a line that ends a paragraph. */
static int FN(block_start)(const CH *s, Py_ssize_t n, Py_ssize_t q) {
    Py_ssize_t k = q;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k == n || s[k] == '\n' || (s[k] == '\r' && (k + 1 == n || s[k + 1] == '\n')))
        return 1;
    k = q;
    while (k < n && k - q < 3 && s[k] == ' ')
        k++;
    if (k >= n)
        return 0;
    if (AT(s, n, k, "```") || AT(s, n, k, "~~~") || AT(s, n, k, "$$") || s[k] == '>')
        return 1;
    if (s[k] == '#') {
        Py_ssize_t h = k;
        while (h < n && s[h] == '#')
            h++;
        return h - k <= 6 && (h == n || s[h] == ' ' || s[h] == '\t' || s[h] == '\r' || s[h] == '\n');
    }
    if (s[k] == '<') {
        Py_ssize_t e = FN(block6_at)(s, n, k);
        return e > 0 && e < n && (Py_UNICODE_ISSPACE(s[e]) || s[e] == '/' || s[e] == '>');
    }
    return 0;
}

/* -- _SKIP, one alternative each; the end of the match or -1 ------------------------------------ */

static Py_ssize_t FN(fence)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    CH c = s[i];
    Py_ssize_t j = i;
    while (j < n && s[j] == c)
        j++;
    Py_ssize_t run = j - i;
    if (run < 3)
        return -1;
    while (j < n && s[j] != '\n') {
        if (c == '`' && s[j] == '`')
            return -1;
        j++;
    }
    /* the first later line of [ ]{0,3} + the same run (or longer) + [ \t]* + \r? */
    while (j < n) { /* s[j] == '\n' */
        Py_ssize_t k = j + 1, q = k;
        while (k < n && k - q < 3 && s[k] == ' ')
            k++;
        Py_ssize_t r = k;
        while (r < n && s[r] == c)
            r++;
        if (r - k >= run) {
            Py_ssize_t t = r;
            while (t < n && (s[t] == ' ' || s[t] == '\t'))
                t++;
            if (t < n && s[t] == '\r')
                t++;
            if (t == n || s[t] == '\n')
                return t;
        }
        while (k < n && s[k] != '\n')
            k++;
        j = k;
    }
    return n;
}

static Py_ssize_t FN(find)(const CH *s, Py_ssize_t n, Py_ssize_t from, const char *lit, Py_ssize_t len) {
    for (Py_ssize_t j = from; j + len <= n; j++)
        if (s[j] == (CH)(unsigned char)lit[0] && FN(at)(s, n, j, lit, len))
            return j;
    return -1;
}
#define FIND(s, n, from, lit) FN(find)((s), (n), (from), (lit), (Py_ssize_t)sizeof(lit) - 1)

static Py_ssize_t FN(hblock)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    char buf[16];
    Py_ssize_t e = FN(name_run)(s, n, i + 1, buf, sizeof buf);
    if (e > i + 1 && is_raw_tag(buf) && (e == n || Py_UNICODE_ISSPACE(s[e]) || s[e] == '>')) {
        for (Py_ssize_t j = e; j < n; j++) {
            if (s[j] == '<' && j + 1 < n && s[j + 1] == '/') {
                Py_ssize_t z = FN(name_run)(s, n, j + 2, buf, sizeof buf);
                if (z > j + 2 && z < n && s[z] == '>' && is_raw_tag(buf)) {
                    while (z < n && s[z] != '\n')
                        z++;
                    return z;
                }
            }
        }
        return n;
    }
    e = FN(block6_at)(s, n, i);
    if (e < 0 || !(e == n || Py_UNICODE_ISSPACE(s[e]) || s[e] == '/' || s[e] == '>'))
        return -1;
    Py_ssize_t j = e;
    for (;;) {
        while (j < n && s[j] != '\n')
            j++;
        if (j == n)
            return n;
        Py_ssize_t k = j + 1;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k < n && s[k] == '\r')
            k++;
        if (k == n || s[k] == '\n')
            return j;
        j++;
    }
}

static Py_ssize_t FN(code)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    if (i > 0 && s[i - 1] == '`')
        return -1;
    Py_ssize_t j = i;
    while (j < n && s[j] == '`')
        j++;
    Py_ssize_t run = j - i;
    while (j < n) {
        if (s[j] == '`') {
            Py_ssize_t k = j;
            while (k < n && s[k] == '`')
                k++;
            if (k - j == run)
                return k;
            j = k;
        } else if (s[j] == '\n') {
            if (FN(block_start)(s, n, j + 1))
                return -1;
            j++;
        } else {
            j++;
        }
    }
    return -1;
}

static Py_ssize_t FN(dmath)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    for (Py_ssize_t j = i + 2; j < n; j++) {
        if (s[j] == '$' && j + 1 < n && s[j + 1] == '$')
            return j + 2;
        if (s[j] == '\n' && FN(block_start)(s, n, j + 1))
            return -1;
    }
    return -1;
}

static Py_ssize_t FN(math)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t j = i + 1;
    if (j >= n || s[j] == ' ' || s[j] == '\t' || s[j] == '$')
        return -1;
    while (j < n) {
        CH c = s[j];
        if (c == '\\') {
            if (j + 1 < n && s[j + 1] != '\n') {
                j += 2;
                continue;
            }
            return -1;
        }
        if (c == '$') {
            CH b = s[j - 1];
            if (b == ' ' || b == '\t' || b == '\\')
                return -1;
            if (j + 1 < n && Py_UNICODE_ISDECIMAL(s[j + 1]))
                return -1;
            return j + 1;
        }
        if (c == '\n')
            return -1;
        j++;
    }
    return -1;
}

/* _SKIP.match at the trigger i: the end, and the kind in *kind; -1 for no match. */
static Py_ssize_t FN(skip_at)(const CH *s, Py_ssize_t n, Py_ssize_t i, int *kind) {
    CH c = s[i];
    int ls = FN(line_start)(s, i);
    Py_ssize_t e;
    switch (c) {
    case '`':
        if (ls && (e = FN(fence)(s, n, i)) >= 0)
            return *kind = R_FENCE, e;
        if ((e = FN(code)(s, n, i)) >= 0)
            return *kind = R_CODE, e;
        return -1;
    case '~':
        if (ls && (e = FN(fence)(s, n, i)) >= 0)
            return *kind = R_FENCE, e;
        return -1;
    case '$':
        if (ls && AT(s, n, i, "$$")) {
            e = FIND(s, n, i + 2, "$$");
            return *kind = R_MBLOCK, e < 0 ? n : e + 2;
        }
        if (AT(s, n, i, "$$")) {
            if ((e = FN(dmath)(s, n, i)) >= 0)
                return *kind = R_DMATH, e;
            return -1;
        }
        if ((e = FN(math)(s, n, i)) >= 0)
            return *kind = R_MATH, e;
        return -1;
    case '\\':
        if (i + 1 < n && s[i + 1] < 128 && is_punct((int)s[i + 1]))
            return *kind = R_ESC, i + 2;
        return -1;
    case '<':
        if (ls && (e = FN(hblock)(s, n, i)) >= 0)
            return *kind = R_HBLOCK, e;
        if (AT(s, n, i, "<!--")) {
            e = FIND(s, n, i + 4, "-->");
            return *kind = R_COMMENT, e < 0 ? n : e + 3;
        }
        return -1;
    default:
        return -1;
    }
}

/* Code, math, HTML blocks, comments and escapes (tokens._skip_matches). */

/* -- indented code (tokens._indented_code) --------------------------------------------------- */

/* `(?: {4}|[ ]{0,3}\t)[^\n]*\S` at r. */
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


/* _FENCE_LINE on the line s[a:z]: the run's end (its start in *run0), or -1. */
static Py_ssize_t FN(fence_line)(const CH *s, Py_ssize_t a, Py_ssize_t z, Py_ssize_t *run0) {
    Py_ssize_t k = a;
    while (k < z && k - a < 3 && s[k] == ' ')
        k++;
    if (k >= z || (s[k] != '`' && s[k] != '~'))
        return -1;
    Py_ssize_t r = k;
    while (r < z && s[r] == s[k])
        r++;
    if (r - k < 3)
        return -1;
    *run0 = k;
    return r;
}

static int FN(all_space)(const CH *s, Py_ssize_t a, Py_ssize_t z) {
    for (Py_ssize_t k = a; k < z; k++)
        if (!Py_UNICODE_ISSPACE(s[k]))
            return 0;
    return 1;
}

/* _LIST_ITEM on the line s[a:z]. */
static int FN(list_item)(const CH *s, Py_ssize_t a, Py_ssize_t z) {
    Py_ssize_t k = a;
    while (k < z && k - a < 3 && s[k] == ' ')
        k++;
    if (k >= z)
        return 0;
    if (s[k] == '-' || s[k] == '+' || s[k] == '*') {
        k++;
    } else {
        Py_ssize_t d = k;
        while (k < z && Py_UNICODE_ISDECIMAL(s[k]))
            k++;
        if (k == d || k - d > 9 || k >= z || (s[k] != '.' && s[k] != ')'))
            return 0;
        k++;
    }
    return k == z || s[k] == ' ' || s[k] == '\t' || (s[k] == '\r' && k + 1 == z);
}

static Py_ssize_t FN(trim_blank_tail)(const CH *s, Py_ssize_t a, Py_ssize_t z) {
    Py_ssize_t t = z;
    while (t > a && (s[t - 1] == ' ' || s[t - 1] == '\t' || s[t - 1] == '\r' || s[t - 1] == '\n'))
        t--;
    for (Py_ssize_t k = t; k < z; k++)
        if (s[k] == '\n')
            return k + 1;
    return z;
}

static int FN(indented_code)(const CH *s, Py_ssize_t n, Py_ssize_t start, Vec *out) {
    Py_ssize_t pos = start, block = -1, fence0 = -1, fence_len = 0;
    int prev_blank = 1, in_list = 0;
    while (pos < n) {
        Py_ssize_t nl = pos;
        while (nl < n && s[nl] != '\n')
            nl++;
        Py_ssize_t line_end = nl < n ? nl + 1 : n, z = nl;
        while (z > pos && (s[z - 1] == '\r' || s[z - 1] == '\n'))
            z--;
        int blank = FN(all_space)(s, pos, z);
        int indented = AT(s, z, pos, "    ") || AT(s, z, pos, "\t") || AT(s, z, pos, " \t") ||
                       AT(s, z, pos, "  \t") || AT(s, z, pos, "   \t");
        Py_ssize_t run0 = 0, r;
        if (fence0 >= 0) {
            r = FN(fence_line)(s, pos, z, &run0);
            if (r >= 0 && s[run0] == s[fence0] && r - run0 >= fence_len && FN(all_space)(s, r, z))
                fence0 = -1;
            prev_blank = blank;
            pos = line_end;
            continue;
        }
        if (block >= 0 && !blank && !indented) {
            if (vec_push(out, (Item){block, FN(trim_blank_tail)(s, block, pos), 0, 0, R_INDENTED}) < 0)
                return -1;
            block = -1;
        }
        if (block < 0) {
            r = FN(fence_line)(s, pos, z, &run0);
            if (r >= 0 && !indented) {
                fence0 = run0;
                fence_len = r - run0;
            } else if (indented && !blank && prev_blank && !in_list) {
                block = pos;
            } else if (!blank) {
                if (FN(list_item)(s, pos, z))
                    in_list = 1;
                else if (!indented)
                    in_list = 0;
            }
        }
        prev_blank = blank;
        pos = line_end;
    }
    if (block >= 0 && vec_push(out, (Item){block, FN(trim_blank_tail)(s, block, n), 0, 0, R_INDENTED}) < 0)
        return -1;
    return 0;
}

/* -- anchors, HTML tags ---------------------------------------------------------------------- */

static inline int FN(word)(CH c) { return c == '_' || Py_UNICODE_ISALNUM(c); }

/* _ATTRS from j: its end. */
static Py_ssize_t FN(attrs)(const CH *s, Py_ssize_t n, Py_ssize_t j) {
    for (;;) {
        Py_ssize_t k = j;
        while (k < n && Py_UNICODE_ISSPACE(s[k]))
            k++;
        if (k == j)
            return j;
        Py_ssize_t name = k;
        while (k < n && !Py_UNICODE_ISSPACE(s[k]) && s[k] != '"' && s[k] != '\'' && s[k] != '>' && s[k] != '/' &&
               s[k] != '=')
            k++;
        if (k == name)
            return j;
        j = k;
        while (k < n && Py_UNICODE_ISSPACE(s[k]))
            k++;
        if (k < n && s[k] == '=') {
            k++;
            while (k < n && Py_UNICODE_ISSPACE(s[k]))
                k++;
            if (k < n && (s[k] == '"' || s[k] == '\'')) {
                CH q = s[k];
                Py_ssize_t v = k + 1;
                while (v < n && s[v] != q)
                    v++;
                if (v < n)
                    j = v + 1;
            } else {
                Py_ssize_t v = k;
                while (v < n && !Py_UNICODE_ISSPACE(s[v]) && s[v] != '"' && s[v] != '\'' && s[v] != '=' &&
                       s[v] != '<' && s[v] != '>' && s[v] != '`')
                    v++;
                if (v > k)
                    j = v;
            }
        }
    }
}

/* `([^<]*)</a\s*>` from j: the end, or -1. */
static Py_ssize_t FN(anchor_tail)(const CH *s, Py_ssize_t n, Py_ssize_t j) {
    while (j < n && s[j] != '<')
        j++;
    if (!AT(s, n, j, "</a"))
        return -1;
    j += 3;
    while (j < n && Py_UNICODE_ISSPACE(s[j]))
        j++;
    return j < n && s[j] == '>' ? j + 1 : -1;
}

/* _ANCHOR_FAST at i: the end (the data-t's closing quote in *q), or -1. */
static Py_ssize_t FN(anchor_fast)(const CH *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *q) {
    if (!AT(s, n, i, ANCHOR_PREFIX))
        return -1;
    Py_ssize_t j = i + ANCHOR_PREFIX_LEN;
    while (j < n && s[j] != '"' && s[j] != '<' && s[j] != '>')
        j++;
    if (!AT(s, n, j, "\">"))
        return -1;
    *q = j;
    j += 2;
    if (j < n && s[j] == '[')
        j++;
    while (j < n && s[j] != '<' && s[j] != '[')
        j++;
    return AT(s, n, j, "</a>") ? j + 4 : -1;
}

/* _ANCHOR_ANY at i: the end (the attributes' end in *a1), or -1. */
static Py_ssize_t FN(anchor_any)(const CH *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *a1) {
    if (!AT(s, n, i, "<a") || (i + 2 < n && FN(word)(s[i + 2])))
        return -1;
    Py_ssize_t j = FN(attrs)(s, n, i + 2);
    *a1 = j;
    while (j < n && Py_UNICODE_ISSPACE(s[j]))
        j++;
    if (j >= n || s[j] != '>')
        return -1;
    return FN(anchor_tail)(s, n, j + 1);
}

/* _ANCHOR_LOOSE at i. */
static Py_ssize_t FN(anchor_loose)(const CH *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *a1) {
    if (!AT(s, n, i, "<a") || i + 2 >= n || !Py_UNICODE_ISSPACE(s[i + 2]))
        return -1;
    Py_ssize_t j = i + 3;
    while (j < n && s[j] != '<' && s[j] != '>')
        j++;
    *a1 = j;
    if (j >= n || s[j] != '>')
        return -1;
    return FN(anchor_tail)(s, n, j + 1);
}

/* _STAMP_ATTRS.search(s[a:z]). */
static int FN(stamp_attrs)(const CH *s, Py_ssize_t a, Py_ssize_t z) {
    for (Py_ssize_t k = a; k < z; k++) {
        if (s[k] == 'd' && AT(s, z, k, "data-t"))
            return 1;
        if (s[k] == 't' && AT(s, z, k, "timestamp"))
            return 1;
        if (s[k] == 'y' && k + 2 < z && s[k + 1] == 't' && (k == a || !FN(word)(s[k - 1])) && !FN(word)(s[k + 2]))
            return 1;
    }
    return 0;
}

static inline int FN(ascii_alpha)(CH c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static inline int FN(ascii_alnum)(CH c) { return FN(ascii_alpha)(c) || (c >= '0' && c <= '9'); }

/* _HTML_TAG at i. */
static Py_ssize_t FN(html_tag)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t j = i + 1, e;
    if (AT(s, n, i, "<!--")) {
        e = FIND(s, n, i + 4, "-->");
        if (e >= 0)
            return e + 3;
    }
    if (j < n && s[j] == '/')
        j++;
    if (j < n && FN(ascii_alpha)(s[j])) {
        j++;
        while (j < n && (FN(ascii_alnum)(s[j]) || s[j] == '-'))
            j++;
        j = FN(attrs)(s, n, j);
        while (j < n && Py_UNICODE_ISSPACE(s[j]))
            j++;
        if (j < n && s[j] == '/')
            j++;
        if (j < n && s[j] == '>')
            return j + 1;
    }
    j = i + 1;
    if (j < n && FN(ascii_alpha)(s[j])) {
        Py_ssize_t k = j + 1;
        while (k < n && (FN(ascii_alnum)(s[k]) || s[k] == '+' || s[k] == '.' || s[k] == '-'))
            k++;
        if (k - j >= 2 && k - j <= 32 && k < n && s[k] == ':') {
            k++;
            while (k < n && !Py_UNICODE_ISSPACE(s[k]) && s[k] != '<' && s[k] != '>')
                k++;
            if (k < n && s[k] == '>')
                return k + 1;
        }
    }
    return -1;
}

/* _OTHER_HTML at i (s[i] == '<'). */
static int FN(other_html)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    return !(AT(s, n, i, ANCHOR_PREFIX) || AT(s, n, i, "</a>") || AT(s, n, i, "<br>") || AT(s, n, i, "<br/>") ||
             AT(s, n, i, "<br >") || AT(s, n, i, "<br />"));
}

/* -- links, tags, block ids, headings --------------------------------------------------------- */

/* _WIKI at i (s[i:i+2] == "[["): the end, or -1. */
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

static inline Py_ssize_t FN(decimals)(const CH *s, Py_ssize_t n, Py_ssize_t j) {
    Py_ssize_t k = j;
    while (k < n && (s[k] < 128 ? s[k] >= '0' && s[k] <= '9' : Py_UNICODE_ISDECIMAL(s[k]))) /* ASCII: no call */
        k++;
    return k - j;
}

/* _MD_STAMP at i: the end (the label's "]" in *le, the video id's end in *ie), or -1. */
static Py_ssize_t FN(md_stamp)(const CH *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *le, Py_ssize_t *ie) {
    Py_ssize_t j = i + 1, d = FN(decimals)(s, n, j);
    if (d < 1 || d > 3 || j + d >= n || s[j + d] != ':')
        return -1;
    j += d + 1;
    if (FN(decimals)(s, n, j) < 2)
        return -1;
    j += 2;
    if (j + 3 < n && s[j] == ':' && FN(decimals)(s, n, j + 1) >= 2 && s[j + 3] == ']')
        j += 3;
    *le = j;
    if (!AT(s, n, j, "](https://www.youtube.com/watch?v="))
        return -1;
    j += 34;
    Py_ssize_t b0 = j;
    while (j < n && (FN(ascii_alnum)(s[j]) || s[j] == '_' || s[j] == '-'))
        j++;
    if (j == b0 || !AT(s, n, j, "&t="))
        return -1;
    *ie = j;
    j += 3;
    Py_ssize_t d0 = j;
    while (j < n && s[j] >= '0' && s[j] <= '9')
        j++;
    return j > d0 && AT(s, n, j, "s)") ? j + 2 : -1;
}

/* The title and closing parenthesis of _MDLINK from j: the end, or -1. */
static Py_ssize_t FN(md_tail)(const CH *s, Py_ssize_t n, Py_ssize_t j) {
    Py_ssize_t k = j;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k > j && k < n && (s[k] == '"' || s[k] == '\'')) {
        CH q = s[k];
        Py_ssize_t t = k + 1;
        while (t < n && s[t] != q && s[t] != '\n')
            t++;
        if (t < n && s[t] == q) {
            t++;
            while (t < n && (s[t] == ' ' || s[t] == '\t'))
                t++;
            if (t < n && s[t] == ')')
                return t + 1;
        }
    }
    return k < n && s[k] == ')' ? k + 1 : -1;
}

/* _MDLINK at i (s[i] == '['): the end, or -1. */
static Py_ssize_t FN(md_link)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t j = i + 1;
    for (;;) {
        if (j >= n)
            return -1;
        CH c = s[j];
        if (c == ']')
            break;
        if (c == '\\') {
            if (j + 1 < n && s[j + 1] != '\n') {
                j += 2;
                continue;
            }
            return -1;
        }
        if (c == '\n') {
            Py_ssize_t k = j + 1;
            while (k < n && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (k < n && s[k] == '\r')
                k++;
            if (k < n && s[k] == '\n')
                return -1;
            j++;
            continue;
        }
        if (c == '[') {
            Py_ssize_t k = j + 1;
            while (k < n && s[k] != '[' && s[k] != ']' && s[k] != '\n')
                k++;
            if (k < n && s[k] == ']') {
                j = k + 1;
                continue;
            }
            return -1;
        }
        j++;
    }
    if (j + 1 >= n || s[j + 1] != '(')
        return -1;
    Py_ssize_t j0 = j + 2, d = j0, e;
    while (d < n && (s[d] == ' ' || s[d] == '\t'))
        d++;
    if (d < n && s[d] == '<') {
        Py_ssize_t k = d + 1;
        while (k < n && s[k] != '<' && s[k] != '>' && s[k] != '\n')
            k++;
        if (k < n && s[k] == '>' && (e = FN(md_tail)(s, n, k + 1)) >= 0)
            return e;
    }
    Py_ssize_t k = d;
    for (;;) {
        if (k >= n)
            break;
        CH c = s[k];
        if (c == '\\') {
            if (k + 1 < n && s[k + 1] != '\n') {
                k += 2;
                continue;
            }
            break;
        }
        if (c == '(') {
            Py_ssize_t m = k + 1;
            for (;;) {
                if (m >= n)
                    break;
                if (s[m] == '\\' && m + 1 < n && s[m + 1] != '\n') {
                    m += 2;
                    continue;
                }
                if (s[m] == '\\' || s[m] == '(' || s[m] == ')' || Py_UNICODE_ISSPACE(s[m]))
                    break;
                m++;
            }
            if (m < n && s[m] == ')') {
                k = m + 1;
                continue;
            }
            break;
        }
        if (c == ')' || Py_UNICODE_ISSPACE(c))
            break;
        k++;
    }
    if ((e = FN(md_tail)(s, n, k)) >= 0)
        return e;
    if (d > j0 && (e = FN(md_tail)(s, n, d - 1)) >= 0)
        return e;
    return -1;
}

/* _TAG at i (s[i] == '#'): the end, or -1. */
static Py_ssize_t FN(tag_at)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    if (i > 0 && !Py_UNICODE_ISSPACE(s[i - 1]))
        return -1;
    Py_ssize_t j = i + 1;
    while (j < n && !tag_excluded(s[j]))
        j++;
    return j > i + 1 ? j : -1;
}

/* _BLOCK at i (s[i] == '^'). */
static Py_ssize_t FN(block_at)(const CH *s, Py_ssize_t n, Py_ssize_t i) {
    if (i > 0 && s[i - 1] != ' ' && s[i - 1] != '\t' && s[i - 1] != '\n')
        return -1;
    Py_ssize_t j = i + 1;
    while (j < n && (FN(ascii_alnum)(s[j]) || s[j] == '-'))
        j++;
    if (j == i + 1)
        return -1;
    Py_ssize_t k = j;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k < n && s[k] == '\r')
        k++;
    return k == n || s[k] == '\n' ? j : -1;
}

/* _HEADING_FIRST at the line start p: pushes (p, hash start, hash end, line end) on a match. */
static int FN(heading_at)(Vec *heads, const CH *s, Py_ssize_t n, Py_ssize_t p) {
    Py_ssize_t j = p;
    while (j < n && j - p < 3 && s[j] == ' ')
        j++;
    Py_ssize_t h = j;
    while (j < n && s[j] == '#')
        j++;
    if (j - h < 1 || j - h > 6)
        return 0;
    if (j < n && !(s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
        return 0;
    Py_ssize_t eol = j;
    while (eol < n && s[eol] != '\n')
        eol++;
    return vec_push(heads, (Item){p, j, h, eol, R_HEAD});
}

/* -- the whole body ---------------------------------------------------------------------------- */

/* What the one pass over the text carries from one trigger character to the next. */
typedef struct {
    Py_ssize_t start, cursor, wiki_next, stamp_next, html_next, n_a, n_parens, n_stamps;
    int other_html, indented;
    Vec *v;
} FN(Pass);

/* One trigger character at s[i]: the skip pass (tokens._skip_matches) and every finder that is
 * tried at its first character, each with its own finditer cursor. 0, or -1 on an error. */
static inline int FN(visit)(const CH *s, Py_ssize_t n, Py_ssize_t i, FN(Pass) *ps) {
    CH c = s[i];
    Vec *v = ps->v;
    Py_ssize_t e, q, start = ps->start;
    if (c == '\n') {
        if (!ps->indented) { /* _MAYBE_INDENTED_CODE */
            Py_ssize_t k = i + 1;
            while (k < n && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (k < n && s[k] == '\r')
                k++;
            if (k < n && s[k] == '\n' && FN(indented_at)(s, n, k + 1))
                ps->indented = 1;
        }
        return FN(heading_at)(&v[K_HEAD], s, n, i + 1);
    }
    if (i < start)
        return 0;
    if (skip_trigger[c] && i >= ps->cursor) {
        int tried = 1;
        if (c == '~') {
            tried = FN(line_start)(s, i) && AT(s, n, i, "~~~");
        } else if (c == '<' && !AT(s, n, i, "<!--")) {
            /* _FIRST_LINE_HTML at start, or _HTML_BLOCK_START: a line's first '<' */
            Py_ssize_t j = i;
            while (j > start && i - j < 3 && s[j - 1] == ' ')
                j--;
            tried = j == start || s[j - 1] == '\n';
        }
        int kind;
        if (tried && (e = FN(skip_at)(s, n, i, &kind)) >= 0) {
            if (vec_push(&v[K_SKIP], (Item){i, e, 0, 0, kind}) < 0)
                return -1;
            ps->cursor = e;
        }
    }
    switch (c) {
    case '<':
        if (i + 1 < n && s[i + 1] == 'a')
            ps->n_a++;
        Py_ssize_t fast = FN(anchor_fast)(s, n, i, &q);
        if (!ps->other_html && fast < 0 && FN(other_html)(s, n, i)) /* a fast anchor is no other HTML */
            ps->other_html = 1;
        if (fast >= 0 && vec_push(&v[K_ANCHOR], (Item){i, fast, q, 0, 0}) < 0)
            return -1;
        /* _HTML_TAG at a fast anchor is its opening tag, which ends after the data-t's quote and
         * '>': known without reading its attributes again */
        if (i >= ps->html_next && (e = fast >= 0 ? q + 2 : FN(html_tag)(s, n, i)) >= 0) { /* kept if other_html */
            if (vec_push(&v[K_HTML], (Item){i, e, 0, 0, 0}) < 0)
                return -1;
            ps->html_next = e;
        }
        break;
    case '[':
        if (i >= ps->wiki_next && i + 1 < n && s[i + 1] == '[' && (e = FN(wiki_end)(s, n, i)) >= 0) {
            if (vec_push(&v[K_WIKI], (Item){i, e, 0, 0, 0}) < 0)
                return -1;
            ps->wiki_next = e;
        }
        if (i >= ps->stamp_next) {
            Py_ssize_t le, ie;
            if ((e = FN(md_stamp)(s, n, i, &le, &ie)) >= 0) {
                ps->stamp_next = e;
                if (!(i > 0 && s[i - 1] == '!')) {
                    if (vec_push(&v[K_MDSTAMP], (Item){i, e, le, ie, 0}) < 0)
                        return -1;
                    ps->n_stamps++;
                }
            }
        }
        break;
    case ']':
        if (i + 1 < n && s[i + 1] == '(')
            ps->n_parens++;
        break;
    case '#':
        if ((e = FN(tag_at)(s, n, i)) >= 0 && vec_push(&v[K_TAG], (Item){i, e, 0, 0, 0}) < 0)
            return -1;
        break;
    case '^':
        if ((e = FN(block_at)(s, n, i)) >= 0 && vec_push(&v[K_BLOCK], (Item){i, e, 0, 0, 0}) < 0)
            return -1;
        break;
    default:
        break;
    }
    return 0;
}

static PyObject *FN(tokenize)(const CH *s, Py_ssize_t n, Py_ssize_t start) {
    Vec v[K_COUNT];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    int sweep = 0, others = 0;
    FN(Pass) ps = {start, start, start, start, start, 0, 0, 0, 0, FN(indented_at)(s, n, start), v};
    Py_ssize_t any_next = start, loose_next = start, md_next = start;

    if (start == 0 || s[start - 1] != '\n') {
        if (FN(heading_at)(&v[K_HEAD], s, n, start) < 0)
            goto done;
    }
    Py_ssize_t i = start > 0 ? start - 1 : 0;
    if (FN(LANES)) { /* blocks of LANES characters at once; each trigger in one is visited */
        for (; i + FN(LANES) <= n; i += FN(LANES))
            for (unsigned m = FN(block_mask)(s + i); m; m &= m - 1)
                if (FN(visit)(s, n, i + __builtin_ctz(m), &ps) < 0)
                    goto done;
    }
    for (; i < n; i++)
        if (s[i] < 128 && any_trigger[s[i]] && FN(visit)(s, n, i, &ps) < 0)
            goto done;
    if (!ps.other_html)
        v[K_HTML].n = 0;
    if (ps.indented && FN(indented_code)(s, n, start, &v[K_SKIP]) < 0)
        goto done;
    sweep = v[K_SKIP].n > 0;
    Py_ssize_t n_a = ps.n_a, n_parens = ps.n_parens, n_stamps = ps.n_stamps;
    /* generic anchors (tokens: _ANCHOR_ANY, then _ANCHOR_LOOSE, of a timestamp) */
    if (n_a > v[K_ANCHOR].n) {
        Vec extra = {0};
        Py_ssize_t fast = v[K_ANCHOR].n, f = 0, a1;
        for (Py_ssize_t i = start; i + 1 < n; i++) {
            if (s[i] != '<' || s[i + 1] != 'a' || i < any_next)
                continue;
            Py_ssize_t e = FN(anchor_any)(s, n, i, &a1);
            if (e < 0)
                continue;
            any_next = e;
            while (f < fast && v[K_ANCHOR].v[f].s < i)
                f++;
            if (!(f < fast && v[K_ANCHOR].v[f].s == i) && FN(stamp_attrs)(s, i + 2, a1) &&
                vec_push(&extra, (Item){i, e, -1, 0, 0}) < 0) {
                free(extra.v);
                goto done;
            }
        }
        if (n_a > fast + extra.n) {
            Py_ssize_t any_n = extra.n, g = 0;
            f = 0;
            for (Py_ssize_t i = start; i + 1 < n; i++) {
                if (s[i] != '<' || s[i + 1] != 'a' || i < loose_next)
                    continue;
                Py_ssize_t e = FN(anchor_loose)(s, n, i, &a1);
                if (e < 0)
                    continue;
                loose_next = e;
                while (f < fast && v[K_ANCHOR].v[f].s < i)
                    f++;
                while (g < any_n && extra.v[g].s < i)
                    g++;
                if (!(f < fast && v[K_ANCHOR].v[f].s == i) && !(g < any_n && extra.v[g].s == i) &&
                    FN(stamp_attrs)(s, i + 3, a1) && vec_push(&extra, (Item){i, e, -2, 0, 0}) < 0) {
                    free(extra.v);
                    goto done;
                }
            }
        }
        if (extra.n) {
            sweep = 1;
            for (Py_ssize_t k = 0; k < extra.n; k++)
                if (vec_push(&v[K_ANCHOR], extra.v[k]) < 0) {
                    free(extra.v);
                    goto done;
                }
            qsort(v[K_ANCHOR].v, (size_t)v[K_ANCHOR].n, sizeof(Item), by_start);
        }
        free(extra.v);
    }
    if (n_parens > n_stamps) {
        Py_ssize_t f = 0;
        for (Py_ssize_t i = start; i < n; i++) {
            if (s[i] != '[' || i < md_next)
                continue;
            Py_ssize_t e = FN(md_link)(s, n, i);
            if (e < 0)
                continue;
            md_next = e;
            while (f < v[K_MDSTAMP].n && v[K_MDSTAMP].v[f].s < i)
                f++;
            if (!(f < v[K_MDSTAMP].n && v[K_MDSTAMP].v[f].s == i) && vec_push(&v[K_MD], (Item){i, e, 0, 0, 0}) < 0)
                goto done;
        }
    }
    others = v[K_HTML].n || v[K_MD].n || v[K_TAG].n || v[K_BLOCK].n;
    if ((sweep || others) && sweep_all(v, start) < 0)
        goto done;
    result = build_result(v);
done:
    for (int k = 0; k < K_COUNT; k++)
        free(v[k].v);
    return result;
}
