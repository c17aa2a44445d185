/*
 * Compiled per-frame hot paths of g3stream's codec (FORMAT.md sections 3-4).
 *
 * Only the common, well-formed case is handled here: a run of complete,
 * small frames whose checksums are right.  Anything else (a partial frame,
 * a large one, bad data, a wrong checksum) stops the run and is left to the
 * pure-Python codec, which then gives exactly its usual result or error.
 *
 * The G3 frame checksum is CRC-32C with register 0 on entry and no final
 * inversion.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <limits.h>
#include <string.h>

/* ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) ---------------- */

static uint32_t crc_table[8][256];

static void crc_init_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = (c >> 8) ^ crc_table[0][c & 0xFF];
            crc_table[t][i] = c;
        }
    }
}

static uint32_t crc_soft(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xFF];
        n--;
    }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
              crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
              crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW_CRC 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return crc;
}

/* Long inputs: three blocks checksummed at once, since the instruction's
 * latency is three times its issue interval.  The second and third blocks'
 * registers start from 0 and are joined afterwards: appending a block of
 * CRC_BLOCK bytes turns a register c into shift(c) ^ (that block's CRC from 0),
 * and shift is linear, so it is tabulated by the byte of c. */
#define CRC_BLOCK 4096
static uint32_t crc_shift_table[4][256];

static inline uint32_t crc_shift(uint32_t c)
{
    return crc_shift_table[0][c & 0xFF] ^ crc_shift_table[1][(c >> 8) & 0xFF] ^
           crc_shift_table[2][(c >> 16) & 0xFF] ^ crc_shift_table[3][c >> 24];
}

