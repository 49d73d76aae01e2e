cdef class Bucket:
    cdef readonly tuple actions
    cdef readonly int weight
    cdef readonly object bucket_id

cdef class Group:
    cdef readonly unsigned int group_id
    cdef readonly str type
    cdef readonly tuple buckets
    cdef readonly tuple chunks
    cdef readonly object selection_method
    cdef readonly tuple fields
    cdef bytes _props
    cdef bytes _body
    cdef Py_hash_t body_hash
    cdef _encode(self)
    cpdef bint same_body(self, Group other)
