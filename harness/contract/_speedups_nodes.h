/* A program's nodes: what each kind holds, and how they are built from _native's tuples. */
#ifndef HARNESS_SPEEDUPS_NODES_H
#define HARNESS_SPEEDUPS_NODES_H

enum { N_UNSURE = 0, N_STR, N_INT, N_NUM, N_BOOL, N_ARR, N_TUP, N_OBJ, N_UNION, N_ANYOBJ };
enum { C_SEQ = 1, C_DATETIME, C_URI };

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
    int one; /* exactly one of any_of, not at least one */
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

/* Member names are short and mostly differ in length or at either end: that is enough. */
static inline uint32_t hash(const char *s, Py_ssize_t n) {
    if (!n) return 0;
    return (uint32_t)n * 2654435761u ^ (unsigned char)s[0] * 40503u ^ (unsigned char)s[n - 1] * 131u ^
           (unsigned char)s[n / 2] * 7u;
}

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

/* TypeError unless o is a tuple (CPython's tuple calls would raise SystemError instead). */
static int is_tuple(PyObject *o, const char *what) {
    if (o && PyTuple_Check(o)) return 1;
    PyErr_Format(PyExc_TypeError, "%s: expected a tuple, found %.80s", what, o ? Py_TYPE(o)->tp_name : "nothing");
    return 0;
}