__attribute__((target("sse4.2"))) static void crc_init_shift(void)
{
    uint32_t basis[32]; /* shift() of each single-bit register */
    for (int b = 0; b < 32; b++) {
        uint64_t c = (uint64_t)1 << b;
        for (int i = 0; i < CRC_BLOCK / 8; i++) c = __builtin_ia32_crc32di(c, 0);
        basis[b] = (uint32_t)c;
    }
    for (int k = 0; k < 4; k++)
        for (int v = 0; v < 256; v++) {
            uint32_t r = 0;
            for (int bit = 0; bit < 8; bit++)
                if ((v >> bit) & 1) r ^= basis[8 * k + bit];
            crc_shift_table[k][v] = r;
        }
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw3(uint32_t crc, const unsigned char *p,
                                                          size_t n)
{
    uint64_t c0 = crc;
    while (n >= 3 * CRC_BLOCK) {
        uint64_t c1 = 0, c2 = 0;
        const unsigned char *end = p + CRC_BLOCK;
        for (; p < end; p += 8) {
            uint64_t a, b, d;
            memcpy(&a, p, 8);
            memcpy(&b, p + CRC_BLOCK, 8);
            memcpy(&d, p + 2 * CRC_BLOCK, 8);
            c0 = __builtin_ia32_crc32di(c0, a);
            c1 = __builtin_ia32_crc32di(c1, b);
            c2 = __builtin_ia32_crc32di(c2, d);
        }
        c0 = crc_shift((uint32_t)c0) ^ (uint32_t)c1;
        c0 = crc_shift((uint32_t)c0) ^ (uint32_t)c2;
        p += 2 * CRC_BLOCK;
        n -= 3 * CRC_BLOCK;
    }
    return crc_hw((uint32_t)c0, p, n);
}
#endif

static uint32_t (*crc_update)(uint32_t, const unsigned char *, size_t) = crc_soft;

/* ---- byte order -------------------------------------------------------------- */

static inline uint64_t rd64(const unsigned char *p, int little)
{
    uint64_t v = 0;
    if (little)
        for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    else
        for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t rd32(const unsigned char *p, int little)
{
    uint32_t v = 0;
    if (little)
        for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    else
        for (int i = 0; i < 4; i++) v = (v << 8) | p[i];
    return v;
}

/* ---- the entry table of the last frame, re-used while frames repeat it -------- */

#define MAX_CACHED_ENTRIES 64
static PyObject *cached_entries = NULL; /* list of slices */
static Py_ssize_t cached_n = -1;
static uint64_t cached_spans[4 * MAX_CACHED_ENTRIES];

static PyObject *slice_of(Py_ssize_t a, Py_ssize_t b)
{
    PyObject *start = PyLong_FromSsize_t(a), *stop = NULL, *s = NULL;
    if (start && (stop = PyLong_FromSsize_t(b)))
        s = PySlice_New(start, stop, NULL);
    Py_XDECREF(start);
    Py_XDECREF(stop);
    return s;
}

/* Scan the frame at p (len avail).  Returns its size, 0 when the pure path
 * must take it (partial, too large, malformed), -1 on a Python error.
 * Fills *type_code, *crc, *little and spans (name start/stop, blob start/stop
 * per entry, relative to p) up to max_spans entries; *n_entries gets the count. */
static Py_ssize_t scan_one(const unsigned char *p, Py_ssize_t avail, Py_ssize_t max_size,
                           uint32_t *type_code, uint32_t *crc, int *little, Py_ssize_t *n_entries,
                           uint64_t *spans, Py_ssize_t max_spans)
{
    if (avail < 13 || (p[0] != 0 && p[0] != 1))
        return 0;
    int le = p[0] == 1;
    uint32_t version = rd32(p + 1, le);
    int32_t n = (int32_t)rd32(p + 5, le);
    if (version > 1 || n < 0 || n > max_spans)
        return 0;
    uint64_t limit = (uint64_t)(avail < max_size ? avail : max_size);
    uint64_t q = 13;
    for (int32_t i = 0; i < n; i++) {
        if (q + 8 > limit) return 0;
        uint64_t len = rd64(p + q, le);
        if (len > limit) return 0;
        uint64_t ns = q + 8, ne = ns + len;
        if (ne + 8 > limit) return 0;
        len = rd64(p + ne, le);
        if (len > limit) return 0;
        uint64_t bs = ne + 8, be = bs + len;
        if (be > limit) return 0;
        spans[4 * i] = ns;
        spans[4 * i + 1] = ne;
        spans[4 * i + 2] = bs;
        spans[4 * i + 3] = be;
        q = be;
    }
    if (q + 4 > limit) return 0;
    *type_code = rd32(p + 9, le);
    *crc = rd32(p + q, le);
    *little = le;
    *n_entries = n;
    return (Py_ssize_t)(q + 4);
}

static PyObject *entries_for(const uint64_t *spans, Py_ssize_t n)
{
    if (cached_entries != NULL && cached_n == n &&
        memcmp(cached_spans, spans, (size_t)(4 * n) * sizeof(uint64_t)) == 0) {
        Py_INCREF(cached_entries);
        return cached_entries;
    }
    PyObject *list = PyList_New(2 * n);
    if (list == NULL) return NULL;
    for (Py_ssize_t i = 0; i < 2 * n; i++) {
        PyObject *s = slice_of((Py_ssize_t)spans[2 * i], (Py_ssize_t)spans[2 * i + 1]);
        if (s == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, s);
    }
    if (n <= MAX_CACHED_ENTRIES) {
        Py_XSETREF(cached_entries, list);
        Py_INCREF(list);
        cached_n = n;
        memcpy(cached_spans, spans, (size_t)(4 * n) * sizeof(uint64_t));
    }
    return list;
}

static uint32_t entries_crc(const unsigned char *p, const uint64_t *spans, Py_ssize_t n)
{
    uint32_t crc = 0;
    for (Py_ssize_t i = 0; i < 2 * n; i++)
        crc = crc_update(crc, p + spans[2 * i], (size_t)(spans[2 * i + 1] - spans[2 * i]));
    return crc;
}

/* decode_run(buf, pos, end, offset, max_frame_size, verify, limit, small, make_frame, extra, out)
 *   -> (pos, offset)
 * Appends make_frame(type_code, bytes, entries, offset, extra) to out for each
 * complete, well-formed frame smaller than `small` whose checksum is right
 * (or not checked), from buf[pos:end], stopping after `limit` frames in out
 * (0: no limit) or at the first frame it leaves to the pure path. */
static PyObject *decode_run(PyObject *self, PyObject *args)
{
    PyObject *bufobj, *make_frame, *extra, *out;
    Py_ssize_t pos, end, offset, max_size, limit, small;
    int verify;
    if (!PyArg_ParseTuple(args, "OnnnnpnnOOO!", &bufobj, &pos, &end, &offset, &max_size, &verify,
                          &limit, &small, &make_frame, &extra, &PyList_Type, &out))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(bufobj, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (pos < 0 || end > view.len || pos > end) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pos and end must lie within the buffer");
        return NULL;
    }
    const unsigned char *base = (const unsigned char *)view.buf;
    uint64_t spans[4 * MAX_CACHED_ENTRIES];
    PyObject *result = NULL;
    while (pos < end && (limit <= 0 || PyList_GET_SIZE(out) < limit)) {
        uint32_t type_code, crc;
        int little;
        Py_ssize_t n;
        Py_ssize_t avail = end - pos < small ? end - pos : small;
        Py_ssize_t size = scan_one(base + pos, avail, max_size, &type_code, &crc, &little, &n,
                                   spans, MAX_CACHED_ENTRIES);
        if (size <= 0) break;
        if (verify && entries_crc(base + pos, spans, n) != crc) break;
        PyObject *entries = entries_for(spans, n);
        if (entries == NULL) goto done;
        PyObject *raw = PyBytes_FromStringAndSize((const char *)base + pos, size);
        PyObject *code = PyLong_FromUnsignedLong(type_code);
        PyObject *off = PyLong_FromSsize_t(offset);
        PyObject *frame = NULL;
        if (raw && code && off)
            frame = PyObject_CallFunctionObjArgs(make_frame, code, raw, entries, off, extra, NULL);
        Py_XDECREF(raw);
        Py_XDECREF(code);
        Py_XDECREF(off);
        Py_DECREF(entries);
        if (frame == NULL) goto done;
        int failed = PyList_Append(out, frame);
        Py_DECREF(frame);
        if (failed) goto done;
        pos += size;
        offset += size;
    }
    result = Py_BuildValue("(nn)", pos, offset);
done:
    PyBuffer_Release(&view);
    return result;
}


/* PyObject_GetOptionalAttr arrived in 3.13 */
static int PyObject_GetOptionalAttr_compat(PyObject *obj, PyObject *name, PyObject **out)
{
    *out = PyObject_GetAttr(obj, name);
    if (*out != NULL) return 1;
    if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        return 0;
    }
    return -1;
}

/* ---- encoding ----------------------------------------------------------------- */

static PyObject *str_g3_blob = NULL;

static inline void wr64le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline void wr32le(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* encode_small(type_code, order, heads, blobs, objs, max_size) -> bytes or None
 *
 * A whole little-endian frame in one bytes object: for each key of `order`,
 * heads[key][1] (the key's u64 length and bytes), the blob's u64 length and
 * the blob (blobs[key][0] when present, else objs[key]._g3_blob()), then the
 * CRC.  None when the frame is not that simple (a key without a memoised
 * head, an object without _g3_blob, or more than max_size bytes): the pure
 * encoder then takes it. */
static PyObject *encode_small(PyObject *self, PyObject *args)
{
    unsigned long type_code;
    PyObject *order, *heads, *blobs, *objs;
    Py_ssize_t max_size;
    if (!PyArg_ParseTuple(args, "kO!O!O!O!n", &type_code, &PyTuple_Type, &order, &PyDict_Type,
                          &heads, &PyDict_Type, &blobs, &PyDict_Type, &objs, &max_size))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(order);
    if (n > 4096) Py_RETURN_NONE;
    PyObject **head_of = PyMem_Malloc(sizeof(PyObject *) * (size_t)(n ? n : 1));
    Py_buffer *views = PyMem_Malloc(sizeof(Py_buffer) * (size_t)(n ? n : 1));
    if (head_of == NULL || views == NULL) {
        PyMem_Free(head_of);
        PyMem_Free(views);
        return PyErr_NoMemory();
    }
    Py_ssize_t held = 0;   /* views[0:held] are live */
    Py_ssize_t nheads = 0; /* head_of[0:nheads] are owned */
    PyObject *result = NULL;
    int simple = 1;
    size_t total = 13 + 4;
    for (Py_ssize_t i = 0; i < n && simple; i++) {
        PyObject *key = PyTuple_GET_ITEM(order, i);
        PyObject *head = PyDict_GetItemWithError(heads, key);
        if (head == NULL || !PyTuple_CheckExact(head) || PyTuple_GET_SIZE(head) != 2 ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(head, 1)) ||
            PyBytes_GET_SIZE(PyTuple_GET_ITEM(head, 1)) < 8) {
            if (PyErr_Occurred()) goto done;
            simple = 0;
            break;
        }
        head_of[i] = PyTuple_GET_ITEM(head, 1);
        Py_INCREF(head_of[i]); /* _g3_blob() below runs Python code that may change heads */
        nheads = i + 1;
        PyObject *hit = PyDict_GetItemWithError(blobs, key);
        PyObject *blob;
        if (hit != NULL && PyTuple_Check(hit) && PyTuple_GET_SIZE(hit) >= 1) {
            blob = PyTuple_GET_ITEM(hit, 0);
            Py_INCREF(blob);
        } else {
            if (PyErr_Occurred()) goto done;
            PyObject *obj = PyDict_GetItemWithError(objs, key);
            if (obj == NULL) {
                if (PyErr_Occurred()) goto done;
                simple = 0; /* the pure encoder raises its own error */
                break;
            }
            PyObject *fast;
            Py_INCREF(obj);
            int found = PyObject_GetOptionalAttr_compat(obj, str_g3_blob, &fast);
            Py_DECREF(obj);
            if (found < 0) goto done;
            if (fast == NULL || fast == Py_None) {
                Py_XDECREF(fast);
                simple = 0; /* a composite object */
                break;
            }
            blob = PyObject_CallNoArgs(fast);
            Py_DECREF(fast);
            if (blob == NULL) goto done;
        }
        int got = PyObject_GetBuffer(blob, &views[i], PyBUF_SIMPLE);
        Py_DECREF(blob); /* the view keeps the exporter alive */
        if (got < 0) goto done;
        held = i + 1;
        total += (size_t)PyBytes_GET_SIZE(head_of[i]) + 8 + (size_t)views[i].len;
        if (total > (size_t)max_size) simple = 0;
    }
    if (!simple) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (result == NULL) goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    out[0] = 1;
    wr32le(out + 1, 1);
    wr32le(out + 5, (uint32_t)n);
    wr32le(out + 9, (uint32_t)type_code);
    unsigned char *q = out + 13;
    uint32_t crc = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t hl = PyBytes_GET_SIZE(head_of[i]);
        memcpy(q, PyBytes_AS_STRING(head_of[i]), (size_t)hl);
        crc = crc_update(crc, q + 8, (size_t)(hl - 8)); /* the key itself */
        q += hl;
        wr64le(q, (uint64_t)views[i].len);
        q += 8;
        memcpy(q, views[i].buf, (size_t)views[i].len);
        crc = crc_update(crc, q, (size_t)views[i].len);
        q += views[i].len;
    }
    wr32le(q, crc);
done:
    for (Py_ssize_t i = 0; i < held; i++) PyBuffer_Release(&views[i]);
    for (Py_ssize_t i = 0; i < nheads; i++) Py_DECREF(head_of[i]);
    PyMem_Free(views);
    PyMem_Free(head_of);
    return result;
}

/* scan(buf, pos, end, max_frame_size) -> (size, type_code, entries, crc, little) or None */
static PyObject *scan(PyObject *self, PyObject *args)
{
    PyObject *bufobj;
    Py_ssize_t pos, end, max_size;
    if (!PyArg_ParseTuple(args, "Onnn", &bufobj, &pos, &end, &max_size)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(bufobj, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (pos < 0 || end > view.len || pos > end) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pos and end must lie within the buffer");
        return NULL;
    }
    uint64_t spans[4 * MAX_CACHED_ENTRIES];
    uint32_t type_code, crc;
    int little;
    Py_ssize_t n;
    Py_ssize_t size = scan_one((const unsigned char *)view.buf + pos, end - pos, max_size,
                               &type_code, &crc, &little, &n, spans, MAX_CACHED_ENTRIES);
    PyBuffer_Release(&view);
    if (size <= 0) Py_RETURN_NONE;
    PyObject *entries = entries_for(spans, n);
    if (entries == NULL) return NULL;
    return Py_BuildValue("(nkNkO)", size, (unsigned long)type_code, entries, (unsigned long)crc,
                         little ? Py_True : Py_False);
}

/* crc(data, crc=0) -> the G3 CRC of data, continuing from crc */
/* ---- timestream map members ----------------------------------------------------
 *
 * pack_timestreams(items, start, cls, pointers, keep, inline_limit) -> (stop, buffers)
 *
 * The bytes of the members items[start:stop] of a timestream map, each its key
 * (u64 length, UTF-8) and a direct pointer to a new, uncompressed timestream of
 * class exactly `cls` whose samples are a 1-D C-contiguous float64, float32,
 * int32 or int64 array: pointer tag and id, units, start, stop, level 0,
 * data-type code, sample count, samples.  The classes' versions must already
 * be announced.  Each timestream gets the next pointer id in `pointers`
 * (id(obj) -> id) and is appended to `keep`, with every array of at least
 * `inline_limit` bytes, which is returned as a byte view after its head;
 * smaller samples are copied into the head.  Packing stops at the first member
 * that is not so simple (or already written): the caller writes it.  On an error
 * nothing stays claimed: `pointers` and `keep` are as they were on entry. */

#define POINTER_DIRECT 0x40000000u
#define POINTER_NEW 0x80000000u

static PyObject *str_level, *str_data, *str_units, *str_start, *str_stop, *str_cast, *str_B;

/* 1 and the value, 0 when the attribute is not an int in range (error cleared), -1 on error */
static int int_attr(PyObject *obj, PyObject *name, long long lo, long long hi, long long *out)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL) return -1;
    int overflow = 0;
    long long x = PyLong_Check(v) ? PyLong_AsLongLongAndOverflow(v, &overflow) : -1;
    int ok = PyLong_Check(v) && !overflow && !(x == -1 && PyErr_Occurred()) && x >= lo && x <= hi;
    Py_DECREF(v);
    if (PyErr_Occurred()) PyErr_Clear();
    *out = x;
    return ok;
}

