from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memcmp, memcpy

# Big-endian stores into a raw output buffer, shared by the Cython encoders.
# Every encoder first computes the exact size of what it writes, allocates once, then
# writes through these helpers: no intermediate Python objects on the hot path.

cdef inline void put_u8(unsigned char* p, unsigned int v) noexcept nogil:
    p[0] = <unsigned char>(v & 0xff)

cdef inline void put_u16(unsigned char* p, unsigned int v) noexcept nogil:
    p[0] = <unsigned char>((v >> 8) & 0xff)
    p[1] = <unsigned char>(v & 0xff)

cdef inline void put_u32(unsigned char* p, unsigned long v) noexcept nogil:
    p[0] = <unsigned char>((v >> 24) & 0xff)
    p[1] = <unsigned char>((v >> 16) & 0xff)
    p[2] = <unsigned char>((v >> 8) & 0xff)
    p[3] = <unsigned char>(v & 0xff)

cdef inline void put_u64(unsigned char* p, unsigned long long v) noexcept nogil:
    put_u32(p, <unsigned long>(v >> 32))
    put_u32(p + 4, <unsigned long>(v & 0xffffffffUL))

cdef inline void put_uint(unsigned char* p, unsigned long long v, int nbytes) noexcept nogil:
    # Store the low `nbytes` (at most 8) bytes of v, big-endian.
    cdef int i
    for i in range(nbytes - 1, -1, -1):
        p[i] = <unsigned char>(v & 0xff)
        v >>= 8

cdef inline void zero(unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        p[i] = 0

cdef inline Py_ssize_t pad8(Py_ssize_t n) noexcept nogil:
    return (n + 7) & ~(<Py_ssize_t>7)

cdef inline bint same_bytes(bytes a, bytes b) noexcept:
    # Byte-for-byte equality of two bytes objects, without a Python-level comparison.
    if a is b:
        return True
    cdef Py_ssize_t n = PyBytes_GET_SIZE(a)
    return n == PyBytes_GET_SIZE(b) and memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), n) == 0

cdef inline Py_ssize_t copy_bytes(unsigned char* p, bytes src) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src)
    memcpy(p, PyBytes_AS_STRING(src), n)
    return n
