/* otelagents._speedups: the compiled half of the metrics engine's hot path (optional).
 *
 * Stamps: the arrival times of a stream's chunks, kept as C doubles (see below).
 *
 * gap_buckets(times, bounds, threshold) turns a stream's chunk arrival times into the histogram update of
 * its chunk gaps in one pass, without a Python float per gap: the gaps' count, sum, min and max, how many
 * exceed ``threshold`` (the stalls), and the bucket counts over ``bounds`` with Prometheus ``le``
 * semantics (a gap equal to a bound is in that bound's bucket: the same index as ``bisect_left``).
 *
 * It returns None whenever the pure-Python path must decide instead: fewer than two times, times that are
 * not floats (a Stamps, a list or tuple of exact floats, or a buffer of C doubles such as ``array('d')``), more
 * bounds than it handles, or any gap that is negative, NaN or infinite (the pure-Python path drops those).
 * otelagents/telemetry/_metrics/_batch.py holds that path; the tests check the two agree.
 *
 * Build: setup.py builds it when a C compiler is there (optional: a failed build leaves the pure-Python
 * path); OTELAGENTS_NO_EXTENSIONS=1 makes otelagents ignore it at run time.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define MAX_BOUNDS 1024

/* ---- Stamps: a stream's chunk arrival times, as C doubles ------------------------------------------------
 *
 * The run loop appends one perf_counter() reading per output chunk. In a list each reading stays a Python
 * float for the whole stream, and thousands of small objects kept alive among the stream's short-lived ones
 * (events, dicts, strings) scatter the allocator's pools: measured, that costs the run several times what
 * the appends themselves do. Here the float is read and released at once. Read-only to Python: len(), an
 * index (negative too), iteration and a buffer of doubles (format "d"; no append while a view is open). */
typedef struct {
    PyObject_HEAD
    double *items;
    Py_ssize_t size;
    Py_ssize_t capacity;
    Py_ssize_t exports;
} Stamps;

static PyTypeObject StampsType;
static double empty_items[1];
static Py_ssize_t double_size = (Py_ssize_t)sizeof(double);

static PyObject *
stamps_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Stamps() takes no arguments: append the times one by one");
        return NULL;
    }
    return type->tp_alloc(type, 0); /* zeroed: no items yet */
}

