/* A one-pass JSON checker driven by a program compiled from the object model (_native.py).
 *
 * It answers, for each raw line, "valid, an event", "valid, an error payload", or "not
 * sure"; it never says "invalid". Whatever it cannot prove valid cheaply (bad JSON, a
 * constraint that fails, an escape in a member name, a number json.loads would read as a
 * float where an integer is due, a pattern it cannot run...) is "not sure", and slower
 * engines decide. So it must only ever accept what the reference accepts: every check
 * here is that check of the schema, or a stricter one. No Python object is created per
 * line, which is where its speed comes from.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { N_UNSURE = 0, N_STR, N_INT, N_NUM, N_BOOL, N_ARR, N_TUP, N_OBJ, N_UNION, N_ANYOBJ };
enum { C_SEQ = 1, C_DATETIME, C_URI };

#define NODE_FORMAT 1 /* the layout of node tuples and of run()'s answer: _native checks it */
#define MAX_DEPTH 128
#define MAX_FIELDS 256
#define DECODED 4096 /* longest checked string with escapes decoded here; longer: not sure */

typedef struct { unsigned char cls[16]; Py_ssize_t lo, hi; } Item; /* ASCII class{lo,hi} */
typedef struct { Item *items; Py_ssize_t n; } Alt;
typedef struct { int kind; Alt *alts; Py_ssize_t nalts; } Check;
typedef struct { char *name; Py_ssize_t len; int node; int required; } FieldDef;
typedef struct { char *value; Py_ssize_t len; int *nodes; Py_ssize_t n; } Tag;

typedef struct {
    int kind;
    /* N_STR */
    Py_ssize_t min_len, max_len; /* -1: none */
    Check *checks; Py_ssize_t nchecks;
    char **enum_values; Py_ssize_t *enum_lens; Py_ssize_t nenum; /* nenum < 0: no enum */
    /* N_INT, N_NUM */
    int has_min, has_max;
    int64_t imin, imax;
    double fmin, fmax;
    /* N_ARR: item; N_TUP: items */
    int item;
    Py_ssize_t min_items, max_items;
    int *items; Py_ssize_t nitems;
    /* N_OBJ */
    FieldDef *fields; Py_ssize_t nfields;
    int *table; Py_ssize_t mask; /* open addressing: field index + 1 */
    int *any_of; Py_ssize_t nany;
    int strict;
    /* N_UNION */
    char *tag; Py_ssize_t tag_len;
    Tag *tags; Py_ssize_t ntags;
} Node;

typedef struct {
    PyObject_HEAD
    Node *nodes;
    Py_ssize_t nnodes;
} Program;

typedef struct { const unsigned char *p, *end; int depth; } Cur;

/* bytes that go on a string's plain run: printable ASCII but '"' and '\\' */
static unsigned char PLAIN[256];
static unsigned char URI_PLAIN[256];

/* Member names are short and mostly differ in length or at either end: that is enough. */
static inline uint32_t hash(const char *s, Py_ssize_t n) {
    if (!n) return 0;
    return (uint32_t)n * 2654435761u ^ (unsigned char)s[0] * 40503u ^ (unsigned char)s[n - 1] * 131u ^
           (unsigned char)s[n / 2] * 7u;
}