/* the data-type code of a plain sample buffer, or -1 */
static int sample_code(const Py_buffer *view)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const char *f = view->format;
    if (f == NULL || view->ndim != 1) return -1;
    if (*f == '<' || *f == '=' || *f == '@') f++;
    if (f[0] == '\0' || f[1] != '\0') return -1;
    switch (f[0]) {
    case 'd': return view->itemsize == 8 ? 0 : -1;
    case 'f': return view->itemsize == 4 ? 1 : -1;
    case 'i': case 'l': case 'q':
        return view->itemsize == 4 ? 2 : view->itemsize == 8 ? 3 : -1;
    default: return -1;
    }
#else
    (void)view;
    return -1; /* the archive is little-endian: samples would need swapping */
#endif
}

static PyObject *pack_timestreams(PyObject *self, PyObject *args)
{
    PyObject *items, *cls, *pointers, *keep;
    Py_ssize_t start, inline_limit;
    if (!PyArg_ParseTuple(args, "O!nOO!O!n", &PyList_Type, &items, &start, &cls, &PyDict_Type,
                          &pointers, &PyList_Type, &keep, &inline_limit))
        return NULL;
    /* what this call claims in `pointers` and `keep`, given back if it fails */
    Py_ssize_t k0 = PyList_GET_SIZE(keep);
    PyObject *claimed = PyList_New(0);
    PyObject *out = claimed == NULL ? NULL : PyList_New(0);
    if (out == NULL) goto fail;
    Py_ssize_t i = start;
    for (; i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) break;
        PyObject *key = PyTuple_GET_ITEM(item, 0), *ts = PyTuple_GET_ITEM(item, 1);
        if ((PyObject *)Py_TYPE(ts) != cls || !PyUnicode_Check(key)) break;
        long long level, units, t0, t1;
        int r = int_attr(ts, str_level, 0, 0, &level);
        if (r > 0) r = int_attr(ts, str_units, 0, 0xFFFFFFFFLL, &units);
        if (r > 0) r = int_attr(ts, str_start, LLONG_MIN, LLONG_MAX, &t0);
        if (r > 0) r = int_attr(ts, str_stop, LLONG_MIN, LLONG_MAX, &t1);
        if (r < 0) goto fail;
        if (r == 0) break;
        Py_ssize_t klen;
        const char *kbytes = PyUnicode_AsUTF8AndSize(key, &klen);
        if (kbytes == NULL) { /* a key with lone surrogates: the caller encodes it */
            PyErr_Clear();
            break;
        }
        PyObject *data = PyObject_GetAttr(ts, str_data);
        if (data == NULL) goto fail;
        Py_buffer view;
        if (PyObject_GetBuffer(data, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyErr_Clear(); /* not contiguous, or not a buffer */
            Py_DECREF(data);
            break;
        }
        int code = sample_code(&view);
        PyObject *pid_key = code < 0 ? NULL : PyLong_FromVoidPtr(ts);
        int seen = pid_key == NULL ? -1 : PyDict_Contains(pointers, pid_key);
        if (code < 0 || seen != 0) {
            PyBuffer_Release(&view);
            Py_DECREF(data);
            Py_XDECREF(pid_key);
            if (seen < 0 && PyErr_Occurred()) goto fail;
            break;
        }
        /* the bytes first: the id is claimed only once they exist */
        Py_ssize_t pid = PyDict_GET_SIZE(pointers) + 1;
        Py_ssize_t nbytes = view.len, nsamples = view.shape[0];
        int as_view = nbytes >= inline_limit;
        Py_ssize_t size = 8 + klen + 41 + (as_view ? 0 : nbytes);
        PyObject *head = PyBytes_FromStringAndSize(NULL, size);
        if (head != NULL) {
            unsigned char *q = (unsigned char *)PyBytes_AS_STRING(head);
            wr64le(q, (uint64_t)klen);
            memcpy(q + 8, kbytes, (size_t)klen);
            q += 8 + klen;
            wr32le(q, POINTER_DIRECT);
            wr32le(q + 4, (uint32_t)pid | POINTER_NEW);
            wr32le(q + 8, (uint32_t)units);
            wr64le(q + 12, (uint64_t)t0);
            wr64le(q + 20, (uint64_t)t1);
            q[28] = 0;
            wr32le(q + 29, (uint32_t)code);
            wr64le(q + 33, (uint64_t)nsamples);
            if (!as_view) memcpy(q + 41, view.buf, (size_t)nbytes);
        }
        PyBuffer_Release(&view);
        PyObject *bytes_view = NULL;
        if (head != NULL && as_view) {
            PyObject *mv = PyMemoryView_FromObject(data);
            bytes_view = mv == NULL ? NULL : PyObject_CallMethodOneArg(mv, str_cast, str_B);
            Py_XDECREF(mv);
        }
        PyObject *pid_value = PyLong_FromSsize_t(pid);
        int failed = head == NULL || (as_view && bytes_view == NULL) || pid_value == NULL ||
                     PyList_Append(out, head) < 0 ||
                     (as_view && PyList_Append(out, bytes_view) < 0) ||
                     /* now claim: recorded before the dict holds it, so a rollback finds it */
                     PyList_Append(claimed, pid_key) < 0 ||
                     PyDict_SetItem(pointers, pid_key, pid_value) < 0 ||
                     PyList_Append(keep, ts) < 0 || (as_view && PyList_Append(keep, data) < 0);
        Py_XDECREF(head);
        Py_XDECREF(bytes_view);
        Py_XDECREF(pid_value);
        Py_DECREF(pid_key);
        Py_DECREF(data);
        if (failed) goto fail;
    }
    Py_DECREF(claimed);
    return Py_BuildValue("(nN)", i, out);
fail:
    {
        /* give back every id and reference this call claimed, keeping the error */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (claimed != NULL) {
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(claimed); j++) {
                if (PyDict_DelItem(pointers, PyList_GET_ITEM(claimed, j)) < 0) PyErr_Clear();
            }
        }
        if (PyList_GET_SIZE(keep) > k0 && PyList_SetSlice(keep, k0, PY_SSIZE_T_MAX, NULL) < 0)
            PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    }
    Py_XDECREF(claimed);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *crc(PyObject *self, PyObject *args)
{
    Py_buffer view;
    unsigned long init = 0;
    if (!PyArg_ParseTuple(args, "y*|k", &view, &init)) return NULL;
    uint32_t value;
    if (view.len < 65536) { /* not worth letting other threads run meanwhile */
        value = crc_update((uint32_t)init, (const unsigned char *)view.buf, (size_t)view.len);
    } else {
        Py_BEGIN_ALLOW_THREADS;
        value = crc_update((uint32_t)init, (const unsigned char *)view.buf, (size_t)view.len);
        Py_END_ALLOW_THREADS;
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(value);
}

/* crc_of_parts(parts) -> the G3 CRC of the buffers of a list, in order */
static PyObject *crc_of_parts(PyObject *self, PyObject *parts)
{
    PyObject *seq = PySequence_Fast(parts, "parts must be a sequence of buffers");
    if (seq == NULL) return NULL;
    uint32_t value = 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = items[i];
        if (PyBytes_CheckExact(item)) {
            value = crc_update(value, (const unsigned char *)PyBytes_AS_STRING(item),
                               (size_t)PyBytes_GET_SIZE(item));
            continue;
        }
        Py_buffer view;
        if (PyObject_GetBuffer(item, &view, PyBUF_SIMPLE) < 0) {
            Py_DECREF(seq);
            return NULL;
        }
        value = crc_update(value, (const unsigned char *)view.buf, (size_t)view.len);
        PyBuffer_Release(&view);
    }
    Py_DECREF(seq);
    return PyLong_FromUnsignedLong(value);
}