static void
stamps_dealloc(Stamps *self)
{
    PyMem_Free(self->items);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
stamps_append(Stamps *self, PyObject *value)
{
    double time;
    if (PyFloat_CheckExact(value)) {
        time = PyFloat_AS_DOUBLE(value);
    }
    else {
        time = PyFloat_AsDouble(value);
        if (time == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    if (self->exports > 0) { /* a view's length and memory stay what they were when it was taken */
        PyErr_SetString(PyExc_BufferError, "Stamps.append(): a buffer view of the times is still open; "
                                           "release it (memoryview.release()) first");
        return NULL;
    }
    if (self->size == self->capacity) {
        Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 256;
        double *items;
        if (capacity > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(double)) {
            return PyErr_NoMemory();
        }
        items = PyMem_Realloc(self->items, (size_t)capacity * sizeof(double));
        if (items == NULL) {
            return PyErr_NoMemory();
        }
        self->items = items;
        self->capacity = capacity;
    }
    self->items[self->size++] = time;
    Py_RETURN_NONE;
}

static Py_ssize_t
stamps_len(Stamps *self)
{
    return self->size;
}

static PyObject *
stamps_item(Stamps *self, Py_ssize_t index)
{
    if (index < 0 || index >= self->size) { /* negative indexes arrive already offset by len() */
        PyErr_SetString(PyExc_IndexError, "Stamps index out of range");
        return NULL;
    }
    return PyFloat_FromDouble(self->items[index]);
}

static int
stamps_getbuffer(Stamps *self, Py_buffer *view, int flags)
{
    if ((flags & PyBUF_WRITABLE) == PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError, "Stamps: the buffer is read-only");
        return -1;
    }
    view->obj = (PyObject *)self;
    Py_INCREF(self);
    view->buf = self->items != NULL ? self->items : empty_items;
    view->len = self->size * (Py_ssize_t)sizeof(double);
    view->readonly = 1;
    view->itemsize = (Py_ssize_t)sizeof(double);
    view->format = (flags & PyBUF_FORMAT) == PyBUF_FORMAT ? "d" : NULL;
    view->ndim = 1;
    view->shape = (flags & PyBUF_ND) == PyBUF_ND ? &self->size : NULL; /* size is fixed while exported */
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? &double_size : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    self->exports++;
    return 0;
}

static void
stamps_releasebuffer(Stamps *self, Py_buffer *view)
{
    (void)view;
    self->exports--;
}

static PyObject *
stamps_repr(Stamps *self)
{
    return PyUnicode_FromFormat("<otelagents._speedups.Stamps of %zd times>", self->size);
}

static PyMethodDef stamps_methods[] = {
    {"append", (PyCFunction)stamps_append, METH_O, "append(time): add a perf_counter() reading."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods stamps_as_sequence = {
    .sq_length = (lenfunc)stamps_len,
    .sq_item = (ssizeargfunc)stamps_item,
};

static PyBufferProcs stamps_as_buffer = {
    .bf_getbuffer = (getbufferproc)stamps_getbuffer,
    .bf_releasebuffer = (releasebufferproc)stamps_releasebuffer,
};

static PyTypeObject StampsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "otelagents._speedups.Stamps",
    .tp_basicsize = sizeof(Stamps),
    .tp_dealloc = (destructor)stamps_dealloc,
    .tp_repr = (reprfunc)stamps_repr,
    .tp_as_sequence = &stamps_as_sequence,
    .tp_as_buffer = &stamps_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Stamps(): a growable list of perf_counter() readings kept as C doubles (append, len, index).",
    .tp_methods = stamps_methods,
    .tp_new = stamps_new,
};

/* ---- gap_buckets ------------------------------------------------------------------------------------------ */

static Py_ssize_t
bucket_of(const double *bounds, Py_ssize_t nb, double value)
{
    /* bisect_left: the first bound >= value, nb (the +Inf bucket) when there is none */
    Py_ssize_t lo = 0, hi = nb;
    if (value <= bounds[0]) {
        return 0; /* most chunk gaps: several chunks to a network read */
    }
    lo = 1;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (bounds[mid] < value) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

/* The times as C doubles: borrowed from a buffer (view filled) or copied into *owned (list or tuple).
 * Returns 1 (a buffer or a copy), 2 (a Stamps' own items), 0 when the pure-Python path must decide, -1 with
 * an exception set. */
static int
read_times(PyObject *times, Py_buffer *view, double **owned, const double **data, Py_ssize_t *n)
{
    if (Py_IS_TYPE(times, &StampsType)) {
        Stamps *stamps = (Stamps *)times;
        if (stamps->size < 2) {
            return 0;
        }
        *data = stamps->items;
        *n = stamps->size;
        return 2; /* borrowed: no buffer to release (nothing below runs Python code) */
    }
    if (PyList_CheckExact(times) || PyTuple_CheckExact(times)) {
        Py_ssize_t size = PySequence_Fast_GET_SIZE(times);
        PyObject **items = PySequence_Fast_ITEMS(times);
        double *copy;
        Py_ssize_t i;
        if (size < 2) {
            return 0;
        }
        copy = PyMem_Malloc((size_t)size * sizeof(double));
        if (copy == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (i = 0; i < size; i++) {
            if (!PyFloat_CheckExact(items[i])) {
                PyMem_Free(copy);
                return 0;
            }
            copy[i] = PyFloat_AS_DOUBLE(items[i]);
        }
        *owned = copy;
        *data = copy;
        *n = size;
        return 1;
    }
    if (!PyObject_CheckBuffer(times)) {
        return 0;
    }
    if (PyObject_GetBuffer(times, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Clear();
        return 0;
    }
    if (view->itemsize != (Py_ssize_t)sizeof(double) || view->format == NULL || strcmp(view->format, "d") != 0 ||
        view->len < 2 * (Py_ssize_t)sizeof(double)) {
        PyBuffer_Release(view);
        return 0;
    }
    *data = (const double *)view->buf;
    *n = view->len / (Py_ssize_t)sizeof(double);
    return 1;
}

static void
release_times(int status, Py_buffer *view, double *owned)
{
    if (owned != NULL) {
        PyMem_Free(owned);
    }
    else if (status == 1) {
        PyBuffer_Release(view);
    }
}

static PyObject *
gap_buckets(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    double bounds[MAX_BOUNDS];
    Py_ssize_t counts[MAX_BOUNDS + 1];
    Py_buffer view;
    double *owned = NULL;
    const double *data = NULL;
    Py_ssize_t nb, n = 0, i, stalls = 0, first, last;
    double threshold, total = 0.0, lo = INFINITY, hi = -INFINITY;
    PyObject *per_bucket = NULL;
    int status;

    (void)module;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "gap_buckets() takes 3 arguments (times, bounds, threshold), got %zd", nargs);
        return NULL;
    }
    if (!PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "gap_buckets(): bounds must be a tuple of ascending floats");
        return NULL;
    }
    threshold = PyFloat_AsDouble(args[2]);
    if (threshold == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    nb = PyTuple_GET_SIZE(args[1]);
    if (nb == 0 || nb > MAX_BOUNDS) {
        Py_RETURN_NONE;
    }
    for (i = 0; i < nb; i++) {
        bounds[i] = PyFloat_AsDouble(PyTuple_GET_ITEM(args[1], i));
        if (bounds[i] == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    memset(&view, 0, sizeof(view));
    status = read_times(args[0], &view, &owned, &data, &n);
    if (status <= 0) {
        if (status == 0) {
            Py_RETURN_NONE;
        }
        return NULL;
    }
    memset(counts, 0, (size_t)(nb + 1) * sizeof(Py_ssize_t));
    first = nb;
    last = 0;
    for (i = 1; i < n; i++) {
        double gap = data[i] - data[i - 1];
        Py_ssize_t b;
        if (!(gap >= 0.0 && gap < INFINITY)) { /* negative, NaN or infinite: the Python path drops it */
            goto python_decides;
        }
        total += gap;
        if (gap < lo) {
            lo = gap;
        }
        if (gap > hi) {
            hi = gap;
        }
        if (gap > threshold) {
            stalls++;
        }
        b = bucket_of(bounds, nb, gap);
        counts[b]++;
        if (b < first) {
            first = b;
        }
        if (b > last) {
            last = b;
        }
    }
    release_times(status, &view, owned);
    per_bucket = PyList_New(last - first + 1);
    if (per_bucket == NULL) {
        return NULL;
    }
    for (i = first; i <= last; i++) {
        PyObject *count = PyLong_FromSsize_t(counts[i]);
        if (count == NULL) {
            Py_DECREF(per_bucket);
            return NULL;
        }
        PyList_SET_ITEM(per_bucket, i - first, count);
    }
    return Py_BuildValue("(ndddnnN)", n - 1, total, lo, hi, stalls, first, per_bucket);

python_decides:
    release_times(status, &view, owned);
    Py_RETURN_NONE;
}

static PyMethodDef speedups_methods[] = {
    {"gap_buckets", (PyCFunction)(void (*)(void))gap_buckets, METH_FASTCALL,
     "gap_buckets(times, bounds, threshold) -> (count, sum, min, max, stalls, first, per_bucket) "
     "or None\n\nThe histogram update of the gaps between consecutive times (see otelagents/_speedups.c)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "otelagents._speedups",
    "Compiled helpers of otelagents' telemetry (optional; a pure-Python path does the same).",
    -1,
    speedups_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *module;
    if (PyType_Ready(&StampsType) < 0) {
        return NULL;
    }
    module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&StampsType);
    if (PyModule_AddObject(module, "Stamps", (PyObject *)&StampsType) < 0) {
        Py_DECREF(&StampsType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