static inline void ws(Cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* One UTF-8 sequence at p (its first byte >= 0x80), as Python's strict decoder reads it:
 * its length, or 0. Encoded surrogates are refused (json.loads takes them: not sure). */
static inline int utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned char b = p[0];
    if (b >= 0xC2 && b <= 0xDF) return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (b >= 0xE0 && b <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (b == 0xE0 && p[1] < 0xA0) return 0;
        if (b == 0xED && p[1] >= 0xA0) return 0;
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (b == 0xF0 && p[1] < 0x90) return 0;
        if (b == 0xF4 && p[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

static int hex4(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9') v |= ch - '0';
        else if (ch >= 'a' && ch <= 'f') v |= ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') v |= ch - 'A' + 10;
        else return 0;
    }
    *out = v;
    return 1;
}

/* A string token at c->p (on its '"'): checks JSON and UTF-8, leaves c->p after it.
 * Sets [*s, *e) to its raw content and *escaped if it holds a backslash. */
static int string_token(Cur *c, const unsigned char **s, const unsigned char **e, int *escaped) {
    const unsigned char *p = c->p + 1, *end = c->end;
    *s = p;
    *escaped = 0;
    for (;;) {
        while (p + 8 <= end) { /* the common run: plain ASCII, eight bytes a step */
            if (!(PLAIN[p[0]] & PLAIN[p[1]] & PLAIN[p[2]] & PLAIN[p[3]] & PLAIN[p[4]] & PLAIN[p[5]] &
                  PLAIN[p[6]] & PLAIN[p[7]]))
                break;
            p += 8;
        }
        while (p < end && PLAIN[*p]) p++;
        if (p >= end) return 0;
        unsigned char b = *p;
        if (b == '"') break;
        if (b == '\\') {
            *escaped = 1;
            if (p + 1 >= end) return 0;
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                break;
            case 'u': {
                unsigned v;
                if (end - p < 6 || !hex4(p + 2, &v)) return 0;
                p += 6;
                break;
            }
            default:
                return 0;
            }
        } else if (b < 0x20) {
            return 0; /* json.loads (strict) refuses control characters */
        } else {
            int n = utf8_seq(p, end);
            if (!n) return 0;
            p += n;
        }
    }
    *e = p;
    c->p = p + 1;
    return 1;
}

/* The content of an escaped string, as UTF-8 in buf; 0 if a surrogate stands alone or
 * the result would not fit (not sure). */
static Py_ssize_t unescape(const unsigned char *s, const unsigned char *e, unsigned char *buf) {
    Py_ssize_t n = 0;
    while (s < e) {
        if (n + 4 > DECODED) return -1;
        if (*s != '\\') { buf[n++] = *s++; continue; }
        unsigned char k = s[1];
        unsigned v;
        s += 2;
        switch (k) {
        case 'b': buf[n++] = '\b'; continue;
        case 'f': buf[n++] = '\f'; continue;
        case 'n': buf[n++] = '\n'; continue;
        case 'r': buf[n++] = '\r'; continue;
        case 't': buf[n++] = '\t'; continue;
        case 'u': break;
        default: buf[n++] = k; continue;
        }
        hex4(s, &v);
        s += 4;
        if (v >= 0xD800 && v <= 0xDBFF) {
            unsigned lo;
            if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) return -1;
            s += 6;
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        } else if (v >= 0xDC00 && v <= 0xDFFF) {
            return -1;
        }
        if (v < 0x80) buf[n++] = (unsigned char)v;
        else if (v < 0x800) { buf[n++] = 0xC0 | (v >> 6); buf[n++] = 0x80 | (v & 0x3F); }
        else if (v < 0x10000) {
            buf[n++] = 0xE0 | (v >> 12); buf[n++] = 0x80 | ((v >> 6) & 0x3F); buf[n++] = 0x80 | (v & 0x3F);
        } else {
            buf[n++] = 0xF0 | (v >> 18); buf[n++] = 0x80 | ((v >> 12) & 0x3F);
            buf[n++] = 0x80 | ((v >> 6) & 0x3F); buf[n++] = 0x80 | (v & 0x3F);
        }
    }
    return n;
}

static int in_class(const unsigned char *cls, unsigned char b) { return b < 128 && (cls[b >> 3] >> (b & 7)) & 1; }

/* Each item's class differs from the next's and every item takes one character at least
 * (_native checks both), so the longest run is the only way to match: no backtracking. */
static int match_alt(const Alt *a, const unsigned char *s, const unsigned char *e) {
    for (Py_ssize_t i = 0; i < a->n; i++) {
        const Item *it = &a->items[i];
        Py_ssize_t k = 0;
        while (s < e && (it->hi < 0 || k < it->hi) && in_class(it->cls, *s)) { s++; k++; }
        if (k < it->lo) return 0;
    }
    return s == e;
}

static int digits(const unsigned char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* _typed._DATE_TIME: RFC 3339 as rfc3339_validator reads it, years 0001-9999,
 * seconds 00-59, days per the calendar. */
static int date_time(const unsigned char *s, const unsigned char *e) {
    static const int days[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (e - s < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return 0;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days[mo] || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 59)
        return 0;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return 0;
    s += 19;
    if (s < e && *s == '.') {
        const unsigned char *f = ++s;
        while (s < e && *s >= '0' && *s <= '9') s++;
        if (s == f) return 0;
    }
    if (e - s == 1) return *s == 'Z' || *s == 'z';
    if (e - s != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return 0;
    int oh = digits(s + 1, 2), om = digits(s + 4, 2);
    return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

/* _patterns' fast rule: http(s)://, then only unreserved characters, sub-delims, "/" and
 * "?" (always an RFC 3986 URI). */
static int uri(const unsigned char *s, const unsigned char *e) {
    if (e - s >= 8 && memcmp(s, "https://", 8) == 0) s += 8;
    else if (e - s >= 7 && memcmp(s, "http://", 7) == 0) s += 7;
    else return 0;
    while (s < e && URI_PLAIN[*s]) s++;
    return s == e;
}

static int check_string(const Node *n, const unsigned char *s, const unsigned char *e, int escaped) {
    unsigned char buf[DECODED];
    if (escaped) {
        Py_ssize_t len = unescape(s, e, buf);
        if (len < 0) return 0;
        s = buf;
        e = buf + len;
    }
    if (n->min_len >= 0 || n->max_len >= 0) {
        Py_ssize_t chars = 0; /* code points: bytes that do not continue a sequence */
        for (const unsigned char *q = s; q < e; q++) chars += (*q & 0xC0) != 0x80;
        if ((n->min_len >= 0 && chars < n->min_len) || (n->max_len >= 0 && chars > n->max_len)) return 0;
    }
    if (n->nenum >= 0) {
        Py_ssize_t i;
        for (i = 0; i < n->nenum; i++)
            if (n->enum_lens[i] == e - s && memcmp(n->enum_values[i], s, e - s) == 0) break;
        if (i == n->nenum) return 0;
    }
    for (Py_ssize_t i = 0; i < n->nchecks; i++) {
        const Check *ch = &n->checks[i];
        if (ch->kind == C_DATETIME) {
            if (!date_time(s, e)) return 0;
        } else if (ch->kind == C_URI) {
            if (!uri(s, e)) return 0;
        } else {
            Py_ssize_t a;
            for (a = 0; a < ch->nalts; a++)
                if (match_alt(&ch->alts[a], s, e)) break;
            if (a == ch->nalts) return 0;
        }
    }
    return 1;
}

/* A number token: JSON syntax; *integral when json.loads reads it as an int. */
static int number_token(Cur *c, int *integral) {
    const unsigned char *p = c->p, *end = c->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return 0;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
    else return 0;
    *integral = 1;
    if (p < end && *p == '.') {
        const unsigned char *f = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == f) return 0;
        *integral = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const unsigned char *f = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == f) return 0;
        *integral = 0;
    }
    c->p = p;
    return 1;
}

static int skip(Cur *c);

static int skip_object(Cur *c) {
    const unsigned char *s, *e;
    int escaped;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == '}') { c->p++; return 1; }
    for (;;) {
        if (c->p >= c->end || *c->p != '"' || !string_token(c, &s, &e, &escaped)) return 0;
        ws(c);
        if (c->p >= c->end || *c->p != ':') return 0;
        c->p++;
        ws(c);
        if (!skip(c)) return 0;
        ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == '}') { c->p++; return 1; }
        if (*c->p != ',') return 0;
        c->p++;
        ws(c);
    }
}

/* Any JSON value (what an undeclared member or a free-form object holds). */
static int skip(Cur *c) {
    const unsigned char *s, *e;
    int escaped, integral;
    if (c->p >= c->end) return 0;
    switch (*c->p) {
    case '"':
        return string_token(c, &s, &e, &escaped);
    case '{': {
        if (++c->depth > MAX_DEPTH) return 0;
        int ok = skip_object(c);
        c->depth--;
        return ok;
    }
    case '[':
        if (++c->depth > MAX_DEPTH) return 0;
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == ']') { c->p++; c->depth--; return 1; }
        for (;;) {
            if (!skip(c)) return 0;
            ws(c);
            if (c->p >= c->end) return 0;
            if (*c->p == ']') { c->p++; c->depth--; return 1; }
            if (*c->p != ',') return 0;
            c->p++;
            ws(c);
        }
    case 't':
        if (c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) { c->p += 4; return 1; }
        return 0;
    case 'f':
        if (c->end - c->p >= 5 && memcmp(c->p, "false", 5) == 0) { c->p += 5; return 1; }
        return 0;
    case 'n':
        if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) { c->p += 4; return 1; }
        return 0;
    default:
        return number_token(c, &integral);
    }
}

