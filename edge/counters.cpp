#include "edge/counters.hpp"

#include <cstdio>
#include <sstream>

namespace braid::edge {

std::string_view txDropName(TxDrop d) {
  switch (d) {
    case TxDrop::kMalformed:
      return "malformed";
    case TxDrop::kNoRoute:
      return "no_route";
    case TxDrop::kNoSa:
      return "no_sa";
    case TxDrop::kPoolExhausted:
      return "pool_exhausted";
    case TxDrop::kOversize:
      return "oversize";
    case TxDrop::kSealFailed:
      return "seal_failed";
    case TxDrop::kSendError:
      return "send_error";
    case TxDrop::kLinkLocal:
      return "link_local";
    case TxDrop::kSeqReserve:
      return "seq_reserve";
    case TxDrop::kNoPath:
      return "no_path";
    case TxDrop::kQueueFull:
      return "queue_full";
    case TxDrop::kCount:
      break;
  }
  return "unknown";
}

std::string_view rxDropName(RxDrop d) {
  switch (d) {
    case RxDrop::kInvalid:
      return "invalid";
    case RxDrop::kNoIkeHandler:
      return "no_ike_handler";
    case RxDrop::kPolicy:
      return "policy";
    case RxDrop::kBadInner:
      return "bad_inner";
    case RxDrop::kPoolExhausted:
      return "pool_exhausted";
    case RxDrop::kOversize:
      return "oversize";
    case RxDrop::kTunWriteError:
      return "tun_write_error";
    case RxDrop::kDuplicate:
      return "duplicate";
    case RxDrop::kShimOld:
      return "shim_old";
    case RxDrop::kShimInvalid:
      return "shim_invalid";
    case RxDrop::kSpoofedSource:
      return "spoofed_source";
    case RxDrop::kCount:
      break;
  }
  return "unknown";
}

namespace {
// Our own stable names for the ESP layer's reasons, so the stats file does not change if the
// ESP layer rewords its log names.
std::string_view espDropKey(size_t i) {
  switch (static_cast<ipsec::EspDrop>(i)) {
    case ipsec::EspDrop::kTooShort:
      return "too_short";
    case ipsec::EspDrop::kBadSpi:
      return "bad_spi";
    case ipsec::EspDrop::kReplay:
      return "replay";
    case ipsec::EspDrop::kIcv:
      return "icv";
    case ipsec::EspDrop::kPadding:
      return "padding";
    case ipsec::EspDrop::kCount:
      break;
  }
  return "unknown";
}
}  // namespace

std::array<uint64_t, ipsec::kEspDropCount> DataPlaneStats::espDrops() const {
  auto out = inboundTable.drops;
  for (auto& sa : sas) {
    if (!sa.inbound) continue;
    for (size_t i = 0; i < out.size(); ++i) out[i] += sa.esp.drops[i];
  }
  return out;
}

std::string formatStats(const DataPlaneStats& s) {
  std::ostringstream os;
  auto line = [&](std::string_view name, uint64_t v) { os << name << ' ' << v << '\n'; };
  const TxCounters& t = s.tx;
  line("tx.tun_reads", t.tunReads);
  line("tx.tun_packets", t.tunPackets);
  line("tx.tun_bytes", t.tunBytes);
  line("tx.gso_super_packets", t.gsoSuperPackets);
  line("tx.csum_completed", t.csumCompleted);
  line("tx.sealed", t.sealed);
  line("tx.send_calls", t.sendCalls);
  line("tx.datagrams_sent", t.datagramsSent);
  line("tx.bytes_sent", t.bytesSent);
  line("tx.gso_sends", t.gsoSends);
  line("tx.udp_gso_disabled", t.udpGsoDisabled);
  line("tx.commands", t.commands);
  line("tx.copies", t.copiesSent);
  line("tx.copies_skipped", t.copiesSkipped);
  line("tx.shim_data", t.shimData);
  line("tx.probes", t.probesSent);
  line("tx.fec_parity", t.fecParity);
  static const char* const kPrio[3] = {"realtime", "business", "bulk"};
  for (size_t i = 0; i < 3; ++i) {
    line(std::string("tx.shaper.") + kPrio[i] + ".queued", t.shaperQueued[i]);
    line(std::string("tx.shaper.") + kPrio[i] + ".sent", t.shaperSent[i]);
  }
  for (size_t i = 0; i < kTxDropCount; ++i) {
    os << "tx.drop." << txDropName(static_cast<TxDrop>(i)) << ' ' << t.drops[i] << '\n';
  }
  const RxCounters& r = s.rx;
  line("rx.recv_calls", r.recvCalls);
  line("rx.datagrams", r.datagrams);
  line("rx.bytes", r.bytes);
  line("rx.gro_datagrams", r.groDatagrams);
  line("rx.keepalives", r.keepalives);
  line("rx.ike_messages", r.ikeMessages);
  line("rx.esp_packets", r.espPackets);
  line("rx.opened", r.opened);
  line("rx.dummy", r.dummy);
  line("rx.tun_writes", r.tunWrites);
  line("rx.tun_packets", r.tunPackets);
  line("rx.tun_bytes", r.tunBytes);
  line("rx.gro_coalesced", r.groCoalesced);
  line("rx.tun_gro_disabled", r.tunGroDisabled);
  line("rx.commands", r.commands);
  line("rx.shim_data", r.shimData);
  line("rx.probes", r.probesReceived);
  line("rx.shim_resyncs", r.shimResyncs);
  line("rx.fec_parity", r.fecParity);
  line("rx.fec_recovered", r.fecRecovered);
  line("rx.reorder_buffered", r.reorderBuffered);
  line("rx.reorder_late", r.reorderLate);
  line("rx.reorder_gaps", r.reorderGaps);
  line("rx.reorder_timeouts", r.reorderTimeouts);
  line("rx.reorder_overflows", r.reorderOverflows);
  for (size_t i = 0; i < kRxDropCount; ++i) {
    os << "rx.drop." << rxDropName(static_cast<RxDrop>(i)) << ' ' << r.drops[i] << '\n';
  }
  auto esp = s.espDrops();
  for (size_t i = 0; i < esp.size(); ++i) {
    os << "rx.drop.esp_" << espDropKey(i) << ' ' << esp[i] << '\n';
  }
  for (auto& sa : s.sas) {
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", sa.spi);
    std::string p = std::string("sa.") + (sa.inbound ? "in." : "out.") + spi + ".";
    if (sa.inbound) {
      line(p + "packets", sa.esp.packetsOpened);
      line(p + "bytes", sa.esp.bytesOpened);
      for (size_t i = 0; i < ipsec::kEspDropCount; ++i) {
        os << p << "drop." << espDropKey(i) << ' ' << sa.esp.drops[i] << '\n';
      }
    } else {
      line(p + "packets", sa.esp.packetsSealed);
      line(p + "bytes", sa.esp.bytesSealed);
      line(p + "sequence_exhausted", sa.esp.sequenceExhausted);
    }
  }
  return os.str();
}

std::string summarizeStats(const DataPlaneStats& s) {
  std::ostringstream os;
  uint64_t txDrops = 0, rxDrops = 0;
  for (auto d : s.tx.drops) txDrops += d;
  for (auto d : s.rx.drops) rxDrops += d;
  for (auto d : s.espDrops()) rxDrops += d;
  os << "tx: " << s.tx.tunPackets << " pkts from tun, " << s.tx.datagramsSent << " datagrams sent, "
     << txDrops << " dropped";
  for (size_t i = 0; i < kTxDropCount; ++i) {
    if (s.tx.drops[i] != 0) os << " " << txDropName(static_cast<TxDrop>(i)) << "=" << s.tx.drops[i];
  }
  os << "; rx: " << s.rx.datagrams << " datagrams, " << s.rx.tunPackets << " pkts to tun, "
     << s.rx.keepalives << " keepalives, " << rxDrops << " dropped";
  for (size_t i = 0; i < kRxDropCount; ++i) {
    if (s.rx.drops[i] != 0) os << " " << rxDropName(static_cast<RxDrop>(i)) << "=" << s.rx.drops[i];
  }
  auto esp = s.espDrops();
  for (size_t i = 0; i < esp.size(); ++i) {
    if (esp[i] != 0) os << " esp_" << espDropKey(i) << "=" << esp[i];
  }
  return os.str();
}

}  // namespace braid::edge
