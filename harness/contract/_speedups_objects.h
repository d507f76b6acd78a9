/* A decoded payload (dicts, lists, str, int, float, bool) against a node: the same checks as
 * on raw lines, on Python objects. Only the exact built-in types are taken (a subclass, a
 * tuple, a Decimal... is "not sure", and the slower engines decide). What an undeclared
 * member holds is not looked at: the reference does not look at it either. */
#ifndef HARNESS_SPEEDUPS_OBJECTS_H
#define HARNESS_SPEEDUPS_OBJECTS_H

/* Whether a str holds a lone surrogate (it has no UTF-8), found without raising. */
static int has_surrogate(PyObject *s) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const void *data = PyUnicode_DATA(s);
    switch (PyUnicode_KIND(s)) {
    case PyUnicode_2BYTE_KIND:
        for (Py_ssize_t i = 0; i < n; i++)
            if ((((const Py_UCS2 *)data)[i] & 0xF800) == 0xD800) return 1;
        return 0;
    case PyUnicode_4BYTE_KIND:
        for (Py_ssize_t i = 0; i < n; i++)
            if ((((const Py_UCS4 *)data)[i] & 0xFFFFF800) == 0xD800) return 1;
        return 0;
    default:
        return 0;
    }
}

/* A str as UTF-8, without a copy when it is ASCII; NULL for a lone surrogate. Never
 * raises: an exception is an allocation, which may start a garbage collection, which may
 * run a finalizer that changes the containers being checked. */
static const char *utf8_of(PyObject *s, Py_ssize_t *len) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) { PyErr_Clear(); return NULL; }
#endif
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        *len = PyUnicode_GET_LENGTH(s);
        return (const char *)PyUnicode_DATA(s);
    }
    if (has_surrogate(s)) return NULL;
    const char *out = PyUnicode_AsUTF8AndSize(s, len);
    if (!out) PyErr_Clear(); /* no memory: not sure */
    return out;
}

static int object_value(const Program *pr, int node, PyObject *v, int depth);

/* Members are checked holding a reference to each key and value, and containers are held
 * while they are walked: were some Python code to run meanwhile (nothing here runs any
 * today), it could not free what is being read, only make the verdict "not sure". */
static int object_members(const Program *pr, const Node *n, PyObject *v, int depth) {
    unsigned char seen[MAX_FIELDS];
    PyObject *key, *item;
    Py_ssize_t pos = 0, hint = 0, len;
    int ok = 1;
    memset(seen, 0, n->nfields);
    while (ok && PyDict_Next(v, &pos, &key, &item)) {
        Py_INCREF(key);
        Py_INCREF(item);
        const char *name = PyUnicode_CheckExact(key) ? utf8_of(key, &len) : NULL;
        Py_ssize_t i = name ? lookup(n, (const unsigned char *)name, len, hint) : -1;
        if (!name) ok = 0;
        else if (i < 0) ok = !n->strict;
        else if ((ok = object_value(pr, n->fields[i].node, item, depth + 1))) {
            seen[i] = 1;
            hint = i + 1;
        }
        Py_DECREF(item);
        Py_DECREF(key);
    }
    if (!ok) return 0;
    for (Py_ssize_t i = 0; i < n->nfields; i++)
        if (n->fields[i].required && !seen[i]) return 0;
    if (!n->nany) return 1;
    Py_ssize_t present = 0;
    for (Py_ssize_t i = 0; i < n->nany; i++)
        present += seen[n->any_of[i]] != 0;
    return present == 1 || (present > 1 && !n->one);
}

/* The union's variants for the tag member of dict v, or NULL. */
static const Tag *object_tag(const Node *n, PyObject *v) {
    PyObject *key, *item;
    Py_ssize_t pos = 0, len;
    const Tag *found = NULL;
    while (PyDict_Next(v, &pos, &key, &item)) {
        if (!PyUnicode_CheckExact(key)) return NULL;
        const char *name = utf8_of(key, &len);
        if (!name || len != n->tag_len || memcmp(name, n->tag, len) != 0) continue;
        Py_INCREF(item);
        if (PyUnicode_CheckExact(item) && (name = utf8_of(item, &len)))
            for (Py_ssize_t i = 0; i < n->ntags && !found; i++)
                if (n->tags[i].len == len && memcmp(n->tags[i].value, name, len) == 0) found = &n->tags[i];
        Py_DECREF(item);
        break;
    }
    return found;
}

static int object_items(const Program *pr, const Node *n, PyObject *v, int depth) {
    Py_ssize_t count = PyList_GET_SIZE(v);
    if (n->kind == N_TUP ? count != n->nitems : count < n->min_items || (n->max_items >= 0 && count > n->max_items))
        return 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyList_GET_SIZE(v) != count) return 0; /* changed meanwhile: not sure */
        PyObject *item = PyList_GET_ITEM(v, i);
        Py_INCREF(item);
        int ok = object_value(pr, n->kind == N_ARR ? n->item : n->items[i], item, depth + 1);
        Py_DECREF(item);
        if (!ok) return 0;
    }
    return PyList_GET_SIZE(v) == count;
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
        Py_INCREF(v);
        int ok = object_items(pr, n, v, depth);
        Py_DECREF(v);
        return ok;
    }
    case N_OBJ: {
        if (!PyDict_CheckExact(v)) return 0;
        Py_INCREF(v);
        int ok = object_members(pr, n, v, depth);
        Py_DECREF(v);
        return ok;
    }
    case N_UNION: {
        if (!PyDict_CheckExact(v)) return 0;
        Py_INCREF(v);
        const Tag *found = object_tag(n, v);
        int ok = found != NULL;
        /* a tag of several variants: the dict must be each of them; each step is one level
         * deeper, so a chain of unions ends */
        for (Py_ssize_t i = 0; ok && i < found->n; i++) ok = object_value(pr, found->nodes[i], v, depth + 1);
        Py_DECREF(v);
        return ok;
    }
    case N_ANYOBJ:
        return PyDict_CheckExact(v);
    default:
        return 0;
    }
}

#endif