static int value(const Program *pr, int node, Cur *c, unsigned char *seen_out);

static Py_ssize_t lookup(const Node *n, const unsigned char *s, Py_ssize_t len, Py_ssize_t hint) {
    if (hint < n->nfields && n->fields[hint].len == len && memcmp(n->fields[hint].name, s, len) == 0) return hint;
    for (uint32_t h = hash((const char *)s, len) & n->mask;; h = (h + 1) & n->mask) {
        int i = n->table[h];
        if (!i) return -1;
        if (n->fields[i - 1].len == len && memcmp(n->fields[i - 1].name, s, len) == 0) return i - 1;
    }
}

/* An object of node n at c->p (on its '{'); `seen` gets which fields are present. */
static int object(const Program *pr, const Node *n, Cur *c, unsigned char *seen) {
    const unsigned char *s, *e;
    int escaped;
    Py_ssize_t hint = 0;
    memset(seen, 0, n->nfields);
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == '}') c->p++;
    else for (;;) {
        if (c->p >= c->end || *c->p != '"' || !string_token(c, &s, &e, &escaped) || escaped) return 0;
        ws(c);
        if (c->p >= c->end || *c->p != ':') return 0;
        c->p++;
        ws(c);
        Py_ssize_t i = lookup(n, s, e - s, hint);
        if (i < 0) {
            if (n->strict || !skip(c)) return 0;
        } else {
            if (!value(pr, n->fields[i].node, c, NULL)) return 0;
            seen[i] = 1;
            hint = i + 1;
        }
        ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == '}') { c->p++; break; }
        if (*c->p != ',') return 0;
        c->p++;
        ws(c);
    }
    for (Py_ssize_t i = 0; i < n->nfields; i++)
        if (n->fields[i].required && !seen[i]) return 0;
    if (n->nany) {
        Py_ssize_t i;
        for (i = 0; i < n->nany; i++)
            if (seen[n->any_of[i]]) break;
        if (i == n->nany) return 0;
    }
    return 1;
}

