#include "pathmon/probe.hpp"

namespace braid::pathmon {

namespace {
bool withCounts(const ProbeMessage& m) {
  return m.type == ProbeType::kReply && m.hasRxCounts;
}
}  // namespace

size_t encodedSize(const ProbeMessage& m) {
  return withCounts(m) ? kProbeMaxSize : kProbeSize;
}

bool encodeProbe(const ProbeMessage& m, ByteWriter& w) {
  if (w.remaining() < encodedSize(m)) return false;
  const bool counts = withCounts(m);
  bool ok = w.writeU8(static_cast<uint8_t>(kProbeVersion << 4 | static_cast<uint8_t>(m.type))) &&
            w.writeU8(counts ? kFlagRxCounts : 0) && w.writeU16(m.path) && w.writeU32(m.seq) &&
            w.writeU64(m.txUs) && w.writeU64(m.echoUs) && w.writeU32(m.holdUs);
  if (ok && counts) ok = w.writeU32(m.rxProbes) && w.writeU64(m.rxBytes);
  return ok;
}

bool decodeProbe(Bytes data, ProbeMessage& out) {
  ByteReader r(data);
  uint8_t verType = 0, flags = 0;
  ProbeMessage m;
  if (!r.readU8(verType) || !r.readU8(flags) || !r.readU16(m.path) || !r.readU32(m.seq) ||
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
  if (m.type == ProbeType::kReply && (flags & kFlagRxCounts) != 0) {
    if (!r.readU32(m.rxProbes) || !r.readU64(m.rxBytes)) return false;
    m.hasRxCounts = true;
  }
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