static PyObject *crc_kind(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(crc_update == crc_soft ? "software" : "sse4.2");
}

static PyMethodDef methods[] = {
    {"decode_run", decode_run, METH_VARARGS,
     "decode_run(buf, pos, end, offset, max_frame_size, verify, limit, small, make_frame, extra, "
     "out) -> (pos, offset)\n\nAppend make_frame(type_code, raw, entries, offset, extra) to out "
     "for each "
     "complete, well-formed frame under `small` bytes with a right checksum, from buf[pos:end]; "
     "stop at the first other frame, or once out holds `limit` frames (0: no limit)."},
    {"scan", scan, METH_VARARGS,
     "scan(buf, pos, end, max_frame_size) -> (size, type_code, entries, crc, little) or None\n\n"
     "The frame at buf[pos] if it is complete and well-formed, else None."},
    {"encode_small", encode_small, METH_VARARGS,
     "encode_small(type_code, order, heads, blobs, objs, max_size) -> bytes or None\n\n"
     "A simple little-endian frame as one bytes object, or None for the pure encoder."},
    {"pack_timestreams", pack_timestreams, METH_VARARGS,
     "pack_timestreams(items, start, cls, pointers, keep, inline_limit) -> (stop, buffers)\n\n"
     "The bytes of a timestream map's plain members items[start:stop] (see the source)."},
    {"crc", crc, METH_VARARGS, "crc(data, crc=0) -> the G3 CRC of data, continuing from crc"},
    {"crc_of_parts", crc_of_parts, METH_O, "crc_of_parts(parts) -> the G3 CRC of the buffers, in order"},
    {"crc_kind", crc_kind, METH_NOARGS, "crc_kind() -> 'sse4.2' or 'software'"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "g3stream_accel._codec",
    "Compiled per-frame hot paths of g3stream's codec.", -1, methods,
};

PyMODINIT_FUNC PyInit__codec(void)
{
    crc_init_tables();
    str_g3_blob = PyUnicode_InternFromString("_g3_blob");
    if (str_g3_blob == NULL) return NULL;
    if (!(str_level = PyUnicode_InternFromString("_level")) ||
        !(str_data = PyUnicode_InternFromString("_data")) ||
        !(str_units = PyUnicode_InternFromString("_units")) ||
        !(str_start = PyUnicode_InternFromString("_start")) ||
        !(str_stop = PyUnicode_InternFromString("_stop")) ||
        !(str_cast = PyUnicode_InternFromString("cast")) || !(str_B = PyUnicode_InternFromString("B")))
        return NULL;
#ifdef HAVE_HW_CRC
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        crc_init_shift();
        crc_update = crc_hw3;
    }
#endif
    PyObject *m = PyModule_Create(&module);
    /* the calling convention g3stream expects; raised on any incompatible change */
    if (m != NULL && PyModule_AddIntConstant(m, "API", 1) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