/* A union's tag: found by a first pass over the object's members. */
static const Tag *union_tag(const Node *n, Cur c) {
    const unsigned char *s, *e, *vs, *ve;
    int escaped, vescaped;
    const Tag *found = NULL;
    c.p++;
    ws(&c);
    if (c.p < c.end && *c.p == '}') return NULL;
    for (;;) {
        if (c.p >= c.end || *c.p != '"' || !string_token(&c, &s, &e, &escaped)) return NULL;
        ws(&c);
        if (c.p >= c.end || *c.p != ':') return NULL;
        c.p++;
        ws(&c);
        if (!escaped && e - s == n->tag_len && memcmp(s, n->tag, n->tag_len) == 0) {
            if (found || c.p >= c.end || *c.p != '"' || !string_token(&c, &vs, &ve, &vescaped) || vescaped) return NULL;
            for (Py_ssize_t i = 0; i < n->ntags && !found; i++)
                if (n->tags[i].len == ve - vs && memcmp(n->tags[i].value, vs, ve - vs) == 0) found = &n->tags[i];
            if (!found) return NULL;
        } else if (!skip(&c)) {
            return NULL;
        }
        ws(&c);
        if (c.p >= c.end) return NULL;
        if (*c.p == '}') return found;
        if (*c.p != ',') return NULL;
        c.p++;
        ws(&c);
    }
}

static int value(const Program *pr, int node, Cur *c, unsigned char *seen_out) {
    const Node *n = &pr->nodes[node];
    const unsigned char *s, *e;
    int escaped, integral;
    if (c->p >= c->end) return 0;
    unsigned char b = *c->p;
    switch (n->kind) {
    case N_STR:
        if (b != '"' || !string_token(c, &s, &e, &escaped)) return 0;
        if (n->min_len < 0 && n->max_len < 0 && n->nenum < 0 && !n->nchecks) return 1;
        return check_string(n, s, e, escaped);
    case N_INT: {
        const unsigned char *start = c->p;
        if (!number_token(c, &integral) || !integral) return 0;
        Py_ssize_t len = c->p - start - (*start == '-');
        if (!n->has_min && !n->has_max) return 1;
        if (len > 18) return 0;
        int64_t v = 0;
        for (const unsigned char *q = start + (*start == '-'); q < c->p; q++) v = v * 10 + (*q - '0');
        if (*start == '-') v = -v;
        return (!n->has_min || v >= n->imin) && (!n->has_max || v <= n->imax);
    }
    case N_NUM: {
        const unsigned char *start = c->p;
        if (!number_token(c, &integral)) return 0;
        Py_ssize_t len = c->p - start;
        if (len > 60) return 0;
        char tmp[64];
        memcpy(tmp, start, len);
        tmp[len] = 0;
        /* json.loads reads a float as strtod does; an int beyond 2**53 compares exactly
         * in Python but not as a double: not sure. */
        char *stop;
        double v = strtod(tmp, &stop);
        if (stop != tmp + len || !isfinite(v) || (integral && len - (*start == '-') > 15)) return 0;
        return (!n->has_min || v >= n->fmin) && (!n->has_max || v <= n->fmax);
    }
    case N_BOOL:
        if (b == 't' && c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) { c->p += 4; return 1; }
        if (b == 'f' && c->end - c->p >= 5 && memcmp(c->p, "false", 5) == 0) { c->p += 5; return 1; }
        return 0;
    case N_ARR:
    case N_TUP: {
        Py_ssize_t count = 0;
        if (b != '[' || ++c->depth > MAX_DEPTH) return 0;
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == ']') c->p++;
        else for (;;) {
            int item = n->kind == N_ARR ? n->item : (count < n->nitems ? n->items[count] : -1);
            if (item < 0 || !value(pr, item, c, NULL)) return 0;
            count++;
            ws(c);
            if (c->p >= c->end) return 0;
            if (*c->p == ']') { c->p++; break; }
            if (*c->p != ',') return 0;
            c->p++;
            ws(c);
        }
        c->depth--;
        if (n->kind == N_TUP) return count == n->nitems;
        return count >= n->min_items && (n->max_items < 0 || count <= n->max_items);
    }
    case N_OBJ: {
        unsigned char seen[MAX_FIELDS];
        if (b != '{' || ++c->depth > MAX_DEPTH) return 0;
        int ok = object(pr, n, c, seen_out ? seen_out : seen);
        c->depth--;
        return ok;
    }
    case N_UNION: {
        if (b != '{') return 0;
        const Tag *t = union_tag(n, *c);
        if (!t) return 0;
        /* a tag of several variants: the object must be each of them */
        Cur start = *c;
        for (Py_ssize_t i = 0; i < t->n; i++) {
            *c = start;
            if (!value(pr, t->nodes[i], c, NULL)) return 0;
        }
        return 1;
    }
    case N_ANYOBJ:
        return b == '{' && skip(c);
    default:
        return 0;
    }
}

