#include "pathmon/probe.hpp"

namespace braid::pathmon {

bool encodeProbe(const ProbeMessage& m, ByteWriter& w) {
  if (w.remaining() < kProbeSize) return false;
  bool ok = w.writeU8(static_cast<uint8_t>(kProbeVersion << 4 | static_cast<uint8_t>(m.type))) &&
            w.writeU8(0) && w.writeU16(m.path) && w.writeU32(m.seq) && w.writeU64(m.txUs) &&
            w.writeU64(m.echoUs) && w.writeU32(m.holdUs);
  return ok;
}

bool decodeProbe(Bytes data, ProbeMessage& out) {
  ByteReader r(data);
  uint8_t verType = 0, reserved = 0;
  ProbeMessage m;
  if (!r.readU8(verType) || !r.readU8(reserved) || !r.readU16(m.path) || !r.readU32(m.seq) ||
      !r.readU64(m.txUs) || !r.readU64(m.echoUs) || !r.readU32(m.holdUs)) {
    return false;
  }
  if (verType >> 4 != kProbeVersion) return false;
  uint8_t type = verType & 0x0f;
  if (type != static_cast<uint8_t>(ProbeType::kProbe) &&
      type != static_cast<uint8_t>(ProbeType::kReply)) {
    return false;
  }
  m.type = static_cast<ProbeType>(type);
  out = m;
  return true;
}

ProbeMessage makeReply(const ProbeMessage& probe, uint64_t rxUs, uint64_t txUs) {
  ProbeMessage r;
  r.type = ProbeType::kReply;
  r.path = probe.path;
  r.seq = probe.seq;
  r.txUs = txUs;
  r.echoUs = probe.txUs;
  uint64_t hold = txUs > rxUs ? txUs - rxUs : 0;
  r.holdUs = hold > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(hold);
  return r;
}

}  // namespace braid::pathmon
