cdef class Match:
    cdef readonly tuple entries
    cdef bytes _oxm
    cdef Py_hash_t _hash
    cdef Py_ssize_t _oxm_len
    cdef _init(self, tuple entries)
    cdef Py_ssize_t write_oxm(self, unsigned char* p) except -1
    cdef Py_ssize_t _encode_oxm(self, unsigned char* p) except -1

cdef Py_ssize_t field_oxm_len(int fid, bint masked) noexcept
cdef Py_ssize_t write_field_oxm(unsigned char* p, int fid, object value, object mask) except -1
cdef unsigned long field_header(int fid) noexcept
cdef int field_nbytes(int fid) noexcept
cdef Match match_from_canonical(tuple entries)