/* -- the Python type -------------------------------------------------------------------- */

static void free_nodes(Node *nodes, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        Node *d = &nodes[i];
        for (Py_ssize_t k = 0; k < d->nchecks; k++) {
            for (Py_ssize_t a = 0; a < d->checks[k].nalts; a++) PyMem_Free(d->checks[k].alts[a].items);
            PyMem_Free(d->checks[k].alts);
        }
        PyMem_Free(d->checks);
        for (Py_ssize_t k = 0; k < d->nenum; k++) PyMem_Free(d->enum_values[k]);
        PyMem_Free(d->enum_values);
        PyMem_Free(d->enum_lens);
        PyMem_Free(d->items);
        for (Py_ssize_t k = 0; k < d->nfields; k++) PyMem_Free(d->fields[k].name);
        PyMem_Free(d->fields);
        PyMem_Free(d->table);
        PyMem_Free(d->any_of);
        PyMem_Free(d->tag);
        for (Py_ssize_t k = 0; k < d->ntags; k++) {
            PyMem_Free(d->tags[k].value);
            PyMem_Free(d->tags[k].nodes);
        }
        PyMem_Free(d->tags);
    }
    PyMem_Free(nodes);
}

static char *copy_bytes(PyObject *o, Py_ssize_t *len) {
    char *s;
    if (PyBytes_AsStringAndSize(o, &s, len) < 0) return NULL;
    char *out = PyMem_Malloc(*len + 1);
    if (!out) { PyErr_NoMemory(); return NULL; }
    memcpy(out, s, *len);
    out[*len] = 0;
    return out;
}

static int *int_list(PyObject *seq, Py_ssize_t *n, Py_ssize_t nnodes, int are_nodes) {
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of ints");
    if (!fast) return NULL;
    *n = PySequence_Fast_GET_SIZE(fast);
    int *out = PyMem_Calloc(*n ? *n : 1, sizeof(int));
    for (Py_ssize_t i = 0; out && i < *n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if ((v == -1 && PyErr_Occurred()) || (are_nodes && (v < 0 || v >= nnodes))) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "node index out of range");
            PyMem_Free(out);
            out = NULL;
        } else {
            out[i] = (int)v;
        }
    }
    Py_DECREF(fast);
    return out;
}

/* Node tuples, as _native builds them:
 *   (N_STR, min_len, max_len, checks, enum|None)  checks: ((C_SEQ, ((class16, lo, hi), ...), ...) | (C_DATETIME,) | (C_URI,), ...)
 *   (N_INT, min|None, max|None)   (N_NUM, min|None, max|None)   (N_BOOL,)   (N_ANYOBJ,)   (N_UNSURE,)
 *   (N_ARR, item, min_items, max_items)   (N_TUP, (item, ...))
 *   (N_OBJ, ((name, node, required), ...), (any_of field index, ...), strict)
 *   (N_UNION, tag, ((value, (node, ...)), ...)) */
