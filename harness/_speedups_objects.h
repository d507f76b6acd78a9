/* A decoded payload (dicts, lists, str, int, float, bool) against a node: the same checks as
 * on raw lines, on Python objects. Only the exact built-in types are taken (a subclass, a
 * tuple, a Decimal... is "not sure", and the slower engines decide). What an undeclared
 * member holds is not looked at: the reference does not look at it either. */
#ifndef HARNESS_SPEEDUPS_OBJECTS_H
#define HARNESS_SPEEDUPS_OBJECTS_H

/* A str as UTF-8, without a copy when it is ASCII; NULL (error cleared) for a lone surrogate. */
static const char *utf8_of(PyObject *s, Py_ssize_t *len) {
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        *len = PyUnicode_GET_LENGTH(s);
        return (const char *)PyUnicode_DATA(s);
    }
    const char *out = PyUnicode_AsUTF8AndSize(s, len);
    if (!out) PyErr_Clear();
    return out;
}

static int object_value(const Program *pr, int node, PyObject *v, int depth);

static int object_members(const Program *pr, const Node *n, PyObject *v, int depth) {
    unsigned char seen[MAX_FIELDS];
    PyObject *key, *item;
    Py_ssize_t pos = 0, hint = 0, len;
    memset(seen, 0, n->nfields);
    while (PyDict_Next(v, &pos, &key, &item)) {
        if (!PyUnicode_CheckExact(key)) return 0;
        const char *name = utf8_of(key, &len);
        if (!name) return 0;
        Py_ssize_t i = lookup(n, (const unsigned char *)name, len, hint);
        if (i < 0) {
            if (n->strict) return 0;
            continue;
        }
        if (!object_value(pr, n->fields[i].node, item, depth + 1)) return 0;
        seen[i] = 1;
        hint = i + 1;
    }
    for (Py_ssize_t i = 0; i < n->nfields; i++)
        if (n->fields[i].required && !seen[i]) return 0;
    if (!n->nany) return 1;
    for (Py_ssize_t i = 0; i < n->nany; i++)
        if (seen[n->any_of[i]]) return 1;
    return 0;
}

static int object_value(const Program *pr, int node, PyObject *v, int depth) {
    const Node *n = &pr->nodes[node];
    Py_ssize_t len;
    int overflow;
    if (depth > MAX_DEPTH) return 0;
    switch (n->kind) {
    case N_STR: {
        if (!PyUnicode_CheckExact(v)) return 0;
        if (n->min_len < 0 && n->max_len < 0 && n->nenum < 0 && !n->nchecks) return 1;
        const char *s = utf8_of(v, &len);
        return s && check_string(n, (const unsigned char *)s, (const unsigned char *)s + len, 0);
    }
    case N_INT: {
        if (!PyLong_CheckExact(v)) return 0; /* not bool; 1.0 is an integer too: not sure */
        if (!n->has_min && !n->has_max) return 1;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (x == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
        return (!n->has_min || x >= n->imin) && (!n->has_max || x <= n->imax);
    }
    case N_NUM: {
        double x;
        if (PyFloat_CheckExact(v)) {
            x = PyFloat_AS_DOUBLE(v);
        } else if (PyLong_CheckExact(v)) {
            long long i = PyLong_AsLongLongAndOverflow(v, &overflow);
            /* beyond 2**53 a double is not the int Python compares exactly */
            if (overflow || (i == -1 && PyErr_Occurred()) || i > (1LL << 53) || i < -(1LL << 53)) {
                PyErr_Clear();
                return 0;
            }
            x = (double)i;
        } else {
            return 0;
        }
        return isfinite(x) && (!n->has_min || x >= n->fmin) && (!n->has_max || x <= n->fmax);
    }
    case N_BOOL:
        return v == Py_True || v == Py_False;
    case N_ARR:
    case N_TUP: {
        if (!PyList_CheckExact(v)) return 0;
        Py_ssize_t count = PyList_GET_SIZE(v);
        if (n->kind == N_TUP ? count != n->nitems
                             : count < n->min_items || (n->max_items >= 0 && count > n->max_items))
            return 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            int item = n->kind == N_ARR ? n->item : n->items[i];
            /* the item may go away meanwhile only if checking ran Python code: it does not */
            if (!object_value(pr, item, PyList_GET_ITEM(v, i), depth + 1)) return 0;
        }
        return 1;
    }
    case N_OBJ:
        return PyDict_CheckExact(v) && object_members(pr, n, v, depth);
    case N_UNION: {
        if (!PyDict_CheckExact(v)) return 0;
        PyObject *key, *item;
        Py_ssize_t pos = 0;
        const Tag *found = NULL;
        while (PyDict_Next(v, &pos, &key, &item)) {
            if (!PyUnicode_CheckExact(key)) return 0;
            const char *name = utf8_of(key, &len);
            if (!name || len != n->tag_len || memcmp(name, n->tag, len) != 0) continue;
            if (!PyUnicode_CheckExact(item) || !(name = utf8_of(item, &len))) return 0;
            for (Py_ssize_t i = 0; i < n->ntags && !found; i++)
                if (n->tags[i].len == len && memcmp(n->tags[i].value, name, len) == 0) found = &n->tags[i];
            break;
        }
        if (!found) return 0;
        for (Py_ssize_t i = 0; i < found->n; i++)
            if (!object_value(pr, found->nodes[i], v, depth)) return 0;
        return 1;
    }
    case N_ANYOBJ:
        return PyDict_CheckExact(v);
    default:
        return 0;
    }
}

#endif