static Py_ssize_t tuple_size(PyObject *o, const char *what) { return is_tuple(o, what) ? PyTuple_GET_SIZE(o) : -1; }

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
    if (!out) PyErr_NoMemory();
    for (Py_ssize_t i = 0; out && i < *n; i++) {
        /* an item's __index__ may change the list: hold the item, re-check the size */
        if (i >= PySequence_Fast_GET_SIZE(fast)) {
            PyErr_SetString(PyExc_ValueError, "a list of node indexes changed while read");
            PyMem_Free(out);
            out = NULL;
            break;
        }
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        Py_INCREF(item);
        long v = PyLong_AsLong(item);
        Py_DECREF(item);
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
 *   (N_OBJ, ((name, node, required), ...), (any_of field index, ...), strict[, exactly_one])
 *   (N_UNION, tag, ((value, (node, ...)), ...)) */
static int build_node(Node *d, PyObject *t, Py_ssize_t nnodes) {
    int kind;
    PyObject *a = NULL, *b = NULL, *c = NULL, *x = NULL;
    static const int needed[] = {0, 4, 2, 2, 0, 3, 1, 3, 2, 0}; /* members after the kind */
    if (!is_tuple(t, "a node") || !PyArg_ParseTuple(t, "i|OOOO", &kind, &a, &b, &c, &x)) return -1;
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
        Py_ssize_t nc = tuple_size(c, "a string node's checks");
        if (nc < 0) return -1;
        d->checks = PyMem_Calloc(nc ? nc : 1, sizeof(Check));
        if (!d->checks) { PyErr_NoMemory(); return -1; }
        d->nchecks = nc;
        for (Py_ssize_t k = 0; k < nc; k++) {
            PyObject *spec = PyTuple_GetItem(c, k), *alts = NULL;
            if (!is_tuple(spec, "a string check") || !PyArg_ParseTuple(spec, "i|O!", &d->checks[k].kind, &PyTuple_Type, &alts))
                return -1;
            if (d->checks[k].kind != C_SEQ) continue;
            if (!alts) { PyErr_SetString(PyExc_ValueError, "a sequence check needs alternatives"); return -1; }
            Py_ssize_t na = PyTuple_GET_SIZE(alts);
            d->checks[k].alts = PyMem_Calloc(na ? na : 1, sizeof(Alt));
            if (!d->checks[k].alts) { PyErr_NoMemory(); return -1; }
            d->checks[k].nalts = na;
            for (Py_ssize_t i = 0; i < na; i++) {
                PyObject *seq = PyTuple_GET_ITEM(alts, i);
                Py_ssize_t ni = tuple_size(seq, "a pattern's alternative");
                if (ni < 0) return -1;
                Alt *alt = &d->checks[k].alts[i];
                alt->items = PyMem_Calloc(ni ? ni : 1, sizeof(Item));
                if (!alt->items) { PyErr_NoMemory(); return -1; }
                alt->n = ni;
                for (Py_ssize_t j = 0; j < ni; j++) {
                    Py_buffer cls;
                    Item *it = &alt->items[j];
                    PyObject *run = PyTuple_GET_ITEM(seq, j);
                    if (!is_tuple(run, "a pattern's run") || !PyArg_ParseTuple(run, "y*nn", &cls, &it->lo, &it->hi))
                        return -1;
                    if (cls.len != 16) { PyBuffer_Release(&cls); PyErr_SetString(PyExc_ValueError, "a class is 16 bytes"); return -1; }
                    memcpy(it->cls, cls.buf, 16);
                    PyBuffer_Release(&cls);
                }
            }
        }
        if (x && x != Py_None) {
            Py_ssize_t ne = tuple_size(x, "a string node's enum");
            if (ne < 0) return -1;
            d->enum_values = PyMem_Calloc(ne ? ne : 1, sizeof(char *));
            d->enum_lens = PyMem_Calloc(ne ? ne : 1, sizeof(Py_ssize_t));
            if (!d->enum_values || !d->enum_lens) { PyErr_NoMemory(); return -1; }
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
        Py_ssize_t nf = tuple_size(a, "an object node's fields");
        if (nf < 0) return -1;
        if (nf > MAX_FIELDS) { PyErr_SetString(PyExc_ValueError, "too many fields"); return -1; }
        d->fields = PyMem_Calloc(nf ? nf : 1, sizeof(FieldDef));
        Py_ssize_t size = 4;
        while (size < 2 * nf) size *= 2;
        d->table = PyMem_Calloc(size, sizeof(int));
        if (!d->fields || !d->table) { PyErr_NoMemory(); return -1; }
        d->nfields = nf;
        d->mask = size - 1;
        for (Py_ssize_t k = 0; k < nf; k++) {
            PyObject *name;
            FieldDef *f = &d->fields[k];
            PyObject *field = PyTuple_GET_ITEM(a, k);
            if (!is_tuple(field, "an object node's field") || !PyArg_ParseTuple(field, "Sip", &name, &f->node, &f->required))
                return -1;
            if (f->node < 0 || f->node >= nnodes) { PyErr_SetString(PyExc_ValueError, "node index out of range"); return -1; }
            if (!(f->name = copy_bytes(name, &f->len))) return -1;
            uint32_t h = hash(f->name, f->len) & d->mask;
            while (d->table[h]) h = (h + 1) & d->mask;
            d->table[h] = (int)k + 1;
        }
        d->any_of = int_list(b, &d->nany, nf, 1);
        d->strict = PyObject_IsTrue(c);
        d->one = x ? PyObject_IsTrue(x) : 0;
        return d->any_of && d->strict >= 0 && d->one >= 0 ? 0 : -1;
    }
    case N_UNION: {
        if (!(d->tag = copy_bytes(a, &d->tag_len))) return -1;
        Py_ssize_t nt = tuple_size(b, "a union node's tags");
        if (nt < 0) return -1;
        d->tags = PyMem_Calloc(nt ? nt : 1, sizeof(Tag));
        if (!d->tags) { PyErr_NoMemory(); return -1; }
        d->ntags = nt;
        for (Py_ssize_t k = 0; k < nt; k++) {
            PyObject *v, *nodes;
            PyObject *tag = PyTuple_GET_ITEM(b, k);
            if (!is_tuple(tag, "a union node's tag") || !PyArg_ParseTuple(tag, "SO", &v, &nodes)) return -1;
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

/* -1 (ValueError set) if a union is among its own variants, directly or through other
 * unions: checking it would never end (its variants are checked on the same object). A
 * depth-first walk with a stack of its own, so that a long chain cannot overflow C's. */
static int union_cycle(const Node *nodes, Py_ssize_t n) {
    unsigned char *state = PyMem_Calloc(n ? n : 1, 1); /* 0 unseen, 1 on the walk, 2 done */
    Py_ssize_t *stack = PyMem_Calloc(3 * (n ? n : 1), sizeof(Py_ssize_t)); /* node, tag, variant */
    int result = 0;
    if (!state || !stack) {
        PyErr_NoMemory();
        result = -1;
    }
    for (Py_ssize_t root = 0; !result && root < n; root++) {
        if (nodes[root].kind != N_UNION || state[root]) continue;
        Py_ssize_t top = 1;
        stack[0] = root, stack[1] = 0, stack[2] = 0;
        state[root] = 1;
        while (top && !result) {
            Py_ssize_t *f = &stack[3 * (top - 1)];
            const Node *u = &nodes[f[0]];
            if (f[1] >= u->ntags) {
                state[f[0]] = 2;
                top--;
            } else if (f[2] >= u->tags[f[1]].n) {
                f[1]++;
                f[2] = 0;
            } else {
                int v = u->tags[f[1]].nodes[f[2]++];
                if (nodes[v].kind != N_UNION || state[v] == 2) continue;
                if (state[v] == 1) {
                    PyErr_Format(PyExc_ValueError,
                                 "union node %d is among its own variants (through union node %zd): "
                                 "its check would never end",
                                 v, f[0]);
                    result = -1;
                } else {
                    state[v] = 1;
                    stack[3 * top] = v, stack[3 * top + 1] = 0, stack[3 * top + 2] = 0;
                    top++;
                }
            }
        }
    }
    PyMem_Free(state);
    PyMem_Free(stack);
    return result;
}

#endif