static int build_node(Node *d, PyObject *t, Py_ssize_t nnodes) {
    int kind;
    PyObject *a = NULL, *b = NULL, *c = NULL, *x = NULL;
    static const int needed[] = {0, 4, 2, 2, 0, 3, 1, 3, 2, 0}; /* members after the kind */
    if (!PyArg_ParseTuple(t, "i|OOOO", &kind, &a, &b, &c, &x)) return -1;
    if (kind < 0 || kind > N_ANYOBJ) {
        PyErr_Format(PyExc_ValueError, "unknown node kind %d", kind);
        return -1;
    }
    if (PyTuple_GET_SIZE(t) < 1 + needed[kind]) {
        PyErr_Format(PyExc_ValueError, "a node of kind %d has %d members after its kind", kind, needed[kind]);
        return -1;
    }
    d->kind = kind;
    d->nenum = -1;
    d->min_len = d->max_len = d->max_items = -1;
    switch (kind) {
    case N_STR: {
        d->min_len = PyLong_AsSsize_t(a);
        d->max_len = PyLong_AsSsize_t(b);
        if (PyErr_Occurred()) return -1;
        Py_ssize_t nc = PyTuple_Size(c);
        if (nc < 0) return -1;
        d->checks = PyMem_Calloc(nc ? nc : 1, sizeof(Check));
        d->nchecks = nc;
        for (Py_ssize_t k = 0; k < nc; k++) {
            PyObject *spec = PyTuple_GetItem(c, k), *alts = NULL;
            if (!spec || !PyArg_ParseTuple(spec, "i|O!", &d->checks[k].kind, &PyTuple_Type, &alts)) return -1;
            if (d->checks[k].kind != C_SEQ) continue;
            if (!alts) { PyErr_SetString(PyExc_ValueError, "a sequence check needs alternatives"); return -1; }
            Py_ssize_t na = PyTuple_GET_SIZE(alts);
            d->checks[k].alts = PyMem_Calloc(na ? na : 1, sizeof(Alt));
            d->checks[k].nalts = na;
            for (Py_ssize_t i = 0; i < na; i++) {
                PyObject *seq = PyTuple_GET_ITEM(alts, i);
                Py_ssize_t ni = PyTuple_Size(seq);
                if (ni < 0) return -1;
                Alt *alt = &d->checks[k].alts[i];
                alt->items = PyMem_Calloc(ni ? ni : 1, sizeof(Item));
                alt->n = ni;
                for (Py_ssize_t j = 0; j < ni; j++) {
                    Py_buffer cls;
                    Item *it = &alt->items[j];
                    if (!PyArg_ParseTuple(PyTuple_GET_ITEM(seq, j), "y*nn", &cls, &it->lo, &it->hi)) return -1;
                    if (cls.len != 16) { PyBuffer_Release(&cls); PyErr_SetString(PyExc_ValueError, "a class is 16 bytes"); return -1; }
                    memcpy(it->cls, cls.buf, 16);
                    PyBuffer_Release(&cls);
                }
            }
        }
        if (x && x != Py_None) {
            Py_ssize_t ne = PyTuple_Size(x);
            if (ne < 0) return -1;
            d->enum_values = PyMem_Calloc(ne ? ne : 1, sizeof(char *));
            d->enum_lens = PyMem_Calloc(ne ? ne : 1, sizeof(Py_ssize_t));
            d->nenum = 0;
            for (Py_ssize_t k = 0; k < ne; k++, d->nenum++)
                if (!(d->enum_values[k] = copy_bytes(PyTuple_GET_ITEM(x, k), &d->enum_lens[k]))) return -1;
        }
        return 0;
    }
    case N_INT:
    case N_NUM:
        d->has_min = a && a != Py_None;
        d->has_max = b && b != Py_None;
        if (kind == N_INT) {
            if (d->has_min) d->imin = PyLong_AsLongLong(a);
            if (d->has_max) d->imax = PyLong_AsLongLong(b);
        } else {
            if (d->has_min) d->fmin = PyFloat_AsDouble(a);
            if (d->has_max) d->fmax = PyFloat_AsDouble(b);
        }
        return PyErr_Occurred() ? -1 : 0;
    case N_ARR:
        d->item = (int)PyLong_AsLong(a);
        d->min_items = PyLong_AsSsize_t(b);
        d->max_items = PyLong_AsSsize_t(c);
        if (PyErr_Occurred()) return -1;
        if (d->item < 0 || d->item >= nnodes) { PyErr_SetString(PyExc_ValueError, "node index out of range"); return -1; }
        return 0;
    case N_TUP:
        d->items = int_list(a, &d->nitems, nnodes, 1);
        return d->items ? 0 : -1;
    case N_OBJ: {
        Py_ssize_t nf = PyTuple_Size(a);
        if (nf < 0) return -1;
        if (nf > MAX_FIELDS) { PyErr_SetString(PyExc_ValueError, "too many fields"); return -1; }
        d->fields = PyMem_Calloc(nf ? nf : 1, sizeof(FieldDef));
        d->nfields = nf;
        Py_ssize_t size = 4;
        while (size < 2 * nf) size *= 2;
        d->table = PyMem_Calloc(size, sizeof(int));
        d->mask = size - 1;
        for (Py_ssize_t k = 0; k < nf; k++) {
            PyObject *name;
            FieldDef *f = &d->fields[k];
            if (!PyArg_ParseTuple(PyTuple_GetItem(a, k), "Sip", &name, &f->node, &f->required)) return -1;
            if (f->node < 0 || f->node >= nnodes) { PyErr_SetString(PyExc_ValueError, "node index out of range"); return -1; }
            if (!(f->name = copy_bytes(name, &f->len))) return -1;
            uint32_t h = hash(f->name, f->len) & d->mask;
            while (d->table[h]) h = (h + 1) & d->mask;
            d->table[h] = (int)k + 1;
        }
        d->any_of = int_list(b, &d->nany, nf, 1);
        d->strict = PyObject_IsTrue(c);
        return d->any_of && d->strict >= 0 ? 0 : -1;
    }
    case N_UNION: {
        if (!(d->tag = copy_bytes(a, &d->tag_len))) return -1;
        Py_ssize_t nt = PyTuple_Size(b);
        if (nt < 0) return -1;
        d->tags = PyMem_Calloc(nt ? nt : 1, sizeof(Tag));
        d->ntags = nt;
        for (Py_ssize_t k = 0; k < nt; k++) {
            PyObject *v, *nodes;
            if (!PyArg_ParseTuple(PyTuple_GetItem(b, k), "SO", &v, &nodes)) return -1;
            if (!(d->tags[k].value = copy_bytes(v, &d->tags[k].len))) return -1;
            if (!(d->tags[k].nodes = int_list(nodes, &d->tags[k].n, nnodes, 1))) return -1;
        }
        return 0;
    }
    case N_BOOL:
    case N_ANYOBJ:
    case N_UNSURE:
        return 0;
    default:
        PyErr_Format(PyExc_ValueError, "unknown node kind %d", kind);
        return -1;
    }
}

