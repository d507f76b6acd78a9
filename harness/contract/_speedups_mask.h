/* A mask: instance paths whose values the checker takes without checking them, keeping where
 * each one is in the line. A drifted line is valid but for a few leaf values: checked with
 * those masked, the rest is proven valid in one pass over its bytes, and only the masked
 * values (a few bytes each) are decoded and asked of their own keywords (_drift.py). */
#ifndef HARNESS_SPEEDUPS_MASK_H
#define HARNESS_SPEEDUPS_MASK_H

#define MASK_STEPS 128 /* steps of all the paths together, the root included */
#define MASK_SLOTS 16  /* paths */

/* Step k > 1 goes from step `parent` by a member `name` (or, name NULL, an array `index`);
 * step 1 is the root. A path's last step has its `slot`, the others -1. */
typedef struct {
    const char *name;
    Py_ssize_t len, index;
    int parent, slot;
} MaskStep;

typedef struct Mask {
    MaskStep steps[MASK_STEPS];
    int nsteps, nslots;
    const unsigned char *start[MASK_SLOTS], *end[MASK_SLOTS];
    unsigned char visited[MASK_STEPS]; /* steps met in this line */
} Mask;

/* Before each line: no value found, no step met. */
static inline void mask_reset(Mask *m) {
    memset(m->start, 0, sizeof m->start);
    memset(m->visited, 0, sizeof m->visited);
}

/* The way down to the value being checked, and where the first value that failed was: a
 * member (name, NULL for an index) or an array index per step. */
typedef struct { const unsigned char *name; Py_ssize_t len, index; } Step;
typedef struct Track {
    int n, nat, found;
    Step way[MAX_DEPTH + 2], at[MAX_DEPTH + 2];
} Track;

static inline void track_push(Track *t, const unsigned char *name, Py_ssize_t len, Py_ssize_t index) {
    if (t->n < MAX_DEPTH + 2) t->way[t->n] = (Step){name, len, index};
    t->n++;
}

/* After the value at the top of the way: kept as the failing place if it failed first (the
 * innermost failure comes back first), then off the way. */
static inline void track_pop(Track *t, int ok) {
    if (!ok && !t->found && t->n <= MAX_DEPTH + 2) {
        memcpy(t->at, t->way, t->n * sizeof(Step));
        t->nat = t->n;
        t->found = 1;
    }
    t->n--;
}

/* The child of step `here` by member [s, s + len) (s NULL: by `index`), or 0. */
static int mask_child(const Mask *m, int here, const unsigned char *s, Py_ssize_t len, Py_ssize_t index) {
    for (int k = here + 1; k < m->nsteps; k++) {
        const MaskStep *st = &m->steps[k];
        if (st->parent != here) continue;
        if (s ? (st->name && st->len == len && memcmp(st->name, s, len) == 0) : (!st->name && st->index == index))
            return k;
    }
    return 0;
}

/* The value at c->p under mask step c->mi: 1 a masked leaf taken (its place kept), 0 not
 * sure, -1 an inner step whose value the caller checks (an object or array, members masked
 * below). A leaf must be a scalar where the model has a scalar, and be found once; so must
 * every step on the way (a member twice: json.loads keeps the last, which may not hold the
 * masked value at all). */
static int masked_value(const Node *n, Cur *c) {
    const Mask *m = c->mask;
    const MaskStep *st = &m->steps[c->mi];
    unsigned char b = *c->p;
    if (m->visited[c->mi]) return 0;
    ((Mask *)m)->visited[c->mi] = 1;
    if (st->slot < 0) return (n->kind == N_OBJ || n->kind == N_ARR || n->kind == N_TUP) ? -1 : 0;
    if (n->kind != N_STR && n->kind != N_INT && n->kind != N_NUM && n->kind != N_BOOL) return 0;
    if (b == '{' || b == '[' || m->start[st->slot]) return 0;
    const unsigned char *start = c->p;
    if (!skip(c)) return 0;
    ((Mask *)m)->start[st->slot] = start;
    ((Mask *)m)->end[st->slot] = c->p;
    return 1;
}

/* The mask of a tuple of paths (tuples of str and int); -1 with an exception set. Names
 * point into the paths' str objects: the caller holds `paths` while the mask is used. */
static int build_mask(Mask *m, PyObject *paths) {
    memset(m, 0, sizeof *m);
    m->nsteps = 2; /* 0 unused, 1 the root */
    m->steps[1].slot = -1;
    if (!is_tuple(paths, "paths")) return -1;
    m->nslots = (int)PyTuple_GET_SIZE(paths);
    if (m->nslots < 1 || m->nslots > MASK_SLOTS) {
        PyErr_Format(PyExc_ValueError, "from 1 to %d paths, not %d", MASK_SLOTS, m->nslots);
        return -1;
    }
    for (int slot = 0; slot < m->nslots; slot++) {
        PyObject *path = PyTuple_GET_ITEM(paths, slot);
        if (!is_tuple(path, "a path")) return -1;
        Py_ssize_t depth = PyTuple_GET_SIZE(path);
        if (depth < 1 || depth > MAX_DEPTH) {
            PyErr_Format(PyExc_ValueError, "a path of 1 to %d steps, not %zd", MAX_DEPTH, depth);
            return -1;
        }
        int here = 1;
        for (Py_ssize_t i = 0; i < depth; i++) {
            PyObject *part = PyTuple_GET_ITEM(path, i);
            const char *name = NULL;
            Py_ssize_t len = 0, index = -1;
            if (PyUnicode_CheckExact(part)) {
                name = PyUnicode_AsUTF8AndSize(part, &len);
                if (!name) return -1;
            } else if (PyLong_CheckExact(part)) {
                index = PyLong_AsSsize_t(part);
                if (index < 0) {
                    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a negative index in a path");
                    return -1;
                }
            } else {
                PyErr_Format(PyExc_TypeError, "a path step: expected str or int, found %.80s", Py_TYPE(part)->tp_name);
                return -1;
            }
            if (m->steps[here].slot >= 0) {
                PyErr_SetString(PyExc_ValueError, "a path goes on past another's end");
                return -1;
            }
            int next = mask_child(m, here, (const unsigned char *)name, len, index);
            if (!next) {
                if (m->nsteps >= MASK_STEPS) {
                    PyErr_Format(PyExc_ValueError, "more than %d steps in the paths", MASK_STEPS - 1);
                    return -1;
                }
                next = m->nsteps++;
                m->steps[next] = (MaskStep){name, len, index, here, -1};
            } else if (i == depth - 1) {
                PyErr_SetString(PyExc_ValueError, "a path ends inside another, or twice");
                return -1;
            }
            here = next;
        }
        m->steps[here].slot = slot;
    }
    return 0;
}

#endif
