"""Minimal GGUF v3 writer and reader (pure numpy) with Q8_0 quantization, for the reference model.

File layout (little endian):
    magic "GGUF" | u32 version = 3 | u64 n_tensors | u64 n_kv
    n_kv x (key: gguf string, u32 value type, value)
    n_tensors x (name: gguf string, u32 n_dims, u64 ne[n_dims] (ne[0] = contiguous dimension),
                 u32 ggml type, u64 offset relative to the data section)
    padding to general.alignment (32), then the tensor data, each tensor starting 32-aligned
A gguf string is u64 length + UTF-8 bytes (no terminator).

Q8_0 (ggml type 8): blocks of 32 consecutive values along ne[0]; each block is an fp16 scale d followed
by 32 int8 q (34 bytes). As in ggml's reference quantizer: amax = max|x|, d = amax / 127,
q = round-half-away-from-zero(x / d) (0 when d = 0), and d is stored as fp16; x' = fp16(d) * q.
"""
import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
ALIGN = 32
# value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
# ggml tensor types
GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
QK8_0 = 32

_SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
           U64: "<Q", I64: "<q", F64: "<d"}
_NP = {U8: np.uint8, I8: np.int8, U16: np.uint16, I16: np.int16, U32: np.uint32, I32: np.int32,
       F32: np.float32, BOOL: np.bool_, U64: np.uint64, I64: np.int64, F64: np.float64}


def quantize_q8_0(x):
    """x: float32 array whose last dimension is a multiple of 32 -> bytes of Q8_0 blocks (row-major)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    assert x.shape[-1] % QK8_0 == 0, x.shape
    blocks = x.reshape(-1, QK8_0)
    amax = np.abs(blocks).max(axis=1)
    d = amax / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    v = blocks * inv[:, None]
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)      # roundf: half away from zero
    out = np.empty(len(blocks), dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = q
    return out.tobytes()


def dequantize_q8_0(buf, n):
    blocks = np.frombuffer(buf, dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))], count=n // QK8_0)
    return (blocks["d"].astype(np.float32)[:, None] * blocks["qs"].astype(np.float32)).reshape(-1)


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


class Writer:
    def __init__(self):
        self.kv = []          # (key, type, value, elem type for arrays)
        self.tensors = []     # (name, shape as numpy shape, ggml type, bytes)

    def add(self, key, vtype, value, etype=None):
        self.kv.append((key, vtype, value, etype))

    def add_tensor(self, name, array, ggml_type):
        a = np.ascontiguousarray(array, dtype=np.float32)
        if ggml_type == GGML_F32:
            data = a.astype("<f4").tobytes()
        elif ggml_type == GGML_F16:
            data = a.astype("<f2").tobytes()
        elif ggml_type == GGML_Q8_0:
            data = quantize_q8_0(a)
        else:
            raise ValueError(ggml_type)
        self.tensors.append((name, a.shape, ggml_type, data))

    @staticmethod
    def _value(vtype, value, etype):
        if vtype == STR:
            return _str(value)
        if vtype == ARR:
            head = struct.pack("<IQ", etype, len(value))
            if etype == STR:
                return head + b"".join(_str(v) for v in value)
            return head + np.asarray(value, dtype=_NP[etype]).astype(np.dtype(_NP[etype]).newbyteorder("<")).tobytes()
        return struct.pack(_SCALAR[vtype], value)

    def write(self, path):
        head = [GGUF_MAGIC, struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))]
        for key, vtype, value, etype in self.kv:
            head += [_str(key), struct.pack("<I", vtype), self._value(vtype, value, etype)]
        offset = 0
        offsets = []
        for name, shape, gtype, data in self.tensors:
            offsets.append(offset)
            ne = list(reversed(shape))            # numpy (rows, cols) -> ggml ne = [cols, rows]
            head += [_str(name), struct.pack("<I", len(ne)), struct.pack(f"<{len(ne)}Q", *ne),
                     struct.pack("<IQ", gtype, offset)]
            offset += len(data)
            offset += (-offset) % ALIGN
        header = b"".join(head)
        with open(path, "wb") as f:
            f.write(header)
            f.write(b"\0" * ((-len(header)) % ALIGN))
            for (name, shape, gtype, data), off in zip(self.tensors, offsets):
                f.write(data)
                f.write(b"\0" * ((-len(data)) % ALIGN))


def read(path):
    """-> (metadata dict, {name: float32 numpy array in numpy shape (rows, cols)}, {name: ggml type})"""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def rstr():
        nonlocal pos
        n = take("<Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    def rval(t):
        nonlocal pos
        if t == STR:
            return rstr()
        if t == ARR:
            et, n = take("<I"), take("<Q")
            if et == STR:
                return [rstr() for _ in range(n)]
            dt = np.dtype(_NP[et]).newbyteorder("<")
            a = np.frombuffer(buf, dtype=dt, count=n, offset=pos)
            pos += n * dt.itemsize
            return a
        return take(_SCALAR[t])

    if buf[:4] != GGUF_MAGIC:
        raise ValueError("not a GGUF file")
    pos = 4
    version, n_t, n_kv = take("<I"), take("<Q"), take("<Q")
    if version != 3:
        raise ValueError(f"GGUF version {version}")
    meta = {}
    for _ in range(n_kv):
        k = rstr()
        meta[k] = rval(take("<I"))
    infos = []
    for _ in range(n_t):
        name = rstr()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        gtype, off = take("<I"), take("<Q")
        infos.append((name, ne, gtype, off))
    align = int(meta.get("general.alignment", ALIGN))
    data0 = pos + (-pos) % align
    tensors, types = {}, {}
    for name, ne, gtype, off in infos:
        n = int(np.prod(ne))
        start = data0 + off
        if gtype == GGML_F32:
            a = np.frombuffer(buf, dtype="<f4", count=n, offset=start).astype(np.float32)
        elif gtype == GGML_F16:
            a = np.frombuffer(buf, dtype="<f2", count=n, offset=start).astype(np.float32)
        elif gtype == GGML_Q8_0:
            a = dequantize_q8_0(buf[start:start + n // QK8_0 * 34], n)
        else:
            raise ValueError(f"{name}: ggml type {gtype}")
        tensors[name] = a.reshape(list(reversed(ne)))
        types[name] = gtype
    return meta, tensors, types