static int Program_init(Program *self, PyObject *args, PyObject *kw) {
    PyObject *nodes;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &nodes)) return -1;
    if (self->nodes) { /* another thread may be running it (run releases the GIL) */
        PyErr_SetString(PyExc_TypeError, "a Program is built once");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(nodes);
    self->nodes = PyMem_Calloc(n ? n : 1, sizeof(Node));
    if (!self->nodes) { PyErr_NoMemory(); return -1; }
    self->nnodes = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (build_node(&self->nodes[i], PyTuple_GET_ITEM(nodes, i), n) < 0) {
            free_nodes(self->nodes, n);
            self->nodes = NULL;
            self->nnodes = 0;
            return -1;
        }
    }
    return 0;
}

static void Program_dealloc(Program *self) {
    if (self->nodes) free_nodes(self->nodes, self->nnodes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* kinds(root, lines, event, error, data, errors): per line `event` or `error` (valid;
 * `error` when the root object lacks field `data` and has field `errors`, -1 for none)
 * or None (not sure). */
static PyObject *Program_kinds(Program *self, PyObject *args) {
    int root, data, errors;
    PyObject *lines, *event, *error;
    if (!PyArg_ParseTuple(args, "iOOOii", &root, &lines, &event, &error, &data, &errors)) return NULL;
    if (root < 0 || root >= self->nnodes) return PyErr_Format(PyExc_ValueError, "no node %d", root);
    const Node *r = &self->nodes[root];
    if ((data >= 0 || errors >= 0) && (r->kind != N_OBJ || data >= r->nfields || errors >= r->nfields))
        return PyErr_Format(PyExc_ValueError, "the envelope's fields are not the root's");
    PyObject *fast = PySequence_Fast(lines, "lines: a sequence of bytes");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    if (!out) { Py_DECREF(fast); return NULL; }
    unsigned char seen[MAX_FIELDS];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PySequence_Fast_GET_ITEM(fast, i), *kind = Py_None;
        const char *buf = NULL;
        Py_ssize_t len = 0;
        if (PyBytes_Check(line)) {
            buf = PyBytes_AS_STRING(line);
            len = PyBytes_GET_SIZE(line);
        } else if (PyUnicode_Check(line)) {
            buf = PyUnicode_AsUTF8AndSize(line, &len);
            if (!buf) PyErr_Clear(); /* a lone surrogate: not sure */
        }
        if (buf) {
            Cur c = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0};
            memset(seen, 0, sizeof seen);
            ws(&c);
            int ok = value(self, root, &c, r->kind == N_OBJ ? seen : NULL);
            ws(&c);
            if (ok && c.p == c.end)
                kind = (data >= 0 && errors >= 0 && !seen[data] && seen[errors]) ? error : event;
        }
        Py_INCREF(kind);
        PyList_SET_ITEM(out, i, kind);
    }
    Py_DECREF(fast);
    return out;
}

static const char LINE_RECORD[] = "{\"kind\":\"line\",\"offset\":";
static const char HEARTBEAT_RECORD[] = "{\"kind\":\"heartbeat\",\"offset\":";

/* A raw stream line [p, nl): 1 a valid payload, 2 a valid error payload, 3 a blank line
 * (a heartbeat), 0 not sure. */
static int raw_line(const Program *self, int root, int data, int errors, const unsigned char *p,
                    const unsigned char *nl, unsigned char *seen) {
    const unsigned char *q = p;
    while (q < nl && (*q == ' ' || (*q >= '\t' && *q <= '\r'))) q++; /* bytes.isspace() */
    if (q == nl) return 3;
    Cur c = {q, nl, 0};
    const Node *r = &self->nodes[root];
    memset(seen, 0, MAX_FIELDS);
    if (!value(self, root, &c, r->kind == N_OBJ ? seen : NULL)) return 0;
    ws(&c);
    if (c.p != nl) return 0;
    return data >= 0 && errors >= 0 && !seen[data] && seen[errors] ? 2 : 1;
}

