/* A value against a node: objects, unions, arrays, scalars; 0 as soon as it is not sure. */
#ifndef HARNESS_SPEEDUPS_CHECK_H
#define HARNESS_SPEEDUPS_CHECK_H

static int value(const Program *pr, int node, Cur *c, unsigned char *seen_out);

static Py_ssize_t lookup(const Node *n, const unsigned char *s, Py_ssize_t len, Py_ssize_t hint) {
    if (hint < n->nfields && n->fields[hint].len == len && memcmp(n->fields[hint].name, s, len) == 0) return hint;
    for (uint32_t h = hash((const char *)s, len) & n->mask;; h = (h + 1) & n->mask) {
        int i = n->table[h];
        if (!i) return -1;
        if (n->fields[i - 1].len == len && memcmp(n->fields[i - 1].name, s, len) == 0) return i - 1;
    }
}

/* An object of node n at c->p (on its '{'); `seen` gets which fields are present (all of its
 * first n->nfields set here: callers need not clear it). */
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
        int here = c->mi, below = here ? mask_child(c->mask, here, s, e - s, -1) : 0;
        if (i < 0) {
            if (n->strict || below || !skip(c)) return 0;
        } else {
            c->mi = below;
            if (c->track) track_push(c->track, s, e - s, -1);
            int ok = value(pr, n->fields[i].node, c, NULL);
            if (c->track) track_pop(c->track, ok);
            c->mi = here;
            if (!ok) return 0;
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
        Py_ssize_t present = 0;
        for (Py_ssize_t i = 0; i < n->nany; i++)
            present += seen[n->any_of[i]] != 0;
        if (present == 0 || (n->one && present > 1)) return 0;
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
    if (c->mi) {
        int masked = masked_value(n, c);
        if (masked >= 0) return masked;
    }
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
            int here = c->mi;
            c->mi = here ? mask_child(c->mask, here, NULL, 0, count) : 0;
            if (c->track) track_push(c->track, NULL, 0, count);
            int ok = item >= 0 && value(pr, item, c, NULL);
            if (c->track) track_pop(c->track, ok);
            c->mi = here;
            if (!ok) return 0;
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
        if (b != '{' || ++c->depth > MAX_DEPTH) return 0;
        const Tag *t = union_tag(n, *c);
        if (!t) return 0;
        /* a tag of several variants: the object must be each of them; each is one level
         * deeper, so a chain of unions ends */
        Cur start = *c;
        for (Py_ssize_t i = 0; i < t->n; i++) {
            *c = start;
            if (!value(pr, t->nodes[i], c, NULL)) return 0;
        }
        c->depth--;
        return 1;
    }
    case N_ANYOBJ:
        return b == '{' && skip(c);
    default:
        return 0;
    }
}

#endif
