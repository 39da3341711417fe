# Reads a TensorBoard event file the way TensorBoard does: checks both masked CRC-32Cs of
# every record and decodes Event/Summary protobufs. Prints one JSON object per scalar, and one
# {"session_log": STATUS, "step": N} per SessionLog event (START = 1 marks a restart).
#   python3 tfevents.py FILE
import json
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        else:
            raise SystemExit(f"unexpected wire type {wire}")
        yield field, value


data = open(sys.argv[1], "rb").read()
pos = records = 0
version = None
while pos < len(data):
    header = data[pos:pos + 8]
    (length,) = struct.unpack("<Q", header)
    (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
    assert length_crc == masked(header), f"record {records}: bad length CRC"
    event = data[pos + 12:pos + 12 + length]
    (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
    assert data_crc == masked(event), f"record {records}: bad data CRC"
    pos += 16 + length
    records += 1
    wall, step = None, 0
    for field, value in fields(event):
        if field == 1:
            (wall,) = struct.unpack("<d", value)
        elif field == 2:
            step = value
        elif field == 3:
            version = value.decode()
        elif field == 7:
            status = dict(fields(value)).get(1, 0)
            print(json.dumps({"session_log": status, "step": step, "wall_time": wall}))
        elif field == 5:
            for f, v in fields(value):
                assert f == 1
                tag = simple = None
                for ff, vv in fields(v):
                    if ff == 1:
                        tag = vv.decode()
                    elif ff == 2:
                        (simple,) = struct.unpack("<f", vv)
                print(json.dumps({"tag": tag, "step": step, "value": simple, "wall_time": wall}))
assert version == "brain.Event:2", version
