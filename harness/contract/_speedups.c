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

#define NODE_FORMAT 2 /* the layout of node tuples and of run()'s answer: _native checks it */
#define MAX_DEPTH 128
#define MAX_FIELDS 256
#define DECODED 4096 /* longest checked string with escapes decoded here; longer: not sure */
/* The fewest digits sys.set_int_max_str_digits() lets json.loads refuse an int at (its
 * default is 4300): a longer int is not sure, whatever the process set. */
#define MAX_INT_DIGITS 640

#include "_speedups_json.h"
#include "_speedups_nodes.h"
#include "_speedups_strings.h"
#include "_speedups_mask.h"
#include "_speedups_check.h"
#include "_speedups_objects.h"

/* -- the Python type -------------------------------------------------------------------- */

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
    Py_ssize_t built = 0;
    while (built < n && build_node(&self->nodes[built], PyTuple_GET_ITEM(nodes, built), n) == 0) built++;
    if (built < n || union_cycle(self->nodes, n) < 0) {
        free_nodes(self->nodes, n);
        self->nodes = NULL;
        self->nnodes = 0;
        return -1;
    }
    return 0;
}

static void Program_dealloc(Program *self) {
    if (self->nodes) free_nodes(self->nodes, self->nnodes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The lines as a tuple of its own, so that no code run meanwhile (a finalizer, at a
 * collection) can shorten it or free a line. Not PySequence_Tuple for a list: it copies
 * the list's items after allocating the tuple, and that allocation may run such code. */
static PyObject *lines_tuple(PyObject *lines) {
    if (PyTuple_Check(lines)) {
        Py_INCREF(lines);
        return lines;
    }
    if (!PyList_Check(lines)) return PySequence_Tuple(lines);
    Py_ssize_t n = PyList_GET_SIZE(lines);
    PyObject *out = PyTuple_New(n);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) { /* no allocation from here: the list holds still */
        PyObject *line = i < PyList_GET_SIZE(lines) ? PyList_GET_ITEM(lines, i) : Py_None;
        Py_INCREF(line);
        PyTuple_SET_ITEM(out, i, line);
    }
    return out;
}

/* A line's bytes: a bytes object's own, or a str's UTF-8 (which the str holds while it lives);
 * NULL for a str with a lone surrogate (not sure) or any other object. */
static const char *line_text(PyObject *line, Py_ssize_t *len) {
    if (PyBytes_Check(line)) {
        *len = PyBytes_GET_SIZE(line);
        return PyBytes_AS_STRING(line);
    }
    return PyUnicode_Check(line) ? utf8_of(line, len) : NULL;
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
    PyObject *fast = lines_tuple(lines);
    if (!fast) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    if (!out) { Py_DECREF(fast); return NULL; }
    unsigned char seen[MAX_FIELDS];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PyTuple_GET_ITEM(fast, i), *kind = Py_None;
        Py_ssize_t len = 0;
        const char *buf = line_text(line, &len);
        if (buf) {
            Cur c = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0};
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
    while (q < nl && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++; /* JSON whitespace only: blank */
    if (q == nl) return 3;
    Cur c = {p, nl, 0};
    ws(&c); /* before a value, only JSON's whitespace: not \x0b or \x0c */
    const Node *r = &self->nodes[root];
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

/* masked(root, lines, paths, event, error, data, errors): per line, None (not sure) or a tuple
 * of its kind (`event` or `error`, as kinds() says) and the raw JSON text of each path's value,
 * when the line holds every path once, each a scalar where the model has one, and the rest of
 * the line is surely valid whatever those values are. */
static PyObject *Program_masked(Program *self, PyObject *args) {
    int root, data, errors;
    PyObject *lines, *paths, *event, *error;
    if (!PyArg_ParseTuple(args, "iOO!OOii", &root, &lines, &PyTuple_Type, &paths, &event, &error, &data, &errors))
        return NULL;
    if (root < 0 || root >= self->nnodes) return PyErr_Format(PyExc_ValueError, "no node %d", root);
    const Node *r = &self->nodes[root];
    if ((data >= 0 || errors >= 0) && (r->kind != N_OBJ || data >= r->nfields || errors >= r->nfields))
        return PyErr_Format(PyExc_ValueError, "the envelope's fields are not the root's");
    Mask *mask = PyMem_Malloc(sizeof(Mask));
    if (!mask) return PyErr_NoMemory();
    PyObject *fast = NULL, *out = NULL;
    if (build_mask(mask, paths) < 0 || !(fast = lines_tuple(lines))) goto done;
    Py_ssize_t n = PyTuple_GET_SIZE(fast);
    if (!(out = PyList_New(n))) goto done;
    unsigned char seen[MAX_FIELDS];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PyTuple_GET_ITEM(fast, i), *found = Py_None;
        Py_ssize_t len = 0;
        const char *buf = line_text(line, &len);
        if (buf) {
            mask_reset(mask);
            Cur c = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0, mask, 1};
            ws(&c);
            int ok = value(self, root, &c, r->kind == N_OBJ ? seen : NULL);
            c.mi = 0;
            ws(&c);
            for (int k = 0; ok && k < mask->nslots; k++) ok = mask->start[k] != NULL;
            if (ok && c.p == c.end) {
                PyObject *kind = (data >= 0 && errors >= 0 && !seen[data] && seen[errors]) ? error : event;
                if (!(found = PyTuple_New(1 + mask->nslots))) {
                    Py_CLEAR(out);
                    goto done;
                }
                Py_INCREF(kind);
                PyTuple_SET_ITEM(found, 0, kind);
                for (int k = 0; k < mask->nslots; k++) {
                    /* the line's bytes: a str line's UTF-8 is cached in it, and the tuple holds it */
                    PyObject *text = PyBytes_FromStringAndSize((const char *)mask->start[k],
                                                               mask->end[k] - mask->start[k]);
                    if (!text) {
                        Py_DECREF(found);
                        Py_CLEAR(out);
                        goto done;
                    }
                    PyTuple_SET_ITEM(found, 1 + k, text);
                }
                PyList_SET_ITEM(out, i, found);
                continue;
            }
        }
        Py_INCREF(Py_None);
        PyList_SET_ITEM(out, i, Py_None);
    }
done:
    Py_XDECREF(fast);
    PyMem_Free(mask);
    return out;
}

/* locate(root, line, paths): where in the raw `line` the first value the checker refuses
 * is, as a tuple of member names and array indexes, with `paths`' values masked (an empty
 * tuple: none); None where the line passes, or where what fails is no member's or item's
 * value (the line itself, bad JSON between values). A place, not a verdict: the value there
 * may be an object that fails for what it lacks. */
static PyObject *Program_locate(Program *self, PyObject *args) {
    int root;
    PyObject *line, *paths, *out = NULL;
    if (!PyArg_ParseTuple(args, "iOO!", &root, &line, &PyTuple_Type, &paths)) return NULL;
    if (root < 0 || root >= self->nnodes) return PyErr_Format(PyExc_ValueError, "no node %d", root);
    if (!PyBytes_Check(line) && !PyUnicode_Check(line))
        return PyErr_Format(PyExc_TypeError, "a line: expected bytes or str");
    Py_ssize_t len = 0;
    const char *text = line_text(line, &len);
    if (!text) return Py_NewRef(Py_None); /* a lone surrogate: no place to tell */
    Mask *mask = PyMem_Malloc(sizeof(Mask));
    Track *track = PyMem_Malloc(sizeof(Track));
    if (!mask || !track) {
        PyErr_NoMemory();
        goto done;
    }
    int masking = PyTuple_GET_SIZE(paths) > 0;
    if (masking && build_mask(mask, paths) < 0) goto done;
    if (masking) mask_reset(mask);
    track->n = track->nat = track->found = 0;
    const unsigned char *buf = (const unsigned char *)text;
    Cur c = {buf, buf + len, 0, masking ? mask : NULL, masking ? 1 : 0, track};
    unsigned char seen[MAX_FIELDS];
    ws(&c);
    int ok = value(self, root, &c, self->nodes[root].kind == N_OBJ ? seen : NULL);
    if (ok || !track->found) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    if (!(out = PyTuple_New(track->nat))) goto done;
    for (int k = 0; k < track->nat; k++) {
        const Step *st = &track->at[k];
        PyObject *part = st->name ? PyUnicode_DecodeUTF8((const char *)st->name, st->len, "strict")
                                  : PyLong_FromSsize_t(st->index);
        if (!part) {
            Py_CLEAR(out);
            goto done;
        }
        PyTuple_SET_ITEM(out, k, part);
    }
done:
    PyMem_Free(mask);
    PyMem_Free(track);
    return out;
}

/* accepts(root, payload): True if the decoded `payload` is surely valid. */
static PyObject *Program_accepts(Program *self, PyObject *args) {
    int root;
    PyObject *payload;
    if (!PyArg_ParseTuple(args, "iO", &root, &payload)) return NULL;
    if (root < 0 || root >= self->nnodes) return PyErr_Format(PyExc_ValueError, "no node %d", root);
    return PyBool_FromLong(object_value(self, root, payload, 0));
}

static PyMethodDef Program_methods[] = {
    {"kinds", (PyCFunction)Program_kinds, METH_VARARGS, "Per line: event, error, or None (not sure)."},
    {"run", (PyCFunction)Program_run, METH_VARARGS, "The cassette records it is sure of, from a start."},
    {"accepts", (PyCFunction)Program_accepts, METH_VARARGS, "Whether a decoded payload is surely valid."},
    {"masked", (PyCFunction)Program_masked, METH_VARARGS, "Per line: its kind and the paths' raw values, or None."},
    {"locate", (PyCFunction)Program_locate, METH_VARARGS, "Where the first value refused in a line is, or None."},
    {NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "harness.contract._speedups.Program",
    .tp_basicsize = sizeof(Program),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A checker compiled from a tuple of node tuples (see harness.contract._native).",
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
