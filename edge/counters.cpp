#include "edge/counters.hpp"

#include <cstdio>
#include <sstream>

#include "edge/metrics_dataplane.hpp"
#include "edge/metrics_export_class.hpp"
#include "metrics/registry.hpp"

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
    case TxDrop::kSelector:
      return "selector";
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
    case RxDrop::kSelector:
      return "selector";
    case RxDrop::kCount:
      break;
  }
  return "unknown";
}

std::array<uint64_t, ipsec::kEspDropCount> DataPlaneStats::espDrops() const {
  auto out = inboundTable.drops;
  for (auto& sa : sas) {
    if (!sa.inbound) continue;
    for (size_t i = 0; i < out.size(); ++i) out[i] += sa.esp.drops[i];
  }
  return out;
}

std::string formatStats(const DataPlaneStats& s) {
  // The counters' lines come from the same descriptor tables as the scrape (tx.*, rx.*,
  // rx.drop.esp_*, class.*); only the per-SA lines are written here (SPIs are no labels).
  metrics::Registry r;
  auto tx = metrics::StructMetrics<TxCounters>::add(r, txFields());
  auto rx = metrics::StructMetrics<RxCounters>::add(r, rxFields());
  auto esp = metrics::StructMetrics<EspDropTotals>::add(r, espDropFields());
  if (!tx || !rx || !esp) return "";  // the tables are fixed: a unit test registers them
  tx->update(r, s.tx);
  rx->update(r, s.rx);
  esp->update(r, EspDropTotals{s.espDrops()});
  ClassMetrics classes;
  (void)classes.update(r, s.classes);  // only fails past 1024 classes
  std::string out = r.statsFile();
  auto line = [&](const std::string& name, uint64_t v) {
    out += name + ' ' + std::to_string(v) + '\n';
  };
  for (auto& sa : s.sas) {
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", sa.spi);
    std::string p = std::string("sa.") + (sa.inbound ? "in." : "out.") + spi + ".";
    if (sa.inbound) {
      line(p + "packets", sa.esp.packetsOpened);
      line(p + "bytes", sa.esp.bytesOpened);
      for (size_t i = 0; i < ipsec::kEspDropCount; ++i) {
        line(p + "drop." + std::string(kEspDropReasons[i]), sa.esp.drops[i]);
      }
    } else {
      line(p + "packets", sa.esp.packetsSealed);
      line(p + "bytes", sa.esp.bytesSealed);
      line(p + "sequence_exhausted", sa.esp.sequenceExhausted);
    }
  }
  return out;
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
    if (esp[i] != 0) os << " esp_" << kEspDropReasons[i] << "=" << esp[i];
  }
  return os.str();
}

}  // namespace braid::edge
