from fastpath._match cimport Match

cdef class Flow:
    cdef readonly int table
    cdef readonly int priority
    cdef readonly Match match
    cdef readonly tuple actions
    cdef readonly unsigned long long cookie
    cdef Py_hash_t key_hash
    cdef Py_hash_t body_hash
    cdef Py_ssize_t _apply_len
    cdef bytes _instructions
    cdef bytes _key_oxm  # match._oxm, held here so the diff reaches it in one step
    cdef _finish(self)
    cdef Py_ssize_t instructions_len(self) noexcept
    cdef Py_ssize_t write_instructions(self, unsigned char* p) except -1
    cdef Py_ssize_t _encode_instructions(self, unsigned char* p) except -1
    cdef bint same_key(self, Flow other)
    cdef bint same_body(self, Flow other)
