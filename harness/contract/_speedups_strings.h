/* The checks of a string's content: lengths, enums, patterns made of runs, date-time, uri. */
#ifndef HARNESS_SPEEDUPS_STRINGS_H
#define HARNESS_SPEEDUPS_STRINGS_H

static unsigned char URI_PLAIN[256];

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

/* harness.model.formats.DATE_TIME: RFC 3339 as rfc3339_validator reads it, years 0001-9999,
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

/* harness.model.formats.URI_FAST, narrowed: http(s)://, then only unreserved characters, sub-delims, "/" and
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

#endif
