"""Pack onnxruntime-gpu small enough for the device tool (at most 64 MiB travel a call).

The cp312 wheel of onnxruntime-gpu 1.31.1 is 256 MB: its CUDA provider library holds
cubins for sm_75, 80, 86, 89, 90 and 120. This keeps the ``onnxruntime`` package with
the sm_90 cubins (H100, H200) and zeroes the payloads of the others in the library's
``.nv_fatbin`` section (headers kept, so the file's layout is unchanged; zeros compress
to nothing), leaves out the TensorRT provider and the C API library that Python does not
load, and writes a tar.xz of about 61 MB to unpack into a folder on PYTHONPATH
(bench/device_run.sh does). Only for sm_90 GPUs: on any other the CUDA provider has no
kernels.

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_28_x86_64 -d /tmp/whl onnxruntime-gpu==1.31.1
    python3 bench/device_ort_package.py /tmp/whl/onnxruntime_gpu-1.31.1-*.whl .whl/ort-gpu-1.31.1-sm90.tar.xz
"""

from __future__ import annotations

import collections
import io
import struct
import sys
import tarfile
import zipfile

FATBIN_MAGIC = 0xBA55ED50
KEEP_ARCH = 90
CUDA_LIBRARY = "onnxruntime/capi/libonnxruntime_providers_cuda.so"
LEFT_OUT = ("onnxruntime/capi/libonnxruntime.so", "onnxruntime/capi/libonnxruntime_providers_tensorrt.so")


def section(elf: bytes, wanted: str) -> tuple[int, int]:
    """(file offset, size) of a section of a 64-bit little-endian ELF file."""
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    def header(i):  # name, offset, size
        name, _, _, _, offset, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        return name, offset, size
    names_offset = header(shstrndx)[1]
    for i in range(shnum):
        name, offset, size = header(i)
        end = elf.index(b"\0", names_offset + name)
        if elf[names_offset + name : end].decode() == wanted:
            return offset, size
    raise ValueError(f"no {wanted} section")


def zero_other_cubins(elf: bytearray) -> collections.Counter:
    """Zero every cubin (kind 2) of another architecture than KEEP_ARCH; PTX is kept."""
    start, size = section(bytes(elf), ".nv_fatbin")
    zeroed, position = collections.Counter(), start
    while position < start + size:
        magic, _, header_size, fat_size = struct.unpack_from("<IHHQ", elf, position)
        if magic != FATBIN_MAGIC:
            position += 8  # padding between containers
            continue
        entry, stop = position + header_size, position + header_size + fat_size
        while entry < stop:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", elf, entry)
            arch, = struct.unpack_from("<I", elf, entry + 28)
            if kind == 2 and arch != KEEP_ARCH:
                elf[entry + entry_header : entry + entry_header + payload] = bytes(payload)
                zeroed[arch] += payload
            entry += entry_header + payload
        position = stop
    return zeroed


def main(wheel: str, output: str) -> None:
    with zipfile.ZipFile(wheel) as archive, tarfile.open(output, "w:xz", preset=9) as packed:
        for info in archive.infolist():
            if info.is_dir() or info.filename.startswith(LEFT_OUT):
                continue
            data = archive.read(info)
            if info.filename == CUDA_LIBRARY:
                data = bytearray(data)
                zeroed = zero_other_cubins(data)
                print("zeroed MB by arch:", {a: round(n / 1e6, 1) for a, n in sorted(zeroed.items())})
            member = tarfile.TarInfo(info.filename)
            member.size, member.mode = len(data), 0o755 if info.filename.endswith(".so") else 0o644
            packed.addfile(member, io.BytesIO(bytes(data)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
