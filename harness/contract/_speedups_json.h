/* JSON as json.loads reads it: whitespace, strings (UTF-8, escapes), numbers, any value. */
#ifndef HARNESS_SPEEDUPS_JSON_H
#define HARNESS_SPEEDUPS_JSON_H

struct Mask;
struct Track;
/* Where a check is: `mask` and its step `mi` (0: none) only when values are masked, `track`
 * only when the place of a failing value is asked for (_speedups_mask.h). */
typedef struct {
    const unsigned char *p, *end;
    int depth;
    const struct Mask *mask;
    int mi;
    struct Track *track;
} Cur;

/* bytes that go on a string's plain run: printable ASCII but '"' and '\\' */
static unsigned char PLAIN[256];

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

/* Whether the eight bytes at p are all PLAIN, as one word: none at 0x80 or above, below
 * 0x20, '"' or '\\'. ((v - 0x01..) & ~v & 0x80.. is not zero exactly when a byte of v is
 * zero; with 0x20.. for 0x01.., when a byte below 0x80 is below 0x20.) */
static inline int plain8(const unsigned char *p) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t x, quote, slash;
    memcpy(&x, p, 8);
    quote = x ^ (ones * '"');
    slash = x ^ (ones * '\\');
    return !((x | ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash)) & highs);
}

/* A string token at c->p (on its '"'): checks JSON and UTF-8, leaves c->p after it.
 * Sets [*s, *e) to its raw content and *escaped if it holds a backslash. */
static int string_token(Cur *c, const unsigned char **s, const unsigned char **e, int *escaped) {
    const unsigned char *p = c->p + 1, *end = c->end;
    *s = p;
    *escaped = 0;
    for (;;) {
        while (p + 8 <= end && plain8(p)) p += 8; /* the common run: plain ASCII, eight bytes a step */
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
                /* a surrogate stands in a pair, or not at all: json.loads takes one alone,
                 * the cassette reader (msgspec) does not, so neither does the checker */
                unsigned v, lo;
                if (end - p < 6 || !hex4(p + 2, &v) || (v >= 0xDC00 && v <= 0xDFFF)) return 0;
                p += 6;
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return 0;
                    p += 6;
                }
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

/* A number token: JSON syntax; *integral when json.loads reads it as an int. An int of
 * more than MAX_INT_DIGITS digits is not taken (json.loads may refuse it). */
static int number_token(Cur *c, int *integral) {
    const unsigned char *p = c->p, *end = c->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return 0;
    const unsigned char *first = p;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
    else return 0;
    Py_ssize_t whole = p - first;
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
    /* json.loads refuses an int longer than sys.get_int_max_str_digits(): not sure */
    if (*integral && whole > MAX_INT_DIGITS) return 0;
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

#endif