/* run(root, data, start, data, errors, records=True): from byte `start` of `data`, the
 * cassette records that are, as the writer writes them, heartbeats or lines of valid
 * payloads, offsets in order (or, records=False, raw stream lines: valid payloads and
 * blank lines); stops before any other line, or one cut short. Returns (end, lines,
 * events, error payloads, heartbeats, first offset, last offset). */
static PyObject *Program_run(Program *self, PyObject *args) {
    int root, data, errors, as_records = 1;
    Py_buffer view;
    Py_ssize_t start, records = 0, events = 0, errs = 0, heartbeats = 0;
    if (!PyArg_ParseTuple(args, "iy*nii|p", &root, &view, &start, &data, &errors, &as_records)) return NULL;
    if (root < 0 || root >= self->nnodes || start < 0 || start > view.len) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "no node %d, or start %zd out of the data", root, start);
    }
    const Node *r = &self->nodes[root];
    if ((data >= 0 || errors >= 0) && (r->kind != N_OBJ || data >= r->nfields || errors >= r->nfields)) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "the envelope's fields are not the root's");
    }
    const unsigned char *base = view.buf, *p = base + start, *end = base + view.len;
    double first = 0.0, last = -INFINITY;
    unsigned char seen[MAX_FIELDS];
    Py_BEGIN_ALLOW_THREADS
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', end - p);
        int heartbeat, integral;
        if (!nl) break;
        if (!as_records) {
            int kind = raw_line(self, root, data, errors, p, nl, seen);
            if (!kind) break;
            events += kind == 1;
            errs += kind == 2;
            heartbeats += kind == 3;
            records++;
            p = nl + 1;
            continue;
        }
        if (nl - p > (Py_ssize_t)sizeof LINE_RECORD && memcmp(p, LINE_RECORD, sizeof LINE_RECORD - 1) == 0)
            heartbeat = 0;
        else if (nl - p > (Py_ssize_t)sizeof HEARTBEAT_RECORD &&
                 memcmp(p, HEARTBEAT_RECORD, sizeof HEARTBEAT_RECORD - 1) == 0)
            heartbeat = 1;
        else
            break;
        Cur c = {p + (heartbeat ? sizeof HEARTBEAT_RECORD : sizeof LINE_RECORD) - 1, nl, 0};
        const unsigned char *number = c.p;
        if (!number_token(&c, &integral) || c.p - number > 40) break;
        char tmp[48], *stop;
        memcpy(tmp, number, c.p - number);
        tmp[c.p - number] = 0;
        double offset = strtod(tmp, &stop);
        if (stop != tmp + (c.p - number) || !isfinite(offset) || offset < last) break;
        if (heartbeat) {
            if (c.p + 1 != nl || *c.p != '}') break;
            heartbeats++;
        } else {
            if (nl - c.p < 9 || memcmp(c.p, ",\"json\":", 8) != 0) break;
            c.p += 8;
            memset(seen, 0, sizeof seen);
            if (!value(self, root, &c, r->kind == N_OBJ ? seen : NULL) || c.p + 1 != nl || *c.p != '}') break;
            if (data >= 0 && errors >= 0 && !seen[data] && seen[errors]) errs++;
            else events++;
        }
        if (!records++) first = offset;
        last = offset;
        p = nl + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("nnnnndd", (Py_ssize_t)(p - base), records, events, errs, heartbeats, first,
                         records ? last : 0.0);
}

static PyMethodDef Program_methods[] = {
    {"kinds", (PyCFunction)Program_kinds, METH_VARARGS, "Per line: event, error, or None (not sure)."},
    {"run", (PyCFunction)Program_run, METH_VARARGS, "The cassette records it is sure of, from a start."},
    {NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "harness._speedups.Program",
    .tp_basicsize = sizeof(Program),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A checker compiled from a tuple of node tuples (see harness._native).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Program_init,
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_methods = Program_methods,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", "The native line checker.", -1, NULL};

PyMODINIT_FUNC PyInit__speedups(void) {
    for (int b = 0x20; b < 0x80; b++) PLAIN[b] = b != '"' && b != '\\';
    const char *uri_plain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=/?";
    for (const char *q = uri_plain; *q; q++) URI_PLAIN[(unsigned char)*q] = 1;
    if (PyType_Ready(&ProgramType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "NODE_FORMAT", NODE_FORMAT) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ProgramType);
    if (PyModule_AddObject(m, "Program", (PyObject *)&ProgramType) < 0) {
        Py_DECREF(&ProgramType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
