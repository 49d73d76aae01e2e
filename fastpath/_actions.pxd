cdef class Action:
    cdef readonly tuple _key
    cdef Py_hash_t _hash
    cdef _set_key(self, tuple key)
    cdef Py_ssize_t wire_len(self) except -1
    cdef Py_ssize_t write(self, unsigned char* p) except -1

cdef class GotoTable(Action):
    cdef readonly int table

cdef class Drop(Action):
    pass
